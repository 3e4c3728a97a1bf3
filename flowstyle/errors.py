"""The one exception type for mistakes a user can make (bad file, bad flag, image too small).

The CLI turns it into a one-line message and exit code 2; anything else is a bug and keeps
its traceback.
"""


class FlowstyleError(ValueError):
    """A problem with the user's input, reported as one line without a traceback."""
