"""Cutting a page's HTML into the parts its PDF is laid out in.

A template marks where a new part may begin with `<!-- pdf-part -->` (topicgen's handout: before
each chapter, the references and the appendix). Each part becomes a standalone document: the
page's <head>, then the elements open at the cut re-opened, the part, and those open at its end
closed, so every part parses as it would inside the whole page. A page without markers is one
part. The text before the first marker is the front matter (title, contents).
"""

from __future__ import annotations

import re

MARKER = "<!-- pdf-part -->"
BODY = re.compile(r"<body\b[^>]*>", re.I)
BODY_END = re.compile(r"</body>", re.I)
SVG_START, SVG_END = re.compile(r"<svg", re.I), re.compile(r"</svg", re.I)
TAG = re.compile(r"""<!--.*?-->|<(/?)([a-zA-Z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.S)
FOREIGN = frozenset({"svg", "math"})
"""Where `<x/>` closes x; in HTML proper the slash means nothing (`<div/>` stays open)."""
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "param", "source", "track", "wbr"})
RAW_TEXT = frozenset({"style", "script", "textarea", "title"})
"""Elements whose content is text, not tags (a `<` in a style sheet is not an element)."""
INTERNAL_LINK = re.compile(r"""(<a\b[^>]*?\bhref=(["'])#([^"']+)\2)""")


def split_parts(html: str) -> list[str]:
    """One standalone HTML document per part, in reading order."""
    body_tag = BODY.search(html)
    end = max((match.start() for match in BODY_END.finditer(html)), default=-1)
    if body_tag is None or end < body_tag.end():
        return [html]
    head, body, tail = html[:body_tag.end()], html[body_tag.end():end], html[end:]
    pieces = body.split(MARKER)
    cuts, offset = [], 0
    for piece in pieces[:-1]:
        offset += len(piece)
        cuts.append(offset)
        offset += len(MARKER)
    open_at_cut = [[]] + open_elements(body, cuts) + [[]]
    return [head + "".join(tag for _, tag in open_at_cut[i]) + piece
            + "".join(f"</{name}>" for name, _ in reversed(open_at_cut[i + 1])) + tail
            for i, piece in enumerate(pieces)]


def open_elements(body: str, cuts: list[int]) -> list[list[tuple[str, str]]]:
    """For each offset in `cuts` (ascending): the elements open there, outermost first, as
    (name, start tag text)."""
    stack: list[tuple[str, str]] = []
    snapshots: list[list[tuple[str, str]]] = []
    position = 0
    for cut in cuts:
        while (match := TAG.search(body, position, cut)) is not None:
            position = match.end()
            closing, name = match.group(1), (match.group(2) or "").lower()
            foreign = name in FOREIGN or any(open_name in FOREIGN for open_name, _ in stack)
            if not name or name in VOID or (foreign and match.group(3).rstrip().endswith("/")):
                continue
            if closing:
                names = [open_name for open_name, _ in stack]
                if name in names:
                    del stack[len(names) - 1 - names[::-1].index(name):]
            elif name == "svg" and (end := svg_end(body, position)) <= cut:
                position = end  # nothing inside stays open: skip the figure's many tags
            else:
                stack.append((name, match.group(0)))
                if name in RAW_TEXT:
                    close = re.compile(f"</{name}", re.I).search(body, position)
                    position = len(body) if close is None else close.start()
        position = max(position, cut)
        snapshots.append(list(stack))
    return snapshots


def svg_end(body: str, start: int) -> int:
    """Where the SVG whose start tag ends at `start` ends (after its end tag), or past the
    text if that is not plain to see (no end tag, or an SVG inside it)."""
    close = SVG_END.search(body, start)
    after = -1 if close is None else body.find(">", close.start())
    if after < 0 or SVG_START.search(body, start, close.start()):
        return len(body) + 1
    return after + 1


def number_links(html: str, pages: dict[str, int]) -> str:
    """`html` with `data-page="N"` on each internal link whose target's page is known, so the
    contents page can show page numbers of parts laid out apart from it
    (`content: attr(data-page)`)."""
    def numbered(match: re.Match) -> str:
        page = pages.get(match.group(3))
        return match.group(1) if page is None else f'{match.group(1)} data-page="{page}"'

    return INTERNAL_LINK.sub(numbered, html)


def furniture_html(html: str, pages: int) -> str:
    """A document of `pages` empty pages named "furniture", with `html`'s styles: its page
    margins carry what must count across parts (page N of M), laid over the parts' pages, so
    its background is transparent."""
    end = html.lower().find("</head>")
    head = html[:end] if end >= 0 else "<html><head>"
    blank = '<div style="page: furniture; break-after: page"></div>'
    return (head + "<style>html, body { background: none !important; }</style></head><body>"
            + blank * (pages - 1) + blank.replace("; break-after: page", "") + "</body></html>")
