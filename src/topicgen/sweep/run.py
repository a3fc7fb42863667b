"""Running a sweep: each point of the grid resolved, run through the result cache, and the
sweep's files published.

    topicgen sweep gradient-decay -p rho=0.5:2:7:log -p cells=rnn,linear --profile quick

Each point is one `Run`, so the points run side by side in the worker pool (or on the
cluster of `--scheduler`), and a later sweep (or a handout, or `check`) reuses every point
already computed. Every point is checked against the experiment's parameter rules before
anything runs, and nothing is written before every point has its result: a failing point
leaves the output folder as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topicgen import experiments
from topicgen.api import as_dict
from topicgen.build import Run, publish, run_stage, stage
from topicgen.config import Config
from topicgen.content.topic import experiment_named, topic_experiments
from topicgen.errors import ParamError, TopicgenError
from topicgen.experiments.loader import Experiment
from topicgen.files import check_output_folder
from topicgen.lock import build_lock
from topicgen.results.cache import ResultCache
from topicgen.sweep.data import choose_scalars, sweep_csv, sweep_record
from topicgen.sweep.grid import Grid, parse_grid

RECORD = "sweep.json"
"""Also the sweep's manifest: its `outputs` tell the next sweep into the folder which files
it may replace or remove (see build.publish)."""


@dataclass
class Point(Run):
    """A run named by its point (`gradient-decay T=10 rho=0.5`) in the runner's progress and
    failure lines, since every run of a sweep is of the same experiment."""

    point: str = ""

    @property
    def experiment(self) -> str:
        return f"{self.exp.name} {self.point}"


@dataclass
class SweepSummary:
    out_dir: Path
    runs: list[Point]
    files: list[Path]
    """What was written: sweep.csv, the figures, then sweep.json."""
    record: dict[str, Any]
    """The content of sweep.json."""

    @property
    def reused(self) -> int:
        return sum(run.cache_hit for run in self.runs)

    @property
    def failed(self) -> list[str]:
        """`T=10 [linear-law]` for each claim that fails at a point."""
        return [f"{run.point} [{claim.id}]" for run in self.runs
                for claim in run.result.claims if claim.failed]


def sweep(config: Config, name: str, pairs: tuple[str, ...], scalars: tuple[str, ...] = (),
          out: Path | None = None) -> SweepSummary:
    """Run experiment `name` at every point `pairs` (`-p` texts, see grid) describe; write
    sweep.csv, sweep.json and a figure of each of `scalars` (default: every one) into `out`
    [the topic's output folder / sweep-<name>]."""
    found = topic_experiments(config.content_dir, config.topic)
    experiment = experiment_named(found, name, config.content_dir / config.topic)
    out_dir = out or config.out_dir / f"sweep-{name}"
    check_output_folder(out_dir, config.project)
    grid = parse_grid(pairs, experiments.load(experiment).Params, name)
    runs = plan_points(experiment, grid, config.profile, config.seed)
    with build_lock(config.project / ".topicgen"):
        try:
            run_stage(runs, config, ResultCache(config.cache_path, config.force))
        except TopicgenError as error:
            error.message += f" (nothing written to {out_dir})"
            raise
        chosen = choose_scalars(runs, scalars)
        with stage("figures") as note:
            files = sweep_files(runs, grid, chosen, out_dir)
            note["text"] = f"{len(chosen)} scalars against {next(iter(grid.swept))}"
        record = sweep_record(runs, grid, config, chosen,
                              {scalar: figure_name(scalar) for scalar in chosen})
        with stage("publish") as note:
            note["text"] = publish(files, out_dir, RECORD, record)
    return SweepSummary(out_dir, runs, [*files, out_dir / RECORD], record)


def plan_points(experiment: Experiment, grid: Grid, profile: str, seed: int) -> list[Point]:
    """One run per point, its parameters resolved at `profile` and checked by the
    experiment's rules; the first point that breaks them is a ParamError naming it."""
    experiments.resolve_params(experiment, profile, grid.fixed)  # blames no point
    runs = []
    for point in grid.points:
        where = " ".join(f"{name}={value}" for name, value in point.items())
        try:
            params = experiments.resolve_params(experiment, profile, {**grid.fixed, **point})
        except ParamError as error:
            raise ParamError(f"sweep point {where}: {error.message}") from None
        runs.append(Point(experiment, as_dict(params), seed, point=where))
    return runs


def sweep_files(runs: list[Point], grid: Grid, scalars: list[str], out_dir: Path
                ) -> dict[Path, bytes | str]:
    """sweep.csv and each scalar's figure, by path (sweep.json is published with them)."""
    from topicgen.sweep.figure import draw_scalar

    files: dict[Path, bytes | str] = {out_dir / "sweep.csv": sweep_csv(runs, grid, scalars)}
    for scalar in scalars:
        files[out_dir / figure_name(scalar)] = draw_scalar(runs, grid, scalar)
    return files


def figure_name(scalar: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", scalar) + ".svg"
