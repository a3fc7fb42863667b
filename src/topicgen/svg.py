"""Helpers for SVG inlined into HTML, where every id must be unique in the whole page."""

from __future__ import annotations

import html
import re

# Attribute patterns start with their literal name, not with \b: a regex that starts with a
# literal is searched for quickly, and a handout prefixes a few hundred SVGs (took 0.4 s).
# attribute() then keeps only whole attribute names.
_ID = re.compile(r'id="([^"]+)"')
_REFERENCE = re.compile(r"#([A-Za-z_][\w.:-]*)")
_ID_LIST = re.compile(r'aria-labelledby="([^"]*)"')  # space-separated ids, no "#"
TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.S)


def attribute(match: re.Match) -> bool:
    """Whether `match` starts at an attribute's name (`data-id=` is not `id=`)."""
    return match.start() > 0 and match.string[match.start() - 1].isspace()


def prefix_ids(svg: str, prefix: str) -> str:
    """Prefix every id in `svg`, and every reference to one, with `prefix-`."""
    ids = {match.group(1) for match in _ID.finditer(svg) if attribute(match)}
    if not ids:
        return svg

    def rename(name: str) -> str:
        return f"{prefix}-{name}" if name in ids else name

    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"' if attribute(m) else m.group(0),
                  svg)
    svg = _ID_LIST.sub(
        lambda m: 'aria-labelledby="' + " ".join(map(rename, m.group(1).split())) + '"'
        if attribute(m) else m.group(0), svg)
    return _REFERENCE.sub(lambda m: "#" + rename(m.group(1)), svg)


def with_title(svg: str, title: str) -> str:
    start = svg.index(">", svg.index("<svg")) + 1
    return f"{svg[:start]}\n<title>{html.escape(title, quote=False)}</title>{svg[start:]}"


def retitled(svg: str, title: str) -> str:
    """`svg` with `title` as its first `<title>`'s text (added where it has none): what a
    screen reader, the PDF's alternate text and an `<img>` of the file all announce."""
    if TITLE.search(svg) is None:
        return with_title(svg, title)
    text = html.escape(title, quote=False)
    return TITLE.sub(lambda m: m.group(0)[:m.start(1) - m.start(0)] + text
                     + m.group(0)[m.end(1) - m.start(0):], svg, count=1)


def svg_title(svg: str) -> str:
    """The text of an SVG's first `<title>` (which may carry attributes, as a formula's id),
    or "" when it has none."""
    title = TITLE.search(svg)
    return "" if title is None else html.unescape(title.group(1))
