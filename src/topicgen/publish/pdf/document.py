"""A page's HTML -> its PDF: cut into parts, each laid out (or reused), numbered, joined."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from topicgen.publish.pdf.cut import furniture_html, number_links, split_parts
from topicgen.publish.pdf.join import join
from topicgen.publish.pdf.layout import Layout, render_parts
from topicgen.publish.pdf.part import Part

if TYPE_CHECKING:
    from topicgen.results.cache import ResultCache


def html_to_pdf(html: str, root: Path, cache: ResultCache | None = None,
                layout: Layout | None = None, styles: str = "") -> bytes:
    """The PDF of `html` (see the package's docstring); `cache` (a ResultCache) keeps each
    part's PDF, and parts not in it are laid out by `layout` (default: in this process).
    `styles` is CSS for the PDF alone (paged media a browser does not know: the theme's
    pdf.css), added to the page's own."""
    layout = layout or Layout(jobs=1)
    html = with_styles(html, styles)
    parts = split_parts(html)
    # Laid out without page numbers first, to learn how many pages the front matter takes.
    draft, *body = render_parts(parts, root, cache, layout)
    front = draft
    for _ in range(2):  # numbers that move the front matter onto another page count: again
        numbered = number_links(parts[0], anchor_pages([front] + body))
        if numbered == parts[0]:
            break  # no internal links to number
        front = render_parts([numbered], root, cache, layout)[0]
        if front.pages == draft.pages:
            break
        draft = front
    total = front.pages + sum(part.pages for part in body)
    furniture = render_parts([furniture_html(html, total)], root, cache, layout,
                             tagged=False)[0]
    return join([front] + body, furniture)


def with_styles(html: str, styles: str) -> str:
    if not styles:
        return html
    end = html.lower().find("</head>")
    if end < 0:
        return f"<style>{styles}</style>{html}"
    return f"{html[:end]}<style>{styles}</style>{html[end:]}"


def anchor_pages(parts: list[Part]) -> dict[str, int]:
    """id -> the page number (from 1) it lands on once `parts` are joined."""
    pages: dict[str, int] = {}
    offset = 1
    for part in parts:
        for name, (page, *_) in part.anchors.items():
            pages.setdefault(name, offset + page)
        offset += part.pages
    return pages
