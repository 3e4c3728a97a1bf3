"""The web studio: `flowstyle serve` (a Gradio page with an HTTP API over the Python API).

Importing this package loads nothing heavy; `create_app` and `serve` import Gradio when called.
"""

from __future__ import annotations


def create_app(*args, **kwargs):
    from .app import create_app as _create_app

    return _create_app(*args, **kwargs)


def serve(*args, **kwargs) -> None:
    from .app import serve as _serve

    _serve(*args, **kwargs)


__all__ = ["create_app", "serve"]
