"""HTML -> PDF with WeasyPrint, one part at a time, fetching nothing outside the project.

Laying out and drawing a 40-page handout takes WeasyPrint half a minute, so a page is cut into
parts (see pdf_parts), each part's PDF is cached by its HTML, and the parts are joined
(pdf_join): a prose edit lays out one chapter again, not the book. What must count across
parts is filled in afterwards: the contents page is laid out last, once every anchor's page
is known, and page numbers come from one pass over empty pages laid over the parts.
"""

from __future__ import annotations

import base64
import json
import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from topicgen import sources
from topicgen.errors import TopicgenError
from topicgen.publish.pdf_parts import furniture_html, number_links, split_parts

if TYPE_CHECKING:
    from topicgen.results.cache import ResultCache

log = logging.getLogger(__name__)
PX = 0.75
"""PDF points per CSS pixel."""


@dataclass
class Part:
    """One part's PDF and where things landed on its pages (CSS px from a page's top-left)."""

    pdf: bytes
    pages: int
    anchors: dict[str, list] = field(default_factory=dict)
    """id -> [page, x, y]"""
    links: list[list] = field(default_factory=list)
    """[page, x1, y1, x2, y2, target id] for each internal link, added when the parts are
    joined (a link's target may lie in another part)"""
    bookmarks: list[list] = field(default_factory=list)
    """[page, level, label, x, y]"""
    fetched: list[str] = field(default_factory=list)
    """Project files the layout read; a part that read one is not cached (its HTML is not
    all it depends on)."""

    def to_bytes(self) -> bytes:
        data = asdict(self)
        data["pdf"] = base64.b64encode(self.pdf).decode("ascii")
        return json.dumps(data).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Part:
        fields = json.loads(data)
        fields["pdf"] = base64.b64decode(fields["pdf"])
        return cls(**fields)


def local_fetcher(root: Path, fetched: list[str] | None = None):
    """A WeasyPrint URL fetcher that serves `data:` URLs and files inside `root`, nothing else;
    the files it serves are appended to `fetched`."""
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "data":
                return super().fetch(url, headers)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if path.is_relative_to(root.resolve()):
                    if fetched is not None:
                        fetched.append(str(path))
                    return super().fetch(url, headers)
            raise ValueError(f"refused to fetch {url}: only files inside {root} are allowed")

    return LocalOnlyFetcher(allowed_protocols=("file", "data"))


def render_part(html: str, root: Path) -> Part:
    """Lay out and draw one standalone document; relative URLs resolve against `root`."""
    import weasyprint

    # WeasyPrint logs every CSS property it ignores; only real problems should reach the user.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetched: list[str] = []
    try:
        document = weasyprint.HTML(string=html, base_url=str(root),
                                   url_fetcher=local_fetcher(root, fetched)).render()
        part = Part(b"", len(document.pages), fetched=fetched)
        for number, page in enumerate(document.pages):
            for name, (x, y, *_) in page.anchors.items():
                part.anchors.setdefault(name, [number, x, y])
            part.links += [[number, *rectangle, target]
                           for kind, target, rectangle, _ in page.links if kind == "internal"]
            part.bookmarks += [[number, level, label, x, y]
                               for level, label, (x, y), _ in page.bookmarks]
            # The joined PDF adds these itself, pointing into whichever part holds the target.
            page.links[:] = [link for link in page.links if link[0] != "internal"]
            page.bookmarks.clear()
        part.pdf = document.write_pdf(pdf_variant=None, uncompressed_pdf=False)
        return part
    except OSError as error:
        raise TopicgenError(f"PDF rendering failed: {error}") from None


def html_to_pdf(html: str, root: Path, cache: ResultCache | None = None, jobs: int = 1) -> bytes:
    """The PDF of `html` (see the module's docstring); `cache` (a ResultCache) keeps each
    part's PDF, and parts not in it are laid out in `jobs` processes at once."""
    from topicgen.publish.pdf_join import join

    parts = split_parts(html)
    # Laid out without page numbers first, to learn how many pages the front matter takes.
    draft, *body = render_parts(parts, root, cache, jobs)
    front = draft
    for _ in range(2):  # numbers that move the front matter onto another page count: again
        numbered = number_links(parts[0], anchor_pages([front] + body))
        if numbered == parts[0]:
            break  # no internal links to number
        front = render_parts([numbered], root, cache, jobs)[0]
        if front.pages == draft.pages:
            break
        draft = front
    total = front.pages + sum(part.pages for part in body)
    furniture = render_parts([furniture_html(html, total)], root, cache, jobs)[0]
    return join([front] + body, furniture)


def anchor_pages(parts: list[Part]) -> dict[str, int]:
    """id -> the page number (from 1) it lands on once `parts` are joined."""
    pages: dict[str, int] = {}
    offset = 1
    for part in parts:
        for name, (page, *_) in part.anchors.items():
            pages.setdefault(name, offset + page)
        offset += part.pages
    return pages


def render_parts(htmls: list[str], root: Path, cache: ResultCache | None, jobs: int
                 ) -> list[Part]:
    """Each document's Part: from `cache` where it is there, else laid out (in parallel)."""
    keys = [{"pdf-part": html, "weasyprint": sources.version("weasyprint")} for html in htmls]
    found = [load(cache, key) for key in keys]
    missing = [i for i, part in enumerate(found) if part is None]
    if len(missing) > 1:  # the long step of a cold build: say what it is waiting for
        log.info("  laying out %d PDF parts (%d reused)%s", len(missing),
                 len(htmls) - len(missing), f" in {jobs} processes" if jobs > 1 else "")
    if len(missing) > 1 and jobs > 1:
        # Longest first, so the pool is not left waiting on one big chapter at the end.
        missing.sort(key=lambda i: -len(htmls[i]))
        with ProcessPoolExecutor(min(jobs, len(missing)), mp_context=get_context("spawn")) as pool:
            made = pool.map(render_part, [htmls[i] for i in missing], [root] * len(missing))
            for i, part in zip(missing, made, strict=True):
                found[i] = part
    else:
        for i in missing:
            found[i] = render_part(htmls[i], root)
    for i in missing:
        if cache is not None and not found[i].fetched:
            cache.keep(keys[i], ".json", found[i].to_bytes(), folder="pdf")
    log.debug("PDF parts: %d reused, %d laid out", len(htmls) - len(missing), len(missing))
    return found


def load(cache: ResultCache | None, key: dict) -> Part | None:
    data = None if cache is None else cache.find(key, ".json", folder="pdf")
    if data is None:
        return None
    try:
        return Part.from_bytes(data)
    except (ValueError, KeyError, TypeError):
        return None
