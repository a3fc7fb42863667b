"""build(): one pipeline for every target, its stages read top to bottom.

    lock -> load -> plan -> run -> draw -> render -> check -> publish

With worker processes, a run's figures are drawn as soon as it ends, by workers the last
experiments leave idle (see results.runner.Followup), so "draw" starts inside "run".

Every target (the handout, the report, standalone figures) runs these same stages; a target
adds only what is its own: which figures of which runs it shows (`plan`) and the files it
makes from them (`files`). The docs site builds its topics through here, then adds its pages.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from topicgen import experiments, sources
from topicgen.api import Context, Result
from topicgen.config import Config, describe
from topicgen.content.myst import (
    EXERCISE,
    FigureRequest,
    directive_name,
    figure_requests,
    parse,
    parse_exercise,
)
from topicgen.content.topic import Topic, check_topic, load_topic
from topicgen.errors import (
    ClaimError,
    ContentError,
    ParamError,
    TopicgenError,
    UsageError,
    did_you_mean,
)
from topicgen.experiments.loader import Experiment
from topicgen.files import check_output_folder, write_all_atomic
from topicgen.freshness import file_digest, fingerprint, previous_manifest, up_to_date
from topicgen.lock import build_lock
from topicgen.logs import counted
from topicgen.overrides import parse_overrides
from topicgen.pools import PDF_PRELOAD, PRELOAD, TRAINING_PRELOAD, LazyPool, start_server
from topicgen.results.cache import ResultCache

if TYPE_CHECKING:
    from topicgen.publish.pdf import Layout
    from topicgen.results.runner import Followup

log = logging.getLogger(__name__)


@dataclass
class Run:
    """One experiment at one set of parameters; several figures may share it."""

    exp: Experiment
    params: dict[str, Any]
    """Resolved (api.as_dict): JSON-able, and known without importing."""
    seed: int = 0
    labels: list[str] = field(default_factory=list)
    figures: set[str] = field(default_factory=set)
    """The experiment's figures the target shows from this run: what it must compute."""
    shown_at: list[str] = field(default_factory=list)
    """Where the chapters show it, `fig-decay (01-decay.md:5)`: what a failed claim names."""
    result: Result | None = None
    cache_hit: bool = False
    material: dict[str, Any] = field(default_factory=dict)
    """What the result depends on: the cache key's material (see results.keys)."""

    @property
    def experiment(self) -> str:
        return self.exp.name

    @property
    def command(self) -> str:
        overrides = " ".join(f"-p {k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                             for k, v in self.params.items())
        seed = f" --seed {self.seed}" if self.seed else ""
        # --topic: in a project with two topics, each with an experiment of this name, the
        # command would otherwise stop and ask which.
        return f"topicgen run {self.experiment} --topic {self.exp.topic} {overrides}{seed}"


@dataclass(frozen=True)
class Shown:
    """One figure a target shows: its label, the run it is drawn from and its name there."""

    label: str
    run: Run
    figure: str


@dataclass
class Built:
    """A build's state as the stages fill it; what a target's `files` reads."""

    config: Config
    out_dir: Path
    argv: list[str] | None
    topic: Topic
    cache: ResultCache
    layout: Layout
    runs: list[Run] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    drawn: dict[str, bytes] = field(default_factory=dict)
    """label -> the figure's file content."""
    options: dict[str, Any] = field(default_factory=dict)
    """What the command asked of this target alone (figure names, format, --compare)."""
    record: dict[str, Any] = field(default_factory=dict)
    """What the target adds to its manifest (the handout: how each figure was shown)."""
    data: dict[str, Any] | None = None
    """The target's summary data (the report: the content of report.json)."""


@dataclass(frozen=True)
class Target:
    """What a kind of output adds to the shared stages (each target's module in publish/
    defines its TARGET)."""

    name: str
    plan: Callable[[Topic, Config, ResultCache, dict], tuple[list[Run], list[Shown]]]
    files: Callable[[Built], dict[Path, bytes | str]]
    manifest: str
    """Its record in the output folder: what it wrote, so the next build can drop stale files."""
    claims_stop_it: bool
    """A failed claim stops the build before anything is written (else it is reported)."""
    reuse_when_fresh: bool = True
    """Skip the build when its inputs match the last one's and its outputs are intact."""
    pdf: bool = True
    """It may lay out a PDF (a worker can then warm up while the figures are drawn)."""


@dataclass
class BuildSummary:
    outputs: list[Path]
    runs: list[Run]
    seconds: float
    up_to_date: bool = False
    data: dict[str, Any] | None = None

    @property
    def reused(self) -> int:
        return sum(run.cache_hit for run in self.runs)

    @property
    def failed(self) -> list[str]:
        return failed_claims(self.runs)


@contextmanager
def stage(name: str):
    """Log one line per stage: its name, what it did (set note["text"]) and its time."""
    started = time.perf_counter()
    note = {"text": ""}
    yield note
    log.info("%-8s %s (%.2f s)", name, note["text"], time.perf_counter() - started)


def build(config: Config, kind: Target, argv: list[str] | None = None, out: Path | None = None,
          **options: Any) -> BuildSummary:
    """Build `kind` of `config.topic` into `out` (default: the topic's output folder)."""
    from topicgen.figures.draw import Drawings
    from topicgen.publish.pdf import Layout
    from topicgen.results.runner import known_cheap, likely_computed

    started = time.perf_counter()
    out_dir = out or config.out_dir
    check_topic(config.content_dir, config.topic)  # before the lock makes .topicgen/
    check_output_folder(out_dir, config.project)  # and before minutes of computing
    with build_lock(config.project / ".topicgen"), Layout(config.jobs) as layout, \
            LazyPool(config.jobs) as workers:
        inputs = fingerprint({**describe(config), "target": kind.name, **options},
                             input_roots(config))
        if kind.reuse_when_fresh and not config.force and up_to_date(out_dir, inputs,
                                                                     kind.manifest):
            log.debug("inputs %s match the last build; every output is intact", inputs)
            return BuildSummary([], [], time.perf_counter() - started, up_to_date=True)
        pdf = kind.pdf and "pdf" in config.formats
        if pdf:
            layout.warm()  # a PDF worker starts up while the figures and HTML are made
        with stage("load") as note:
            topic = load_topic(config.content_dir, config.topic)
            note["text"] = f"{topic.slug}: {counted(len(topic.chapters), 'chapter')}"
        built = Built(config, out_dir, argv, topic, ResultCache(config.cache_path, config.force),
                      layout, options=options)
        imported_in_workers = False
        if config.jobs > 1:
            # The workers' server imports what they will need while this plans, from the
            # moment that is known: torch and the rest where an experiment has never run
            # here, or must be imported to resolve its parameters (they changed), or finds no
            # result; else only WeasyPrint (a prose edit). A later start_server changes nothing.
            if new := built.cache.never_run(topic.slug, topic.experiments):
                start_server(preload(topic, new))
                # Those will run in workers (unless they are known to be cheap), which then
                # import the experiments, so that this process never loads torch beside them.
                imported_in_workers = not config.scheduler and not known_cheap(
                    built.cache.recorded_costs(topic.slug, new))
                built.cache.elsewhere = workers if imported_in_workers else None
            else:
                built.cache.importing = lambda experiment: start_server(
                    preload(topic, [experiment.name]))
        with stage("plan") as note:
            built.runs, built.shown = kind.plan(topic, config, built.cache, options)
            for shown in built.shown:
                shown.run.figures.add(shown.figure)
            note["text"] = (f"{counted(len(built.shown), 'figure')} from "
                            f"{counted(len(built.runs), 'experiment run')}")
        built.cache.importing = None
        built.cache.elsewhere = None
        if config.jobs > 1:
            ctx = Context(seed=config.seed, device=config.device)
            if computed := likely_computed(built.runs, ctx, built.cache):
                start_server(preload(topic, [run.experiment for run in computed]))
            elif pdf:
                start_server(PDF_PRELOAD)
        drawings = Drawings([(shown.run, shown.figure) for shown in built.shown], built.cache,
                            options.get("fmt", "svg"), options.get("dpi", 200))
        run_stage(built.runs, config, built.cache, then=drawings.followups,
                  workers=workers if imported_in_workers else None)
        warn_unchecked(built.runs)
        with stage("figures") as note:
            early = drawings.early
            drawn = drawings.finish(config.jobs)
            built.drawn = {shown.label: data
                           for shown, data in zip(built.shown, drawn, strict=True)}
            note["text"] = counted(len(built.drawn), "figure") + (
                f" ({early} drawn as the runs ended)" if early else "")
        with stage("render") as note:
            typeset_claims(built.runs)
            files = kind.files(built)
            note["text"] = ", ".join(path.name for path in files if path.parent == out_dir)
        if kind.claims_stop_it:
            check_claims(built.runs)
        with stage("publish") as note:
            record = manifest(config, built, files, inputs)
            note["text"] = publish(files, out_dir, kind.manifest, record)
    return BuildSummary(list(files), built.runs, time.perf_counter() - started, data=built.data)


def preload(topic: Topic, names: list[str]) -> tuple[str, ...]:
    """What the workers' server imports where the experiments `names` will run."""
    trains = any(experiments.trains(topic.experiments[name]) for name in names)
    return TRAINING_PRELOAD if trains else PRELOAD


def publish(files: dict[Path, bytes | str], out_dir: Path, manifest_name: str,
            record: dict[str, Any]) -> str:
    """Replace every output atomically and record them in `manifest_name`, then drop what the
    last build of this target wrote and this one did not; returns the stage's log text.

    The one rule for every target, the site's too: files a target never wrote are left
    alone."""
    record["outputs"] = {str(path.relative_to(out_dir)): file_digest(data)
                         for path, data in sorted(files.items())}
    stale = stale_outputs(out_dir, files, manifest_name, record)
    written = {**files, out_dir / manifest_name: json.dumps(record, indent=2) + "\n"}
    changed = write_all_atomic(written)  # all or none: a failed write replaces nothing
    for path in stale:
        path.unlink(missing_ok=True)
        if path.parent == out_dir.resolve() and path.suffix in (".pdf", ".html"):
            # A document, not a figure the chapters dropped: say so where -q still shows it.
            log.warning("removed %s: this build did not make it (see --format), and it "
                        "would no longer match what it made", path.name)
    return f"{len(written)} files in {out_dir} ({changed} changed" + \
        (f", {len(stale)} stale removed)" if stale else ")")


def stale_outputs(out_dir: Path, files: dict[Path, bytes | str], manifest_name: str,
                  record: dict[str, Any]) -> list[Path]:
    """What the previous build wrote and this one will not (a removed figure, the PDF after
    `--format html`); files topicgen never wrote are left alone, and so are those another
    topic built into the same folder (the last manifest there, unlike `record`, names it)."""
    last = previous_manifest(out_dir, manifest_name)
    topics = [(manifest.get("config") or {}).get("topic") for manifest in (last, record)]
    if last and topics[0] != topics[1]:
        log.warning('warning: %s held topic "%s": its files are left in place', out_dir,
                    topics[0])
        return []
    previous = last.get("outputs")
    current = {str(path.relative_to(out_dir)) for path in files}
    root = out_dir.resolve()
    return [path for relative in (previous if isinstance(previous, dict) else {})
            if relative not in current
            and (path := (out_dir / relative).resolve()).is_relative_to(root) and path.is_file()]


def input_roots(config: Config) -> list[Path]:
    """Every file a topic's build reads besides topicgen's own code."""
    from topicgen.pages import theme_dir

    return [config.content_dir / config.topic, config.project / "templates", theme_dir(),
            config.project / "topicgen.toml"]


def plan_figures(topic: Topic) -> list[FigureRequest]:
    """Every figure directive in the topic, checked against the topic's experiments."""
    requests: list[FigureRequest] = []
    by_label: dict[str, FigureRequest] = {}
    for chapter in topic.chapters:
        for request in figure_requests(parse(chapter.text), chapter.path):
            # Here, before live values look figures up by label and find the wrong one.
            if (first := by_label.setdefault(request.label, request)) is not request:
                raise ContentError(f'label "{request.label}" is already used at '
                                   f"{first.path.name}:{first.line}", request.path, request.line)
            try:
                experiment = topic.experiment(request.experiment)
            except TopicgenError as error:
                raise ContentError(error.message, request.path, request.line) from None
            names = experiments.figure_names(experiment)
            if request.figure not in names:
                missing = experiment.figures_path
                raise ContentError(f'experiment "{request.experiment}" has no figure '
                                   f'"{request.figure}"' + (
                                       did_you_mean(request.figure, names) if names else
                                       f" (it has no figures file: {missing.name} beside "
                                       f"{experiment.path.name} does not exist)"
                                       if not missing.is_file() else ""),
                                   request.path, request.line)
            requests.append(request)
    return requests


def check_exercises(topic: Topic, cache: ResultCache) -> None:
    """Each exercise's `:try: EXPERIMENT -p NAME=VALUE ...` names an experiment of the topic
    and parameters it accepts, so the command a student copies runs. Parameters are resolved
    through the cache, so that a rebuild does not import the experiment (and torch)."""
    for chapter in topic.chapters:
        for token in parse(chapter.text):
            if directive_name(token) != EXERCISE:
                continue
            exercise = parse_exercise(token, chapter.path)
            command, line = exercise.try_command, exercise.line
            words = command.split()
            if not words:
                continue
            if any(word != "-p" for word in words[1::2]) or len(words) % 2 == 0:
                raise ContentError(f'":try: {command}" must read EXPERIMENT -p NAME=VALUE ...',
                                   chapter.path, line)
            try:
                cache.params(topic.experiment(words[0]), "full", parse_overrides(words[2::2]))
            except TopicgenError as error:
                raise ContentError(f'":try: {command}": {error.message}', chapter.path,
                                   line) from None


def plan_runs(requests: list[FigureRequest], topic: Topic, profile: str, seed: int,
              cache: ResultCache) -> tuple[list[Run], list[Shown]]:
    """One Run per distinct (experiment, resolved parameters), shared by its figures; and
    each request as the figure it shows."""
    runs: dict[str, Run] = {}
    shown = []
    for request in requests:
        experiment = topic.experiment(request.experiment)
        try:
            params = cache.params(experiment, profile, request.overrides)
        except ParamError as error:
            raise ContentError(error.message, request.path,
                               request.params_line or request.line) from None
        key = json.dumps([request.experiment, params], sort_keys=True)
        run = runs.setdefault(key, Run(experiment, params, seed))
        run.labels.append(request.label)
        run.shown_at.append(f"{request.label} ({request.path.name}:{request.line})")
        shown.append(Shown(request.label, run, request.figure))
    return list(runs.values()), shown


def run_stage(runs: list[Run], config: Config, cache: ResultCache,
              then: Callable[[Run], list[Followup]] | None = None,
              workers: LazyPool | None = None) -> None:
    """The run stage: every run's result, reused or computed; `then(run)`: what to do with
    a run's result once it has one, while workers wait for the last experiments; `workers`:
    the pool where the plan imported the experiments, to run them too."""
    from topicgen.results.runner import run_all

    with stage("run") as note:
        ctx = Context(seed=config.seed, device=device_of(config))
        run_all(runs, ctx, cache, jobs=config.jobs, fail_fast=config.fail_fast,
                scheduler=config.scheduler, then=then, workers=workers)
        note["text"] = f"{sum(r.cache_hit for r in runs)} reused, " \
                       f"{sum(not r.cache_hit for r in runs)} computed"


def device_of(config: Config) -> str:
    """The device runs ask for: checked here, unless they run on a cluster, whose workers
    check it themselves."""
    return config.device if config.scheduler else check_device(config.device)


def check_device(device: str) -> str:
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            # The environment lacks what was asked for, from the command line or topicgen.toml.
            raise UsageError("device cuda (--device, or device in topicgen.toml): no CUDA "
                             "device is available here; use cpu")
    return device


def failed_claims(runs: list[Run]) -> list[str]:
    """Each failed claim: its run and id, the figures that show the run, what it says and
    measured (formulas as their TeX, for a terminal), and on a second line the command that
    runs the experiment alone, with the parameters it failed at."""
    from topicgen.mathtex import INLINE

    def plain(text: str) -> str:
        return INLINE.sub(lambda formula: formula.group(1), text)

    return [f"{run_id} [{claim.id}]"
            + (f", shown as {', '.join(run.shown_at)}" if run.shown_at else "")
            + f": {plain(claim.statement)} Expected {plain(claim.expected)}, measured "
              f"{plain(claim.measured)} (tolerance {claim.tolerance})\n  {run.command}"
            for run_id, run in zip(run_ids(runs), runs, strict=True)
            for claim in run.result.claims if claim.failed]


def claims_failed(failed: list[str], outcome: str = "") -> ClaimError:
    """The error for claims that failed: a first line that says it all to a script reading
    only that line, then a line (or two) for each claim."""
    listed = "\n".join("  " + entry.replace("\n", "\n  ") for entry in failed)
    return ClaimError(f"{counted(len(failed), 'claim')} failed{outcome}:\n{listed}")


def run_ids(runs: list[Run]) -> list[str]:
    """`experiment` for an experiment's first run, `experiment#2`, ... for further ones."""
    seen: dict[str, int] = {}
    ids = []
    for run in runs:
        seen[run.experiment] = seen.get(run.experiment, 0) + 1
        count = seen[run.experiment]
        ids.append(run.experiment if count == 1 else f"{run.experiment}#{count}")
    return ids


def typeset_claims(runs: list[Run]) -> None:
    """Typeset the formulas in every claim's words now, where an error can name the
    experiment file and the claim (the page that shows them could name neither); the page
    then finds each one typeset already (render_math keeps them)."""
    from topicgen.mathtex import INLINE, MathError, render_math

    for run in runs:
        for claim in run.result.claims:
            for part in ("statement", "expected", "measured"):
                for tex in INLINE.findall(getattr(claim, part)):
                    try:
                        render_math(tex, display=False)
                    except MathError as error:
                        raise ContentError(f'claim "{claim.id}": cannot typeset ${tex}$ in '
                                           f"its {part}: {error}", run.exp.path) from None


UNCHECKED_WARNED: set[Path] = set()
"""Experiments warned of in this process (`--watch` rebuilds many times)."""


def warn_unchecked(runs: list[Run]) -> None:
    """A figure whose experiment states no claims reaches the page with nothing checked: say
    so once, since every other figure of a handout is checked against its data."""
    for run in runs:
        if run.figures and not run.result.claims and run.exp.path not in UNCHECKED_WARNED:
            UNCHECKED_WARNED.add(run.exp.path)
            log.warning("warning: %s states no claims, so its figures are shown unchecked "
                        "(add claims(result) to it)", run.exp.path)


def check_claims(runs: list[Run]) -> None:
    """A measurement that contradicts its theory fails the build before any file is replaced."""
    failed = failed_claims(runs)
    if failed:
        raise claims_failed(failed, ", so no file was written (the last build's stay)")


def manifest(config: Config, built: Built, files: dict[Path, bytes | str], inputs: str
             ) -> dict[str, Any]:
    """What was built, from what, how: the same bytes for two builds with the same cache state
    (publish adds `outputs`)."""
    return {
        "argv": built.argv if built.argv is not None else sys.argv,
        # How the build ran, not what it built: left out so equal builds write equal bytes.
        "config": {k: v for k, v in describe(config).items()
                   if k not in ("force", "jobs", "fail_fast", "scheduler")},
        "versions": versions(),
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH") or None,
        "inputs": inputs,
        "runs": [{"experiment": run.experiment, "params": run.params,
                  "figures": run.labels, "seeds": run.result.provenance.get("seeds"),
                  "device": run.result.provenance.get("device"),
                  "cache": "hit" if run.cache_hit else "miss",
                  "cost_s": run.result.provenance.get("wall_s"),
                  "claims": claim_counts([vars(c) for c in run.result.claims])}
                 for run in built.runs],
        **built.record,
    }


def claim_counts(claims: list[dict[str, Any]]) -> dict[str, int]:
    """How many claims (as JSON) held, were judged, and were not judged."""
    return {"passed": sum(claim["passed"] is True for claim in claims),
            "total": sum(claim["passed"] is not None for claim in claims),
            "not_judged": sum(claim["passed"] is None for claim in claims)}


def versions() -> dict[str, str]:
    return {"topicgen": sources.version("topicgen"), "python": platform.python_version(),
            **{name: sources.version(name)
               for name in ("torch", "matplotlib", "weasyprint", "mathra")}}
