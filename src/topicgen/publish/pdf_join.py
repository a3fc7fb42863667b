"""Joining laid-out parts into one PDF with pypdf.

The parts' pages go in reading order with the furniture (page N of M) laid over them; then what
WeasyPrint would have written for the whole document, but cannot for a part that does not hold
a link's target: internal links, a named destination per id (so `handout.pdf#sec-lstm` opens
there) and the outline (PDF bookmarks).
"""

from __future__ import annotations

import io
from itertools import accumulate

from topicgen.publish.pdf import PX, Part


def join(parts: list[Part], furniture: Part) -> bytes:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    readers = [PdfReader(io.BytesIO(part.pdf)) for part in parts]
    writer = PdfWriter()
    writer.pdf_header = readers[0].pdf_header
    for reader in readers:
        for page in reader.pages:
            writer.add_page(page)
    for page, layer in zip(writer.pages, PdfReader(io.BytesIO(furniture.pdf)).pages,
                           strict=True):
        page.merge_page(layer)
        page.compress_content_streams()
    # WeasyPrint's title, author and producer, not pypdf's.
    writer.add_metadata(dict(readers[0].metadata or {}))
    if "/Lang" in readers[0].trailer["/Root"]:
        writer.root_object[NameObject("/Lang")] = readers[0].trailer["/Root"]["/Lang"]
    offsets = list(accumulate((part.pages for part in parts[:-1]), initial=0))
    place = Placement(writer)
    anchors: dict[str, tuple[int, float, float]] = {}
    for part, offset in zip(parts, offsets, strict=True):
        for name, (page, x, y) in part.anchors.items():
            anchors.setdefault(name, (offset + page, x, y))
    add_links(writer, parts, offsets, anchors, place)
    for name, (page, x, y) in sorted(anchors.items()):
        writer.add_named_destination(name, page, place.fit(page, x, y))
    add_outline(writer, parts, offsets, place)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


class Placement:
    """CSS px from a page's top-left -> PDF points from its bottom-left."""

    def __init__(self, writer):
        self.heights = [float(page.mediabox.height) for page in writer.pages]

    def point(self, page: int, x: float, y: float) -> tuple[float, float]:
        return x * PX, self.heights[page] - y * PX

    def fit(self, page: int, x: float, y: float):
        from pypdf.generic import Fit

        left, top = self.point(page, x, y)
        return Fit.xyz(left=left, top=top)


def add_links(writer, parts: list[Part], offsets: list[int],
              anchors: dict[str, tuple[int, float, float]], place: Placement) -> None:
    from pypdf.annotations import Link

    for part, offset in zip(parts, offsets, strict=True):
        for page, x1, y1, x2, y2, target in part.links:
            if target not in anchors:
                continue  # a dangling link stays text, as WeasyPrint leaves it
            left, bottom = place.point(offset + page, x1, y2)
            right, top = place.point(offset + page, x2, y1)
            target_page, x, y = anchors[target]
            writer.add_annotation(offset + page, Link(
                rect=(left, bottom, right, top), target_page_index=target_page,
                fit=place.fit(target_page, x, y)))


def add_outline(writer, parts: list[Part], offsets: list[int], place: Placement) -> None:
    """Bookmarks nest by level, as WeasyPrint nests them (h3 under the h2 before it)."""
    open_items: list[tuple[int, object]] = []
    for part, offset in zip(parts, offsets, strict=True):
        for page, level, label, x, y in part.bookmarks:
            while open_items and open_items[-1][0] >= level:
                open_items.pop()
            parent = open_items[-1][1] if open_items else None
            item = writer.add_outline_item(title=label, page_number=offset + page, parent=parent,
                                           fit=place.fit(offset + page, x, y))
            open_items.append((level, item))

