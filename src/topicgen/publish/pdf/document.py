"""A page's HTML -> its PDF: cut into parts, each laid out (or reused), numbered, joined."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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
    body_pages = sum(part.pages for part in body)
    # The furniture needs the page count, which numbering the contents seldom changes: where
    # parts go to workers, it is laid out beside the numbered contents with the draft's count
    # (and again if the count moved), not after them while the other worker waits.
    guess = draft.pages + body_pages
    beside = ThreadPoolExecutor(1) if layout.in_workers else None
    early = None if beside is None else beside.submit(
        render_parts, [furniture_html(html, guess)], root, cache, layout, tagged=False)
    try:
        front = numbered_front(parts[0], draft, body, root, cache, layout)
        total = front.pages + body_pages
        furniture = (early.result() if early is not None and total == guess else render_parts(
            [furniture_html(html, total)], root, cache, layout, tagged=False))[0]
    finally:
        if beside is not None:
            beside.shutdown()
    layout.release()
    return join([front] + body, furniture)


def numbered_front(html: str, draft: Part, body: list[Part], root: Path,
                   cache: ResultCache | None, layout: Layout) -> Part:
    """The front matter (`html`, laid out as `draft` without page numbers) with the page
    numbers of its internal links, once `body` follows it."""
    front = draft
    for _ in range(2):  # numbers that move the front matter onto another page count: again
        numbered = number_links(html, anchor_pages([front] + body))
        if numbered == html:
            break  # no internal links to number
        front = render_parts([numbered], root, cache, layout)[0]
        if front.pages == draft.pages:
            break
        draft = front
    return front


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
