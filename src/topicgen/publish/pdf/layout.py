"""Laying parts out with WeasyPrint: reused from the cache, or laid out here or in workers.

A part's PDF is cached by its HTML (results.keys.pdf_parts). Parts missing from the cache are laid
out in this process, or in up to `jobs` worker processes when there are several. Workers are
forked with WeasyPrint loaded (see pools); where they are spawned instead, one is started ahead
of time and warmed up while the build still renders the HTML, since WeasyPrint takes a second
to import and its first layout in a process is the slowest.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from topicgen.errors import TopicgenError
from topicgen.pools import FORKED, WorkerPool
from topicgen.publish.pdf.part import Part, cached_part, local_fetcher
from topicgen.publish.pdf.stamps import drawings, lift_svgs, save, stamp
from topicgen.publish.pdf.tags import (
    describe_links,
    nest_links,
    unique_header_ids,
    untag_margins,
)
from topicgen.results.keys import pdf_parts

if TYPE_CHECKING:
    from topicgen.results.cache import ResultCache

log = logging.getLogger(__name__)


def render_part(html: str, root: Path, cache: ResultCache | None = None, tagged: bool = True
                ) -> Part:
    """Lay out and draw one standalone document; relative URLs resolve against `root`. Its
    SVGs are drawn apart and stamped on (see stamps); `cache` keeps those drawings. `tagged`:
    a PDF/UA-1 structure tree (see tags), which page furniture laid over the parts lacks."""
    import pikepdf
    import weasyprint

    # WeasyPrint logs every CSS property it ignores; only real problems should reach the user.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetched: list[str] = []
    html, svgs, words = lift_svgs(html, lift_words=tagged)
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
            part.bookmarks += [[number, level, label, x, y]
                               for level, label, (x, y), _ in page.bookmarks]
            page.bookmarks.clear()  # the joined PDF's outline holds every part's
        keep_links_to_other_parts(document.pages)
        link_words = [[words_of(box) for kind, _, _, box in page.links
                       if kind in ("internal", "external")] for page in document.pages]
        written = document.write_pdf(pdf_variant="pdf/ua-1" if tagged else None,
                                     uncompressed_pdf=False)
        names = sorted(sites)
        drawn = drawings([svgs[name] for name in names], root, cache, fetched)
        with pikepdf.open(io.BytesIO(written)) as pdf:
            untag_margins(pdf)
            nest_links(pdf)
            describe_links(pdf, link_words)
            if tagged and "<th" in html:  # walking every element costs: only for tables
                unique_header_ids(pdf, hashlib.sha256(html.encode()).hexdigest()[:12] + "-")
            stamp(pdf, sites, dict(zip(names, drawn, strict=True)), svgs, words)
            part.pdf = save(pdf)
        return part
    except OSError as error:
        raise TopicgenError(f"PDF rendering failed: {error}") from None


def words_of(box) -> str:
    """What a link says ("Figure 4"; a citation "Reference 6"), for its annotation."""
    element = box.element
    if element is None:
        return ""
    text = " ".join("".join(element.itertext()).split())
    return f"Reference {text}" if text and "cite" in (element.get("class") or "").split() \
        else text


def keep_links_to_other_parts(pages) -> None:
    """WeasyPrint drops a link whose target is not in the document; one to another part is
    kept by an anchor of that name on the link's page. The link points at the name, which
    the joined PDF's named destinations resolve (see join), and stays tagged as a Link."""
    anchors = {name for page in pages for name in page.anchors}
    for page in pages:
        for kind, target, *_ in page.links:
            if kind == "internal" and target not in anchors:
                page.anchors[target] = (0, 0, 0, 0)
                anchors.add(target)


class Layout:
    """Where parts are laid out: in this process, or in up to `jobs` worker processes once
    there are several. Used as a `with` block, whose end ends its workers: after an error at
    once, so that the message never waits for a worker still importing WeasyPrint."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.pool: WorkerPool | None = None
        self.used = False
        """Whether a part was laid out in the pool; if not, its workers only warmed up."""

    def __enter__(self) -> Layout:
        return self

    def __exit__(self, error_type, *_) -> None:
        if self.pool is not None:
            self.pool.close(finished=error_type is None and self.used)

    def release(self) -> None:
        """Let the workers go once their parts are laid out: joining the parts takes this
        process's memory to its peak, and theirs would add to it. A later part starts new
        ones (forked at once: see pools)."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    @property
    def in_workers(self) -> bool:
        """Whether parts go to running workers, so that two threads can have two laid out at
        once (in this process, WeasyPrint lays out one at a time)."""
        return self.jobs > 1 and self.pool is not None

    def warm(self) -> None:
        """Start a worker that imports and warms up WeasyPrint while this process renders
        the HTML; nothing to gain where this process has WeasyPrint loaded already, or where
        workers are forked with it loaded (pools.FORKED: starting one would wait for the
        server's imports)."""
        if self.jobs > 1 and "weasyprint" not in sys.modules and not FORKED:
            self._pool().submit(warm_up)

    def parts(self, htmls: list[str], root: Path, cache: ResultCache | None,
              tagged: bool = True) -> list[Part]:
        if not htmls:
            return []
        render = functools.partial(render_part, root=root, cache=cache, tagged=tagged)
        # One part is laid out here where WeasyPrint is loaded (the warm worker of --watch)
        # or would be as slow to load in a spawned worker; a forked worker has it loaded.
        alone = len(htmls) < 2 and self.pool is None and ("weasyprint" in sys.modules
                                                          or not FORKED)
        if self.jobs < 2 or alone:
            return [render(html) for html in htmls]
        lanes = max(1, min(self.jobs, len(htmls)))
        if lanes == 1:
            return [self._in_worker(render, html) for html in htmls]
        return self._lanes(htmls, lanes, render)

    def _lanes(self, htmls: list[str], lanes: int, render: Callable[[str], Part]
               ) -> list[Part]:
        """Lay the documents out in `lanes` workers; each lane takes the longest waiting
        document next (see layout_cost), so that no lane is left with one big chapter at
        the end."""
        waiting = deque(sorted(range(len(htmls)), key=lambda i: -layout_cost(htmls[i])))
        made: dict[int, Part] = {}

        def work() -> None:
            while True:
                try:
                    i = waiting.popleft()
                except IndexError:
                    return
                made[i] = self._in_worker(render, htmls[i])

        threads = ThreadPoolExecutor(lanes)
        try:
            for lane in [threads.submit(work) for _ in range(lanes)]:
                lane.result()
        finally:
            waiting.clear()  # after an error: the other lanes take nothing more
            threads.shutdown(wait=False)
        return [made[i] for i in range(len(htmls))]

    def _in_worker(self, render: Callable[[str], Part], html: str) -> Part:
        self.used = True
        return self._pool().submit(render, html).result()

    def _pool(self) -> WorkerPool:
        if self.pool is None:  # workers start as work arrives, up to `jobs`
            self.pool = WorkerPool(self.jobs)
        return self.pool


def layout_cost(html: str) -> int:
    """How long a document takes to lay out, in no unit: the length of the markup WeasyPrint
    lays out. Its SVGs are left out: they are drawn apart, and a figure's path data, most
    of a chapter's bytes, costs little there. Measured on Topic 4's parts, their whole
    length put its code appendix (a tenth of a big chapter's bytes, more time than any)
    last, and a lane laid it out alone at the end."""
    return len(lift_svgs(html)[0])


WARM_UP = """<!DOCTYPE html><html lang="en"><head><style>@page { size: A4; margin: 2cm;
@top-center { content: "warm" } } body { font-family: serif; hyphens: auto }
code { font-family: monospace }</style></head><body><h1>Warm</h1><p>A paragraph long enough
to be hyphenated, with <em>emphasis</em>, <strong>bold</strong> and <code>code</code>.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10" viewBox="0 0 20 10">
<rect width="20" height="10"/></svg></body></html>"""
"""A small page touching what every part needs: fonts, hyphenation, page margins, an SVG."""


@functools.cache  # once per process
def warm_up() -> None:
    """Import what a layout needs and lay out a small page: a process's first layout also
    loads fonts, hyphenation patterns and WeasyPrint's C bindings."""
    import pikepdf  # noqa: F401
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    weasyprint.HTML(string=WARM_UP).write_pdf(pdf_variant="pdf/ua-1")


def render_parts(htmls: list[str], root: Path, cache: ResultCache | None, layout: Layout,
                 tagged: bool = True) -> list[Part]:
    """Each document's Part: from `cache` where it is there, else laid out by `layout`."""
    keys = pdf_parts("pdf-part" if tagged else "pdf-untagged", htmls)
    found = [cached_part(cache, key) for key in keys]
    missing = [i for i, part in enumerate(found) if part is None]
    if len(missing) > 1:  # the long step of a cold build: say what it is waiting for
        log.info("  laying out %d PDF parts (%d reused)%s", len(missing),
                 len(htmls) - len(missing),
                 f" in {layout.jobs} processes" if layout.jobs > 1 else "")
    laid_out = layout.parts([htmls[i] for i in missing], root, cache, tagged)
    for i, part in zip(missing, laid_out, strict=True):
        found[i] = part
        if cache is not None and not part.fetched:
            cache.keep(keys[i], ".json", part.to_bytes(), folder="pdf")
    log.debug("PDF parts: %d reused, %d laid out", len(htmls) - len(missing), len(missing))
    return found
