"""The one typed context the report template receives, built from runs and report.json data."""

from __future__ import annotations

import inspect
import math
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from topicgen import experiments
from topicgen.api import as_dict
from topicgen.config import Config
from topicgen.content.topic import Topic
from topicgen.pages.context import build_date
from topicgen.svg import prefix_ids, svg_title

if TYPE_CHECKING:
    from topicgen.build import Run

PER_SEED = re.compile(r"^(?P<base>.+)_seed\d+$")


@dataclass(frozen=True)
class ParamRow:
    name: str
    value: str
    default: str
    changed: bool


@dataclass(frozen=True)
class ScalarRow:
    name: str
    value: str
    spread: str  # "" where the experiment records no seed spread for this number


@dataclass(frozen=True)
class SeriesRow:
    series: str
    curve: str
    x: str
    mean: str
    std: str


@dataclass(frozen=True)
class ChangeRow:
    run: str
    name: str
    old: str
    new: str
    change: str
    relative: str


@dataclass(frozen=True)
class Comparison:
    previous: str
    scalars: list[ChangeRow]
    claims: list[dict[str, Any]]  # "compare"."claims" entries of report.json
    added: list[str]
    removed: list[str]


@dataclass(frozen=True)
class ReportFigure:
    name: str
    alt: str  # what is plotted, read from the drawn figure (figures.alt)
    svg: Markup


@dataclass(frozen=True)
class RunSection:
    entry: dict[str, Any]  # this run's report.json entry: ids, seeds, cache, claims, command
    anchor: str
    title: str
    description: str
    summary: str
    params: list[ParamRow]
    profile: str
    figures: list[ReportFigure]
    scalars: list[ScalarRow]
    series: list[SeriesRow]
    versions: dict[str, str]

    @property
    def passed(self) -> int:
        return sum(claim["passed"] is True for claim in self.entry["claims"])

    @property
    def judged(self) -> int:
        return sum(claim["passed"] is not None for claim in self.entry["claims"])

    @property
    def bugs_caught(self) -> int:
        """Planted bugs of this experiment that fail one of its evidence claims."""
        return sum(bug["caught_by"] == "evidence" for bug in self.entry["planted_bugs"])


@dataclass(frozen=True)
class ReportPage:
    title: str
    label: str
    profile: str
    sections: list[RunSection]
    claims: dict[str, int]
    planted_bugs: dict[str, int]  # report.json's mutation score
    versions: dict[str, str]
    compare: Comparison | None
    command: str
    code_css: Markup
    paper: str
    version: str
    date: str


def report_page(topic: Topic, config: Config, runs: list[Run], figures: list[list[tuple[str, str]]],
                data: dict[str, Any], argv: list[str] | None) -> ReportPage:
    import topicgen

    sections = [run_section(run, entry, drawn, config.profile)
                for run, entry, drawn in zip(runs, data["experiments"], figures, strict=True)]
    return ReportPage(
        title=topic.title, label=topic.label, profile=config.profile, sections=sections,
        claims=data["claims"], planted_bugs=data["planted_bugs"], versions=data["versions"],
        compare=comparison(data.get("compare")),
        command=shlex.join(["topicgen", *argv[1:]]) if argv else "",
        code_css=Markup(""), paper=config.paper, version=topicgen.__version__,
        date=build_date(),
    )


def run_section(run: Run, entry: dict[str, Any], drawn: list[tuple[str, str]],
                profile: str) -> RunSection:
    module = experiments.load(run.exp)
    anchor = "run-" + re.sub(r"[^\w-]", "-", entry["run"])
    title = run.experiment + (f" ({', '.join(run.labels)})" if entry["run"] != run.experiment
                              else "")
    return RunSection(
        entry=entry, anchor=anchor, title=title, description=first_paragraph(module.__doc__),
        summary=experiments.summary(run.exp), params=param_rows(run, entry["non_default"]),
        profile=profile_label(run, profile),
        figures=[ReportFigure(name, svg_title(svg), Markup(prefix_ids(svg, f"{anchor}-{name}")))
                 for name, svg in drawn],
        scalars=scalar_rows(run.result.scalars), series=series_rows(run.result.series),
        versions={k: run.result.provenance.get(k, "?") for k in ("torch", "topicgen")},
    )


def first_paragraph(docstring: str | None) -> str:
    return " ".join(inspect.cleandoc(docstring or "").split("\n\n")[0].split())


def param_rows(run: Run, non_default: list[str]) -> list[ParamRow]:
    defaults = as_dict(experiments.load(run.exp).Params())
    return [ParamRow(name, show(value), show(defaults[name]), name in non_default)
            for name, value in run.params.items()]


def profile_label(run: Run, profile: str) -> str:
    """The profile, plus the parameters a figure directive set on top of it."""
    base = as_dict(experiments.resolve_params(run.exp, profile))
    extra = [name for name, value in run.params.items() if value != base[name]]
    return profile + (f" + {', '.join(extra)}" if extra else "")


def scalar_rows(scalars: dict[str, float]) -> list[ScalarRow]:
    """Each key number once, with its spread over seeds where the experiment records one:
    `<name>_std` beside it, or per-seed values `<name>_seed<i>` (their standard deviation)."""
    per_seed: dict[str, list[float]] = {}
    for name, value in scalars.items():
        match = PER_SEED.match(name)
        if match and match["base"] in scalars:
            per_seed.setdefault(match["base"], []).append(value)
    rows = []
    for name, value in scalars.items():
        if (name.endswith("_std") and name[:-4] in scalars) or \
                ((match := PER_SEED.match(name)) and match["base"] in scalars):
            continue
        spread = scalars.get(f"{name}_std")
        if spread is None and len(per_seed.get(name, ())) > 1:
            spread = population_std(per_seed[name])
        rows.append(ScalarRow(name, number(value), "" if spread is None else number(spread)))
    return rows


def population_std(values: list[float]) -> float:
    """The spread the experiments report: standard deviation over seeds, no correction."""
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def series_rows(series: dict[str, Any]) -> list[SeriesRow]:
    """Mean and standard deviation over seeds at the last x of every curve that has a spread."""
    return [SeriesRow(name, curve, number(s.x[-1]), number(ys[-1]), number(s.y_std[curve][-1]))
            for name, s in series.items() if s.y_std and s.x
            for curve, ys in s.y.items() if curve in s.y_std]


def comparison(compare: dict[str, Any] | None) -> Comparison | None:
    if compare is None:
        return None
    rows = [ChangeRow(c["run"], c["name"], number(c["old"]), number(c["new"]),
                      number(c["change"]), percent(c["relative"])) for c in compare["scalars"]]
    return Comparison(compare["previous"] or "", rows, compare["claims"], compare["added"],
                      compare["removed"])


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:+.3g} %"


def number(value: Any) -> str:
    if value is None:
        return "non-finite"  # how report.json writes an exploded number
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf: the run exploded, and the report says so
    return f"{value:.6g}" if isinstance(value, (int, float)) else str(value)


def show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
