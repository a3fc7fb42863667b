"""Run the planned experiments: cached ones are reused, the rest run in a process pool.

Each worker runs experiments single-threaded (see `experiments.run`), so a pool of N
workers uses N cores without oversubscribing them, and its results are the same bytes as
a serial run. A failing experiment is reported with its own frames of the traceback; the
others still run unless `fail_fast` is set, and the build fails at the end with a summary.
"""

from __future__ import annotations

import logging
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topicgen import experiments
from topicgen.api import Context, Result
from topicgen.errors import TopicgenError
from topicgen.experiments.loader import Experiment
from topicgen.pools import WorkerPool
from topicgen.progress import Progress
from topicgen.results.cache import ResultCache
from topicgen.results.keys import result_material

log = logging.getLogger("topicgen.build")

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
    output: Any = None  # a part's output, for experiments.combine
    seconds: float = 0.0


def compute(experiment: Experiment, values: dict[str, Any], ctx: Context,
            part: Any = None) -> Outcome:
    """The whole run (part None) or one part of it, as an Outcome."""
    started = time.perf_counter()
    try:
        params = experiments.params_object(experiment, values)
        if part is None:
            return Outcome(result=experiments.run(experiment, params, ctx))
        output = experiments.run_part(experiment, params, ctx, part)
        return Outcome(output=output, seconds=time.perf_counter() - started)
    except TopicgenError:
        raise
    except Exception as error:  # an experiment's bug: report it, let the others finish
        return failed(experiment, error)


def combined(run: Any, ctx: Context, outputs: dict, seconds: float) -> Outcome:
    try:
        params = experiments.params_object(run.exp, run.params)
        return Outcome(result=experiments.combine(run.exp, params, ctx, outputs, seconds))
    except TopicgenError:
        raise
    except Exception as error:
        return failed(run.exp, error)


def failed(experiment: Experiment, error: Exception) -> Outcome:
    return Outcome(error=trimmed_traceback(error, experiment.path.parent),
                   summary=f"{type(error).__name__}: {error}")


def trimmed_traceback(error: BaseException, folder: Path) -> str:
    """Only the frames in the topic's experiment files: where an author can fix it."""
    folder = folder.resolve()
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if Path(frame.filename).resolve().is_relative_to(folder)]
    lines = traceback.format_list(frames) + traceback.format_exception_only(error)
    return "".join(lines).rstrip()


def run_all(runs: list, ctx: Context, cache: ResultCache, jobs: int = 1,
            fail_fast: bool = False) -> None:
    """Fill `run.result`, `run.cache_hit` and `run.material` for each `Run` of the build."""
    todo = []
    for run in runs:
        run.material = result_material(run.exp, run.params, ctx)
        run.result = cache.load(run.material)
        run.cache_hit = run.result is not None
        if not run.cache_hit:
            log.debug("  %s (%s) must run: %s", run.experiment, ", ".join(run.labels),
                      cache.why_stale(run.material))
            todo.append(run)
    expected = {id(run): cache.expected_cost(run.exp, run.params) for run in todo}
    # Longest first, so the pool never waits on one long run started last.
    todo.sort(key=lambda run: -(expected[id(run)] or 0.0))
    failures: list[str] = []
    with Progress(len(todo), jobs) as progress:
        for run in todo:
            progress.expect(expected[id(run)])
        for run, outcome in outcomes(todo, ctx, jobs, progress, expected):
            if outcome.result is None:
                failures.append(f"{run.experiment} ({outcome.summary})")
                progress.finished(run.experiment, f"{run.experiment} FAILED:\n{outcome.error}")
                if fail_fast:
                    break
                continue
            run.result = outcome.result
            cache.store(run.material, run.result)
            progress.finished(run.experiment, f"{run.experiment:<18} computed in "
                                              f"{run.result.provenance['wall_s']:.2f} s")
    if failures:
        stopped = " (stopped at the first: --fail-fast)" if fail_fast else ""
        raise TopicgenError(f"{len(failures)} of {len(runs)} experiments failed{stopped}: "
                            + "; ".join(failures))


def outcomes(todo: list, ctx: Context, jobs: int, progress: Progress,
             expected: dict[int, float | None]):
    """(run, Outcome) pairs as they finish; in this process when one worker is enough, or
    when the runs' recorded costs add up to less than starting a pool would take.

    In the pool, an experiment that declares independent `parts` is split into them, so one
    long experiment does not leave the other cores idle; its parts' outputs are combined
    here, into the same numbers a serial run gives.
    """
    tasks = [(run, part) for run in todo
             for part in (experiments.parts(run.exp, experiments.params_object(run.exp, run.params))
                          if jobs > 1 else None)
             or [None]]
    costs = [expected[id(run)] for run in todo]
    cheap = None not in costs and sum(costs) < POOL_START_SECONDS
    if jobs <= 1 or len(tasks) <= 1 or cheap:
        for run in todo:
            progress.started(run.experiment, expected[id(run)])
            yield run, compute(run.exp, run.params, ctx)
        return
    pool = WorkerPool(min(jobs, len(tasks)))
    parts_left = {id(run): sum(r is run for r, _ in tasks) for run in todo}
    outputs: dict[int, dict] = {id(run): {} for run in todo}
    seconds = dict.fromkeys(parts_left, 0.0)
    running: dict[Future, tuple[Any, Any]] = {}
    try:
        while tasks or running:
            while tasks and len(running) < jobs:
                run, part = tasks.pop(0)
                if run.experiment not in progress.running:
                    progress.started(run.experiment, expected[id(run)])
                running[pool.submit(compute, run.exp, run.params, ctx, part)] = run, part
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                run, part = running.pop(future)
                outcome = future.result()
                if part is None or outcome.error:
                    tasks = [task for task in tasks if task[0] is not run]  # a failed run
                    parts_left[id(run)] = -1  # ignore its parts still running
                    yield run, outcome
                    continue
                if parts_left[id(run)] < 0:
                    continue
                outputs[id(run)][part] = outcome.output
                seconds[id(run)] += outcome.seconds
                parts_left[id(run)] -= 1
                if parts_left[id(run)] == 0:
                    yield run, combined(run, ctx, outputs[id(run)], seconds[id(run)])
    finally:
        pool.close(finished=not running)
