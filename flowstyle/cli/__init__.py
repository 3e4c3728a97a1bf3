"""The `flowstyle` command line: the only place argparse lives."""

from .main import main

__all__ = ["main"]
