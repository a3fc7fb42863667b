"""Where topicgen's log lines go: stderr, one plain line each, at the level -v/-q ask for."""

from __future__ import annotations

import logging
import sys


def setup_logging(verbosity: int) -> None:
    """-1: warnings and errors only; 0: one line per stage; 1 and up: internals too."""
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("topicgen")
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def counted(count: int, noun: str) -> str:
    """'1 chapter', '2 chapters': a count and its noun, for the lines a command prints."""
    return f"{count} {noun}" + ("" if count == 1 else "s")
