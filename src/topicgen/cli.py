"""The `topicgen` command: thin Click commands over library functions.

Heavy libraries (torch, matplotlib, WeasyPrint) are imported inside commands, never at
module level, so `topicgen --help` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import signal
import sys
from pathlib import Path

import click

from topicgen import __version__
from topicgen.errors import TopicgenError
from topicgen.logs import counted, setup_logging

log = logging.getLogger("topicgen")


class TopicgenGroup(click.Group):
    """Turns unexpected exceptions into one line unless --debug asks for the traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            if error.ctx is None:
                raise
            # One line, as every other error: click adds the usage and a hint on two more.
            path = error.ctx.command_path.split()[1:]  # under whatever name it was invoked
            raise click.UsageError(f"{error.format_message()} ({' '.join(['topicgen', *path])}"
                                   " -h lists the options)") from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, BrokenPipeError):
            raise
        except Exception as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise TopicgenError(f"internal error: {type(error).__name__}: {error} "
                                "(rerun with --debug for the traceback)") from None


@click.group(cls=TopicgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="topicgen")
@click.option("-v", "--verbose", count=True, help="More detail (stage internals, cache keys).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """Lecture handouts whose figures and numbers come from experiments that just ran.

    \b
    Example:
      topicgen new rnn-basics                # start a topic: content/rnn-basics/
      topicgen build handout                 # output/<topic>/handout.html and .pdf
      topicgen build handout --profile quick # seconds instead of tens of seconds
      topicgen list                          # the experiments and their parameters
      topicgen run gradient-decay -p rho=1.1 --json
    """
    ctx.obj = {"debug": debug, "verbosity": -1 if quiet else verbose}
    setup_logging(ctx.obj["verbosity"])


SEED = click.IntRange(0, 2**31 - 1)
"""First seeds, as config.SEED_MAX: an experiment's seeds (first + i) then stay below 2**32,
which every generator takes."""

# Options shared by every build target; None means "not given" so topicgen.toml wins.
BUILD_OPTIONS = {
    "project": click.option("--project", type=click.Path(file_okay=False, path_type=Path),
                            help="Project root (default: the current folder)."),
    "topic": click.option("--topic", help="Topic folder under content/ [topicgen.toml's "
                                          "topic, else the only one]."),
    "out": click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                        help="Output folder [output/<topic>]."),
    "profile": click.option("--profile", type=click.Choice(["quick", "full"]),
                            help="Experiment size: full (published) or quick (CI) "
                                 "[topicgen.toml's profile, else full]."),
    "force": click.option("--force", is_flag=True, default=None,
                          help="Rerun experiments even when cached results exist."),
    "cache_dir": click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                              help="Result cache [.topicgen/cache, $TOPICGEN_CACHE_DIR]."),
    "seed": click.option("--seed", type=SEED, help="First seed of every experiment "
                                                    "[topicgen.toml's seed, else 0]."),
    "device": click.option("--device", type=click.Choice(["cpu", "cuda"]),
                           help="Where experiments run [topicgen.toml's device, else cpu]."),
    "jobs": click.option("-j", "--jobs", type=click.IntRange(min=1),
                         help="Experiments run in parallel, one process each [the usable cores]."),
    "fail_fast": click.option("--fail-fast", is_flag=True, default=None,
                              help="Stop at the first experiment that raises."),
    "scheduler": click.option("--scheduler", metavar="ADDRESS",
                              help="Run the experiments that are not cached on this Dask "
                                   "cluster, e.g. tcp://10.0.0.5:8786 [$TOPICGEN_SCHEDULER, "
                                   "topicgen.toml's scheduler; else this machine]."),
}


def build_options(command, skip: tuple[str, ...] = ()):
    """Apply BUILD_OPTIONS (less those named in `skip`) to `command`."""
    options = [option for name, option in BUILD_OPTIONS.items() if name not in skip]
    return functools.reduce(lambda f, option: option(f), reversed(options), command)


def site_options(command):
    """The build options less --topic (a site has every topic) and --out (it has its own)."""
    return build_options(command, skip=("topic", "out"))


@cli.group()
def build() -> None:
    """Build documents from a topic's content and experiments.

    \b
    Example:
      topicgen build handout --profile quick
    """


@build.command("handout")
@build_options
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "all"]), default=None,
              help="Which files to write [all].")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default=None,
              help="PDF page size [a4].")
@click.option("--watch", is_flag=True,
              help="Build, then build again whenever a source changes, until Ctrl+C.")
@click.option("-p", "--param", "variant", multiple=True, metavar="EXPERIMENT.NAME=VALUE",
              help="Build a variant: override a parameter of every figure of EXPERIMENT "
                   "(recorded in manifest.json and printed on the title page). Repeatable.")
@click.option("--edition", type=click.Choice(["instructor", "student"]), default=None,
              help="instructor: solutions under their exercises (handout.html); student: "
                   "no solutions (handout-student.html) [instructor].")
@click.option("--solutions", type=click.Choice(["inline", "appendix", "none"]), default=None,
              help="Where solutions go [inline for instructors, none for students; "
                   "appendix prints them at the end].")
def build_handout_command(fmt: str | None, watch: bool, variant: tuple[str, ...],
                          **options) -> None:
    """Build the HTML and PDF handout of a topic.

    With --watch, each rebuild runs in a process that keeps WeasyPrint loaded, so a saved
    prose edit reaches handout.pdf in about a second or two. With -p, a variant handout
    (more seeds, a longer sequence) is built with those overrides; its claims are judged as
    usual. Give it its own --out to keep the handout you hand out.

    \b
    Example:
      topicgen build handout
      topicgen build handout --topic topic4 --profile quick --format html --out /tmp/h
      topicgen build handout --profile quick --watch
      topicgen build handout -p gradient-decay.T=200 -p gradient-decay.seeds=10 --out variant/
      topicgen build handout --edition student --solutions appendix
    """
    from topicgen.build import input_roots
    from topicgen.sources import PACKAGE_DIR

    config = topic_config(dict(options), formats=format_choice(fmt))
    if not watch:
        click.echo(handout_line(config, sys.argv, list(variant)))
        return
    rebuild = functools.partial(configured_handout_line, options, fmt, sys.argv, list(variant))
    watch_and_rebuild(rebuild, input_roots(config) + [PACKAGE_DIR])


def configured_handout_line(options: dict, fmt: str | None, argv: list[str],
                            variant: list[str]) -> str:
    """handout_line with the configuration read again: --watch watches topicgen.toml, so an
    edit there counts (a bad one is reported like any broken source)."""
    return handout_line(topic_config(dict(options), formats=format_choice(fmt)), argv, variant)


def topic_config(options: dict, experiments: tuple[str, ...] = (), figures: bool = False,
                 **more):
    """The Config of one topic from a command's options (see config.with_topic)."""
    from topicgen.config import load_config, with_topic
    from topicgen.content.topic import check_topic
    from topicgen.errors import ContentError, UsageError

    config = load_config(options.pop("project"), **options, **more)
    if options.get("topic") is None and config.topic is not None \
            and config.content_dir.is_dir():  # topicgen.toml names a topic there is not
        try:
            check_topic(config.content_dir, config.topic)
        except UsageError as error:  # a file's error: it names the file, and exits 1
            raise ContentError(f"topic: {error.message}",
                               config.project / "topicgen.toml") from None
    return with_topic(config, experiments, figures)


def handout_line(config, argv: list[str], variant: list[str] | None = None) -> str:
    """Build the handout (a variant with `-p experiment.name=value` overrides); the line that
    says what was built."""
    from topicgen.build import build
    from topicgen.publish.handout import target

    # No variant, no option: the same inputs as the handout `build all` and `build site`
    # make, so that one finds the other's build up to date.
    summary = build(config, target(config), argv, **({"variant": variant} if variant else {}))
    if summary.up_to_date:
        return f"Up to date: {config.out_dir} (nothing changed; --force rebuilds)"
    names = ", ".join(p.name for p in summary.outputs if p.name.startswith("handout"))
    return (f"Built {names} in {config.out_dir} in {summary.seconds:.1f} s "
            f"({summary.reused} reused, {len(summary.runs) - summary.reused} computed)")


def watch_and_rebuild(build_line, watched: list[Path]) -> None:
    """Run `build_line` in a warm worker now and after every change under `watched`; a
    failed build is shown and the loop goes on. Ctrl+C ends it (exit 0)."""
    from topicgen.watch import Rebuilder, Watcher

    obj = click.get_current_context().obj
    with Rebuilder(build_line, obj["verbosity"], obj["debug"]) as rebuilder, \
            Watcher(watched) as watcher:
        try:
            show(*rebuilder.build())
            while True:
                show(*rebuilder.build(watcher.next()))
        except KeyboardInterrupt:
            log.info("stopped watching")


def show(ok: bool, line: str) -> None:
    click.echo(line, err=not ok)
    log.info("watching for changes (Ctrl+C stops)")


@build.command("slides")
@build_options
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "all"]), default=None,
              help="Which files to write [all].")
def build_slides_command(fmt: str | None, **options) -> None:
    """Build the slides of a topic: slides.html and a 16:9 slides.pdf.

    A slide per section (##) with its figures, display equations and first paragraph (or
    its {slide} text); the section's prose (or its {notes}) becomes the speaker notes. The
    figures and verdicts are the handout's, from the same cache. In slides.html: arrow
    keys, Page Up/Down, Space, a swipe or the buttons move; N shows the notes.

    \b
    Example:
      topicgen build slides
      topicgen build slides --topic init-scale --profile quick --format html
    """
    from topicgen.build import build
    from topicgen.publish.slides import TARGET

    config = topic_config(options, formats=format_choice(fmt))
    summary = build(config, TARGET, sys.argv)
    if summary.up_to_date:
        click.echo(f"Up to date: {config.out_dir} (nothing changed; --force rebuilds)")
        return
    names = ", ".join(p.name for p in summary.outputs if p.name.startswith("slides"))
    click.echo(f"Built {names} in {config.out_dir} in {summary.seconds:.1f} s "
               f"({summary.reused} reused, {len(summary.runs) - summary.reused} computed)")


@build.command("report")
@build_options
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "all"]), default=None,
              help="Which files to write besides report.json [all].")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default=None,
              help="PDF page size [a4].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (report.json) to stdout.")
@click.option("--compare", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="PREVIOUS.json", help="Show which numbers moved since this report.json.")
def build_report_command(fmt: str | None, as_json: bool, compare: Path | None,
                         **options) -> None:
    """Build the experiment report: every run, its provenance and its verdict.

    Covers every experiment of the topic. A failed claim is shown as failed in the report,
    which is still written; the command then exits 1.

    \b
    Example:
      topicgen build report --profile quick          # output/topic4/report.html, .pdf, .json
      topicgen build report --json --compare old/report.json
    """
    from topicgen.publish.report import build_report

    config = topic_config(options, formats=format_choice(fmt))
    summary = build_report(config, argv=sys.argv, compare=compare)
    if as_json:
        click.echo(json.dumps(summary.data, indent=2))
    else:
        click.echo(report_line(summary, config.out_dir))
    fail_on_claims(summary.failed, "; the report was written and marks them")


@build.command("all")
@build_options
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "all"]), default=None,
              help="Which files to write [all].")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default=None,
              help="PDF page size [a4].")
def build_all_command(fmt: str | None, **options) -> None:
    """Build the report, the handout in both editions and the slides, running each
    experiment once.

    \b
    Example:
      topicgen build all --profile quick
    """
    from topicgen.publish.report import build_all

    config = topic_config(options, formats=format_choice(fmt))
    report, others = build_all(config, argv=sys.argv)
    click.echo(report_line(report, config.out_dir))
    what = ("the instructor handout", "the student handout", "the slides")
    for summary, name in zip(others, what, strict=False):  # none where a claim failed
        files = ", ".join(p.name for p in summary.outputs
                          if p.name.startswith(("handout", "slides")))
        click.echo(f"Up to date: {name} in {config.out_dir}" if summary.up_to_date else
                   f"Built {files} in {config.out_dir} in {summary.seconds:.1f} s")
    fail_on_claims(report.failed, "; the report marks them, and the handouts and slides were "
                                  "left as they were")


def format_choice(fmt: str | None) -> tuple[str, ...] | None:
    return None if fmt is None else ("html", "pdf") if fmt == "all" else (fmt,)


def report_line(summary, out_dir: Path) -> str:
    claims = summary.data["claims"]
    return (f"Built {', '.join(p.name for p in summary.outputs)} in {out_dir} in "
            f"{summary.seconds:.1f} s ({summary.reused} reused, "
            f"{len(summary.runs) - summary.reused} computed); "
            f"{claims['passed']} of {claims['total']} claims hold")


def fail_on_claims(failed: list[str], outcome: str = "") -> None:
    if failed:
        from topicgen.build import claims_failed

        raise claims_failed(failed, outcome)


@cli.command("figures")
@click.argument("names", nargs=-1)
@build_options
@click.option("-p", "--param", "pairs", multiple=True, metavar="NAME=VALUE",
              help="Override a parameter of every selected figure (on top of its own); the "
                   "files then carry it in their names. Repeatable.")
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "pdf"]), default="svg",
              show_default=True, help="File format of the figures.")
@click.option("--dpi", type=click.IntRange(min=10, max=2400), default=200, show_default=True,
              help="Resolution of PNG figures.")
@click.option("--strict", is_flag=True, help="Exit 1 when a claim fails (default: report it).")
def figures_command(names: tuple[str, ...], pairs: tuple[str, ...], fmt: str, dpi: int,
                    strict: bool, **options) -> None:
    """Write a topic's figures as standalone files, with the data behind each as CSV and JSON,
    and print every claim's verdict.

    NAMES select figures by label (fig-decay) or by experiment (gradient-decay); none
    selects every figure of the handout. Results come from the cache when they can, so
    restyling a figure reruns no experiment. With -p the figures are computed with other
    parameters (validated like `topicgen run`'s) and their files are named after them
    (fig-decay.T=200.svg), so the handout's own figures are never replaced.

    \b
    Example:
      topicgen figures                                   # output/topic4/figures/*.svg, *.csv
      topicgen figures gradient-decay --format png --dpi 300 --out slides/
      topicgen figures fig-decay -p T=200 --format png --out slides/
    """
    from topicgen.overrides import parse_overrides
    from topicgen.publish.figures import claim_lines, export_figures, handout_settings

    out = options.pop("out")
    overrides = parse_overrides(pairs)
    config = topic_config(options, names, figures=True)
    folder = out or config.out_dir / "figures"
    if out is None:  # the handout's own folder: its figures, at its profile and seed
        config = handout_settings(config, {key for key in ("profile", "seed")
                                           if options.get(key) is not None})
    summary = export_figures(config, names, folder, fmt, dpi, sys.argv, overrides)
    lines = claim_lines(summary, folder)
    click.echo(f"Up to date: {folder} (nothing changed; --force redraws)" if summary.up_to_date
               else f"Wrote {counted(len(summary.outputs) // 3, 'figure')} and their CSV and JSON "
                    f"data to {folder}")
    click.echo("\n".join(f"  {line}" for line in lines))
    if strict:
        fail_on_claims([line.removeprefix("[FAIL] ") for line in lines
                        if line.startswith("[FAIL]")])


@cli.command("sweep")
@click.argument("name", metavar="EXPERIMENT")
@click.option("-p", "--param", "pairs", multiple=True, required=True, metavar="NAME=SPEC",
              help="NAME=START:STOP:COUNT sweeps COUNT evenly spaced values, both ends "
                   "included (START:STOP:COUNT:log: geometrically spaced); NAME=a,b,c sweeps "
                   "those values; NAME=VALUE (or a list parameter's a,b) is fixed for every "
                   "point. Repeatable.")
@click.option("--scalar", "scalars", multiple=True, metavar="NAME",
              help="Draw this scalar of the result against the first swept parameter; "
                   "repeatable [every scalar].")
@functools.partial(build_options, skip=("out",))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [output/<topic>/sweep-<experiment>].")
@click.option("--strict", is_flag=True,
              help="Exit 1 when a claim fails at some point (default: mark it and go on).")
def sweep_command(name: str, pairs: tuple[str, ...], scalars: tuple[str, ...],
                  out: Path | None, strict: bool, **options) -> None:
    """Run one experiment over a grid of parameter points, through the result cache.

    Writes into the output folder sweep.csv (one row per point and scalar: the swept
    parameters, scalar, value), sweep.json (each point's parameters, scalars and claim
    verdicts, and whether it was cached) and one SVG figure per scalar: its value against
    the first swept parameter, one line per combination of the others, each point marked
    by its claims' verdicts. Every point is checked before anything runs; the points run in
    parallel, and a second sweep reuses every point already computed. A failed claim is
    marked, not fatal, unless --strict.

    \b
    Example:
      topicgen sweep gradient-decay -p rho=0.5:2:7:log -p cells=rnn,linear --profile quick
      topicgen sweep gradient-decay -p T=20:200:10 -p hidden=16,64 --scalar decay_factor_rnn
      topicgen sweep signal-scale --topic init-scale -p width=32,128,512 --out /tmp/widths
    """
    from topicgen.sweep.run import sweep

    config = topic_config(options, (name,))
    summary = sweep(config, name, pairs, scalars, out)
    click.echo(sweep_line(summary))
    if strict:
        fail_on_claims(summary.failed)


def sweep_line(summary) -> str:
    runs, claims = summary.runs, summary.record["claims"]
    return (f"Swept {runs[0].exp.name} over {counted(len(runs), 'point')} "
            f"({summary.reused} reused, {len(runs) - summary.reused} computed): wrote "
            f"sweep.csv, sweep.json and {counted(len(summary.record['figures']), 'figure')} to "
            f"{summary.out_dir}; {claims['passed']} of {claims['total']} claim verdicts hold")


@build.command("site")
@site_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Site folder [output/site].")
@click.option("--base-url", default=None, metavar="URL",
              help="Where the site will be published; adds sitemap.xml.")
def build_site_command(out: Path | None, base_url: str | None, **options) -> None:
    """Build the docs site: every topic's handout, PDF, report, figures, data and search.

    Links are relative, so the site works under any sub-path and from file://.

    \b
    Example:
      topicgen build site
      topicgen build site --base-url https://example.org/course/ --out public
    """
    from topicgen.config import load_config
    from topicgen.publish.site import check_base_url, default_site_dir

    check_base_url(base_url)  # before anything slow
    config = load_config(options.pop("project"), **options)
    click.echo(site_line(config, out or default_site_dir(config), base_url, sys.argv))


def site_line(config, out: Path, base_url: str | None, argv: list[str]) -> str:
    """Build the site; the line that says what was built."""
    from topicgen.publish.site import build_site

    summary = build_site(config, out, base_url, argv)
    return (f"Built the site in {summary.out_dir} ({len(summary.pages)} pages) "
            f"in {summary.seconds:.1f} s")


@cli.command("serve")
@site_options
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default is reachable from this machine only.")
def serve_command(port: int, host: str, **options) -> None:
    """Build the site, serve it on localhost and rebuild when its sources change.

    Watches content/, templates/ and the experiment code; open pages reload themselves.

    \b
    Example:
      topicgen serve
      topicgen serve --port 8001 --profile quick
    """
    from topicgen.config import load_config
    from topicgen.pages import theme_dir
    from topicgen.publish.site import default_site_dir
    from topicgen.serve import serve
    from topicgen.sources import PACKAGE_DIR
    from topicgen.watch import Rebuilder

    config = load_config(options.pop("project"), **options)
    site = default_site_dir(config)
    watched = [config.content_dir, config.project / "templates", theme_dir(), PACKAGE_DIR,
               config.project / "topicgen.toml"]
    obj = click.get_current_context().obj
    build = functools.partial(site_line, config, site, None, sys.argv)
    with Rebuilder(build, obj["verbosity"], obj["debug"]) as rebuilder:
        serve(site, host, port, rebuilder, watched)


PROJECT_OPTION = click.option("--project", type=click.Path(file_okay=False, path_type=Path),
                              default=None, help="Project root (default: the current folder).")


@cli.command("run")
@click.argument("name")
@PROJECT_OPTION
@BUILD_OPTIONS["topic"]
@click.option("-p", "--param", "pairs", multiple=True, metavar="NAME=VALUE",
              help="Override one parameter; lists are comma-separated. Repeatable.")
@BUILD_OPTIONS["profile"]
@BUILD_OPTIONS["seed"]
@BUILD_OPTIONS["device"]
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--figures", "figures_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Also draw the experiment's figures into this folder, with "
                                 "their data as CSV and JSON.")
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "pdf"]), default="svg",
              show_default=True, help="File format of --figures.")
@click.option("--dpi", type=click.IntRange(min=10, max=2400), default=200, show_default=True,
              help="Resolution of PNG figures.")
@BUILD_OPTIONS["scheduler"]
def run_command(name: str, project: Path | None, topic: str | None, pairs: tuple[str, ...],
                profile: str | None, seed: int | None, device: str | None, as_json: bool,
                figures_dir: Path | None, fmt: str, dpi: int, scheduler: str | None) -> None:
    """Run one experiment (never cached) and print its numbers and claims.

    \b
    Example:
      topicgen run gradient-decay
      topicgen run gradient-decay -p cells=rnn,linear -p rho=1.1 -p T=200 --json
      topicgen run gradient-decay -p T=200 --figures slides/ --format png
      topicgen run my-experiment --topic my-topic --profile quick
      topicgen run gradient-decay --scheduler tcp://10.0.0.5:8786 --device cuda
    """
    from topicgen import experiments
    from topicgen.build import device_of
    from topicgen.content.topic import experiment_named, topic_experiments
    from topicgen.errors import UsageError
    from topicgen.overrides import parse_overrides
    from topicgen.results.runner import run_one

    given = click.get_current_context().get_parameter_source
    for option, parameter in (("--format", "fmt"), ("--dpi", "dpi")):
        if figures_dir is None and given(parameter) == click.core.ParameterSource.COMMANDLINE:
            raise UsageError(f"{option} applies to the figures of --figures DIR: add it")

    # Like a build, it reads what the command line leaves out from topicgen.toml: a figure's
    # "Try:" command then runs what the handout shows.
    config = topic_config({"project": project, "topic": topic, "scheduler": scheduler,
                           "profile": profile, "seed": seed, "device": device}, (name,))
    if figures_dir is not None:  # before the run, as every command that writes checks
        from topicgen.files import check_output_folder

        check_output_folder(figures_dir, config.project)
    found = topic_experiments(config.content_dir, config.topic)
    experiment = experiment_named(found, name, config.content_dir / config.topic)
    params = experiments.resolve_params(experiment, config.profile, parse_overrides(pairs))
    ctx = experiments.Context(config.seed, device_of(config))
    result = run_one(experiment, params, ctx, config.scheduler)
    click.echo(result.to_json() if as_json else describe_result(result))
    if figures_dir is not None:
        from topicgen.publish.figures import write_run_figures

        written = write_run_figures(experiment, result, figures_dir, fmt, dpi)
        click.echo(f"Wrote {counted(len(written), 'figure')} and their CSV and JSON data to "
                   f"{figures_dir}", err=as_json)  # stdout stays one JSON object
    if not result.passed:
        sys.exit(1)


def describe_result(result) -> str:
    lines = [f"{result.experiment}  ({result.provenance['wall_s']:.2f} s on "
             f"{result.provenance['device']}, seeds {result.provenance['seeds']})", "", "params:"]
    lines += [f"  {k} = {v}" for k, v in result.params.items()]
    lines += ["", "scalars:"] + [f"  {k} = {v:.6g}" for k, v in result.scalars.items()]
    if result.deviations:
        lines += ["", "differs from the published recipe:"]
        lines += [f"  {deviation}" for deviation in result.deviations]
    if result.claims:
        lines += ["", "claims:"]
        lines += [f"  {claim.line(claim.id)}" for claim in result.claims]
    return "\n".join(lines)


@cli.command("list")
@PROJECT_OPTION
@BUILD_OPTIONS["topic"]
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_command(project: Path | None, topic: str | None, as_json: bool) -> None:
    """List a topic's experiments, their figures and parameters.

    \b
    Example:
      topicgen list
      topicgen list --topic topic4 --json
    """
    from topicgen.content.topic import topic_experiments
    from topicgen.experiments.catalog import catalog

    config = topic_config({"project": project, "topic": topic})
    entries = catalog(topic_experiments(config.content_dir, config.topic))
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for entry in entries:
        click.echo(f"{entry['name']}: {entry['summary']}")
        click.echo(f"  figures: {', '.join(entry['figures']) or '(none)'}")
        for p in entry["params"]:
            each = "each " if p["type"].startswith("list") and p["range"] != "any value" else ""
            click.echo(f"  -p {p['name']}={p['default']}  ({p['type']}; {each}{p['range']}; "
                       f"quick: {p['quick']}) {p['help']}")


@cli.command("new")
@click.argument("slug")
@click.option("--title", help="The topic's title [the slug in words].")
@PROJECT_OPTION
def new_command(slug: str, title: str | None, project: Path | None) -> None:
    """Start a topic: content/SLUG/ with a chapter, an experiment, its figure and a claim.

    The new topic builds at once; replace its chapter and experiment with your own (the
    guide: docs/writing-experiments.md in topicgen's source). In a folder without them it
    also writes topicgen.toml, naming SLUG as the topic to build, and .gitignore.

    \b
    Example:
      mkdir my-course && cd my-course
      topicgen new attention --title "Attention from scratch"
      topicgen build handout --profile quick
    """
    from topicgen.config import load_config
    from topicgen.newtopic import guides, new_topic, project_files

    config = load_config(project)
    root = new_topic(config.content_dir, slug, title)
    made = [root] + project_files(config.project, slug)
    click.echo(f"Created {', '.join(str(path) for path in made)}.")
    default = load_config(project).topic  # topicgen.toml's, now that there is one
    where = "" if default == slug else f" --topic {slug}"
    click.echo(f"Build it with: topicgen build handout --profile quick{where}" + (
        f' (topicgen.toml builds "{default}" by default)' if where and default else ""))
    if found := guides():
        click.echo("Replace its chapter and experiment with your own: " + ", ".join(found))


@cli.command("check")
@click.argument("names", nargs=-1)
@PROJECT_OPTION
@BUILD_OPTIONS["topic"]
@click.option("--profile", type=click.Choice(["quick", "full"]), default=None,
              help="Parameter profile [full].")
@click.option("--force", is_flag=True, default=None, help="Ignore cached results.")
@BUILD_OPTIONS["cache_dir"]
@BUILD_OPTIONS["seed"]
@click.option("--seeds", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="Judge at this many first seeds, from --seed on, and sum up each claim.")
@click.option("-p", "--param", "pairs", multiple=True, metavar="NAME=VALUE",
              help="Override a parameter of every experiment named (on top of the profile); "
                   "repeatable.")
@BUILD_OPTIONS["device"]
@BUILD_OPTIONS["jobs"]
@BUILD_OPTIONS["scheduler"]
def check_command(names: tuple[str, ...], project: Path | None, topic: str | None,
                  seeds: int, pairs: tuple[str, ...], **options) -> None:
    """Run a topic's experiments (through the cache) and judge their claims, without rendering.

    Each experiment runs at the profile and at every other set of parameters the handout's
    figures ask for (named after those figures), so what passes here passes in the build.
    Exits 1 if any claim fails. With --seeds, a claim that fails at any of the seeds fails:
    a claim that holds must hold whatever the seed (try it on a new experiment, and at the
    parameters you changed).

    \b
    Example:
      topicgen check --profile quick
      topicgen check gradient-decay attention-scaling
      topicgen check gradient-decay --profile quick --seeds 50
      topicgen check gradient-decay -p T=400 -p rho=0.9 --seeds 20
      topicgen check --scheduler tcp://10.0.0.5:8786
    """
    from topicgen.check import check_claims, check_seeds
    from topicgen.overrides import parse_overrides

    overrides = parse_overrides(pairs)
    config = topic_config({"project": project, "topic": topic, **options}, names)
    if seeds > 1:
        if config.seed + seeds - 1 > SEED.max:
            raise click.BadParameter(f"--seed {config.seed} and --seeds {seeds} go past the "
                                     f"largest first seed, {SEED.max}", param_hint="--seeds")
        summarise_seeds(check_seeds(config, names, seeds, overrides), config.seed, seeds)
        return
    failed = 0
    for name, result, hit in check_claims(config, names, overrides):
        source = "cached" if hit else f"{result.provenance['wall_s']:.1f} s"
        click.echo(f"{name} ({source})")
        if not result.claims:  # "All claims hold." alone would read as a pass
            click.echo("  no claims: nothing of it is judged (add claims(result) to its file)")
        for claim in result.claims:
            failed += claim.failed
            click.echo(f"  {claim.line(claim.id)}")  # as `topicgen run` prints it
    if failed:
        raise TopicgenError(f"{counted(failed, 'claim')} failed")
    click.echo("All claims hold.")


def summarise_seeds(verdicts: dict[str, dict[str, dict[str, list[int]]]], first: int,
                    seeds: int) -> None:
    """One line per claim: where it held, failed or was not judged; exit 1 if it failed."""
    failing = 0
    click.echo(f"First seeds {first} to {first + seeds - 1}:")
    for name, claims in verdicts.items():
        click.echo(name)
        for claim, by_verdict in claims.items():
            failed, unjudged = by_verdict["fails"], by_verdict["not judged"]
            failing += bool(failed)
            mark = "FAIL" if failed else "NOT JUDGED" if not by_verdict["holds"] else "PASS"
            words = [f"holds at {len(by_verdict['holds'])}"] if by_verdict["holds"] else []
            if failed:
                listed = ", ".join(map(str, failed[:10])) + (", ..." if len(failed) > 10 else "")
                words.append(f"fails at {len(failed)} (--seed {listed})")
            if unjudged:
                words.append(f"not judged at {len(unjudged)}")
            click.echo(f"  [{mark}] {claim}: " + "; ".join(words))
    if failing:
        raise TopicgenError(f"{counted(failing, 'claim')} failed at some seed")
    click.echo("Every claim holds at every seed it was judged at.")


@cli.command("clean")
@PROJECT_OPTION
@click.option("--cache", is_flag=True, help="Also delete the files of the result cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The result cache --cache cleans [.topicgen/cache, $TOPICGEN_CACHE_DIR].")
def clean_command(project: Path | None, cache: bool, cache_dir: Path | None) -> None:
    """Delete built outputs (everything in output/) and, with --cache, cached results.

    Only the files the cache wrote are deleted: any other file in the cache folder stays,
    and so does the folder.

    \b
    Example:
      topicgen clean --cache
      topicgen clean --cache --cache-dir /tmp/topicgen-cache
    """
    from topicgen.clean import clean
    from topicgen.config import load_config

    for line in clean(load_config(project, cache_dir=cache_dir), cache):
        click.echo(line)


stopped_by: int | None = None
"""The signal, SIGINT (Ctrl+C) or SIGTERM, that stopped the command, if one did."""


def stop(signum, frame) -> None:
    """Ctrl+C, and SIGTERM (kill, timeout, a cancelled CI job) the same way, end the command
    through KeyboardInterrupt: its pools end their workers and release their locks on the
    way out. Left to the default, SIGTERM killed the command at once and multiprocessing's
    resource tracker printed a warning about the semaphores it had to clean up."""
    global stopped_by
    stopped_by = signum
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, stop)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # else ignored: a
        signal.signal(signal.SIGINT, stop)                              # background job
    adopt_orphans()
    try:
        cli(prog_name="topicgen")
        code = None
    except BrokenPipeError:  # `topicgen list | head`: the reader has all it wants
        code = 1
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except SystemExit as done:
        code = done.code
        if isinstance(code, str):
            click.echo(code, err=True)
    # The shell's code for a command a signal ended (130, 143), so that a script can tell
    # an interrupted build from a failed one; Ctrl+C is how --watch and serve stop (exit 0).
    if stopped_by == signal.SIGTERM or (stopped_by == signal.SIGINT and code not in (None, 0)):
        code = 128 + stopped_by
    end_leftover_workers()
    end_adopted()
    # Every pool has ended its workers and every output is written: Python's teardown, which
    # unloads WeasyPrint, pikepdf and the rest module by module, would only add 0.15 s.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def end_leftover_workers() -> None:
    """Kill any worker process a command left running (a bug, logged), and the server workers
    are forked from: they would outlive the command, and whoever reads the command's output
    through a pipe would wait for them."""
    if "multiprocessing" not in sys.modules:
        return  # nothing can have been started
    import multiprocessing

    for worker in multiprocessing.active_children():
        log.debug("ending worker %d, left running by the command", worker.pid)
        worker.kill()
        worker.join()
    if "topicgen.pools" in sys.modules:
        from topicgen.pools import stop_server

        stop_server()  # os._exit below skips the atexit that would


PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def adopt_orphans() -> None:
    """Linux: make this command the parent of any process its descendants leave behind (a
    process an experiment started in a worker, say), so that end_adopted can end it."""
    if sys.platform == "linux":
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def end_adopted() -> None:
    """Kill every child process still here, and what they leave in turn: what an experiment
    started and left running, which would outlive the command (and hold its pipes). The
    resource tracker of multiprocessing stays: it exits with the command, tidying up."""
    if sys.platform != "linux":
        return
    tracker = getattr(sys.modules.get("multiprocessing.resource_tracker"),
                      "_resource_tracker", None)
    spare = {getattr(tracker, "_pid", None)}
    for _ in range(10):  # each round ends one generation; the next is adopted meanwhile
        found = [pid for pid in children() if pid not in spare]
        if not found:
            return
        for pid in found:
            log.debug("ending process %d, left running by the command", pid)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in found:
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


def children() -> list[int]:
    """This process's children, from /proc (each thread lists those it started)."""
    found = []
    for listing in Path("/proc/self/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(pid) for pid in listing.read_text().split()]
    return found


if __name__ == "__main__":
    main()
