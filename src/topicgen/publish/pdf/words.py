"""A formula's words in the PDF: invisible text where it stands, to be searched and copied.

mathra gives each formula its linear form ("h_t = tanh (a_t)") as an SVG <text> painted
transparent and stretched to the formula's width (textLength). WeasyPrint lays SVG text out
letter by letter: Topic 4's 900 formulas cost it 2.3 s of the PDF's 14 s. So in a tagged part
the words leave the placeholder with the drawing (see stamps), and are written here, as PDF
text in render mode 3 (invisible), into the page's content right after the text read before
the formula (WeasyPrint draws SVGs after all of a page's text, so a reader that copies text
in the order it is drawn, as PDFium does, would find them at the foot of the page), owned by
the placeholder's Figure (a Formula once stamped), in the coordinates WeasyPrint draws the
page in (CSS px, y down).

The font is a Type 3 font of empty glyphs, all half an em wide in a box from -0.2 to 0.8 em:
nothing is drawn, but readers place a character in its box (pdfium drops a lone character
without one); a Type 3 font is its own font program (PDF/UA asks every font to be embedded),
and its ToUnicode map gives each code its character back. One font holds 255 characters; a
part that needs more gets another.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from topicgen.publish.pdf.tags import MARKED_CONTENT, own_marked_id, structure_type

GLYPH_WIDTH = 500
"""Every glyph's advance, in thousandths of the font size: the text is stretched to its
width anyway, so only the characters' count matters."""
CODES = 255
"""Characters per font: single-byte codes 1..255."""
FONT_NAME = "TgWords"
"""Prefix of the fonts' resource names on a page."""


@dataclass(frozen=True)
class Words:
    """One invisible <text> of an SVG, in the SVG's viewBox units: its baseline's start, its
    font size and the width it is stretched to."""

    text: str
    x: float
    y: float
    size: float
    length: float


def parse_words(element: str) -> Words | None:
    """The Words of an invisible `<text>` element, or None where it is not the plain kind
    mathra writes (one run of text at x, y, stretched to textLength): WeasyPrint keeps that."""
    try:
        node = ET.fromstring(element)
        words = Words(node.text or "", *(float(node.attrib[key]) for key in
                                           ("x", "y", "font-size", "textLength")))
    except (ET.ParseError, KeyError, ValueError):
        return None
    if (len(node) or node.get("lengthAdjust") != "spacingAndGlyphs" or not words.text.strip()
            or min(words.size, words.length) <= 0):
        return None
    return words


def viewbox(svg: str) -> tuple[float, float, float, float]:
    """An SVG's viewBox (x, y, width, height)."""
    match = re.search(r"""\sviewBox\s*=\s*["']([^"']*)["']""", svg[:svg.find(">")])
    if match is None:
        raise ValueError("an SVG without a viewBox")
    x, y, width, height = (float(v) for v in re.split(r"[\s,]+", match.group(1).strip()))
    return x, y, width, height


class Fonts:
    """The Type 3 fonts of one PDF, made once its characters are known."""

    def __init__(self, pdf, texts: list[str]):
        self.pdf = pdf
        characters = sorted({character for text in texts for character in text})
        self.code = {character: (i // CODES, i % CODES + 1)
                     for i, character in enumerate(characters)}
        self.fonts = [self.font(characters[start:start + CODES])
                      for start in range(0, len(characters), CODES)]

    def font(self, characters: list[str]):
        from pikepdf import Array, Dictionary, Name

        pdf = self.pdf
        empty = pdf.make_stream(f"{GLYPH_WIDTH} 0 0 -200 {GLYPH_WIDTH} 800 d1".encode())
        names = [Name(f"/c{i}") for i in range(1, len(characters) + 1)]
        return pdf.make_indirect(Dictionary(
            Type=Name.Font, Subtype=Name.Type3, FontBBox=Array([0, -200, GLYPH_WIDTH, 800]),
            FontMatrix=Array([0.001, 0, 0, 0.001, 0, 0]), Resources=Dictionary(),
            CharProcs=Dictionary({str(name): empty for name in names}),
            Encoding=Dictionary(Type=Name.Encoding, Differences=Array([1, *names])),
            FirstChar=1, LastChar=len(characters), Widths=Array([GLYPH_WIDTH] * len(characters)),
            ToUnicode=pdf.make_stream(to_unicode(characters))))

    def operators(self, words: Words, box: list[float], view: tuple[float, float, float, float],
                  page) -> str:
        """`words` written over `box` (x1, y1, x2, y2 in CSS px from the page's top-left) on
        `page`, where the SVG's `view` (its viewBox) fits that box as an SVG fits its own:
        evenly, centred. The fonts it uses become resources of the page."""
        from pikepdf import Name

        x1, y1, x2, y2 = box
        vx, vy, vw, vh = view
        scale = min((x2 - x1) / vw, (y2 - y1) / vh)
        x = x1 + ((x2 - x1) - vw * scale) / 2 + (words.x - vx) * scale
        y = y1 + ((y2 - y1) - vh * scale) / 2 + (words.y - vy) * scale
        size = words.size * scale
        stretch = words.length * scale / (len(words.text) * GLYPH_WIDTH / 1000 * size)
        runs = []
        for number, codes in runs_of(self.code, words.text):
            name = page.add_resource(self.fonts[number], Name.Font,
                                     name=Name(f"/{FONT_NAME}{number}"))
            runs.append(f"{name} 1 Tf <{bytes(codes).hex()}> Tj")
        # y runs down the page here: the glyphs' y axis is turned back up.
        return (f"BT 3 Tr {size * stretch:.4f} 0 0 {-size:.4f} {x:.3f} {y:.3f} Tm "
                + " ".join(runs) + " ET")


def write_words(pdf, placeholders: dict[str, object], sites: dict[str, list],
                svgs: dict[str, str], words: dict[str, list[Words]]) -> None:
    """Write each placeholder's `words` into its page's content (`placeholders`: its Figure
    element, by id; `sites`: [page, x1, y1, x2, y2] in CSS px; `svgs`: the drawing, for its
    viewBox and kind), in reading order (see in_reading_order)."""
    placed = sorted((name for name in sites if name in words and name in placeholders),
                    key=lambda name: int(name.rpartition("-")[2]))  # the page's order
    if not placed:
        return
    fonts = Fonts(pdf, [w.text for name in placed for w in words[name]])
    by_page: dict[int, list[tuple]] = {}
    for name in placed:
        number, *box = sites[name]
        page = pdf.pages[number]
        text = " ".join(fonts.operators(w, box, viewbox(svgs[name]), page)
                        for w in words[name])
        by_page.setdefault(number, []).append((placeholders[name], structure_type(svgs[name]),
                                               text))
    for number, entries in by_page.items():
        page = pdf.pages[number]
        page.contents_coalesce()
        page.Contents.write(in_reading_order(pdf, page, page.Contents.read_bytes(), entries))


MARKS = re.compile(rb"(?<!\S)(q|Q|BMC|BDC|EMC)(?!\S)|" + MARKED_CONTENT.pattern
                   + rb"|((?:-?[\d.]+\s+){6})cm(?!\S)")
"""What places text in a content stream: the graphics state saved and restored, marked
content opened (tagged or not) and closed, the transformation changed."""


def in_reading_order(pdf, page, content: bytes, entries: list[tuple]) -> bytes:
    """`content` with each (placeholder element, kind, words) of `entries` written where a
    reader that copies text in the order it is drawn reads it: after the text that comes
    before the formula in the structure tree, as marked content of its own that the
    formula's element owns. WeasyPrint draws a page's text first and its SVGs after it, so
    the words written where it opened the placeholder ended up at the foot of the page
    ("the signal reaching from a loss at step has been multiplied by matrices", its
    formulas last). Where no text comes before the formula on its page, or the transform
    there is not the placeholder's, the words stay where WeasyPrint opened the placeholder
    (inside its marked content)."""
    opened: dict[int, tuple[int, tuple]] = {}  # mcid -> (offset after its BDC, transform)
    closed: dict[int, tuple[int, tuple]] = {}  # mcid -> (offset after its EMC, transform)
    transform, saved, open_ids = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), [], []
    for match in MARKS.finditer(content):
        operator, mcid, matrix = match.group(1), match.group(3), match.group(4)
        if matrix is not None:
            transform = multiply(tuple(map(float, matrix.split())), transform)
        elif mcid is not None:
            open_ids.append(int(mcid))
            opened[int(mcid)] = (match.end(), transform)
        elif operator == b"q":
            saved.append(transform)
        elif operator == b"Q" and saved:
            transform = saved.pop()
        elif operator in (b"BMC", b"BDC"):  # untagged, or tagged without an id
            open_ids.append(None)
        elif operator == b"EMC" and open_ids and (mcid := open_ids.pop()) is not None:
            closed[mcid] = (match.end(), transform)
    inserts: dict[int, list[bytes]] = {}
    for element, kind, text in entries:
        own = [mcid for mcid in marked_ids(element) if mcid in opened]
        if not own:
            continue
        home, home_transform = opened[own[0]]
        before = text_before(element, page)
        if before in closed and closed[before][1] == home_transform:
            mcid = own_marked_id(pdf, page, element)
            inserts.setdefault(closed[before][0], []).append(
                f"\n/{kind} <</MCID {mcid}>> BDC {text} EMC".encode())
        else:
            inserts.setdefault(home, []).append(f"\n{text}".encode())
    pieces, last = [], 0
    for offset in sorted(inserts):
        pieces += [content[last:offset], *inserts[offset]]
        last = offset
    return b"".join(pieces + [content[last:]])


ANOTHER_PAGE = -1
"""What text_before finds where the content before an element lies on an earlier page."""


def text_before(element, page) -> int | None:
    """The marked-content id on `page` that the structure tree puts last before `element`
    (the text read just before it), Figures aside: WeasyPrint draws them after the text.
    None where the element comes first on its page."""
    from pikepdf import Array

    child = element
    while (parent := child.get("/P")) is not None and "/K" in parent \
            and parent.get("/Type") != "/StructTreeRoot":
        kids = list(parent.K) if isinstance(parent.K, Array) else [parent.K]
        position = next(i for i, kid in enumerate(kids)
                        if getattr(kid, "is_indirect", False) and kid.objgen == child.objgen)
        for kid in reversed(kids[:position]):
            found = last_marked(kid, parent, page)
            if found is not None:
                return None if found == ANOTHER_PAGE else found
        child = parent
    return None


def last_marked(kid, owner, page) -> int | None:
    """The last marked-content id of `kid`, an item of `owner`'s /K: on `page`, or
    ANOTHER_PAGE; None where it has none (a link's annotation, a Figure)."""
    from pikepdf import Array, Dictionary

    if isinstance(kid, int) or (isinstance(kid, Dictionary) and "/MCID" in kid):
        on = owner.get("/Pg") if isinstance(kid, int) else kid.get("/Pg", owner.get("/Pg"))
        mcid = int(kid) if isinstance(kid, int) else int(kid.MCID)
        return mcid if on is not None and on.objgen == page.obj.objgen else ANOTHER_PAGE
    if not isinstance(kid, Dictionary) or "/S" not in kid or kid.S == "/Figure":
        return None
    kids = kid.get("/K")
    for grandchild in reversed(list(kids) if isinstance(kids, Array) else [kids]):
        if grandchild is not None and (found := last_marked(grandchild, kid, page)) is not None:
            return found
    return None


def multiply(a: tuple, b: tuple) -> tuple:
    """The matrix a x b, as PDF writes matrices: (a, b, c, d, e, f)."""
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


def marked_ids(element) -> list[int]:
    """The marked-content ids a structure element owns directly."""
    from pikepdf import Array, Dictionary

    kids = element.get("/K")
    found = []
    for kid in kids if isinstance(kids, Array) else [kids]:
        if isinstance(kid, int):
            found.append(kid)
        elif isinstance(kid, Dictionary) and "/MCID" in kid:
            found.append(int(kid.MCID))
    return found


def runs_of(code: dict[str, tuple[int, int]], text: str) -> list[tuple[int, list[int]]]:
    """`text` as (font number, codes) runs: a new run wherever the font changes."""
    runs: list[tuple[int, list[int]]] = []
    for character in text:
        number, byte = code[character]
        if not runs or runs[-1][0] != number:
            runs.append((number, []))
        runs[-1][1].append(byte)
    return runs


def to_unicode(characters: list[str]) -> bytes:
    """A ToUnicode CMap giving code i + 1 the character `characters[i]` (as UTF-16BE), in
    blocks of at most 100 entries, as a CMap allows."""
    entries = [f"<{i:02x}> <{character.encode('utf-16-be').hex()}>"
               for i, character in enumerate(characters, start=1)]
    blocks = "".join(f"{len(block)} beginbfchar\n" + "\n".join(block) + "\nendbfchar\n"
                     for block in (entries[i:i + 100] for i in range(0, len(entries), 100)))
    return ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
            "1 begincodespacerange <00> <ff> endcodespacerange\n"
            f"{blocks}endcmap CMapName currentdict /CMap defineresource pop end end\n").encode()
