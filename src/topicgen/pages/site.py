"""The one typed context every page of the docs site receives."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup


@dataclass(frozen=True)
class TopicCard:
    slug: str
    title: str
    label: str
    summary: str
    has_pdf: bool
    has_report: bool
    has_slides: bool = False
    slides_pdf: bool = False
    other_editions: list[str] = field(default_factory=list)
    """Editions published beside the main handout, as handout-<edition>.html (and .pdf)."""


@dataclass(frozen=True)
class GalleryFigure:
    label: str
    number: str
    caption: Markup
    alt: str
    experiment: str
    module: str  # the experiment file's stem: its code page is <topic>/code/<module>.html


@dataclass(frozen=True)
class CodeFile:
    path: str
    anchor: str
    html: Markup


@dataclass(frozen=True)
class CodePage:
    experiment: str
    summary: str
    files: list[CodeFile]


@dataclass(frozen=True)
class SitePage:
    title: str
    site_title: str
    root: str  # the relative way back to the site's root: "" or "../"
    version: str
    code_css: Markup = Markup("")
    paper: str = "a4"  # base.html's print size; site pages are rarely printed
    topics: list[TopicCard] = field(default_factory=list)
    topic: TopicCard | None = None
    figures: list[GalleryFigure] = field(default_factory=list)
    references: list = field(default_factory=list)  # of content.topic.Reference
    code: CodePage | None = None
