"""HTML -> PDF with WeasyPrint, one part at a time, fetching nothing outside the project.

Laying out and drawing a 40-page handout takes WeasyPrint half a minute, so a page is cut into
parts (see pdf_parts), each part's PDF is cached by its HTML, and the parts are joined
(pdf_join): a prose edit lays out one chapter again, not the book. Within a part, figures and
formulas are drawn once each and stamped onto the boxes they take (pdf_stamps), so laying a
chapter out again does not draw them again. What must count across parts is filled in
afterwards: the contents page is laid out last, once every anchor's page is known, and page
numbers come from one pass over empty pages laid over the parts.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from topicgen import sources
from topicgen.errors import TopicgenError
from topicgen.pools import process_pool
from topicgen.publish import pdf_server
from topicgen.publish.pdf_parts import furniture_html, number_links, split_parts

if TYPE_CHECKING:
    from topicgen.results.cache import ResultCache

log = logging.getLogger(__name__)
PX = 0.75
"""PDF points per CSS pixel."""


def pdf_box(page_height: float, x1: float, y1: float, x2: float, y2: float) -> list[float]:
    """A box in CSS px from a page's top-left corner as PDF points from its bottom-left:
    [left, bottom, right, top]. `page_height` is in points."""
    return [x1 * PX, page_height - y2 * PX, x2 * PX, page_height - y1 * PX]


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


def render_part(html: str, root: Path, cache: ResultCache | None = None) -> Part:
    """Lay out and draw one standalone document; relative URLs resolve against `root`. Its
    SVGs are drawn apart and stamped on (see pdf_stamps); `cache` keeps those drawings."""
    import weasyprint

    from topicgen.publish.pdf_stamps import drawings, lift_svgs, stamp

    # WeasyPrint logs every CSS property it ignores; only real problems should reach the user.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetched: list[str] = []
    html, svgs = lift_svgs(html)
    try:
        document = weasyprint.HTML(string=html, base_url=str(root),
                                   url_fetcher=local_fetcher(root, fetched)).render()
        part = Part(b"", len(document.pages), fetched=fetched)
        sites: dict[str, list] = {}
        for number, page in enumerate(document.pages):
            for name, (x1, y1, x2, y2) in page.anchors.items():
                if name in svgs:
                    sites[name] = [number, x1, y1, x2, y2]
                else:
                    part.anchors.setdefault(name, [number, x1, y1])
            part.links += [[number, *rectangle, target]
                           for kind, target, rectangle, _ in page.links if kind == "internal"]
            part.bookmarks += [[number, level, label, x, y]
                               for level, label, (x, y), _ in page.bookmarks]
            # The joined PDF adds these itself, pointing into whichever part holds the target.
            page.links[:] = [link for link in page.links if link[0] != "internal"]
            page.bookmarks.clear()
        part.pdf = document.write_pdf(pdf_variant=None, uncompressed_pdf=False)
        if sites:
            names = sorted(sites)
            drawn = drawings([svgs[name] for name in names], root, cache, fetched)
            part.pdf = stamp(part.pdf, sites, dict(zip(names, drawn, strict=True)))
        return part
    except OSError as error:
        raise TopicgenError(f"PDF rendering failed: {error}") from None


def html_to_pdf(html: str, root: Path, cache: ResultCache | None = None,
                layout: Layout | None = None) -> bytes:
    """The PDF of `html` (see the module's docstring); `cache` (a ResultCache) keeps each
    part's PDF, and parts not in it are laid out by `layout` (default: in this process)."""
    from topicgen.publish.pdf_join import join

    layout = layout or Layout(jobs=1)
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
    furniture = render_parts([furniture_html(html, total)], root, cache, layout)[0]
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


class Layout:
    """Where parts are laid out: by the PDF layout server an earlier build left (see
    pdf_server), else in this process, or in up to `jobs` worker processes once there are
    several to lay out. `warm()` looks for the server; without one it starts a worker ahead,
    so that it imports WeasyPrint (a second) while this process is still rendering the HTML.
    A build that laid parts out without a server starts one for the next build."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.pool: ProcessPoolExecutor | None = None
        self.server_lost = False
        self.sample: tuple[str, Path, ResultCache | None] | None = None
        """The longest part laid out here, if any: a server started for the next build
        warms up on it."""

    def __enter__(self) -> Layout:
        return self

    def __exit__(self, error_type, *_) -> None:
        if self.pool is not None:
            # After an error (bad input, say) the message must not wait for a worker that is
            # still importing WeasyPrint; left alone, it exits when it finds no more work.
            self.pool.shutdown(wait=error_type is None, cancel_futures=True)
        if error_type is None and self.sample is not None:
            pdf_server.start(pdf_server.request(*self.sample))

    def warm(self) -> None:
        if self.jobs > 1 and "weasyprint" not in sys.modules and not pdf_server.running():
            self._pool().submit(import_layout_modules)  # nothing to gain once imported

    def parts(self, htmls: list[str], root: Path, cache: ResultCache | None) -> list[Part]:
        if not htmls:
            return []
        # Connected only while laying out: a server answers one build at a time, and another
        # build must not wait while this one runs its experiments.
        server = None if self.server_lost else pdf_server.connect()
        if server is not None:
            with server:
                try:
                    return self._lanes(htmls, [partial(pdf_server.lay_out, server)], root,
                                       cache)
                except pdf_server.ServerGone as error:
                    log.debug("lost the PDF layout server (%s); laying out here", error)
                    self.server_lost = True
        longest = max(htmls, key=len)
        if self.sample is None or len(longest) > len(self.sample[0]):
            self.sample = longest, root, cache
        if self.pool is None and (self.jobs < 2 or len(htmls) < 2):
            return [render_part(html, root, cache) for html in htmls]
        return self._lanes(htmls, [], root, cache)

    def _lanes(self, htmls: list[str], lanes: list, root: Path, cache: ResultCache | None
               ) -> list[Part]:
        """Lay the documents out in `lanes` (functions of html, root and cache) and in pool
        workers up to `jobs` lanes in all; each lane takes the longest waiting document
        next, so that no lane is left with one big chapter at the end."""
        lanes = (lanes + [self._in_worker] * self.jobs)[:max(1, min(self.jobs, len(htmls)))]
        if len(lanes) == 1:
            return [lanes[0](html, root, cache) for html in htmls]
        waiting = deque(sorted(range(len(htmls)), key=lambda i: -len(htmls[i])))
        made: dict[int, Part] = {}

        def work(lay_out) -> None:
            while True:
                try:
                    i = waiting.popleft()
                except IndexError:
                    return
                made[i] = lay_out(htmls[i], root, cache)

        threads = ThreadPoolExecutor(len(lanes))
        try:
            for lane in [threads.submit(work, lane) for lane in lanes]:
                lane.result()
        finally:
            waiting.clear()  # after an error: the other lanes take nothing more
            threads.shutdown(wait=False)
        return [made[i] for i in range(len(htmls))]

    def _in_worker(self, html: str, root: Path, cache: ResultCache | None) -> Part:
        return self._pool().submit(render_part, html, root, cache).result()

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:  # workers start as work arrives, up to `jobs`
            self.pool = process_pool(self.jobs)
        return self.pool


def import_layout_modules() -> None:
    """What laying out a part imports: WeasyPrint (a second), pikepdf and the stamping."""
    import pikepdf  # noqa: F401
    import weasyprint  # noqa: F401

    from topicgen.publish import pdf_stamps  # noqa: F401


def render_parts(htmls: list[str], root: Path, cache: ResultCache | None, layout: Layout
                 ) -> list[Part]:
    """Each document's Part: from `cache` where it is there, else laid out by `layout`."""
    keys = [cache_key("pdf-part", html) for html in htmls]
    found = [load(cache, key) for key in keys]
    missing = [i for i, part in enumerate(found) if part is None]
    if len(missing) > 1:  # the long step of a cold build: say what it is waiting for
        log.info("  laying out %d PDF parts (%d reused)%s", len(missing),
                 len(htmls) - len(missing),
                 f" in {layout.jobs} processes" if layout.jobs > 1 else "")
    for i, part in zip(missing, layout.parts([htmls[i] for i in missing], root, cache),
                       strict=True):
        found[i] = part
        if cache is not None and not part.fetched:
            cache.keep(keys[i], ".json", part.to_bytes(), folder="pdf")
    log.debug("PDF parts: %d reused, %d laid out", len(htmls) - len(missing), len(missing))
    return found


def cache_key(kind: str, html: str) -> dict:
    """What a laid-out part or a drawing depends on besides fonts: its markup, WeasyPrint and
    topicgen's PDF code (this module and what it imports)."""
    return {kind: html, "weasyprint": sources.version("weasyprint"),
            "code": sources.file_hashes("topicgen.publish.pdf")}


def load(cache: ResultCache | None, key: dict) -> Part | None:
    data = None if cache is None else cache.find(key, ".json", folder="pdf")
    if data is None:
        return None
    try:
        return Part.from_bytes(data)
    except (ValueError, KeyError, TypeError):
        return None
