"""Every cache key in one place: what each kept thing depends on, and nothing more.

A key names code by the closure of the files that compute the thing: for a result, the
experiment file, the topic helpers it imports and `topicgen.api` (with what that imports);
for a figure, its figures file and the drawing code. Never the CLI, the runner or error
texts: adding an experiment or rewording a message reruns nothing. `ResultCache` stores by
the digest of these dicts; `why_stale` compares them field by field to explain a miss.
"""

from __future__ import annotations

from typing import Any

from topicgen import sources
from topicgen.api import Context
from topicgen.experiments.loader import Experiment

# What turns a figure function's matplotlib Figure into the bytes kept: the house style,
# the alt text read from the drawing, and the SVG title that carries it.
DRAWING = ("topicgen.figures.style", "topicgen.figures.alt", "topicgen.svg")


def experiment_code(experiment: Experiment) -> dict[str, str]:
    """Labelled path -> hash for the experiment file, every module it reaches and every data
    file in its folder: a run may read any of them (Path(__file__).parent / "x.csv"), and
    which one it reads is not known without running it."""
    return {**sources.file_hashes(experiment.module),
            **sources.data_hashes(experiment.path.parent)}


def result_material(experiment: Experiment, params: dict[str, Any], ctx: Context
                    ) -> dict[str, Any]:
    """Everything a result depends on (`params`: resolved, as_dict), as JSON-able values."""
    return {
        "topic": experiment.topic,
        "experiment": experiment.name,
        "params": params,
        "seed": ctx.seed,
        "device": ctx.device,
        "code": experiment_code(experiment),
        "torch": sources.version("torch"),
        "topicgen": sources.version("topicgen"),
    }


def figures_material(material: dict[str, Any], figures: set[str]) -> dict[str, Any]:
    """What the result of a run that draws only `figures` depends on: an experiment split
    into parts computes only the parts those figures need (experiments.needed_parts)."""
    return {**material, "figures": sorted(figures)}


def part_material(material: dict[str, Any], part: Any) -> dict[str, Any]:
    """What one part's output (experiments.run_part) depends on: the run's, and the part."""
    return {**material, "part": part}


def result_key(material: dict[str, Any]) -> str:
    return sources.digest(material)


def params_parts(experiment: Experiment, profile: str, overrides: dict[str, str]
                 ) -> dict[str, Any]:
    """What an experiment's resolved parameters depend on."""
    return {"resolve": experiment.name, "topic": experiment.topic, "profile": profile,
            "overrides": overrides, "code": experiment_code(experiment)}


def figure_parts(result: str, experiment: Experiment, figure: str, fmt: str, dpi: int
                 ) -> dict[str, Any]:
    """What a drawn figure depends on: the result (by key) and the drawing code."""
    return {
        "result": result,
        "figure": figure,
        "format": fmt,
        "dpi": dpi if fmt == "png" else None,  # svg and pdf are vector: dpi changes nothing
        "code": sources.file_hashes(experiment.figures_module, *DRAWING),
        "matplotlib": sources.version("matplotlib"),
    }


def data_parts(result: str, fmt: str) -> dict[str, Any]:
    """What a result's data file (JSON or CSV) depends on."""
    return {"data": result, "format": fmt, "code": sources.file_hashes("topicgen.results.model")}


def listing_parts(code: str) -> dict[str, Any]:
    """What a highlighted code listing depends on."""
    return {"listing": code, "pygments": sources.version("pygments"),
            "code": sources.file_hashes("topicgen.content.render")}


def pdf_parts(kind: str, htmls: list[str]) -> list[dict[str, Any]]:
    """What each laid-out PDF part or stamped drawing depends on besides fonts: its markup,
    WeasyPrint and topicgen's PDF code (hashed once for all: a chapter has hundreds of
    drawings)."""
    common = {"weasyprint": sources.version("weasyprint"),
              "code": sources.file_hashes("topicgen.publish.pdf")}
    return [{kind: html, **common} for html in htmls]
