"""build_handout(): the stages in order, content -> runs -> figures -> pages -> files."""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from topicgen import experiments, sources
from topicgen.api import Context, Result
from topicgen.config import Config, describe
from topicgen.content.myst import FigureRequest, figure_requests, parse
from topicgen.content.render import Document, FigureHtml, number_targets, render_chapter
from topicgen.content.topic import Topic, load_topic
from topicgen.content.values import make_environment, render_live_values
from topicgen.errors import ClaimError, ContentError, ParamError, TopicgenError, did_you_mean
from topicgen.experiments.loader import Experiment
from topicgen.files import write_atomic
from topicgen.freshness import file_digest, fingerprint, previous_manifest, up_to_date
from topicgen.lock import build_lock
from topicgen.results import keys
from topicgen.results.cache import ResultCache

if TYPE_CHECKING:
    from topicgen.publish.pdf import Layout

log = logging.getLogger(__name__)


@dataclass
class Run:
    """One experiment at one set of parameters; several figures may share it."""

    exp: Experiment
    params: dict[str, Any]
    """Resolved (experiments.params.as_dict): JSON-able, and known without importing."""
    seed: int = 0
    labels: list[str] = field(default_factory=list)
    result: Result | None = None
    cache_hit: bool = False
    material: dict[str, Any] = field(default_factory=dict)
    """What the result depends on: the cache key's material (see results.cache)."""

    @property
    def experiment(self) -> str:
        return self.exp.name

    @property
    def command(self) -> str:
        overrides = " ".join(f"-p {k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                             for k, v in self.params.items())
        seed = f" --seed {self.seed}" if self.seed else ""
        return f"topicgen run {self.experiment} {overrides}{seed}"


@dataclass
class BuildSummary:
    outputs: list[Path]
    runs: list[Run]
    seconds: float
    up_to_date: bool = False

    @property
    def reused(self) -> int:
        return sum(run.cache_hit for run in self.runs)


@contextmanager
def stage(name: str):
    """Log one line per stage: its name, what it did (set note["text"]) and its time."""
    started = time.perf_counter()
    note = {"text": ""}
    yield note
    log.info("%-8s %s (%.2f s)", name, note["text"], time.perf_counter() - started)


def build_handout(config: Config, argv: list[str] | None = None) -> BuildSummary:
    from topicgen.publish.pdf import Layout

    started = time.perf_counter()
    with build_lock(config.project / ".topicgen"), Layout(config.jobs) as layout:
        inputs = fingerprint(describe(config), input_roots(config))
        if not config.force and up_to_date(config.out_dir, inputs):
            log.debug("inputs %s match the last build; every output is intact", inputs)
            return BuildSummary([], [], time.perf_counter() - started, up_to_date=True)
        if "pdf" in config.formats:
            layout.warm()  # a PDF worker starts up while the figures and HTML are made
        with stage("load") as note:
            topic = load_topic(config.content_dir, config.topic)
            note["text"] = f"{topic.slug}: {len(topic.chapters)} chapters"
        cache = ResultCache(config.cache_path, config.force)
        with stage("plan") as note:
            requests = plan_figures(topic)
            runs = plan_runs(requests, topic, config.profile, config.seed, cache)
            note["text"] = f"{len(requests)} figures from {len(runs)} experiment runs"
        run_stage(runs, config, cache)
        with stage("figures") as note:
            drawn = draw_figures(requests, runs, cache, config.jobs)
            figures = {request.label: (svg.decode("utf-8"), run)
                       for request, (run, svg) in zip(requests, drawn, strict=True)}
            note["text"] = f"{len(figures)} figures"
        with stage("render") as note:
            html = render_handout(topic, runs, figures, config, cache)
            note["text"] = f"handout.html ({len(html) // 1024} KiB)"
        check_claims(runs)
        with stage("publish") as note:
            files = handout_files(html, figures, runs, config, cache, layout)
            files[config.out_dir / "manifest.json"] = manifest(config, runs, files, inputs, argv)
            note["text"] = publish(files, config.out_dir)
    outputs = [path for path in files if path.name != "manifest.json"]
    return BuildSummary(outputs, runs, time.perf_counter() - started)


def publish(files: dict[Path, bytes | str], out_dir: Path) -> str:
    """Replace every output atomically, then drop what the last build wrote and this one did
    not; returns the publish stage's log text."""
    stale = stale_outputs(out_dir, files)
    changed = sum(write_atomic(path, data) for path, data in files.items())
    for path in stale:
        path.unlink(missing_ok=True)
    return f"{len(files)} files in {out_dir} ({changed} changed" + \
        (f", {len(stale)} stale removed)" if stale else ")")


def input_roots(config: Config) -> list[Path]:
    """Every file a handout build reads besides topicgen's own code."""
    from topicgen.pages import theme_dir

    return [config.content_dir / config.topic, config.project / "templates", theme_dir(),
            config.project / "topicgen.toml"]


def plan_figures(topic: Topic) -> list[FigureRequest]:
    """Every figure directive in the topic, checked against the topic's experiments."""
    requests = []
    for chapter in topic.chapters:
        for request in figure_requests(parse(chapter.text), chapter.path):
            try:
                experiment = topic.experiment(request.experiment)
            except TopicgenError as error:
                raise ContentError(error.message, request.path, request.line) from None
            names = experiments.figure_names(experiment)
            if request.figure not in names:
                raise ContentError(f'experiment "{request.experiment}" has no figure '
                                   f'"{request.figure}"' + did_you_mean(request.figure, names),
                                   request.path, request.line)
            requests.append(request)
    return requests


def plan_runs(requests: list[FigureRequest], topic: Topic, profile: str, seed: int,
              cache: ResultCache) -> list[Run]:
    """One Run per distinct (experiment, resolved parameters), shared by its figures."""
    runs: dict[str, Run] = {}
    for request in requests:
        experiment = topic.experiment(request.experiment)
        try:
            params = cache.params(experiment, profile, request.overrides)
        except ParamError as error:
            raise ContentError(error.message, request.path, request.line) from None
        key = json.dumps([request.experiment, params], sort_keys=True)
        runs.setdefault(key, Run(experiment, params, seed)).labels.append(request.label)
    return list(runs.values())


def run_stage(runs: list[Run], config: Config, cache: ResultCache) -> None:
    """The run stage: every run's result, reused or computed."""
    with stage("run") as note:
        run_experiments(runs, config, cache)
        note["text"] = f"{sum(r.cache_hit for r in runs)} reused, " \
                       f"{sum(not r.cache_hit for r in runs)} computed"


def run_experiments(runs: list[Run], config: Config, cache: ResultCache) -> None:
    from topicgen.results.runner import run_all

    ctx = Context(seed=config.seed, device=check_device(config.device))
    run_all(runs, ctx, cache, jobs=config.jobs, fail_fast=config.fail_fast)


def check_device(device: str) -> str:
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise TopicgenError("--device cuda: no CUDA device is available here; use --device cpu")
    return device


def draw_figures(requests: list[FigureRequest], runs: list[Run], cache: ResultCache,
                 jobs: int, fmt: str = "svg", dpi: int = 200) -> list[tuple[Run, bytes]]:
    """For each request, (the run it shows, the figure's file content), drawn from results
    only (or reused)."""
    from topicgen.figures.draw import figures_bytes

    by_label = {label: run for run in runs for label in run.labels}
    shown = [by_label[request.label] for request in requests]
    drawn = figures_bytes([(run.exp, request.figure, run.result, cache.key(run.material))
                           for request, run in zip(requests, shown, strict=True)],
                          cache, jobs, fmt, dpi)
    return list(zip(shown, drawn, strict=True))


def render_handout(topic: Topic, runs: list[Run], figures: dict[str, tuple[str, Run]],
                   config: Config, cache: ResultCache) -> str:
    from topicgen.pages import render_page
    from topicgen.pages.context import handout_page

    results = {label: run.result for run in runs for label in run.labels}
    env = make_environment(results)
    chapters = [(c.path, parse(render_live_values(c.text, c.path, env), config.raw_html))
                for c in topic.chapters]
    doc = Document(references=topic.references, experiments=topic.experiments,
                   raw_html=config.raw_html)
    doc.figures = {label: FigureHtml(svg, run.result.claims, run.command,
                                     None if label == run.labels[0] else run.labels[0])
                   for label, (svg, run) in figures.items()}
    number_targets(chapters, doc)
    chapters_html = [render_chapter(path, tokens, doc) for path, tokens in chapters]
    page = handout_page(topic, chapters_html, doc, config.paper, config.profile, cache)
    return render_page(config.project, "handout.html", page)


def check_claims(runs: list[Run]) -> None:
    """A measurement that contradicts its theory fails the build before any file is replaced."""
    failed = [f"{run.experiment} [{claim.id}]: {claim.statement} Expected {claim.expected}, "
              f"measured {claim.measured} (tolerance {claim.tolerance})"
              for run in runs for claim in run.result.claims if not claim.passed]
    if failed:
        raise ClaimError(f"{len(failed)} claim(s) failed: " + " | ".join(failed))


def handout_files(html: str, figures: dict[str, tuple[str, Run]], runs: list[Run],
                  config: Config, cache: ResultCache, layout: Layout | None = None
                  ) -> dict[Path, bytes | str]:
    """Every output file's path and bytes, computed before anything is written."""
    return {**page_files("handout", html, config, cache, layout),
            **figure_files(figures, config.out_dir, cache)}


def figure_files(figures: dict[str, tuple[str, Run]], out: Path, cache: ResultCache
                 ) -> dict[Path, str]:
    """Each figure's SVG, and the result behind it as JSON and CSV (kept in `cache` with the
    result: making them took a quarter of a second on every rebuild)."""
    files: dict[Path, str] = {}
    for label, (svg, run) in figures.items():
        files[out / "figures" / f"{label}.svg"] = svg
        for fmt in ("json", "csv"):
            files[out / "data" / f"{label}.{fmt}"] = data_file(run, fmt, cache)
    return files


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


def page_files(stem: str, html: str, config: Config, cache: ResultCache,
               layout: Layout | None = None) -> dict[Path, bytes | str]:
    """`<stem>.html` and `<stem>.pdf` in the output folder, as far as `config.formats` asks;
    the PDF's parts are laid out by `layout`, or in up to `config.jobs` processes."""
    files: dict[Path, bytes | str] = {}
    if "html" in config.formats:
        files[config.out_dir / f"{stem}.html"] = html
    if "pdf" in config.formats:
        from topicgen.publish.pdf import Layout, html_to_pdf

        with nullcontext(layout) if layout else Layout(config.jobs) as using:
            files[config.out_dir / f"{stem}.pdf"] = html_to_pdf(html, config.project, cache,
                                                                using)
    return files


def stale_outputs(out_dir: Path, files: dict[Path, bytes | str]) -> list[Path]:
    """What the previous build wrote and this one will not (a removed figure, the PDF after
    `--format html`); files topicgen never wrote are left alone."""
    previous = previous_manifest(out_dir).get("outputs")
    current = {str(path.relative_to(out_dir)) for path in files}
    root = out_dir.resolve()
    return [path for relative in (previous if isinstance(previous, dict) else {})
            if relative not in current
            and (path := (out_dir / relative).resolve()).is_relative_to(root) and path.is_file()]


def manifest(config: Config, runs: list[Run], files: dict[Path, bytes | str], inputs: str,
             argv: list[str] | None) -> str:
    """What was built, from what, how: the same bytes for two builds with the same cache state."""
    data = {
        "argv": argv if argv is not None else sys.argv,
        # How the build ran, not what it built: left out so equal builds write equal bytes.
        "config": {k: v for k, v in describe(config).items()
                   if k not in ("force", "jobs", "fail_fast")},
        "versions": {"topicgen": sources.version("topicgen"),
                     "python": platform.python_version(),
                     **{name: sources.version(name)
                        for name in ("torch", "matplotlib", "weasyprint", "mathra")}},
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH") or None,
        "inputs": inputs,
        "runs": [{"experiment": run.experiment, "params": run.params,
                  "figures": run.labels, "seeds": run.result.provenance.get("seeds"),
                  "device": run.result.provenance.get("device"),
                  "cache": "hit" if run.cache_hit else "miss",
                  "cost_s": run.result.provenance.get("wall_s"),
                  "claims": {"passed": sum(c.passed for c in run.result.claims),
                             "total": len(run.result.claims)}}
                 for run in runs],
        "outputs": {str(path.relative_to(config.out_dir)): file_digest(data)
                    for path, data in sorted(files.items())},
    }
    return json.dumps(data, indent=2) + "\n"
