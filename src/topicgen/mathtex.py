"""TeX to SVG. The only module that knows which math engine topicgen uses (mathra).

mathra typesets with an embedded STIX Two Math and needs no TeX install or JavaScript, so
the HTML and the PDF show identical formulas and a build makes no network request.
"""

from __future__ import annotations

import functools
import re
import unicodedata

INLINE = re.compile(r"(?<!\\)\$(?=[^\s$])((?:\\.|[^$\\])+?)(?<=\S)\$(?!\d)")
"""Inline math in a claim's words, by the rules MyST's dollarmath applies to the prose: no
space inside either dollar, no digit after the closing one, and \\$ a literal dollar; so
"it costs $5, or $10 for two" is text, not a formula."""


class MathError(ValueError):
    """The engine rejected a formula; the message says where in the formula."""


@functools.lru_cache(maxsize=4096)
def render_math(tex: str, display: bool) -> str:
    """An <svg> element for `tex`; raises MathError for TeX the engine cannot typeset."""
    import mathra

    try:
        svg = mathra.tex_to_svg(tex, display=display, strict=True)
    except ValueError as error:
        raise MathError(str(error)) from None
    # The <metadata> block repeats the source and a JSON parse tree: useful to tools, but
    # it triples the size of a handout. The <title> (spoken by screen readers) stays.
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Its namespace goes too: HTML allows no namespaced attribute on an inline <svg> but
    # xlink's and xml's. NFC, because the text a reader copies writes an accent apart from
    # its letter (g and a combining hat for \hat g), which a search for "ĝ" would not find.
    svg = re.sub(r'\s(?:xmlns:mathra|mathra:[\w.-]+)="[^"]*"', "", svg)
    return unicodedata.normalize("NFC", svg)
