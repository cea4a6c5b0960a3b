"""The one exception type users see. The CLI turns it into a one-line message and exit code 2."""

from __future__ import annotations


class FontpipeError(Exception):
    """A problem with the user's input or environment, worded for the user.

    Raised before anything is written, so a caller that catches it knows no output was left behind.
    """

    exit_code = 2
