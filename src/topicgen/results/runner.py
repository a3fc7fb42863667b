"""Run the planned experiments: cached ones are reused, the rest run in a process pool.

Each worker runs experiments single-threaded (see `experiments.run`), so a pool of N
workers uses N cores without oversubscribing them, and its results are the same bytes as
a serial run. A failing experiment is reported with its own frames of the traceback; the
others still run unless `fail_fast` is set, and the build fails at the end with a summary.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topicgen import experiments
from topicgen.api import Context, Result, as_dict
from topicgen.errors import TopicgenError
from topicgen.experiments.loader import ExitCalled, Experiment
from topicgen.logs import counted
from topicgen.pools import LazyPool, WorkerPool, release_free_memory
from topicgen.progress import Progress
from topicgen.results.cache import ResultCache, packed_part, unpacked_part
from topicgen.results.keys import figures_material, result_material

log = logging.getLogger("topicgen.build")

Call = Callable[..., Any]
"""How a function that imports an experiment is called: `here`, or LazyPool.call."""

# What a pool costs before its first result: starting Python and importing torch in a worker
# (measured on the 2-core development machine: a build rerunning two 0.05 s experiments took
# 1.48 s in a pool of two and 0.09 s in this process). Work known to take less runs here.
POOL_START_SECONDS = 1.4


@dataclass
class Outcome:
    """What a worker sends back: a result (or a part's output), or the trimmed traceback."""

    result: Result | None = None
    error: str = ""
    summary: str = ""
    output: bytes | None = None  # a part's output (packed_part), for experiments.combine


@dataclass(frozen=True)
class Followup:
    """Work a run's result makes possible (drawing its figures), done by the pool's workers
    while no experiment's task waits for one: it fills the idle end of the run stage."""

    function: Callable[..., Any]
    args: tuple
    done: Callable[[Future], None]
    """Called in this process with the finished future."""


def compute(experiment: Experiment, values: dict[str, Any], ctx: Context,
            part: Any = None) -> Outcome:
    """The whole run (part None) or one part of it, as an Outcome.

    Then the memory the run freed goes back to the system: glibc keeps freed heap pages for
    later, so a worker (or this process, with one job) that ran one large experiment would
    hold its tensors' worth of memory through every run after it, and two workers would make
    two such peaks at once the common case.
    """
    started = time.perf_counter()
    try:
        params = experiments.params_object(experiment, values)
        if part is None:
            return Outcome(result=experiments.run(experiment, params, ctx))
        output = experiments.run_part(experiment, params, ctx, part)
        return Outcome(output=packed(part, output, time.perf_counter() - started))
    except TopicgenError:
        raise
    # An experiment's bug: report it, let the others finish. sys.exit() in its code is one
    # too: left alone it would end the command (or a worker) with no word said.
    except (Exception, SystemExit) as error:
        return failed(experiment, error)
    finally:
        release_free_memory()  # what the Outcome holds is still referenced, so it stays


def packed(part: Any, output: Any, seconds: float) -> bytes:
    """packed_part, checked where the part ran: an output the cache cannot give back is
    the experiment's mistake, named there."""
    data = packed_part(output, seconds)
    try:
        unpacked_part(data)
    except Exception as error:  # noqa: BLE001 - whatever torch.load refuses
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
        raise TypeError(f"run_part(params, ctx, {part!r}) returned what a part's output cannot "
                        "hold: tensors, numbers, strings, and lists or dicts of them"
                        + (f" (it holds a {refused.group(1)})" if refused else "")) from None
    return data


def combined(plan: Plan, ctx: Context, call: Call) -> Outcome:
    """The run's Outcome from its parts' outputs, combined by `call`."""
    run = plan.run
    outputs = {part: plan.outputs[part] for part in plan.needed}
    return call(combine, run.exp, run.params, ctx, outputs,
                sorted(run.labels) if plan.partial else None)


def combine(experiment: Experiment, values: dict[str, Any], ctx: Context,
            outputs: dict[Any, bytes], computed_for: list[str] | None) -> Outcome:
    """The Outcome of combining parts' packed outputs: the run took their seconds together.
    `computed_for`: the figures a run computed only some parts for, so that a value the
    prose reads from a missing part says why."""
    try:
        unpacked = {part: unpacked_part(data) for part, data in outputs.items()}
        params = experiments.params_object(experiment, values)
        result = experiments.combine(experiment, params, ctx,
                                     {part: output for part, (output, _) in unpacked.items()},
                                     sum(seconds for _, seconds in unpacked.values()))
        if computed_for is not None:
            result.provenance["computed_for"] = computed_for
        return Outcome(result=result)
    except TopicgenError:
        raise
    except (Exception, SystemExit) as error:
        return failed(experiment, error)


def failed(experiment: Experiment, error: BaseException) -> Outcome:
    summary = f"{type(error).__name__}: {error}"
    if isinstance(error, ExitCalled):
        summary = (f"it called os._exit({error.code!r}): an experiment returns its Result "
                   "instead of ending the process")
    elif isinstance(error, SystemExit):
        summary = (f"it called sys.exit({error.code!r}): an experiment returns its Result "
                   "instead of ending the process")
    return Outcome(error=trimmed_traceback(error, experiment.path.parent), summary=summary)


def trimmed_traceback(error: BaseException, folder: Path) -> str:
    """Only the frames in the topic's experiment files: where an author can fix it."""
    folder = folder.resolve()
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if Path(frame.filename).resolve().is_relative_to(folder)]
    lines = traceback.format_list(frames) + traceback.format_exception_only(error)
    return "".join(lines).rstrip()


def run_all(runs: list, ctx: Context, cache: ResultCache, jobs: int = 1,
            fail_fast: bool = False, scheduler: str | None = None,
            then: Callable[[Any], list[Followup]] | None = None,
            workers: LazyPool | None = None) -> None:
    """Fill `run.result`, `run.cache_hit` and `run.material` for each `Run` of the build.

    A run computes what its figures need: an experiment split into parts computes only the
    parts its `run.figures` are drawn from (experiments.needed_parts), and each part is
    cached on its own, so a later build that shows another figure computes only what is
    missing. Its claims are judged on those parts; the experiment marks the others not judged.

    With a `scheduler` (a Dask scheduler's address), what must be computed runs on that
    cluster (see results.cluster), one task per worker at a time.

    `then(run)`: what to do with a run's result once it has one (draw its figures); done in
    the worker pool, if one runs here, while it has no experiment to give a worker.

    `workers`: the build's pool, where what imports an experiment happens (planning its
    parts, running and combining them) instead of in this process; it ends with the stage.
    """
    call = workers.call if workers is not None else here
    todo = []
    followups: deque[Followup] = deque()
    for run in runs:
        run.material = materials(run, ctx)[0]
        run.result = reused(run, ctx, cache, call)
        run.cache_hit = run.result is not None
        if run.cache_hit and then is not None:
            followups.extend(then(run))
        elif not run.cache_hit:
            log.debug("  %s (%s) must run: %s", run.experiment, ", ".join(run.labels),
                      cache.why_stale(run.material))
            todo.append(run)
    plans = [Plan.of(run, ctx, cache, call) for run in todo]
    # Longest first, so the pool never waits on one long run started last.
    plans.sort(key=lambda plan: -(plan.expected or 0.0))
    failures: list[str] = []
    cluster = None
    if scheduler and plans:
        from topicgen.results.cluster import connect

        cluster = connect(scheduler, ctx.device)
        jobs = cluster.slots
    try:
        with Progress(len(plans), jobs) as progress:
            for plan in plans:
                progress.expect(plan.expected)
            for plan, outcome in outcomes(plans, ctx, cache, jobs, progress, cluster,
                                          followups, workers):
                run = plan.run
                if outcome.result is None:
                    failures.append(f"{run.experiment} ({outcome.summary})")
                    progress.finished(run.experiment,
                                      f"{run.experiment} FAILED:\n{outcome.error}")
                    if fail_fast:
                        break
                    continue
                run.result = outcome.result
                # A run that computed every part serves a build showing all figures too.
                for material in materials(run, ctx)[:1 if plan.partial else None]:
                    cache.store(material, run.result)
                if then is not None:
                    followups.extend(then(run))
                progress.finished(run.experiment, f"{run.experiment:<18} computed in "
                                                  f"{run.result.provenance['wall_s']:.2f} s")
    finally:
        if cluster is not None:
            cluster.close(finished=False)  # cancels what still runs there, if anything
    if workers is not None:
        workers.close()  # their memory is the next stage's
    if failures:
        stopped = " (stopped at the first: --fail-fast)" if fail_fast else ""
        # Runs, not experiments: a figure at other parameters is a second run of one.
        raise TopicgenError(f"{len(failures)} of {counted(len(runs), 'experiment run')} "
                            f"failed{stopped}: " + "; ".join(failures))


def run_one(experiment: Experiment, params: Any, ctx: Context,
            scheduler: str | None = None) -> Result:
    """One whole run, never cached: in this process, or on the cluster at `scheduler`. An
    experiment that raises is an error showing its own traceback lines. On a terminal, a
    status line counts the seconds while it runs."""
    values = as_dict(params)
    with Progress(1, 1) as progress:
        progress.started(experiment.name, None)
        if scheduler is None:
            outcome = compute(experiment, values, ctx)
        else:
            from topicgen.results.cluster import connect

            cluster = connect(scheduler, ctx.device)
            try:
                outcome = cluster.submit(compute, experiment, values, ctx).result()
            finally:
                cluster.close(finished=False)
    if outcome.result is None:
        log.error("%s FAILED:\n%s", experiment.name, outcome.error)
        raise TopicgenError(f"{experiment.name} failed: {outcome.summary}")
    return outcome.result


def materials(run: Any, ctx: Context) -> list[dict[str, Any]]:
    """What a run's result is cached under, known without importing the experiment: for a
    run that draws only some of its experiment's figures, the result of what those need,
    then the whole result; else the whole result alone."""
    whole = result_material(run.exp, run.params, ctx)
    if not run.figures or set(experiments.figure_names(run.exp)) <= run.figures:
        return [whole]
    return [figures_material(whole, run.figures), whole]


def likely_computed(runs: list, ctx: Context, cache: ResultCache) -> list:
    """The runs that find no entry of theirs in `cache`: a guess, before run_all reads the
    entries, at what it will compute."""
    return [run for run in runs if not any(map(cache.has, materials(run, ctx)))]


def reused(run: Any, ctx: Context, cache: ResultCache, call: Call) -> Result | None:
    """The cached result `run` can show. The whole experiment's result serves a run that
    draws only some figures only where those need every part: else it would show numbers
    from parts that a build from an empty cache does not compute, and a build would pass or
    fail by what the cache happened to hold. Where it serves, it is cached for the figures
    too, so that the next build finds it without importing the experiment to know that."""
    own, *wider = materials(run, ctx)
    found = cache.load(own)
    if found is not None or not wider:
        return found
    found = cache.load(wider[0])
    if found is None or call(parts_needed, run.exp, run.params, run.figures)[1]:
        return None
    cache.store(own, found)
    return found


def parts_needed(experiment: Experiment, values: dict[str, Any], figures: set[str]
                 ) -> tuple[list | None, bool]:
    """The parts a run drawing `figures` needs (None: the experiment is not split), and
    whether those are only some of its parts."""
    params = experiments.params_object(experiment, values)
    needed = experiments.needed_parts(experiment, params, figures)
    return needed, needed is not None and needed != experiments.parts(experiment, params)


def known_cheap(costs: list[float | None]) -> bool:
    """Whether runs of these recorded costs (None: unknown) take less than starting a pool."""
    return None not in costs and sum(costs) < POOL_START_SECONDS


def here(function: Callable[..., Any], *args: Any) -> Any:
    """Call: in this process."""
    return function(*args)


@dataclass
class Plan:
    """What one run still has to compute: its missing parts (None: the whole run), with the
    outputs of the parts already cached."""

    run: Any
    parts: list | None
    whole: dict[str, Any]
    """What the whole result depends on: its parts are cached under it."""
    needed: list = field(default_factory=list)
    """Every part the run needs, cached or not, in the experiment's order."""
    outputs: dict[Any, bytes] = field(default_factory=dict)
    """The packed output (packed_part) of each part computed or found so far."""
    expected: float | None = None
    partial: bool = False
    """Whether it computes only the parts its run's figures need, not every part."""

    @classmethod
    def of(cls, run: Any, ctx: Context, cache: ResultCache, call: Call) -> Plan:
        whole = materials(run, ctx)[-1]
        needed, partial = call(parts_needed, run.exp, run.params, run.figures)
        plan = cls(run, needed, whole, list(needed or []),
                   expected=cache.expected_cost(run.material), partial=partial)
        for part in plan.needed:
            found = cache.find_part(whole, part)
            if found is not None:
                plan.outputs[part] = found
        if plan.parts is not None:
            plan.parts = [part for part in plan.parts if part not in plan.outputs]
        return plan

    @property
    def tasks(self) -> list[tuple[Plan, Any]]:
        """(plan, part) for each part to compute; (plan, None) for a run not split."""
        return [(self, part) for part in self.parts] if self.parts is not None \
            else [(self, None)]


def outcomes(plans: list[Plan], ctx: Context, cache: ResultCache, jobs: int,
             progress: Progress, cluster: Any = None, followups: deque[Followup] | None = None,
             workers: LazyPool | None = None):
    """(plan, Outcome) pairs as runs finish; on the `cluster` (a ClusterPool) if there is
    one, else in the build's `workers` if it has them, else in this process when one worker
    is enough, or when the runs' recorded costs add up to less than starting a pool would
    take.

    Parts are computed as tasks of their own, so one long experiment does not leave the
    other cores idle; their outputs are cached and combined into the same numbers a serial
    run gives. A local pool also takes the `followups` (which grow as runs finish) whenever
    no task waits, and ends once they are done too; elsewhere they are left.
    """
    call = workers.call if workers is not None else here
    tasks = [task for plan in plans for task in plan.tasks]
    left = {id(plan): len(plan.tasks) for plan in plans}
    cheap = known_cheap([plan.expected for plan in plans])
    for plan in plans:
        if not plan.tasks:  # every part it needs is cached
            yield plan, combined(plan, ctx, call)
    if cluster is None and (workers is None or not tasks) and (
            jobs <= 1 or len(tasks) <= 1 or cheap):
        for plan, part in tasks:
            if plan.run.experiment not in progress.running:
                progress.started(plan.run.experiment, plan.expected)
            outcome = compute(plan.run.exp, plan.run.params, ctx, part)
            if (finished := collect(plan, part, outcome, left, cache, ctx, here)) is not None:
                yield plan, finished
        return
    # It starts workers as tasks arrive; the build's are started already, where they planned.
    pool = cluster or (workers.pool() if workers is not None else WorkerPool(jobs))
    owner = workers if cluster is None and workers is not None else pool  # what ends it
    extra = followups if cluster is None and followups is not None else deque()
    running: dict[Future, tuple[Plan, Any] | Followup] = {}
    try:
        while tasks or running or extra:
            while tasks and len(running) < jobs:
                plan, part = tasks.pop(0)
                if plan.run.experiment not in progress.running:
                    progress.started(plan.run.experiment, plan.expected)
                running[pool.submit(compute, plan.run.exp, plan.run.params, ctx, part)] = \
                    plan, part
            while extra and len(running) < jobs:
                followup = extra.popleft()
                running[pool.submit(followup.function, *followup.args)] = followup
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                try:
                    if isinstance(job, Followup):
                        job.done(future)
                        continue
                    outcome = future.result()
                except BrokenProcessPool:  # the pool is gone with it: nothing more runs
                    raise worker_died(pool, [job, *running.values()]) from None
                plan, part = job
                finished = collect(plan, part, outcome, left, cache, ctx, call)
                if finished is not None:
                    if finished.result is None:  # a failed run: drop its other parts
                        tasks = [task for task in tasks if task[0] is not plan]
                    yield plan, finished
    finally:
        owner.close(finished=not running)


def worker_died(pool: Any, jobs: list[tuple[Plan, Any] | Followup]) -> TopicgenError:
    """The error for a worker process that died (the system's out-of-memory killer, a crash
    in native code) under the jobs then running, any of which it may have been running."""
    names = sorted({"drawing figures" if isinstance(job, Followup) else job[0].run.experiment
                    for job in jobs})
    how = pool.death() if isinstance(pool, WorkerPool) else ""
    running = names[0] if len(names) == 1 else f"one of {', '.join(names)}"
    return TopicgenError(f"a worker process died{how} while running {running}: out "
                         "of memory (the system then kills the largest process), or a crash in "
                         "native code; nothing was published")


def collect(plan: Plan, part: Any, outcome: Outcome, left: dict[int, int], cache: ResultCache,
            ctx: Context, call: Call) -> Outcome | None:
    """Take one task's outcome; the run's Outcome once it is complete (or has failed)."""
    if left[id(plan)] < 0:
        return None  # an earlier part of this run failed
    if part is None or outcome.error:
        left[id(plan)] = -1
        return outcome
    cache.keep_part(plan.whole, part, outcome.output)
    plan.outputs[part] = outcome.output
    left[id(plan)] -= 1
    return combined(plan, ctx, call) if left[id(plan)] == 0 else None
