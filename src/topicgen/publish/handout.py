"""The handout target: the figures its chapters ask for, made into handout.html and .pdf,
each figure's SVG and the data behind it.

A failed claim stops the handout before anything is written (see build.check_claims).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from markdown_it.token import Token

from topicgen.api import Result
from topicgen.build import (
    Built,
    Run,
    Shown,
    Target,
    check_exercises,
    plan_figures,
    plan_runs,
)
from topicgen.config import Config
from topicgen.content.myst import parse
from topicgen.content.render import Document, FigureHtml, FigureView, number_targets, render_chapter
from topicgen.content.topic import Topic
from topicgen.content.values import make_environment, render_live_values
from topicgen.errors import UsageError
from topicgen.overrides import Overrides, describe, overridden, parse_experiment_overrides
from topicgen.results import keys
from topicgen.results.cache import ResultCache
from topicgen.svg import retitled, svg_title


def plan(topic: Topic, config: Config, cache: ResultCache, options: dict
         ) -> tuple[list[Run], list[Shown]]:
    """The chapters' figures, with a variant's overrides (`-p experiment.name=value`) applied
    to every figure of their experiment."""
    check_exercises(topic, cache)
    requests = plan_figures(topic)
    variant = variant_overrides(options, topic)
    shown = {request.experiment for request in requests}
    for experiment, overrides in variant.items():
        if experiment not in shown:
            name = next(iter(overrides))
            raise UsageError(f"-p {experiment}.{name}: the handout shows no figure of "
                             f'"{experiment}"')
    requests = [overridden(r, variant.get(r.experiment, {}), rename=False) for r in requests]
    return plan_runs(requests, topic, config.profile, config.seed, cache)


def variant_overrides(options: dict, topic: Topic) -> dict[str, Overrides]:
    return parse_experiment_overrides(options.get("variant", ()), topic)


def files(built: Built) -> dict[Path, bytes | str]:
    """Every output file's path and bytes, computed before anything is written."""
    html, views = render_handout(built)
    built.record["figures"] = [{"label": view.label, "number": view.number, "alt": view.alt,
                                "caption": str(view.caption)} for view in views]
    for view in views:  # the figure's file says what the page says (an author's :alt:)
        drawn = built.drawn[view.label].decode("utf-8")
        if svg_title(drawn) != view.alt:
            built.drawn[view.label] = retitled(drawn, view.alt).encode("utf-8")
    built.record["variant"] = describe(variant_overrides(built.options, built.topic))
    return {**page_files(stem(built.config), html, built), **figure_files(built)}


def stem(config: Config) -> str:
    """The edition's file name: handout.html for instructors, handout-student.html for
    students, so that both can lie in one output folder."""
    return "handout" if config.edition == "instructor" else f"handout-{config.edition}"


def target(config: Config) -> Target:
    """The handout target of `config`'s edition: each edition records what it wrote in its own
    manifest, so building one never removes the other's files as stale."""
    if config.edition == "instructor":
        return TARGET
    return dataclasses.replace(TARGET, name=stem(config),
                               manifest=f"manifest-{config.edition}.json")


def render_handout(built: Built) -> tuple[str, list[FigureView]]:
    """The handout's HTML, and each figure as it was rendered (the docs site's gallery is
    made from these, recorded in manifest.json)."""
    from topicgen.pages import render_page, render_template
    from topicgen.pages.context import handout_page

    config, topic = built.config, built.topic
    chapters, doc = prepare(built, lambda view: render_template(config.project, "figure.html",
                                                                figure=view))
    chapters_html = [render_chapter(path, tokens, doc) for path, tokens in chapters]
    page = handout_page(topic, chapters_html, doc, config.paper, config.profile, built.cache,
                        describe(variant_overrides(built.options, topic)), config.edition)
    return render_page(config.project, "handout.html", page), list(doc.views.values())


def prepare(built: Built, render_figure: Callable[[FigureView], str]
            ) -> tuple[list[tuple[Path, list[Token]]], Document]:
    """The chapters parsed with their live values filled in, and the Document that numbers
    and renders them, holding every figure the build drew (for the handout and the slides)."""
    config, topic = built.config, built.topic
    results = {label: run.result for run in built.runs for label in run.labels}
    # A value the prose reads may be gone because a variant changed the run, not the prose.
    variant = variant_overrides(built.options, topic)
    changed = {label: "; the variant's " + " ".join(
                   f"-p {run.experiment}.{name}={value}"
                   for name, value in variant[run.experiment].items()) + " changed that run"
               for run in built.runs if run.experiment in variant for label in run.labels}
    env = make_environment(results, changed)
    chapters = [(c.path, parse(render_live_values(c.text, c.path, env), config.raw_html))
                for c in topic.chapters]
    doc = Document(references=topic.references, experiments=topic.experiments,
                   raw_html=config.raw_html, solutions=config.solutions_placement,
                   render_figure=render_figure)
    doc.figures = {s.label: FigureHtml(built.drawn[s.label].decode("utf-8"),
                                       s.run.result.claims, s.run.command,
                                       None if s.label == s.run.labels[0]
                                       or not s.run.result.claims else s.run.labels[0],
                                       s.run.result.deviations)
                   for s in built.shown}
    number_targets(chapters, doc)
    return chapters, doc


def figure_files(built: Built) -> dict[Path, bytes | str]:
    """Each figure's SVG, and the result behind it as JSON and CSV (kept in the cache with the
    result: making them took a quarter of a second on every rebuild)."""
    found: dict[Path, bytes | str] = {}
    for s in built.shown:
        found[built.out_dir / "figures" / f"{s.label}.svg"] = built.drawn[s.label]
        for fmt in ("json", "csv"):
            found[built.out_dir / "data" / f"{s.label}.{fmt}"] = data_file(s.run, fmt,
                                                                           built.cache)
    return found


def data_file(run: Run, fmt: str, cache: ResultCache) -> str:
    make = {"json": result_json, "csv": Result.to_csv}[fmt]
    return cache.artifact(keys.data_parts(cache.key(run.material), fmt), f".{fmt}",
                          lambda: make(run.result).encode("utf-8"), folder="data"
                          ).decode("utf-8")


def result_json(result: Result) -> str:
    """A result as its figure's data file: everything but the run's wall time, which differs
    between equal runs."""
    data = result.to_json_dict()
    data["provenance"] = {k: v for k, v in data["provenance"].items() if k != "wall_s"}
    return json.dumps(data, indent=2) + "\n"


def page_files(stem: str, html: str, built: Built, pdf_styles: str = "pdf.css"
               ) -> dict[Path, bytes | str]:
    """`<stem>.html` and `<stem>.pdf` in the output folder, as far as the formats ask; the
    PDF's parts are laid out by the build's layout workers, with the theme's `pdf_styles`."""
    found: dict[Path, bytes | str] = {}
    if "html" in built.config.formats:
        found[built.out_dir / f"{stem}.html"] = html
    if "pdf" in built.config.formats:
        from topicgen.pages import render_template
        from topicgen.publish.pdf import html_to_pdf

        project = built.config.project
        found[built.out_dir / f"{stem}.pdf"] = html_to_pdf(
            html, project, built.cache, built.layout, render_template(project, pdf_styles))
    return found


TARGET = Target(name="handout", plan=plan, files=files, manifest="manifest.json",
                claims_stop_it=True)
