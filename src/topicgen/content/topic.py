"""Load a topic folder: topic.toml, references.toml, the chapters it lists, its experiments."""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topicgen.errors import ContentError, UsageError, did_you_mean
from topicgen.experiments.loader import Experiment, discover

log = logging.getLogger(__name__)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOPIC_KEYS = {"title": str, "label": str, "summary": str, "authors": list, "chapters": list,
              "references": str, "date": str}
REQUIRED_TOPIC_KEYS = ("title", "chapters")
REFERENCE_KEYS = {"authors": str, "title": str, "venue": str, "year": int, "url": str,
                  "note": str}
REQUIRED_REFERENCE_KEYS = ("authors", "title", "year")
PLANTED_BUGS_FILE = "planted-bugs.json"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""What a TOML string may hold (as \\u0000) and no HTML page or PDF may: tab and newline aside."""
CAUGHT_BY = ("evidence", "sanity", "none")


@dataclass(frozen=True)
class Reference:
    key: str
    authors: str
    title: str
    year: int
    venue: str = ""
    url: str = ""
    note: str = ""


@dataclass(frozen=True)
class Chapter:
    path: Path
    text: str


@dataclass(frozen=True)
class PlantedBug:
    """A plausible bug a test plants in an experiment, and the kind of claim that fails."""
    experiment: str
    bug: str
    caught_by: str  # one of CAUGHT_BY


@dataclass(frozen=True)
class Topic:
    slug: str
    root: Path
    title: str
    label: str
    summary: str
    authors: list[str]
    chapters: list[Chapter]
    date: str = ""
    """Printed under the title as written ("Week 4, autumn 2026"); else SOURCE_DATE_EPOCH's."""
    references: dict[str, Reference] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)
    planted_bugs: list[PlantedBug] = field(default_factory=list)

    def experiment(self, name: str) -> Experiment:
        return experiment_named(self.experiments, name, self.root)


def experiment_named(found: dict[str, Experiment], name: str, root: Path) -> Experiment:
    """The experiment `name` of a topic (folder `root`), or a UsageError saying which exist."""
    if name not in found:
        hint = in_another_topic(name, root) or did_you_mean(name, found) or \
            f" (topic {root.name} has no experiments: add files to {root / 'experiments'})"
        raise UsageError(f'unknown experiment "{name}"' + hint)
    return found[name]


def in_another_topic(name: str, root: Path, figures: bool = False) -> str:
    """' in topic a (topic b has it: add --topic b)' where `name` is not in the topic at
    `root` but another topic holds it (with `figures`, as a figure label too); else ""."""
    for slug in available_topics(root.parent):
        if slug != root.name and name in holds(root.parent / slug, slug, figures):
            return f" in topic {root.name} (topic {slug} has it: add --topic {slug})"
    return ""


def topic_experiments(content_dir: Path, slug: str) -> dict[str, Experiment]:
    """A topic's experiments without reading its chapters (for run, list and check)."""
    check_topic(content_dir, slug)
    return discover(content_dir / slug / "experiments", slug)


def available_topics(content_dir: Path) -> list[str]:
    if not content_dir.is_dir():
        return []
    return sorted(p.name for p in content_dir.iterdir() if (p / "topic.toml").is_file())


FIGURE_NAME = re.compile(r"^:name:\s*(\S+)", re.M)
"""A figure directive's label option, found without parsing the chapter."""


def holds(root: Path, slug: str, figures: bool) -> set[str]:
    """The experiments of the topic at `root` and, with `figures`, its figures' labels."""
    names = set(discover(root / "experiments", slug))
    if figures:
        names |= {label for chapter in root.rglob("*.md")
                  for label in FIGURE_NAME.findall(chapter.read_text("utf-8", "replace"))}
    return names


def choose_topic(content_dir: Path, given: str | None, experiments: tuple[str, ...] = (),
                 figures: bool = False) -> str:
    """The topic a command works on: the one given (--topic or topicgen.toml), else the only
    one, else the one topic holding every experiment named (with `figures`: every
    experiment or figure label); otherwise a UsageError."""
    if given:
        return given
    slugs = available_topics(content_dir)
    if len(slugs) == 1:
        return slugs[0]
    if not content_dir.is_dir():
        check_topic(content_dir, "")  # says the folder is missing
    if not slugs:
        raise UsageError(f"no topics in {content_dir} (a topic is a folder there with a "
                         "topic.toml; topicgen new SLUG starts one)")
    if experiments:
        holding = [slug for slug in slugs
                   if set(experiments) <= holds(content_dir / slug, slug, figures)]
        if len(holding) == 1:
            return holding[0]
        if holding:
            raise UsageError(f"{', '.join(experiments)}: in several topics "
                             f"({', '.join(holding)}); choose one with --topic")
        if len(experiments) == 1:
            what = "experiment or figure" if figures else "experiment"
            known = set().union(*(holds(content_dir / slug, slug, figures) for slug in slugs))
            raise UsageError(f'unknown {what} "{experiments[0]}": no topic in {content_dir} '
                             "has it" + did_you_mean(experiments[0], known))
    raise UsageError(f"several topics in {content_dir} ({', '.join(slugs)}): choose one "
                     "with --topic, or set topic in topicgen.toml")


RESERVED_SLUGS = {"site": "output/site is the docs site's folder, and a build of either "
                          "would remove the other's files"}
"""Names a topic cannot take, with why: its default output folder is taken."""


def load_topic(content_dir: Path, slug: str) -> Topic:
    """Read and validate one topic; every problem is a ContentError naming file and key."""
    root = check_topic(content_dir, slug)
    meta_path = root / "topic.toml"
    meta = read_toml(meta_path)
    check_keys(meta, TOPIC_KEYS, REQUIRED_TOPIC_KEYS, meta_path)
    if not meta["chapters"]:
        raise ContentError('"chapters" is empty: list at least one Markdown file', meta_path)
    if any(not isinstance(author, str) for author in meta.get("authors", [])):
        raise ContentError('"authors" must list names, as strings', meta_path)
    chapters = [load_chapter(root, name, meta_path) for name in meta["chapters"]]
    seen: set[Path] = set()
    for chapter in chapters:  # else its labels clash with themselves, blamed on the chapter
        if chapter.path.resolve() in seen:
            raise ContentError(f'"chapters" lists {chapter.path.name} twice', meta_path)
        seen.add(chapter.path.resolve())
    warn_unlisted(root, chapters, meta_path)
    references = load_references(inside(root, meta["references"], "references", meta_path),
                                 meta_path) if "references" in meta else {}
    experiments = discover(root / "experiments", slug)
    return Topic(
        slug=slug, root=root, title=meta["title"], label=meta.get("label", slug),
        summary=meta.get("summary", ""), authors=list(meta.get("authors", [])),
        date=meta.get("date", ""), chapters=chapters, references=references,
        experiments=experiments,
        planted_bugs=load_planted_bugs(root / PLANTED_BUGS_FILE, experiments),
    )


def check_topic(content_dir: Path, slug: str) -> Path:
    """The topic's folder; a UsageError naming the topics there are where it has none, a
    ContentError naming its topic.toml where its name is reserved (RESERVED_SLUGS)."""
    root = content_dir / slug
    if not (root / "topic.toml").is_file():
        if not content_dir.is_dir():
            raise UsageError(f"content folder {content_dir} does not exist "
                             "(run topicgen from the project root or pass --project)")
        missing = ": its folder has no topic.toml" if slug and root.is_dir() else ""
        raise UsageError(f'unknown topic "{slug}" in {content_dir}{missing}'
                         + did_you_mean(slug, available_topics(content_dir)))
    if slug in RESERVED_SLUGS:  # every command that works on one topic checks it here
        raise ContentError(f'a topic cannot be named "{slug}": {RESERVED_SLUGS[slug]}; rename '
                           "its folder", root / "topic.toml")
    return root


UNLISTED_WARNED: set[Path] = set()
"""Chapters warned of in this process: `build all` loads the topic once per target, and
`--watch` at every save."""


def warn_unlisted(root: Path, chapters: list[Chapter], meta_path: Path) -> None:
    """A Markdown file beside the chapters that topic.toml does not list is left out of the
    handout: say so once, since a new chapter's author expects it in (a README is not a
    chapter)."""
    listed = {chapter.path.resolve() for chapter in chapters}
    for path in sorted(root.glob("*.md")):
        if path.resolve() not in listed | UNLISTED_WARNED and \
                not path.name.lower().startswith("readme"):
            UNLISTED_WARNED.add(path.resolve())
            log.warning("warning: %s is not among the chapters %s lists, so the handout "
                        "leaves it out", path, meta_path.name)


def load_chapter(root: Path, name: Any, meta_path: Path) -> Chapter:
    if not isinstance(name, str):
        raise ContentError(f'"chapters" must list file names, got {name!r}', meta_path)
    path = inside(root, name, "chapter", meta_path)
    text = read_text(path, meta_path)
    if not text.strip():
        raise ContentError(f'the chapter is empty (write some Markdown, or remove "{name}" '
                           f'from "chapters" in {meta_path.name})', path)
    return Chapter(path=path, text=text)


def inside(root: Path, name: str, what: str, meta_path: Path) -> Path:
    """`root / name`, refused when it (or the link it is) leads out of the topic folder."""
    path = root / name
    if not path.resolve().is_relative_to(root.resolve()):
        raise ContentError(f'{what} "{name}" lies outside the topic folder', meta_path)
    return path


def load_references(path: Path, named_by: Path) -> dict[str, Reference]:
    data = read_toml(path, named_by)
    references = {}
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise ContentError(f'"{key}" must be a table ([{key}]) of reference fields', path)
        check_keys(entry, REFERENCE_KEYS, REQUIRED_REFERENCE_KEYS, path, prefix=f"{key}.")
        # Pages link it: a javascript: or relative address from a pull request must not.
        if "url" in entry and not re.fullmatch(r"https?://[^\s\"<>]+", entry["url"], re.I):
            raise ContentError(f'"{key}.url" must be an http(s) address such as '
                               f'https://doi.org/..., got "{entry["url"]}"', path)
        references[key] = Reference(key=key, **entry)
    return references


def load_planted_bugs(path: Path, experiments: dict[str, Experiment]) -> list[PlantedBug]:
    """The topic's optional planted-bugs.json (docs/content-format.md), validated."""
    if not path.is_file():
        return []
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise ContentError(f"invalid JSON: {error.msg}", path, error.lineno) from None
    entries = data.get("bugs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ContentError('expected {"bugs": [...]}', path)
    bugs = []
    for index, entry in enumerate(entries):
        where = f"bugs[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"experiment", "bug", "caught_by"}:
            raise ContentError(f"{where} must have exactly the keys experiment, bug, caught_by",
                               path)
        if entry["experiment"] not in experiments:
            raise ContentError(f'{where}: unknown experiment "{entry["experiment"]}"'
                               + did_you_mean(str(entry["experiment"]), experiments), path)
        if entry["caught_by"] not in CAUGHT_BY:
            raise ContentError(f"{where}: caught_by must be one of {', '.join(CAUGHT_BY)}",
                               path)
        bugs.append(PlantedBug(**entry))
    return bugs


def read_text(path: Path, named_by: Path | None = None) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        shown = path.relative_to(named_by.parent) if named_by else path
        raise ContentError(f"{shown} does not exist", named_by or path) from None
    except UnicodeDecodeError as error:
        raise not_utf8(error, path) from None
    except OSError as error:
        raise ContentError(f"cannot read: {error.strerror}", path) from None


def not_utf8(error: UnicodeDecodeError, path: Path) -> ContentError:
    line = error.object[:error.start].count(b"\n") + 1
    return ContentError(f"not UTF-8 text (byte {error.start}); save it as UTF-8", path, line)


def read_toml(path: Path, named_by: Path | None = None) -> dict[str, Any]:
    try:
        # A byte order mark, which some Windows editors write, is no TOML error.
        return tomllib.loads(read_text(path, named_by).removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as error:
        # tomllib says "... (at line 3, column 7)": move the line to the front, file:line style.
        match = re.search(r"\(at line (\d+), column \d+\)", str(error))
        line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise ContentError(f"invalid TOML: {message}", path, line) from None


def check_keys(data: dict[str, Any], schema: dict[str, type], required: tuple[str, ...],
               path: Path, prefix: str = "") -> None:
    """Collect every unknown, missing or mistyped key and raise once with all of them."""
    problems = []
    for key, value in data.items():
        if key not in schema:
            problems.append(f'unknown key "{prefix}{key}"' + did_you_mean(key, schema))
        # TOML's true is a Python bool, and so an int: `jobs = true` is still a mistake.
        elif not isinstance(value, schema[key]) or (isinstance(value, bool)
                                                    and schema[key] is not bool):
            problems.append(f'"{prefix}{key}" must be {schema[key].__name__}, '
                            f"got {type(value).__name__}")
        elif control := CONTROL.search(" ".join(map(str, value)) if isinstance(value, list)
                                       else str(value)):
            problems.append(f'"{prefix}{key}" holds the control character '
                            f"U+{ord(control.group()):04X}, which no page can show")
    problems += [f'missing key "{prefix}{key}"' for key in required if key not in data]
    if problems:
        raise ContentError("; ".join(problems), path)
