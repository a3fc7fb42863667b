"""Worker processes, started the same way for every stage, and never left behind.

Experiments, figures, PDF parts and the builds of `serve` and `--watch` all run in a
`WorkerPool`. Its workers are forked from one server process that has imported torch,
matplotlib and WeasyPrint once (multiprocessing's forkserver), so a worker starts at once and
shares those pages with the others instead of importing its own copy.

A pool's end ends its workers, whatever the exit path: after success it waits for them, after
an error or Ctrl+C it kills them at once, so an error message is never followed by a worker
still holding the command's stdout. A worker exits when the command is gone (killed with
`kill -9`, say), and it ignores Ctrl+C, which a terminal sends to every process of the
command: the command decides what stops. The server exits once the command and its workers
have, or when the command is killed (serverguard), or is ended by the command when it exits
(see stop_server).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from topicgen.errors import TopicgenError
from topicgen.serverguard import PARENT

PARENT_CHECK_SECONDS = 0.5
"""Where a worker cannot wait on its command's exit, how often it looks for it."""

PDF_PRELOAD = ("weasyprint", "pikepdf", "topicgen.publish.pdf.layout")
PRELOAD = ("torch", "topicgen.results.runner", "topicgen.figures.draw", "topicgen.figures.style",
           *PDF_PRELOAD)
"""What the server imports before it forks any worker: what experiments, figures and PDF
parts need (torch, matplotlib, WeasyPrint and the code that runs them), loaded once for
every worker of the command; PDF_PRELOAD where only PDF parts are likely to be laid out (a
rebuild after a prose edit): it takes a third of the time. Importing them starts no thread
pool, so forking afterwards is safe (PyTorch's own DataLoader workers fork the same way)."""
TRAINING_PRELOAD = (*PRELOAD, "torch._dynamo")
"""PRELOAD where an experiment that trains will run: the first torch.optim optimiser of a
process imports torch._dynamo (about 800 modules, sympy among them: 1.7 s on the 2-core
development machine), which every worker that trains would otherwise import for itself."""


FORKED = "forkserver" in multiprocessing.get_all_start_methods()
"""Whether workers are forked from the server (not on Windows: there they are spawned, and
import what they need themselves)."""


def start_server(preload: tuple[str, ...] = PRELOAD) -> None:
    """Start the server now, where the platform has one: it imports `preload` while the
    command does other work, so that the first pool's workers need not wait for it. Once it
    runs, a later call changes nothing (a worker imports what the server lacks itself)."""
    if FORKED:
        from multiprocessing import forkserver

        # Only a server started by the main thread may die with the thread that started it.
        main_thread = threading.current_thread() is threading.main_thread()
        guard = ["topicgen.serverguard"] if main_thread else []
        forkserver.set_forkserver_preload([*guard, *preload])
        # SIGTERM waits until the server's pid is known (see interrupts_held), or the server
        # would run on unstopped through its imports. It starts with Ctrl+C ignored, which it
        # inherits: a terminal sends Ctrl+C to every process of the command, and the server
        # would print a traceback from its imports. (Only the main thread may set a handler;
        # a pool made in another thread finds the server running already.)
        with interrupts_held():  # which restores Ctrl+C's handler after
            if main_thread:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            with server_parent(main_thread):
                forkserver.ensure_running()
            atexit.unregister(stop_server)  # registered once, however many pools started it
            atexit.register(stop_server)


@contextlib.contextmanager
def server_parent(guarded: bool):
    """Where the server is `guarded` (see serverguard), tell it which process started it."""
    if not guarded:
        yield
        return
    os.environ[PARENT] = str(os.getpid())
    try:
        yield
    finally:
        del os.environ[PARENT]


def stop_server() -> None:
    """End the server now. It would end by itself once the command has exited, but only
    after its imports: a command that fails early would leave it holding the command's
    stdout for seconds, and whoever reads that through a pipe would wait for it."""
    if "multiprocessing.forkserver" not in sys.modules:
        return
    from multiprocessing import forkserver

    server = forkserver._forkserver  # noqa: SLF001 - multiprocessing has no API for this
    pid = getattr(server, "_forkserver_pid", None)
    if pid is not None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            server._stop()  # reaps it and forgets it, so that a later pool starts another


class WorkerPool(ProcessPoolExecutor):
    """A pool of up to `workers` processes, started as work arrives.

    Forked from the server, never from the command itself: a forked copy of a process that
    has run torch (and started its thread pools) can deadlock. Where there is no forkserver
    (Windows), workers are spawned and import what they need themselves.
    """

    def __init__(self, workers: int):
        start_server()
        self.spawner = recording_context()
        super().__init__(workers, mp_context=self.spawner, initializer=worker_started,
                         initargs=(os.getpid(),))

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """As ProcessPoolExecutor's, never cut short by Ctrl+C or SIGTERM (interrupts_held):
        it may start a worker and, the first time, the thread that hands out the tasks."""
        with interrupts_held():
            return super().submit(fn, *args, **kwargs)

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

    def death(self) -> str:
        """How a worker that died ended, for an error: ' (killed by SIGKILL)', or ''."""
        for worker in self.spawner.started:
            code = worker.exitcode
            if code is not None and code < 0:
                with contextlib.suppress(ValueError):
                    return f" (killed by {signal.Signals(-code).name})"
        return ""

    def kill_started_workers(self) -> None:
        started = [worker for worker in self.spawner.started if worker.pid is not None]
        for worker in started:
            worker.kill()
        for worker in started:
            worker.join()


class LazyPool:
    """A WorkerPool of up to `jobs` workers, started at its first task, if one comes.

    A build whose experiments run in workers keeps one from its plan to the end of its run
    stage, and everything that imports an experiment happens there: resolving parameters,
    naming parts, running and combining them. The command then never loads torch beside
    its workers, which would hold about 150 MiB of its own there (session 24's
    measurement), and the workers find the experiments already imported.
    """

    def __init__(self, jobs: int):
        self.jobs = jobs
        self._pool: WorkerPool | None = None

    def __enter__(self) -> LazyPool:
        return self

    def __exit__(self, error_type, *_) -> bool:
        self.close(finished=error_type is None)
        return False

    def pool(self) -> WorkerPool:
        if self._pool is None:
            self._pool = WorkerPool(self.jobs)
        return self._pool

    def call(self, function, *args):
        """`function(*args)` in a worker, waited for; what it raises is raised here."""
        try:
            return self.pool().submit(function, *args).result()
        except BrokenProcessPool:
            raise TopicgenError("a worker process died while it imported, planned or "
                                "combined the experiments' runs: out of memory, or a crash "
                                "in native code; nothing was published") from None

    def close(self, finished: bool = True) -> None:
        """End the workers (see WorkerPool.close); a later task starts new ones."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close(finished)


def recording_context() -> BaseContext:
    """The forkserver (else spawn) context, keeping the processes it starts, so that a pool
    can kill its own (ProcessPoolExecutor can only wait for them)."""
    base = type(multiprocessing.get_context("forkserver" if FORKED else "spawn"))

    class Recording(base):
        def __init__(self):
            super().__init__()
            self.started: list[BaseProcess] = []

        def Process(self, *args, **kwargs) -> BaseProcess:  # noqa: N802 - the context's name
            process = super().Process(*args, **kwargs)
            self.started.append(process)
            return process

    return Recording()


@contextlib.contextmanager
def interrupts_held():
    """Hold Ctrl+C and SIGTERM until the block ends, then act on the first that came.

    Starting the server must not be cut between its start and the recording of its pid, or
    nothing would stop it. A pool's submit may do two more such things. Starting a worker
    sends the server a request in several steps (connect, send the pipes, write what the
    worker runs): cut, it leaves the server half a request, and its traceback, or a worker
    waiting for the rest, on the command's stderr. Starting the pool's thread that hands
    out the tasks: cut, the pool cannot be shut down ("cannot join thread before it is
    started") and its semaphores are reported leaked. So an interrupt waits for the submit,
    at most until the server has finished its imports. Importing an experiment file waits
    too (experiments.loader). The handlers are swapped, not the signals blocked: a blocked
    signal goes to any other thread, and Python runs its handler in the main thread anyway.
    Signals reach only the main thread's handlers; elsewhere there is nothing to hold.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {number: signal.signal(number, lambda number, _: held.append(number))
                for number in (signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(number) is not None}  # None: set outside Python, left be
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if held:
            signal.raise_signal(held[0])  # now to its own handler


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim; elsewhere a no-op).
    Not after every task of every pool: a warm --watch worker reuses its heap build after
    build."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim():
    """glibc's malloc_trim, or None (macOS, Windows, musl)."""
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # TypeError: Windows opens no "None"
        return None


_malloc_trim = _find_malloc_trim()


def worker_started(command: int) -> None:
    """Set up a new worker: leave Ctrl+C to the command, exit when the command is gone, and
    end without Python's teardown when the pool lets it go (it has sent every result by
    then, and unloading torch, matplotlib or WeasyPrint module by module takes a quarter
    of a second)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The objects inherited from the server are never collected here: left to the collector,
    # its passes would write to (and so copy) every page they lie on.
    gc.freeze()
    threading.Thread(target=exit_with, args=(command,), daemon=True,
                     name="topicgen-command-watch").start()
    atexit.register(exit_now)


def exit_with(command: int) -> None:
    """Exit once the process `command` has exited. Not the worker's parent: that is the
    server, which waits for its workers to exit before it does."""
    try:
        handle = os.pidfd_open(command)  # Linux: readable once the process has exited
    except (AttributeError, OSError):  # elsewhere, or the command is gone already
        while alive(command):
            time.sleep(PARENT_CHECK_SECONDS)
    else:
        select.select([handle], [], [])
    exit_now(1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process took the number: ours is gone
        return False


def exit_now(code: int = 0) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
