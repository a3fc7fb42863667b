"""What every PDF module shares: a laid-out part, page geometry, the fetcher.

A leaf: it imports no other module of this package, so the others import it one way.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from topicgen.results.cache import ResultCache

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


def cached_part(cache: ResultCache | None, key: dict) -> Part | None:
    data = None if cache is None else cache.find(key, ".json", folder="pdf")
    if data is None:
        return None
    try:
        return Part.from_bytes(data)
    except (ValueError, KeyError, TypeError):
        return None


def local_fetcher(root: Path, fetched: list[str] | None = None):
    """A WeasyPrint URL fetcher that serves `data:` URLs and files inside `root`, nothing else;
    the files it serves are appended to `fetched`."""
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import URLFetcher  # WeasyPrint takes a second: only when laying out

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
