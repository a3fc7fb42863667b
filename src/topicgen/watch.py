"""Rebuilding on change: the loop behind `topicgen serve` and `topicgen build handout --watch`.

Builds run in one worker process that lives as long as the command. It keeps topicgen and
WeasyPrint loaded and warm between builds, so after a prose edit the build goes straight to
laying out the edited chapter. When a Python file changes (topicgen's own code or an
experiment's), the worker is replaced, so that a build sees the code a fresh command would.
The worker is a WorkerPool's: it ends with the command, however the command ends.
"""

from __future__ import annotations

import logging
import queue
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from topicgen.errors import TopicgenError
from topicgen.logs import setup_logging
from topicgen.pools import WorkerPool
from topicgen.publish.pdf.layout import warm_up

log = logging.getLogger(__name__)
READY_SECONDS = 5.0
"""How long to wait for the file watcher to start before building without it."""


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
        fresh = self.pool is None or any(path.suffix == ".py" for path in changed or ())
        if fresh:
            self.stop()
            self.pool = WorkerPool(1)
        try:
            outcome = self.pool.submit(build_here, self.build_function, self.verbosity,
                                       self.debug).result()
            if fresh:
                self.pool.submit(warm_up_here)  # while the user reads the outcome
            return outcome
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


def warm_up_here() -> None:
    """In the worker, between builds: load and warm up WeasyPrint, so that the next build
    lays its edited chapter out in this process (see pdf.layout.Layout.warm) without paying
    for a process's first layout, the slowest."""
    warm_up()  # once: a worker forked with WeasyPrint loaded has laid nothing out yet


class Watcher:
    """The files that change under `paths`, watched from the moment it is made, so that a
    save during a build is never lost; use as a `with` block."""

    def __init__(self, paths: list[Path]):
        self.stop = threading.Event()
        self.bursts: queue.Queue[set[Path]] = queue.Queue()
        self.ready = threading.Event()
        existing = [str(path) for path in paths if path.exists()]
        threading.Thread(target=self.watch, args=(existing,), daemon=True,
                         name="topicgen-watch").start()
        self.ready.wait(READY_SECONDS)

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *_) -> None:
        self.stop.set()

    def watch(self, paths: list[str]) -> None:
        import watchfiles

        # Empty bursts come every rust_timeout ms: the first says the watcher is running.
        for burst in watchfiles.watch(*paths, stop_event=self.stop, debounce=300,
                                      rust_timeout=100, yield_on_timeout=True,
                                      raise_interrupt=False):
            self.ready.set()
            if burst:
                self.bursts.put({Path(path) for _, path in burst})

    def next(self) -> set[Path]:
        """Wait for changes; every change since the last call, an editor's save being one
        (none once the watcher is stopped)."""
        while True:
            try:
                changed = self.bursts.get(timeout=0.5)  # a timeout keeps Ctrl+C responsive
                break
            except queue.Empty:
                if self.stop.is_set():
                    return set()
        while not self.bursts.empty():
            changed |= self.bursts.get_nowait()
        return changed
