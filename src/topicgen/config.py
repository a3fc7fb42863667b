"""The build configuration: defaults, then `topicgen.toml`, then command-line flags."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topicgen.content.topic import check_keys, choose_topic, read_toml
from topicgen.errors import ContentError, UsageError, did_you_mean
from topicgen.files import OUTPUT_INPUTS, overlaps_sources

FORMATS = ("html", "pdf")
PAPERS = ("a4", "letter")


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use, not all cores
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Config:
    project: Path = field(default_factory=Path.cwd)
    """Project root: holds content/, optional templates/ overrides and topicgen.toml."""
    topic: str | None = None
    """Folder under content/ to build; default: the only one (see `with_topic`)."""
    out: Path | None = None
    """Output folder; default output/<topic>."""
    formats: tuple[str, ...] = FORMATS
    """Which handout files to write."""
    profile: str = "full"
    """Experiment profile: full (the published handout) or quick (seconds, for CI)."""
    paper: str = "a4"
    """PDF page size."""
    cache_dir: Path | None = None
    """Result cache; default .topicgen/cache, or $TOPICGEN_CACHE_DIR."""
    force: bool = False
    """Rerun every experiment even when a cached result exists."""
    seed: int = 0
    """First seed of every experiment."""
    device: str = "cpu"
    """Torch device the experiments run on."""
    jobs: int = field(default_factory=default_jobs)
    """Experiments run at the same time, each in its own process; default: the usable cores."""
    fail_fast: bool = False
    """Stop at the first experiment that raises instead of running the others."""
    scheduler: str | None = None
    """A Dask scheduler's address (tcp://host:8786): the runs that are not cached run on its
    cluster instead of this machine's pool; else $TOPICGEN_SCHEDULER."""
    raw_html: bool = False
    """Let raw HTML in the Markdown through (topicgen.toml only). Off by default: content
    from pull requests could then add scripts, remote images or links the checks never see."""
    edition: str = "instructor"
    """The handout's edition: instructor (solutions under their exercises) or student."""
    solutions: str | None = None
    """Where solutions go: inline, appendix (at the end) or none; default: inline in the
    instructor edition, none in the student edition (which never shows them inline)."""

    site_title: str = "Lecture handouts"
    """The docs site's name: its home page's heading and every page's title (topicgen.toml
    only), such as the course's name."""
    site_editions: tuple[str, ...] = ("student",)
    """The handout editions the docs site publishes: the first as handout.html, any other
    as handout-<edition>.html (the site links it)."""

    @property
    def solutions_placement(self) -> str:
        return self.solutions or ("inline" if self.edition == "instructor" else "none")

    @property
    def out_dir(self) -> Path:
        return self.out or self.project / "output" / self.topic

    @property
    def content_dir(self) -> Path:
        return self.project / "content"

    @property
    def cache_path(self) -> Path:
        env = os.environ.get("TOPICGEN_CACHE_DIR")
        return self.cache_dir or (Path(env) if env else self.project / ".topicgen" / "cache")


FILE_KEYS = {"topic": str, "out": str, "formats": list, "profile": str, "paper": str,
             "cache_dir": str, "seed": int, "device": str, "jobs": int, "raw_html": bool,
             "edition": str, "solutions": str, "site_editions": list, "scheduler": str,
             "site_title": str}
EDITIONS = ("instructor", "student")
SCHEDULER_ADDRESS = r"(?:[a-z]+://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):\d{1,5}"
"""[protocol://]host:port, as Dask writes one (an IPv6 host in brackets)."""
PLACEMENTS = ("inline", "appendix", "none")
SEED_MAX = 2**31 - 1
"""The largest first seed: an experiment's seeds (first + i) then stay below 2**32, which
every generator takes (numpy's is the narrowest)."""
JOBS_MAX = 1024
"""More worker processes than any machine here has cores; far more would only exhaust memory
(a worker holds about 200 MiB) and the system's process limits."""
SITE_TITLE_MAX = 80
"""A site's name fits the header bar of a phone's page on one or two lines."""
CACHE_OVERLAPS = ("content", "templates", "output")
"""Where a result cache must not be: among the sources (its files would become inputs, and
every run would make the next one stale) or the outputs (clean would empty it)."""
EPOCH_MAX = 253402300799
"""The last second of the year 9999: dates after it do not print as four-digit years."""


def load_config(project: Path | None = None, **flags: Any) -> Config:
    """Config from topicgen.toml (if present) overridden by flags that are not None."""
    project = (project or Path.cwd()).resolve()
    values: dict[str, Any] = {"project": project}
    origins: dict[str, str] = {}  # where a value not given as a flag came from, for errors
    config_file = project / "topicgen.toml"
    if config_file.is_file():
        data = read_toml(config_file)
        check_keys(data, FILE_KEYS, (), config_file)
        values.update(data)
        origins.update(dict.fromkeys(data, str(config_file)))
    if os.environ.get("TOPICGEN_SCHEDULER"):  # a machine's setting beats the project's
        values["scheduler"] = os.environ["TOPICGEN_SCHEDULER"]
        origins["scheduler"] = "$TOPICGEN_SCHEDULER"
    given = {k: v for k, v in flags.items() if v is not None}
    values.update(given)
    origins = {k: origin for k, origin in origins.items() if k not in given}
    for key in ("out", "cache_dir"):
        if isinstance(values.get(key), str):
            values[key] = project / values[key]
    for key in ("formats", "site_editions"):
        if isinstance(values.get(key), list):
            values[key] = tuple(values[key])
    validate(values, origins)
    return Config(**values)


def with_topic(config: Config, experiments: tuple[str, ...] = (), figures: bool = False
               ) -> Config:
    """`config` for one topic: the one given, else the only one, else the one holding every
    experiment in `experiments` (with `figures`, names may be figure labels too; see
    content.topic.choose_topic)."""
    return dataclasses.replace(config, topic=choose_topic(config.content_dir, config.topic,
                                                          experiments, figures))


def source_date_epoch() -> int | None:
    """$SOURCE_DATE_EPOCH (reproducible builds), checked here because matplotlib reads it too."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return None
    if not epoch.isdigit():
        raise UsageError(f'SOURCE_DATE_EPOCH must be seconds since 1970, got "{epoch}"')
    if int(epoch) > EPOCH_MAX:
        raise UsageError(f"SOURCE_DATE_EPOCH must be seconds since 1970, at most {EPOCH_MAX} "
                         f'(the end of 9999), got "{epoch[:30]}"')
    return int(epoch)


def validate(values: dict[str, Any], origins: dict[str, str] | None = None) -> None:
    """Raise an error for the first bad value; `origins` names where a value came from
    (topicgen.toml, or an environment variable as "$NAME"), so that the message points there
    rather than at a flag. A file's error exits 1, as any other file's does (a topic's, a
    chapter's); the command line's and the environment's exit 2."""
    source_date_epoch()
    found = next(problems(values), None)
    if found:
        key, message = found
        origin = (origins or {}).get(key)
        if origin and not origin.startswith("$"):
            raise ContentError(message, origin)
        raise UsageError(f"{origin}: {message}" if origin else message)


def problems(values: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(key, message) for each bad value."""
    checks = {"profile": ("quick", "full"), "paper": PAPERS, "device": ("cpu", "cuda"),
              "edition": EDITIONS, "solutions": PLACEMENTS}
    for key, allowed in checks.items():
        if key in values and values[key] not in allowed:
            yield key, (f'{key} must be one of {", ".join(allowed)}, got "{values[key]}"'
                        + did_you_mean(values[key], allowed, listing=False))
    if values.get("edition") == "student" and values.get("solutions") == "inline":
        yield "solutions", ("the student edition never shows solutions inline: "
                            "--solutions appendix prints them at the end")
    scheduler = values.get("scheduler")
    if scheduler is not None and not re.fullmatch(SCHEDULER_ADDRESS, scheduler):
        yield "scheduler", (f'scheduler must be a Dask scheduler\'s address like '
                            f'tcp://10.0.0.5:8786, got "{scheduler}"')
    topic = values.get("topic")
    if topic is not None and (not isinstance(topic, str) or Path(topic).name != topic
                              or topic in ("", ".", "..") or "\\" in topic):
        yield "topic", (f'topic must name a folder in content/ (such as "topic4"), not a '
                        f"path: got {topic!r}")
    out = values.get("out")
    if out is not None and (reason := overlaps_sources(Path(out), values["project"],
                                                       OUTPUT_INPUTS)):
        yield "out", f"out {out} {reason}: give the output a folder of its own"
    cache = values.get("cache_dir")
    if cache is not None and (reason := overlaps_sources(Path(cache), values["project"],
                                                         CACHE_OVERLAPS)):
        yield "cache_dir", (f"cache_dir {cache} {reason}: give the cache a folder of its own "
                            "(--cache-dir, or cache_dir in topicgen.toml)")
    if "jobs" in values and not 1 <= values["jobs"] <= JOBS_MAX:
        yield "jobs", f"jobs must be between 1 and {JOBS_MAX}, got {values['jobs']}"
    if "seed" in values and not 0 <= values["seed"] <= SEED_MAX:
        yield "seed", f"seed must be between 0 and {SEED_MAX}, got {values['seed']}"
    if "formats" in values and not values["formats"]:
        yield "formats", f"formats must list at least one of {', '.join(FORMATS)}, got none"
    for fmt in values.get("formats", ()):
        if fmt not in FORMATS:
            yield "formats", f'unknown format "{fmt}"' + did_you_mean(fmt, FORMATS)
    title = values.get("site_title")
    if title is not None and (not title.strip() or len(title) > SITE_TITLE_MAX
                              or not title.isprintable()):
        yield "site_title", (f"site_title must be one line of 1 to {SITE_TITLE_MAX} printable "
                             f"characters, got {title[:SITE_TITLE_MAX + 1]!r}")
    editions = values.get("site_editions", EDITIONS[-1:])
    if not editions or any(edition not in EDITIONS for edition in editions):
        yield "site_editions", (f"site_editions must list editions among "
                                f"{', '.join(EDITIONS)}, got {list(editions)}")


def describe(config: Config) -> dict[str, Any]:
    """The resolved configuration as JSON-able values, for manifest.json."""
    return {k: str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(config).items()}
