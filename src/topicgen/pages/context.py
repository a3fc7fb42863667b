"""The one typed context every handout template receives."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from markupsafe import Markup

from topicgen.config import source_date_epoch
from topicgen.content.render import Document, SolutionView, SourceRef, highlight
from topicgen.content.topic import Reference, Topic
from topicgen.results.keys import listing_parts

if TYPE_CHECKING:
    from topicgen.results.cache import ResultCache


@dataclass(frozen=True)
class TocEntry:
    number: str
    title: Markup
    anchor: str
    level: int


@dataclass(frozen=True)
class Listing:
    ref: SourceRef
    code: Markup


@dataclass(frozen=True)
class HandoutPage:
    title: str
    label: str
    summary: str
    authors: list[str]
    chapters: list[Markup]
    toc: list[TocEntry]
    references: list[tuple[int, Reference]]
    listings: list[Listing]
    code_css: Markup
    paper: str
    version: str
    date: str
    profile: str
    variant: list[str] = field(default_factory=list)
    """`-p experiment.name=value` overrides a variant handout was built with."""
    edition: str = "instructor"
    solutions: list[SolutionView] = field(default_factory=list)
    """The solutions printed at the end (--solutions appendix), in exercise order."""


def build_date() -> str:
    """The date shown on a handout: SOURCE_DATE_EPOCH when set (reproducible builds), else empty."""
    epoch = source_date_epoch()
    if epoch is None:
        return ""
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return f"{moment.day} {moment:%B %Y}"


def handout_page(topic: Topic, chapters_html: list[str], doc: Document, paper: str,
                 profile: str, cache: ResultCache, variant: list[str],
                 edition: str = "instructor") -> HandoutPage:
    from pygments.formatters import HtmlFormatter

    import topicgen

    toc = [TocEntry(t.number, Markup(t.title_html), label, t.level)
           for label, t in doc.targets.items() if t.kind == "section" and t.level <= 2]
    return HandoutPage(
        title=topic.title, label=topic.label, summary=topic.summary, authors=topic.authors,
        chapters=[Markup(c) for c in chapters_html], toc=toc,
        references=[(n, topic.references[k]) for n, k in enumerate(doc.citations, start=1)],
        listings=[Listing(ref, Markup(listing_html(ref.code, cache)))
                  for ref in doc.sources.values()],
        code_css=Markup(HtmlFormatter(style="default").get_style_defs(".code")),
        paper=paper, version=topicgen.__version__, date=topic.date or build_date(),
        profile=profile,
        variant=variant, edition=edition, solutions=doc.appendix,
    )


def listing_html(code: str, cache: ResultCache) -> str:
    """Python code, highlighted, from `cache` where it is there: the appendix lists some
    twenty functions, and highlighting them took 0.15 s on every rebuild."""
    return cache.artifact(listing_parts(code), ".html",
                          lambda: highlight(code, "python").encode("utf-8"),
                          folder="listings").decode("utf-8")
