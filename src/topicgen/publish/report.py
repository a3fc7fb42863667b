"""build_report(): every experiment run with its provenance and its verdict.

The report covers every experiment of the topic: the runs the handout plans (so the same
cached results serve both) plus one run at the profile's defaults for each experiment the
handout does not show. Unlike the handout, a failed claim does not stop the report: it is
written showing the failure, and the caller decides the exit code (see `failed_claims`).
`report.json` (docs/report-format.md) is written beside report.html so a later build can
`--compare` against it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topicgen import experiments, sources
from topicgen.api import as_dict
from topicgen.build import (
    BuildSummary,
    Run,
    build_handout,
    page_files,
    plan_figures,
    plan_runs,
    run_stage,
    stage,
)
from topicgen.config import Config
from topicgen.content.topic import Topic, load_topic
from topicgen.files import write_atomic
from topicgen.lock import build_lock
from topicgen.publish.compare import compare_reports, read_report
from topicgen.results.cache import ResultCache

log = logging.getLogger("topicgen.build")


@dataclass
class ReportSummary:
    outputs: list[Path]
    runs: list[Run]
    data: dict[str, Any]
    """The content of report.json (with "compare" when a previous report was given)."""
    seconds: float

    @property
    def reused(self) -> int:
        return sum(run.cache_hit for run in self.runs)

    @property
    def failed(self) -> list[str]:
        return failed_claims(self.data)


def build_report(config: Config, argv: list[str] | None = None,
                 compare: Path | None = None) -> ReportSummary:
    started = time.perf_counter()
    previous = read_report(compare) if compare is not None else None  # fail before any run
    with build_lock(config.project / ".topicgen"):
        with stage("load") as note:
            topic = load_topic(config.content_dir, config.topic)
            note["text"] = f"{topic.slug}: {len(topic.chapters)} chapters"
        cache = ResultCache(config.cache_path, config.force)
        with stage("plan") as note:
            runs = report_runs(topic, config, cache)
            note["text"] = f"{len(runs)} runs of {len(topic.experiments)} experiments"
        run_stage(runs, config, cache)
        with stage("figures") as note:
            figures = report_figures(runs, cache, config.jobs)
            note["text"] = f"{sum(map(len, figures))} figures"
        data = report_data(config, runs)
        if previous is not None:
            data["compare"] = compare_reports(previous, data, compare)
        with stage("render") as note:
            html = render_report(topic, config, runs, figures, data, argv)
            note["text"] = f"report.html ({len(html) // 1024} KiB)"
        with stage("publish") as note:
            files = report_files(html, data, config, cache)
            changed = sum(write_atomic(path, content) for path, content in files.items())
            stale = remove_stale(files, config.out_dir)
            note["text"] = f"{len(files)} files in {config.out_dir} ({changed} changed" + \
                           (f", {stale} stale removed)" if stale else ")")
    return ReportSummary(list(files), runs, data, time.perf_counter() - started)


def build_all(config: Config, argv: list[str] | None = None) -> tuple[ReportSummary, BuildSummary]:
    """The report, then the handout from the results the report just ran or reused.

    The report goes first because a failed claim stops the handout but not the report. The
    handout then finds every result and figure in the cache, so `--force` must not apply to
    it too: that would rerun each experiment a second time.
    """
    report = build_report(config, argv)
    handout = build_handout(dataclasses.replace(config, force=False), argv)
    return report, handout


def report_runs(topic: Topic, config: Config, cache: ResultCache) -> list[Run]:
    """The handout's runs, then one default run per experiment it leaves out: grouped by
    experiment, in the order the handout first shows them, the others by file name."""
    runs = plan_runs(plan_figures(topic), topic, config.profile, config.seed, cache)
    shown = {run.experiment for run in runs}
    runs += [Run(experiment, cache.params(experiment, config.profile, {}), config.seed)
             for name, experiment in topic.experiments.items() if name not in shown]
    order = list(dict.fromkeys(run.experiment for run in runs))
    return sorted(runs, key=lambda run: order.index(run.experiment))


def report_figures(runs: list[Run], cache: ResultCache, jobs: int
                   ) -> list[list[tuple[str, str]]]:
    """For each run, every figure of its experiment as (name, SVG text), through the cache."""
    from topicgen.figures.draw import figures_bytes

    wanted = [(run.exp, name, run.result, cache.key(run.material))
              for run in runs for name in experiments.figure_names(run.exp)]
    svgs = iter(figures_bytes(wanted, cache, jobs))
    return [[(name, next(svgs).decode("utf-8"))
             for name in experiments.figure_names(run.exp)] for run in runs]


def run_ids(runs: list[Run]) -> list[str]:
    """`experiment` for an experiment's first run, `experiment#2`, ... for further ones."""
    seen: dict[str, int] = {}
    ids = []
    for run in runs:
        seen[run.experiment] = seen.get(run.experiment, 0) + 1
        count = seen[run.experiment]
        ids.append(run.experiment if count == 1 else f"{run.experiment}#{count}")
    return ids


def non_defaults(run: Run) -> list[str]:
    """Parameters that differ from the experiment's full-profile defaults (`Params()`)."""
    defaults = as_dict(experiments.load(run.exp).Params())
    return [name for name, value in run.params.items() if value != defaults[name]]


def reproduce_command(run: Run) -> str:
    device = run.result.provenance.get("device", "cpu")
    return run.command + (f" --device {device}" if device != "cpu" else "")


def report_data(config: Config, runs: list[Run]) -> dict[str, Any]:
    """report.json: a public contract (docs/report-format.md), so keys only ever get added."""
    entries = [run_entry(run_id, run) for run_id, run in zip(run_ids(runs), runs, strict=True)]
    claims = [claim for entry in entries for claim in entry["claims"]]
    return {
        "topic": config.topic,
        "profile": config.profile,
        "experiments": entries,
        "claims": {"passed": sum(claim["passed"] for claim in claims), "total": len(claims)},
        "versions": versions(),
    }


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
        "scalars": result["scalars"],
        "code_hash": provenance["code_hash"],
        "command": reproduce_command(run),
    }


def versions() -> dict[str, str]:
    return {"topicgen": sources.version("topicgen"), "python": platform.python_version(),
            **{name: sources.version(name)
               for name in ("torch", "matplotlib", "weasyprint", "mathra")}}


def failed_claims(data: dict[str, Any]) -> list[str]:
    """One line per failed claim: `experiment [id]: statement Expected ..., measured ...`."""
    return [f"{entry['run']} [{claim['id']}]: {claim['statement']} Expected "
            f"{claim['expected']}, measured {claim['measured']} (tolerance {claim['tolerance']})"
            for entry in data["experiments"] for claim in entry["claims"] if not claim["passed"]]


def render_report(topic: Topic, config: Config, runs: list[Run],
                  figures: list[list[tuple[str, str]]], data: dict[str, Any],
                  argv: list[str] | None) -> str:
    from topicgen.pages import render_page
    from topicgen.pages.report import report_page

    page = report_page(topic, config, runs, figures, data, argv)
    return render_page(config.project, "report.html", page)


def report_files(html: str, data: dict[str, Any], config: Config, cache: ResultCache
                 ) -> dict[Path, bytes | str]:
    """Every output file's path and content, computed before anything is written."""
    files = page_files("report", html, config, cache)
    files[config.out_dir / "report.json"] = json.dumps(data, indent=2, allow_nan=False) + "\n"
    return files


def remove_stale(files: dict[Path, bytes | str], out_dir: Path) -> int:
    """A report.pdf (or .html) from an earlier build in another --format would describe
    other results than the report.json beside it."""
    stale = [path for path in (out_dir / "report.html", out_dir / "report.pdf")
             if path not in files and path.is_file()]
    for path in stale:
        path.unlink()
    return len(stale)
