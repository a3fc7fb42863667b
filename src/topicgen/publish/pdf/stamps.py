"""Figures and formulas in the PDF: each drawn once, cached, and stamped onto the pages.

Most of a chapter's layout time goes into drawing its SVGs (a figure is thousands of paths, and
a chapter holds dozens of formulas), and a prose edit lays its chapter out again. So before a
part is laid out, every inline <svg> becomes an empty one with the same attributes (the same
box, nothing to draw) and an id; the SVG itself is drawn alone, once (straight into PDF
operators where it is a formula or a figure of topicgen's, see vector; by WeasyPrint
otherwise), and its one-page PDF is cached by its markup. After layout, each drawing is placed
over the box its placeholder left (a PDF form XObject, scaled to the box as WeasyPrint scales
an SVG to its box).

Invisible text (a formula's words, there to be searched and copied) is lifted out of a
tagged part too, and written where WeasyPrint drew the placeholder (see words); text of
another kind stays in the placeholder, for WeasyPrint to lay out. Formulas colour themselves
with `currentColor`. Drawn alone they take INK, the text colour, so in the PDF a formula is
always drawn in the text colour, also inside a coloured link. A stamp lies above the page,
unclipped and unrotated: an SVG that the page's CSS clips, rotates or covers would look
different, and topicgen's print styles do none of these.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from topicgen.publish.pdf.part import PX, local_fetcher, pdf_box
from topicgen.publish.pdf.tags import placeholder_figures, tag_drawing
from topicgen.publish.pdf.vector import svg_pdf
from topicgen.publish.pdf.words import Words, parse_words, write_words
from topicgen.results.keys import pdf_parts

if TYPE_CHECKING:
    from topicgen.results.cache import ResultCache

INK = "#1b1b1b"
"""The print text colour (handout.css --text), which a formula's `currentColor` resolves to."""
PLACEHOLDER = "tg-stamp-"
"""Prefix of the ids given to the emptied SVGs (and of nothing else)."""
MARGIN = 8
"""CSS px of drawing kept around each SVG's box: glyphs may reach a little past it."""
SVG = re.compile(r"""<svg\b((?:[^>"']|"[^"]*"|'[^']*')*)(?<!/)>(.*?)</svg\s*>""", re.S | re.I)
HAS_ID = re.compile(r"""\sid\s*=""", re.I)
VIEWBOX = re.compile(r"""\sviewBox\s*=""")
INVISIBLE_TEXT = re.compile(r"""<text\b[^>]*\sfill=(["'])transparent\1[^>]*>.*?</text\s*>""",
                            re.S | re.I)


def lift_svgs(html: str, lift_words: bool = True
              ) -> tuple[str, dict[str, str], dict[str, list[Words]]]:
    """`html` with each inline SVG emptied and given a PLACEHOLDER id; id -> the SVG to draw
    (without its invisible text); and, with `lift_words`, id -> that text's Words where all
    of it is the kind words writes (else it stays in the placeholder). An SVG stays as it is
    if it has an id of its own (a link may point at it), holds another SVG, or has no viewBox
    (then WeasyPrint does not scale its drawing to its box, and a stamp would)."""
    lifted: dict[str, str] = {}
    words: dict[str, list[Words]] = {}

    def empty(match: re.Match) -> str:
        attributes, content = match.group(1), match.group(2)
        if (HAS_ID.search(attributes) or not VIEWBOX.search(attributes)
                or re.search(r"<svg\b", content, re.I)):
            return match.group(0)
        name = f"{PLACEHOLDER}{len(lifted)}"
        lifted[name] = INVISIBLE_TEXT.sub("", match.group(0))
        texts = [text.group(0) for text in INVISIBLE_TEXT.finditer(content)]
        parsed = [found for text in texts if (found := parse_words(text)) is not None]
        if lift_words and texts and len(parsed) == len(texts):
            words[name] = parsed
            texts = []
        # Its title finds its Figure in the tagged PDF again (see tags).
        return f'<svg{attributes} id="{name}"><title>{name}</title>{"".join(texts)}</svg>'

    return SVG.sub(empty, html), lifted, words


def drawings(svgs: list[str], root: Path, cache: ResultCache | None,
             fetched: list[str]) -> list[bytes]:
    """Each SVG's one-page PDF, from `cache` where it is there: drawn straight into PDF
    operators where it is topicgen's own kind of SVG (see vector), else by WeasyPrint (see
    draw_alone)."""
    keys = dict(zip(svgs, pdf_parts("pdf-stamp", svgs), strict=True))  # a formula met twice: once
    found = {svg: None if cache is None else cache.find(key, ".pdf", folder="pdf")
             for svg, key in keys.items()}
    missing = sorted(svg for svg, data in found.items() if data is None)
    drawn = {svg: svg_pdf(svg, INK, MARGIN) for svg in missing}
    rest = [svg for svg in missing if drawn[svg] is None]
    read: list[str] = []
    if rest:
        drawn.update(zip(rest, draw_alone(rest, root, read), strict=True))
        fetched += read
    found.update(drawn)
    if cache is not None and not read:
        for svg in missing:
            cache.keep(keys[svg], ".pdf", found[svg], folder="pdf")
    return [found[svg] for svg in svgs]


def draw_alone(svgs: list[str], root: Path, fetched: list[str]) -> list[bytes]:
    """Each SVG drawn by WeasyPrint on a page of its own: a one-page PDF whose TrimBox is the
    SVG's box and whose MediaBox reaches MARGIN further (one document for all, then split)."""
    import pikepdf
    import weasyprint

    body = "".join(f'<div><svg id="d{i}"{svg[len("<svg"):]}</div>' for i, svg in enumerate(svgs))
    html = (f"<!DOCTYPE html><html><head><style>@page {{ size: 10000px; margin: 0 }}"
            f"body {{ margin: 0; color: {INK} }} div {{ padding: {MARGIN}px }}"
            f"div + div {{ break-before: page }} svg {{ display: block }}</style></head>"
            f"<body>{body}</body></html>")
    document = weasyprint.HTML(string=html, base_url=str(root),
                               url_fetcher=local_fetcher(root, fetched)).render()
    boxes = {name: (number, box) for number, page in enumerate(document.pages)
             for name, box in page.anchors.items()}
    with pikepdf.open(io.BytesIO(document.write_pdf())) as batch:
        # The pages share one resource dictionary; each drawing keeps only what it uses.
        batch.remove_unreferenced_resources()
        found = []
        for i in range(len(svgs)):
            number, (x1, y1, x2, y2) = boxes[f"d{i}"]
            box = pdf_box(float(batch.pages[number].mediabox[3]), x1, y1, x2, y2)
            with pikepdf.new() as single:
                single.pages.append(batch.pages[number])
                page = single.pages[0]
                page.trimbox = box
                page.mediabox = [box[0] - MARGIN * PX, box[1] - MARGIN * PX,
                                 box[2] + MARGIN * PX, box[3] + MARGIN * PX]
                found.append(save(single))
    return found


def stamp(target, sites: dict[str, list], drawn: dict[str, bytes], svgs: dict[str, str],
          words: dict[str, list[Words]]) -> None:
    """Lay each drawing over its site ([page, x1, y1, x2, y2] in CSS px from the page's
    top-left) on the pikepdf `target`, fitted as an SVG fits its box: scaled evenly, centred.
    Where `target` is tagged, each drawing is marked content of its placeholder's Figure,
    with the alt text of its SVG (`svgs`, by placeholder id), and the placeholder's `words`
    are written where it stood."""
    import pikepdf

    figures = placeholder_figures(target, PLACEHOLDER)
    write_words(target, figures, sites, svgs, words)
    forms: dict[bytes, tuple] = {}  # a formula met twice is stored once
    by_page: dict[int, list[tuple]] = {}
    for count, (name, (number, x1, y1, x2, y2)) in enumerate(sorted(sites.items())):
        if drawn[name] not in forms:
            with pikepdf.open(io.BytesIO(drawn[name])) as source:
                form = source.pages[0].as_form_xobject()
                form.BBox = source.pages[0].mediabox  # not the TrimBox: keep the margin
                forms[drawn[name]] = (target.copy_foreign(form),
                                      *map(float, source.pages[0].trimbox))
        form, left, bottom, right, top = forms[drawn[name]]
        site = pdf_box(float(target.pages[number].mediabox[3]), x1, y1, x2, y2)
        width, height = site[2] - site[0], site[3] - site[1]
        if min(width, height, right - left, top - bottom) <= 0:
            continue  # WeasyPrint draws nothing in an empty box either
        scale = min(width / (right - left), height / (top - bottom))
        x = site[0] + (width - scale * (right - left)) / 2 - scale * left
        y = site[1] + (height - scale * (top - bottom)) / 2 - scale * bottom
        figure = figures.get(name)
        marked = None if figure is None else tag_drawing(target, target.pages[number],
                                                          figure, svgs[name])
        by_page.setdefault(number, []).append(
            (form, f"TgStamp{count}", (scale, 0, 0, scale, x, y), marked))
    for number, placements in by_page.items():
        overlay(target.pages[number], placements)


def overlay(page, placements: list[tuple]) -> None:
    """Draw form XObjects over a pikepdf page: (form, resource name, matrix, marked) each,
    where `marked` is the operator opening the marked content the drawing belongs to (None:
    an artifact, such as page furniture, which a screen reader skips). Names are given, not
    drawn at random, so the same input gives the same bytes."""
    from pikepdf import Name

    drawing = []
    for form, name, matrix, marked in placements:
        resource = page.add_resource(form, Name.XObject, name=Name(f"/{name}"))
        drawing.append(f"{marked or '/Artifact BMC'} q {' '.join(f'{v:.5f}' for v in matrix)}"
                       f" cm {resource} Do Q EMC\n")
    # The page's own drawing may leave its coordinate system changed: shut it in q/Q.
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(("Q\n" + "".join(drawing)).encode())


def save(pdf, version: str = "") -> bytes:
    """Compressed, with an /ID made from the content: the same input gives the same bytes.
    Small objects go into compressed object streams: a tagged handout's structure tree is
    thousands of small dictionaries, which doubled its file size written plainly."""
    from pikepdf import ObjectStreamMode

    buffer = io.BytesIO()
    pdf.save(buffer, compress_streams=True, deterministic_id=True, min_version=version,
             object_stream_mode=ObjectStreamMode.generate)
    return buffer.getvalue()
