"""The report target: every experiment of the topic, each run with its provenance, every
figure of it and its verdict.

The report covers the runs the handout plans (so the same cached results serve both) plus one
run at the profile's defaults for each experiment the handout does not show. Unlike the
handout, a failed claim does not stop the report: it is written showing the failure, and the
caller decides the exit code (`BuildSummary.failed`). `report.json` (docs/report-format.md) is
written beside report.html so a later build can `--compare` against it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from topicgen import experiments
from topicgen.api import as_dict
from topicgen.build import (
    BuildSummary,
    Built,
    Run,
    Shown,
    Target,
    build,
    claim_counts,
    plan_figures,
    plan_runs,
    run_ids,
    versions,
)
from topicgen.config import Config
from topicgen.content.topic import CAUGHT_BY, PlantedBug, Topic
from topicgen.publish.compare import compare_reports, read_report
from topicgen.publish.handout import page_files
from topicgen.publish.handout import target as handout_target
from topicgen.results.cache import ResultCache


def build_report(config: Config, argv: list[str] | None = None,
                 compare: Path | None = None) -> BuildSummary:
    if compare is not None:
        read_report(compare)  # a broken --compare file fails before anything runs
    return build(config, TARGET, argv, compare=str(compare) if compare else None)


def build_all(config: Config, argv: list[str] | None = None
              ) -> tuple[BuildSummary, list[BuildSummary]]:
    """The report, then from the results it just ran or reused: the handout in both editions
    (instructor, then student) and the slides.

    The report goes first because a failed claim stops the others (they are then not
    built) but not the report. They find every result and figure in the cache, so `--force`
    must not rerun each experiment again for them; it still builds them anew rather than
    finding them up to date.
    """
    from topicgen.config import EDITIONS
    from topicgen.publish.slides import TARGET as SLIDES

    report = build_report(config, argv)
    if report.failed:  # the handouts and slides would stop at the same claims
        return report, []
    again = dataclasses.replace(config, force=False)

    def target(kind: Target) -> Target:
        return dataclasses.replace(kind, reuse_when_fresh=False) if config.force else kind

    others = []
    for edition in EDITIONS:
        solutions = None if edition == "student" and config.solutions == "inline" \
            else config.solutions
        edition_config = dataclasses.replace(again, edition=edition, solutions=solutions)
        others.append(build(edition_config, target(handout_target(edition_config)), argv))
    others.append(build(again, target(SLIDES), argv))
    return report, others


def plan(topic: Topic, config: Config, cache: ResultCache, options: dict
         ) -> tuple[list[Run], list[Shown]]:
    """The handout's runs, then one default run per experiment it leaves out: grouped by
    experiment, in the order the handout first shows them, the others by file name. Every
    figure of every run is shown."""
    runs, _ = plan_runs(plan_figures(topic), topic, config.profile, config.seed, cache)
    shown = {run.experiment for run in runs}
    runs += [Run(experiment, cache.params(experiment, config.profile, {}), config.seed)
             for name, experiment in topic.experiments.items() if name not in shown]
    order = list(dict.fromkeys(run.experiment for run in runs))
    runs.sort(key=lambda run: order.index(run.experiment))
    return runs, [Shown(f"{run_id}/{figure}", run, figure)
                  for run_id, run in zip(run_ids(runs), runs, strict=True)
                  for figure in experiments.figure_names(run.exp)]


def files(built: Built) -> dict[Path, bytes | str]:
    """report.html, .pdf and .json, computed before anything is written."""
    from topicgen.pages import render_page
    from topicgen.pages.report import report_page

    data = report_data(built.config, built.runs, built.topic.planted_bugs)
    if built.options.get("compare"):
        compare = Path(built.options["compare"])
        data["compare"] = compare_reports(read_report(compare), data, compare)
    built.data = data
    figures = [[(s.figure, built.drawn[s.label].decode("utf-8")) for s in built.shown
                if s.run is run] for run in built.runs]
    page = report_page(built.topic, built.config, built.runs, figures, data, built.argv)
    found = page_files("report", render_page(built.config.project, "report.html", page), built)
    found[built.out_dir / "report.json"] = json.dumps(data, indent=2, allow_nan=False) + "\n"
    return found


def non_defaults(run: Run) -> list[str]:
    """Parameters that differ from the experiment's full-profile defaults (`Params()`)."""
    defaults = as_dict(experiments.load(run.exp).Params())
    return [name for name, value in run.params.items() if value != defaults[name]]


def reproduce_command(run: Run) -> str:
    device = run.result.provenance.get("device", "cpu")
    return run.command + (f" --device {device}" if device != "cpu" else "")


def report_data(config: Config, runs: list[Run],
                planted: list[PlantedBug] | None = None) -> dict[str, Any]:
    """report.json: a public contract (docs/report-format.md), so keys only ever get added."""
    entries = [run_entry(run_id, run) for run_id, run in zip(run_ids(runs), runs, strict=True)]
    for entry in entries:
        entry["planted_bugs"] = [dataclasses.asdict(bug) for bug in planted or []
                                 if bug.experiment == entry["experiment"]]
    claims = [claim for entry in entries for claim in entry["claims"]]
    return {
        "topic": config.topic,
        "profile": config.profile,
        "experiments": entries,
        "claims": claim_counts(claims),
        "planted_bugs": bug_counts(planted or []),
        "versions": versions(),
    }


def bug_counts(planted: list[PlantedBug]) -> dict[str, int]:
    """The mutation score: how many planted bugs each kind of claim catches."""
    return {"planted": len(planted),
            **{kind: sum(bug.caught_by == kind for bug in planted) for kind in CAUGHT_BY}}


def run_entry(run_id: str, run: Run) -> dict[str, Any]:
    result = run.result.to_json_dict()  # non-finite scalars become null here
    provenance = result["provenance"]
    return {
        "run": run_id,
        "experiment": run.experiment,
        "figures": run.labels,
        "params": run.params,
        "non_default": non_defaults(run),
        "seeds": provenance["seeds"],
        "device": provenance["device"],
        "wall_s": provenance["wall_s"],
        "cache": "hit" if run.cache_hit else "miss",
        "claims": result["claims"],
        "deviations": result["deviations"],
        "scalars": result["scalars"],
        "code_hash": provenance["code_hash"],
        "command": reproduce_command(run),
    }


TARGET = Target(name="report", plan=plan, files=files, manifest="manifest-report.json",
                claims_stop_it=False, reuse_when_fresh=False)
