"""Rebuilding on change: the loop behind `topicgen serve` and `topicgen build handout --watch`.

Builds run in one worker process that lives as long as the command. It keeps topicgen and
WeasyPrint loaded and warm between builds, so after a prose edit the build goes straight to
laying out the edited chapter. When a Python file changes (topicgen's own code or an
experiment's), the worker is replaced, so that a build sees the code a fresh command would.
The worker is a WorkerPool's: it ends with the command, however the command ends.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from topicgen.errors import TopicgenError
from topicgen.logs import setup_logging
from topicgen.pools import WorkerPool

log = logging.getLogger(__name__)


class Rebuilder:
    """Runs `build` (picklable: a module-level function, or a partial of one, returning the
    line to print) in the warm worker; use as a `with` block."""

    def __init__(self, build: Callable[[], str], verbosity: int = 0, debug: bool = False):
        self.build_function = build
        self.verbosity = verbosity
        self.debug = debug
        self.pool: WorkerPool | None = None

    def __enter__(self) -> Rebuilder:
        return self

    def __exit__(self, *_) -> None:
        self.stop()

    def build(self, changed: set[Path] | None = None) -> tuple[bool, str]:
        """(whether it succeeded, the line to show); `changed`: the files that changed since
        the last build, if any."""
        if self.pool is None or any(path.suffix == ".py" for path in changed or ()):
            self.stop()
            self.pool = WorkerPool(1)
        try:
            return self.pool.submit(build_here, self.build_function, self.verbosity,
                                    self.debug).result()
        except (BrokenProcessPool, CancelledError):
            self.pool = None  # stopped, or the worker died: the next build starts another
            return False, "the build process ended before the build did"

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.close(finished=False)  # a build still running is not waited for
            self.pool = None


def build_here(build: Callable[[], str], verbosity: int, debug: bool) -> tuple[bool, str]:
    """In the worker: run `build`, and return its outcome as the command would show it."""
    setup_logging(verbosity)
    try:
        return True, build()
    except TopicgenError as error:
        return False, f"Error: {error.format_message()}"
    except Exception as error:  # noqa: BLE001 - the loop goes on; the next save may fix it
        if debug:
            return False, traceback.format_exc().rstrip()
        return False, (f"internal error: {type(error).__name__}: {error} "
                       "(rerun with --debug for the traceback)")


def changes(paths: list[Path], stop: threading.Event | None = None) -> Iterator[set[Path]]:
    """The files changed under `paths`, one set per burst of changes, until `stop` is set
    (or Ctrl+C); an editor's save is one burst."""
    import watchfiles

    existing = [str(path) for path in paths if path.exists()]
    for burst in watchfiles.watch(*existing, stop_event=stop, debounce=300):
        yield {Path(path) for _, path in burst}
