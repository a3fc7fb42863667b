"""Standalone figure files and their data as CSV, for slides and learning platforms.

The figures are the handout's own (same parameters, same cached results); a name selects
them by figure label or by experiment. An experiment the topic does not show is exported at
its profile's defaults, labelled `<experiment>.<figure>`. Overrides (`-p T=200`) go on top of
each figure's own parameters, and its files carry them in their names (`fig-decay.T=200.svg`),
so they never replace the handout's. A failed claim is reported, not fatal (see the CLI's
`--strict`): this is a command for exploring.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from topicgen import experiments
from topicgen.api import Result
from topicgen.build import BuildSummary, Built, Run, Shown, Target, build, plan_figures, plan_runs
from topicgen.config import Config
from topicgen.content.myst import FigureRequest
from topicgen.content.topic import Topic, in_another_topic
from topicgen.errors import UsageError, did_you_mean
from topicgen.experiments.loader import Experiment
from topicgen.files import write_all_atomic
from topicgen.freshness import previous_manifest
from topicgen.overrides import Overrides, check_overrides, overridden
from topicgen.publish.handout import data_file, result_json
from topicgen.results.cache import ResultCache


def export_figures(config: Config, names: tuple[str, ...], out_dir: Path, fmt: str = "svg",
                   dpi: int = 200, argv: list[str] | None = None,
                   overrides: Overrides | None = None) -> BuildSummary:
    """Write `<label>.<fmt>`, `<label>.csv` and `<label>.json` for each selected figure into
    `out_dir`."""
    return build(config, TARGET, argv, out=out_dir, names=list(names), fmt=fmt, dpi=dpi,
                 overrides=overrides or {})


def handout_settings(config: Config, given: set[str]) -> Config:
    """The settings to export into the handout's own figures folder with: its profile and
    seed where the command gave none (so the files are its figures, not another run's); a
    UsageError where one given differs, which would replace its figures with others."""
    built = previous_manifest(config.out_dir).get("config", {})
    folder = config.out_dir / "figures"
    for key in ("profile", "seed"):
        if key not in built or built[key] == getattr(config, key):
            continue
        if key in given:
            raise UsageError(f"{folder} holds the handout's figures, built with {key} "
                             f"{built[key]}: --{key} {getattr(config, key)} would replace "
                             "them; give the export a folder of its own with --out DIR")
        config = dataclasses.replace(config, **{key: built[key]})
    return config


def plan(topic: Topic, config: Config, cache: ResultCache, options: dict
         ) -> tuple[list[Run], list[Shown]]:
    requests = select(plan_figures(topic), tuple(options["names"]), topic)
    check_overrides(options["overrides"], requests, topic)
    requests = [overridden(r, options["overrides"], rename=True) for r in requests]
    return plan_runs(requests, topic, config.profile, config.seed, cache)


def files(built: Built) -> dict[Path, bytes | str]:
    # Every claim's verdict, so that a later export with nothing changed can print them
    # without loading a result (see claim_lines).
    built.record["claims"] = [claim.line(where(run, claim)) for run in built.runs
                              for claim in run.result.claims]
    found: dict[Path, bytes | str] = {}
    for s in built.shown:
        found[built.out_dir / f"{s.label}.{built.options['fmt']}"] = built.drawn[s.label]
        for fmt in ("csv", "json"):
            found[built.out_dir / f"{s.label}.{fmt}"] = data_file(s.run, fmt, built.cache)
    return found


def write_run_figures(experiment: Experiment, result: Result, out_dir: Path, fmt: str,
                      dpi: int) -> list[str]:
    """Every figure of one ad-hoc run (`topicgen run --figures`) as `<experiment>.<figure>`
    files with the result as CSV and JSON; returns the figure names. Nothing is cached."""
    from topicgen.figures.draw import draw

    names = experiments.figure_names(experiment)
    files: dict[Path, bytes | str] = {}
    for figure in names:
        stem = out_dir / f"{experiment.name}.{figure}"
        files[stem.with_name(f"{stem.name}.{fmt}")] = draw(experiment, figure, result, fmt, dpi)
        files[stem.with_name(f"{stem.name}.csv")] = result.to_csv()
        files[stem.with_name(f"{stem.name}.json")] = result_json(result)
    write_all_atomic(files)  # drawn first: a failing figure writes nothing
    return names


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
            raise UsageError(f'no figure or experiment "{name}"'
                             + (in_another_topic(name, topic.root, figures=True)
                                or did_you_mean(name, choices)))
        chosen += [m for m in matches if m not in chosen]
    return chosen


def default_requests(experiment: Experiment) -> list[FigureRequest]:
    template = FigureRequest(label="", experiment=experiment.name, figure="", overrides={},
                             alt="", caption="", path=Path(), line=0, caption_line=0)
    return [dataclasses.replace(template, label=f"{experiment.name}.{figure}", figure=figure)
            for figure in experiments.figure_names(experiment)]


def claim_lines(summary: BuildSummary, out_dir: Path) -> list[str]:
    """Every claim of an export: from its runs, or, when it was up to date, as the export
    that made these files recorded them."""
    if summary.up_to_date:
        return previous_manifest(out_dir, TARGET.manifest).get("claims", [])
    return [claim.line(where(run, claim)) for run in summary.runs for claim in run.result.claims]


def where(run: Run, claim) -> str:
    """`fig-decay [linear-law]`: the figures a claim backs, and its id."""
    return f"{', '.join(run.labels)} [{claim.id}]"


TARGET = Target(name="figures", plan=plan, files=files, manifest="manifest-figures.json",
                claims_stop_it=False, pdf=False)
