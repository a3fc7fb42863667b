"""The errors topicgen shows a user: one line, naming the file, key or parameter, and the fix."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable

import click


class TopicgenError(click.ClickException):
    """An expected failure: printed as one `Error: ...` line, exit code 1, no traceback."""

    exit_code = 1


class UsageError(TopicgenError):
    """The command line asked for something that does not exist or is out of range (exit 2)."""

    exit_code = 2


class ParamError(UsageError):
    """An experiment parameter is unknown, of the wrong type or out of range."""


class ContentError(TopicgenError):
    """The topic's sources are malformed; the message starts with `file:line`."""

    def __init__(self, message: str, path: object = None, line: int | None = None):
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(where + message)


class ClaimError(TopicgenError):
    """An experiment's measurement disagreed with the theory it is meant to show."""


def did_you_mean(name: object, choices: Iterable[str], listing: bool = True) -> str:
    """' (did you mean "x"?)' for the closest choice, or (with `listing`, where the message
    does not list them already) a list of the valid ones. `name` may be any value a user
    wrote (`result(5)` in a chapter): it is compared as text."""
    choices = sorted(choices)
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.5)
    if close:
        return f' (did you mean "{by_lower[close[0]]}"?)'
    return f" (choose from: {', '.join(choices)})" if choices and listing else ""


def jinja_location() -> tuple[str | None, int | None]:
    """The template file and line where the exception being handled was raised.

    Jinja rewrites a traceback so that each frame of template code becomes a fake frame
    (its globals hold `__jinja_exception__`) carrying the template's file name and line; the
    innermost one is where the error is. A template compiled from a string is "<template>".
    """
    tb, where = sys.exc_info()[2], (None, None)
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            where = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    return where
