"""Runs on a Dask cluster: with `--scheduler ADDRESS`, the runs a build must compute go there.

The cluster is Dask distributed's, started by whoever runs it (`dask scheduler`, then
`dask worker ADDRESS --nthreads 1` on each machine). Each run, or part of one, is one task;
its result comes back here and goes into this machine's cache, so a build on the cluster
writes the same bytes as a local one. The workers need topicgen and torch of this machine's
versions (a worker with others is refused, at connection and again by each task) and the
topic's experiment files, which travel with each task (a few hundred kB) and are unpacked
once per content into a folder of the worker's temporary directory.

A worker that dies mid-run has its run retried on another by Dask (its
`distributed.scheduler.allowed-failures`, 3 by default); after that the run fails, named,
and nothing of it is cached. With `--device cuda`, each task asks for one `GPU` resource,
so a worker started with `--resources GPU=1` runs one at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import inspect
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topicgen import experiments, sources
from topicgen.api import Context
from topicgen.errors import TopicgenError
from topicgen.experiments.loader import Experiment
from topicgen.results.runner import Outcome

log = logging.getLogger("topicgen.build")

INSTALL = "pip install 'topicgen[dask]'"
CONNECT_SECONDS = 5
"""How long to try reaching the scheduler: a wrong address should fail fast."""
WORKER_WAIT_SECONDS = 60
"""How long a cluster without workers is given for one to join."""
UNUSED_DAYS = 7
"""How long a worker keeps a shipped experiments folder that no task has used."""
CHECKED = ("topicgen", "torch")
"""The distributions a worker must have in this machine's versions: the results depend on
them (Python's own version is in Dask's, checked the same way)."""

ONE_RUN_AT_A_TIME = threading.Lock()
"""Experiments set torch's thread count for their process and import their topic's modules:
a worker started with several threads runs one experiment at a time, so its bytes stay
those of a serial run (start workers with `--nthreads 1` and one per core instead)."""


def connect(address: str, device: str) -> ClusterPool:
    """A pool sending tasks to the cluster at `address`, checked to be able to run them."""
    try:
        from distributed import Client
    except ImportError:
        raise TopicgenError(f"--scheduler {address}: Dask is not installed here; install "
                            f"it with: {INSTALL}") from None
    # Dask logs a failed connection or a dead worker with its own tracebacks; what matters of
    # them reaches the user as topicgen's one-line errors.
    if not log.isEnabledFor(logging.DEBUG):
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
    try:
        client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, ValueError) as error:
        raise TopicgenError(f"--scheduler {address}: cannot reach a Dask scheduler there "
                            f"({error}); is `dask scheduler` running?") from None
    try:
        pool = ClusterPool(client, address, device)
        pool.check_workers()
    except BaseException:
        client.close()
        raise
    return pool


def versions() -> dict[str, str]:
    return {name: sources.version(name) for name in CHECKED}


class ClusterPool:
    """The cluster as a pool: `submit(compute, experiment, values, ctx, part)` returns a
    concurrent.futures.Future of the run's Outcome, as a WorkerPool's does."""

    def __init__(self, client: Any, address: str, device: str):
        self.client = client
        self.address = address
        self.resources = {"GPU": 1} if device == "cuda" else None
        self.slots = 1
        self.tasks: list[Any] = []
        self.shipped: dict[Path, ShippedCode] = {}

    def check_workers(self) -> None:
        """Wait for a worker; refuse workers whose versions differ; count the slots."""
        if not every_worker(self.client):
            log.info("waiting up to %d s for a worker to join %s", WORKER_WAIT_SECONDS,
                     self.address)
            try:
                self.client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
            except TimeoutError:
                raise TopicgenError(f"--scheduler {self.address}: no worker joined in "
                                    f"{WORKER_WAIT_SECONDS} s; start one with `dask worker "
                                    f"{self.address} --nthreads 1`") from None
        found = self.client.get_versions(packages=list(CHECKED))
        ours = {**versions(), "python": minor(found["client"]["packages"]["python"])}
        for worker, info in found["workers"].items():
            theirs = info["packages"]
            refuse_if_different(ours, {**theirs, "python": minor(theirs["python"])}, worker)
        workers = every_worker(self.client).values()
        if self.resources:
            self.slots = int(sum(w["resources"].get("GPU", 0) for w in workers))
            if not self.slots:
                raise TopicgenError(f"--device cuda: no worker of {self.address} offers a GPU; "
                                    f"start one on a GPU host with `dask worker {self.address} "
                                    "--nthreads 1 --resources GPU=1`")
        else:
            self.slots = len(workers)
        unit = "GPU" if self.resources else "worker"
        log.info("running on %s: %d %s%s", self.address, self.slots, unit,
                 "" if self.slots == 1 else "s")

    def submit(self, compute: Any, experiment: Experiment, values: dict[str, Any],
               ctx: Context, part: Any = None) -> Future:
        code = self.code_of(experiment)
        expected = {**versions(), "code": experiments.code_hash(experiment)}
        task = self.client.submit(
            on_worker, code, expected, compute, experiment, values, ctx, part,
            key=f"topicgen-{experiment.name}-{uuid.uuid4().hex[:12]}", pure=False,
            resources=self.resources)
        self.tasks.append(task)
        outcome: Future = Future()
        task.add_done_callback(lambda done: settle(outcome, done, experiment.name))
        return outcome

    def code_of(self, experiment: Experiment) -> ShippedCode:
        folder = experiment.path.parent.resolve()
        if folder not in self.shipped:
            self.shipped[folder] = ShippedCode.of(folder)
        return self.shipped[folder]

    def close(self, finished: bool = True) -> None:
        """Let the cluster go; unless the work `finished`, cancel what it still runs."""
        if self.client.status == "closed":
            return
        if not finished:
            self.client.cancel(self.tasks, force=True)
        self.client.close()


def minor(python: str) -> str:
    """3.11 of Dask's '3.11.7.final.0': what pickles and results depend on."""
    return ".".join(python.split(".")[:2])


def every_worker(client: Any) -> dict[str, dict]:
    """Each worker's address -> information. Dask 2025.x lists five unless asked for all,
    and earlier versions do not take the question."""
    asks = "n_workers" in inspect.signature(client.scheduler_info).parameters
    return client.scheduler_info(**({"n_workers": -1} if asks else {}))["workers"]


def settle(outcome: Future, task: Any, name: str) -> None:
    """Pass a task's end on to `outcome`: a run whose workers all died is a failed run (the
    build names it), a refused worker a one-line error."""
    from distributed.scheduler import KilledWorker

    try:
        outcome.set_result(task.result())
    except KilledWorker as error:
        tries = error.allowed_failures + 1
        outcome.set_result(Outcome(
            error=f"its worker died on each of {tries} tries (last: {error.last_worker.address})",
            summary=f"its worker died, {tries} tries"))
    except TopicgenError as error:
        outcome.set_exception(error)
    except Exception as error:  # e.g. a worker that cannot unpickle the task (no topicgen)
        outcome.set_exception(TopicgenError(f"{name}: the cluster could not run it: "
                                            f"{type(error).__name__}: {error}"))


def refuse_if_different(ours: dict[str, str], theirs: dict[str, Any], worker: str) -> None:
    different = {name: theirs.get(name) for name in ours if theirs.get(name) != ours[name]}
    if different:
        found = ", ".join(f"{name} {version or 'missing'} (here: {ours[name]})"
                          for name, version in different.items())
        raise TopicgenError(f"worker {worker} is refused: it has {found}; install the same "
                            "versions on every worker")


@dataclass(frozen=True)
class ShippedCode:
    """A topic's experiments folder, sent with each task: file path -> bytes."""

    folder: str
    """The folder on this machine: where tracebacks point."""
    files: dict[str, bytes]
    digest: str

    @classmethod
    def of(cls, folder: Path) -> ShippedCode:
        files = {path.relative_to(folder).as_posix(): path.read_bytes()
                 for path in sorted(folder.rglob("*"))
                 if path.is_file() and "__pycache__" not in path.parts
                 and not path.name.startswith(".")}
        digest = hashlib.sha256()
        for name, data in files.items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return cls(str(folder), files, digest.hexdigest()[:16])

    def unpacked(self) -> Path:
        """The files in a folder of this worker's, written once for each content. Each use
        marks the content's folder as used; writing a new one removes those unused for
        UNUSED_DAYS (every edit of an experiment ships a new content)."""
        folder = Path(tempfile.gettempdir()) / "topicgen-worker" / self.digest / "experiments"
        if folder.is_dir():
            with contextlib.suppress(OSError):
                os.utime(folder.parent)
            return folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        remove_unused(folder.parent.parent, UNUSED_DAYS * 86400)
        staging = Path(tempfile.mkdtemp(dir=folder.parent))
        for name, data in self.files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        try:
            os.rename(staging, folder)  # whole or not at all: another task may race us
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    def here(self, text: str, folder: Path) -> str:
        """`text` with the worker's copy of the folder named as this machine's."""
        return text.replace(str(folder), self.folder)


def remove_unused(shipped: Path, seconds: float) -> None:
    """Remove the shipped contents under `shipped` that no task has used for `seconds`."""
    cutoff = time.time() - seconds
    for content in shipped.iterdir():
        with contextlib.suppress(OSError):
            if content.is_dir() and content.stat().st_mtime < cutoff:
                shutil.rmtree(content, ignore_errors=True)


def on_worker(code: ShippedCode, expected: dict[str, str], compute: Any, experiment: Experiment,
              values: dict[str, Any], ctx: Context, part: Any) -> Outcome:
    """The task: run `compute` on the worker's copy of the experiment, reporting errors and
    tracebacks with this machine's paths, as a local run would."""
    from distributed import get_worker

    worker = get_worker().address
    refuse_if_different({name: expected[name] for name in CHECKED}, versions(), worker)
    if ctx.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise TopicgenError(f"--device cuda: worker {worker} has no CUDA device")
    folder = code.unpacked().resolve()
    copy = dataclasses.replace(experiment, path=folder / experiment.path.name)
    if experiments.code_hash(copy) != expected["code"]:  # same versions, other topicgen files
        raise TopicgenError(f"worker {worker} is refused: its topicgen code differs from "
                            "this machine's; install the same topicgen on every worker")
    with ONE_RUN_AT_A_TIME:
        try:
            outcome = compute(copy, values, ctx, part)
        except TopicgenError as error:
            raise type(error)(code.here(error.message, folder)) from None
    return dataclasses.replace(outcome, error=code.here(outcome.error, folder),
                               summary=code.here(outcome.summary, folder))
