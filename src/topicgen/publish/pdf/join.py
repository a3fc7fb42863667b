"""Joining laid-out parts into one PDF with pikepdf (qpdf).

The parts' pages go in reading order with the furniture (page N of M) laid over them, their
structure trees become one (see tags); then what WeasyPrint would have written for the whole
document, but cannot for one part: a named destination per id, which links between parts
point at (so `handout.pdf#sec-lstm` opens there too), and the outline (PDF bookmarks).
"""

from __future__ import annotations

import io
from contextlib import ExitStack
from itertools import accumulate

from topicgen.publish.pdf.part import PX, Part
from topicgen.publish.pdf.stamps import overlay, save
from topicgen.publish.pdf.tags import merge_structure


def join(parts: list[Part], furniture: Part) -> bytes:
    import pikepdf

    with ExitStack() as open_files:
        sources = [open_files.enter_context(pikepdf.open(io.BytesIO(part.pdf)))
                   for part in parts + [furniture]]
        *sources, layers = sources
        joined = open_files.enter_context(pikepdf.new())
        for source in sources:
            # Page by page: pages.extend warns that links to named destinations may break,
            # but the joined PDF names every part's anchors itself (add_destinations).
            for page in source.pages:
                joined.pages.append(page)
        for number, (page, layer) in enumerate(zip(joined.pages, layers.pages, strict=True)):
            form = joined.copy_foreign(layer.as_form_xobject())
            # Pages of one part share their resources: each page's layer needs its own name.
            overlay(page, [(form, f"TgFurniture{number}", (1, 0, 0, 1, 0, 0), None)])
        merge_structure(joined, sources)
        # WeasyPrint's title, author, dates and producer, the document's language and its
        # XMP metadata (which claims PDF/UA-1).
        joined.docinfo = joined.copy_foreign(sources[0].docinfo)
        for key in ("/Lang", "/Metadata"):
            if key in sources[0].Root:
                value = sources[0].Root[key]
                joined.Root[key] = joined.copy_foreign(value) if value.is_indirect else value
        offsets = list(accumulate((part.pages for part in parts[:-1]), initial=0))
        anchors: dict[str, tuple[int, float, float]] = {}
        for part, offset in zip(parts, offsets, strict=True):
            for name, (page, x, y) in part.anchors.items():
                anchors.setdefault(name, (offset + page, x, y))
        place = Placement(joined)
        add_destinations(joined, anchors, place)
        unlink_dangling(joined, anchors)
        add_outline(joined, parts, offsets, place)
        return save(joined, version=sources[0].pdf_version)


class Placement:
    """CSS px from a page's top-left -> PDF points from its bottom-left."""

    def __init__(self, pdf):
        self.pages = pdf.pages
        self.heights = [float(page.mediabox[3]) for page in pdf.pages]

    def point(self, page: int, x: float, y: float) -> tuple[float, float]:
        return x * PX, self.heights[page] - y * PX

    def destination(self, page: int, x: float, y: float):
        """An explicit destination: `page` shown with (x, y) at its top-left corner."""
        from pikepdf import Array, Name

        left, top = self.point(page, x, y)
        return Array([self.pages[page].obj, Name.XYZ, left, top, 0])


def add_destinations(pdf, anchors: dict[str, tuple[int, float, float]],
                     place: Placement) -> None:
    from pikepdf import Dictionary, NameTree

    destinations = NameTree.new(pdf)
    for name, (page, x, y) in sorted(anchors.items()):
        destinations[name] = place.destination(page, x, y)
    pdf.Root.Names = Dictionary(Dests=destinations.obj)


def unlink_dangling(pdf, anchors: dict) -> None:
    """A link whose target is in no part leads nowhere: WeasyPrint would drop it, but here its
    annotation is the object of a tagged Link, so it stays, without a destination."""
    from pikepdf import Name, String

    for page in pdf.pages:
        for annotation in page.obj.get(Name.Annots, []):
            destination = annotation.get(Name.Dest)
            if isinstance(destination, String) and str(destination) not in anchors:
                del annotation.Dest


def add_outline(pdf, parts: list[Part], offsets: list[int], place: Placement) -> None:
    """Bookmarks nest by level, as WeasyPrint nests them (h3 under the h2 before it)."""
    from pikepdf import OutlineItem

    with pdf.open_outline() as outline:
        open_items: list[tuple[int, OutlineItem]] = []
        for part, offset in zip(parts, offsets, strict=True):
            for page, level, label, x, y in part.bookmarks:
                while open_items and open_items[-1][0] >= level:
                    open_items.pop()
                siblings = open_items[-1][1].children if open_items else outline.root
                left, top = place.point(offset + page, x, y)
                item = OutlineItem(label, offset + page, "XYZ", left=left, top=top)
                siblings.append(item)
                open_items.append((level, item))
