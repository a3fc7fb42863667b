"""`topicgen new`: a topic folder that builds at once, copied from the starter beside this file.

The starter is a real, small topic: one chapter with an equation, a citation, a figure and a
live value, and one experiment (standard_error.py) with its figures file and a claim.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from topicgen.content.topic import RESERVED_SLUGS, available_topics
from topicgen.errors import UsageError
from topicgen.files import write_atomic

STARTER = Path(__file__).resolve().parent / "starter"
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
MAX_SLUG = 64
"""The longest slug: file names hold it with more added (a cache entry is
<topic>-<experiment>-<key>.json), and file systems stop at 255 bytes."""


def new_topic(content_dir: Path, slug: str, title: str | None = None) -> Path:
    """Write content_dir/slug/ from the starter; returns the folder. The folder appears
    whole or not at all, and an existing one is never touched."""
    if not SLUG.fullmatch(slug):
        raise UsageError(f'"{slug}" cannot name a topic: use lowercase letters, digits, - and _, '
                         "starting with a letter or digit")
    if slug in RESERVED_SLUGS:
        raise UsageError(f'"{slug}" cannot name a topic: {RESERVED_SLUGS[slug]}')
    if len(slug) > MAX_SLUG:
        raise UsageError(f'"{slug[:20]}..." cannot name a topic: use at most {MAX_SLUG} '
                         f"characters, not {len(slug)}")
    root = content_dir / slug
    if root.exists():
        raise UsageError(f"{root} already exists: choose another name, or edit that topic")
    title = " ".join((title or slug.replace("-", " ").replace("_", " ").capitalize()).split())
    if not title:
        raise UsageError("--title is empty: give the topic a title")
    if content_dir.exists() and not content_dir.is_dir():
        raise UsageError(f"{content_dir} is a file: topics live in a folder of that name")
    try:
        content_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot make the content folder {content_dir}: "
                         f"{error.strerror or error}") from None
    staging = Path(tempfile.mkdtemp(prefix=f".{slug}-", dir=content_dir))
    try:
        shutil.copytree(STARTER, staging, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        number = len(available_topics(content_dir)) + 1  # the course's next topic
        (staging / "topic.toml").write_text(topic_toml(title, number), encoding="utf-8")
        os.rename(staging, root)  # atomic; fails rather than merge into a folder made since
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


def project_files(project: Path, slug: str) -> list[Path]:
    """A new project's topicgen.toml (naming `slug` as the topic to build, so that a second
    topic does not leave every command asking which) and .gitignore (what builds write);
    either is left alone where it exists. Returns the files written."""
    written = []
    settings = project / "topicgen.toml"
    if not settings.exists():
        write_atomic(settings, PROJECT_TOML.format(slug=slug))
        written.append(settings)
    ignore = project / ".gitignore"
    if not ignore.exists():
        write_atomic(ignore, "# What topicgen builds and caches; content/ is the source.\n"
                             "output/\n.topicgen/\n")
        written.append(ignore)
    return written


PROJECT_TOML = """\
# This project's defaults; an option on the command line wins over each.
# Every key is in topicgen's README, "Using it".
topic = "{slug}"  # what commands build without --topic
# profile = "quick"  # experiment size: quick while writing, full (the default) to publish
# site_title = "Lecture handouts"  # the docs site's name: your course's
"""


def topic_toml(title: str, number: int) -> str:
    chapters = sorted(path.name for path in STARTER.glob("*.md"))
    return (f"title = {json.dumps(title, ensure_ascii=False)}\n"  # a JSON string is valid TOML
            "# The short name above the title, as the course numbers its topics.\n"
            f'label = "Topic {number}"\n'
            f"summary = {json.dumps('What this topic teaches, in two or three sentences.')}\n"
            'authors = []\n'
            f"chapters = {json.dumps(chapters)}\n"
            'references = "references.toml"\n')


def guides() -> list[str]:
    """The author's guides, where topicgen runs from its source (an editable install, as
    the README's set-up makes): an installed copy has no docs/ to point to."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    return [str(docs / name) for name in ("writing-experiments.md", "content-format.md")
            if (docs / name).is_file()]
