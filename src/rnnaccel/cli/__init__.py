"""The ``rnnaccel`` command line: ``app`` holds the group and its error handling, ``options`` the
option types for numbers, and each other module one verb (``rnnaccel VERB``)."""

from rnnaccel.cli.app import main

__all__ = ["main"]
