"""Run the planned experiments: cached ones are reused, the rest run in a process pool.

Each worker runs experiments single-threaded (see `experiments.run`), so a pool of N
workers uses N cores without oversubscribing them, and its results are the same bytes as
a serial run. A failing experiment is reported with its own frames of the traceback; the
others still run unless `fail_fast` is set, and the build fails at the end with a summary.
"""

from __future__ import annotations

import logging
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from topicgen import experiments
from topicgen.errors import TopicgenError
from topicgen.experiments.result import Result
from topicgen.progress import Progress
from topicgen.results.cache import ResultCache, key_material

log = logging.getLogger("topicgen.build")


@dataclass
class Outcome:
    """What a worker sends back: a result, or the trimmed traceback of the failure."""

    result: Result | None = None
    error: str = ""
    summary: str = ""


def compute(name: str, params: Any, ctx: experiments.Context) -> Outcome:
    try:
        return Outcome(result=experiments.run(name, params, ctx))
    except TopicgenError:
        raise
    except Exception as error:  # an experiment's bug: report it, let the others finish
        return Outcome(error=trimmed_traceback(error), summary=f"{type(error).__name__}: {error}")


def trimmed_traceback(error: BaseException) -> str:
    """Only the frames in experiment modules (not the registry): where an author can fix it."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if "topicgen/experiments/" in (name := f.filename.replace("\\", "/"))
              and not name.endswith("/__init__.py")]
    lines = traceback.format_list(frames) + traceback.format_exception_only(error)
    return "".join(lines).rstrip()


def run_all(runs: list, ctx: experiments.Context, cache: ResultCache, jobs: int = 1,
            fail_fast: bool = False) -> None:
    """Fill `run.result`, `run.cache_hit` and `run.material` for each `Run` of the build."""
    todo = []
    for run in runs:
        run.material = key_material(run.experiment, run.params, ctx)
        run.result = cache.load(run.material)
        run.cache_hit = run.result is not None
        if not run.cache_hit:
            log.debug("  %s (%s) must run: %s", run.experiment, ", ".join(run.labels),
                      cache.why_stale(run.material))
            todo.append(run)
    expected = {id(run): cache.expected_cost(run.experiment, run.params) for run in todo}
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


def outcomes(todo: list, ctx: experiments.Context, jobs: int, progress: Progress,
             expected: dict[int, float | None]):
    """(run, Outcome) pairs as they finish; in this process when one worker is enough."""
    if jobs <= 1 or len(todo) <= 1:
        for run in todo:
            progress.started(run.experiment, expected[id(run)])
            yield run, compute(run.experiment, run.params, ctx)
        return
    # spawn, not fork: a forked copy of a process that has started torch's thread pools can
    # deadlock, and spawn behaves the same on Linux, macOS and Windows.
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=get_context("spawn"))
    running: dict[Future, Any] = {}
    queue = list(todo)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                run = queue.pop(0)
                running[pool.submit(compute, run.experiment, run.params, ctx)] = run
                progress.started(run.experiment, expected[id(run)])
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield running.pop(future), future.result()
    finally:
        pool.shutdown(wait=not running, cancel_futures=True)
