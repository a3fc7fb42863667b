"""Helpers for SVG inlined into HTML, where every id must be unique in the whole page."""

from __future__ import annotations

import re

_ID = re.compile(r'\bid="([^"]+)"')
_REFERENCE = re.compile(r'(#|aria-labelledby=")([A-Za-z_][\w.:-]*)')


def prefix_ids(svg: str, prefix: str) -> str:
    """Prefix every id in `svg`, and every reference to one, with `prefix-`."""
    ids = set(_ID.findall(svg))
    if not ids:
        return svg
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    return _REFERENCE.sub(
        lambda m: f"{m.group(1)}{prefix}-{m.group(2)}" if m.group(2) in ids else m.group(0), svg
    )
