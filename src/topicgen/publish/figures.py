"""Standalone figure files and their data as CSV, for slides and learning platforms.

The figures are the handout's own (same parameters, same cached results); a name selects
them by figure label or by experiment. An experiment the topic does not show is exported at
its profile's defaults, labelled `<experiment>.<figure>`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from topicgen import experiments
from topicgen.build import BuildSummary, Built, Run, Shown, Target, build, plan_figures, plan_runs
from topicgen.config import Config
from topicgen.content.myst import FigureRequest
from topicgen.content.topic import Topic
from topicgen.errors import UsageError, did_you_mean
from topicgen.experiments.loader import Experiment
from topicgen.results.cache import ResultCache


def export_figures(config: Config, names: tuple[str, ...], out_dir: Path, fmt: str = "svg",
                   dpi: int = 200, argv: list[str] | None = None) -> BuildSummary:
    """Write `<label>.<fmt>` and `<label>.csv` for each selected figure into `out_dir`."""
    return build(config, TARGET, argv, out=out_dir, names=list(names), fmt=fmt, dpi=dpi)


def plan(topic: Topic, config: Config, cache: ResultCache, options: dict
         ) -> tuple[list[Run], list[Shown]]:
    requests = select(plan_figures(topic), tuple(options["names"]), topic)
    return plan_runs(requests, topic, config.profile, config.seed, cache)


def files(built: Built) -> dict[Path, bytes | str]:
    found: dict[Path, bytes | str] = {}
    for s in built.shown:
        found[built.out_dir / f"{s.label}.{built.options['fmt']}"] = built.drawn[s.label]
        found[built.out_dir / f"{s.label}.csv"] = s.run.result.to_csv()
    return found


def select(requests: list[FigureRequest], names: tuple[str, ...], topic: Topic
           ) -> list[FigureRequest]:
    """The requests named by label or experiment (all when `names` is empty), in topic order."""
    if not names:
        return requests
    chosen: list[FigureRequest] = []
    for name in names:
        matches = [r for r in requests if name in (r.label, r.experiment)]
        if not matches and name in topic.experiments:
            matches = default_requests(topic.experiments[name])
        if not matches:
            choices = {r.label for r in requests} | set(topic.experiments)
            raise UsageError(f'no figure or experiment "{name}"' + did_you_mean(name, choices))
        chosen += [m for m in matches if m not in chosen]
    return chosen


def default_requests(experiment: Experiment) -> list[FigureRequest]:
    template = FigureRequest(label="", experiment=experiment.name, figure="", overrides={},
                             alt="", caption="", path=Path(), line=0, caption_line=0)
    return [dataclasses.replace(template, label=f"{experiment.name}.{figure}", figure=figure)
            for figure in experiments.figure_names(experiment)]


TARGET = Target(name="figures", plan=plan, files=files, manifest="manifest-figures.json",
                claims_stop_it=False, pdf=False)
