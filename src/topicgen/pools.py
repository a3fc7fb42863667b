"""Worker processes, started the same way for every stage (experiments, figures, PDF parts)."""

from __future__ import annotations

import atexit
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of up to `workers` processes, started as work arrives.

    spawn, not fork: a forked copy of a process that has started torch's thread pools can
    deadlock, and spawn behaves the same on Linux, macOS and Windows.
    """
    return ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                               initializer=exit_without_teardown)


def exit_without_teardown() -> None:
    """Make this worker end without Python's teardown when its pool lets it go. It has sent
    every result by then, and unloading torch, matplotlib or WeasyPrint module by module
    kept each build waiting a quarter of a second more."""
    atexit.register(_exit_now)


def _exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
