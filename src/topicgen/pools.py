"""Worker processes, started the same way for every stage, and never left behind.

Experiments, figures, PDF parts and the builds of `serve` and `--watch` all run in a
`WorkerPool`. Its end ends its workers, whatever the exit path: after success it waits for
them, after an error or Ctrl+C it kills them at once, so an error message is never followed by
a worker still importing WeasyPrint and holding the command's stdout. A worker also watches its
parent and exits when the parent is gone (killed with `kill -9`, say), and it ignores Ctrl+C,
which a terminal sends to every process of the command: the parent decides what stops.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import SpawnContext, SpawnProcess

PARENT_CHECK_SECONDS = 0.5
"""How often a worker looks for its parent: it is gone within about this long of it."""


class WorkerPool(ProcessPoolExecutor):
    """A pool of up to `workers` processes, started as work arrives.

    spawn, not fork: a forked copy of a process that has started torch's thread pools can
    deadlock, and spawn behaves the same on Linux, macOS and Windows.
    """

    def __init__(self, workers: int):
        self.spawner = RecordingSpawn()
        super().__init__(workers, mp_context=self.spawner, initializer=worker_started,
                         initargs=(os.getpid(),))

    def __exit__(self, error_type, *_) -> bool:
        self.close(finished=error_type is None)
        return False

    def close(self, finished: bool = True) -> None:
        """Wait for the workers to exit if the work `finished`; otherwise stop them now."""
        if finished:
            self.shutdown(wait=True)
            return
        # A killed worker breaks the pool: its own thread then ends every other worker (one
        # started meanwhile for another thread's task, too) and fails what was waiting.
        self.kill_started_workers()
        self.shutdown(wait=True, cancel_futures=True)
        self.kill_started_workers()

    def kill_started_workers(self) -> None:
        started = [worker for worker in self.spawner.started if worker.pid is not None]
        for worker in started:
            worker.kill()
        for worker in started:
            worker.join()


class RecordingSpawn(SpawnContext):
    """The spawn context, keeping the processes it starts, so that a pool can kill its own
    (ProcessPoolExecutor can only wait for them)."""

    def __init__(self):
        super().__init__()
        self.started: list[SpawnProcess] = []

    def Process(self, *args, **kwargs) -> SpawnProcess:  # noqa: N802 - the context's name
        process = SpawnProcess(*args, **kwargs)
        self.started.append(process)
        return process


def worker_started(parent: int) -> None:
    """Set up a new worker: leave Ctrl+C to the parent, exit when the parent is gone, and
    end without Python's teardown when the pool lets it go (it has sent every result by
    then, and unloading torch, matplotlib or WeasyPrint module by module takes a quarter
    of a second)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=exit_with_parent, args=(parent,), daemon=True,
                     name="topicgen-parent-watch").start()
    atexit.register(exit_now)


def exit_with_parent(parent: int) -> None:
    # An orphan is adopted by another process, so its parent id changes.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    exit_now(1)


def exit_now(code: int = 0) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
