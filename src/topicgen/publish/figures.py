"""Standalone figure files and their data as CSV, for slides and learning platforms.

The figures are the handout's own (same parameters, same cached results); a name selects
them by figure label or by experiment. An experiment the topic does not show is exported at
its profile's defaults, labelled `<experiment>.<figure>`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from topicgen import experiments
from topicgen.build import draw_figures, plan_figures, plan_runs, run_experiments
from topicgen.config import Config
from topicgen.content.myst import FigureRequest
from topicgen.content.topic import Topic, load_topic
from topicgen.errors import UsageError, did_you_mean
from topicgen.experiments.loader import Experiment
from topicgen.files import write_atomic
from topicgen.lock import build_lock
from topicgen.results.cache import ResultCache

log = logging.getLogger(__name__)


def export_figures(config: Config, names: tuple[str, ...], out_dir: Path, fmt: str = "svg",
                   dpi: int = 200) -> list[Path]:
    """Write `<label>.<fmt>` and `<label>.csv` for each selected figure; returns the paths."""
    with build_lock(config.project / ".topicgen"):
        topic = load_topic(config.content_dir, config.topic)
        requests = select(plan_figures(topic), names, topic)
        cache = ResultCache(config.cache_path, config.force)
        runs = plan_runs(requests, topic, config.profile, config.seed, cache)
        run_experiments(runs, config, cache)
        drawn = draw_figures(requests, runs, cache, config.jobs, fmt, dpi)
        written = []
        for request, (run, data) in zip(requests, drawn, strict=True):
            for path, content in ((out_dir / f"{request.label}.{fmt}", data),
                                  (out_dir / f"{request.label}.csv", run.result.to_csv())):
                write_atomic(path, content)
                written.append(path)
        log.info("%d figures from %d runs (%d reused)", len(requests), len(runs),
                 sum(run.cache_hit for run in runs))
        return written


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
