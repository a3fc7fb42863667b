"""HTML -> PDF with WeasyPrint, which fetches nothing outside the project."""

from __future__ import annotations

import logging
from pathlib import Path

from topicgen.errors import TopicgenError

log = logging.getLogger(__name__)


def local_fetcher(root: Path):
    """A WeasyPrint URL fetcher that serves `data:` URLs and files inside `root`, nothing else."""
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
                    return super().fetch(url, headers)
            raise ValueError(f"refused to fetch {url}: only files inside {root} are allowed")

    return LocalOnlyFetcher(allowed_protocols=("file", "data"))


def html_to_pdf(html: str, root: Path) -> bytes:
    """The PDF bytes of `html`; relative URLs resolve against (and are confined to) `root`."""
    import weasyprint

    # WeasyPrint logs every CSS property it ignores; only real problems should reach the user.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    try:
        document = weasyprint.HTML(string=html, base_url=str(root), url_fetcher=local_fetcher(root))
        return document.write_pdf(pdf_variant=None, uncompressed_pdf=False)
    except OSError as error:
        raise TopicgenError(f"PDF rendering failed: {error}") from None
