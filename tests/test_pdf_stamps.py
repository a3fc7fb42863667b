"""SVGs in the PDF: lifted out of the layout, drawn once (cached), stamped back on their boxes."""

from __future__ import annotations

import io

import pytest

from topicgen.mathtex import render_math
from topicgen.publish.pdf import stamps
from topicgen.publish.pdf.layout import render_part
from topicgen.publish.pdf.part import PX
from topicgen.publish.pdf.stamps import MARGIN, PLACEHOLDER, lift_svgs
from topicgen.results.cache import ResultCache

FIGURE = ('<svg xmlns="http://www.w3.org/2000/svg" width="200pt" height="100pt" '
          'viewBox="0 0 200 100"><rect x="10" y="10" width="180" height="80" fill="#c33"/>'
          "</svg>")


def page(body: str) -> str:
    return ("<!DOCTYPE html><html><head><style>@page { size: A5; margin: 15mm }"
            "body { margin: 0 } .wide svg { width: 100%; height: auto }</style></head>"
            f"<body>{body}</body></html>")


def sample() -> str:
    formula = render_math(r"h_t = \tanh(W h_{t-1})", False)
    return page(f'<p id="before">A recurrence {formula} and its picture:</p>'
                f'<div class="wide">{FIGURE}</div><p id="after">After the figure.</p>'
                f'<p>Again: {formula}.</p>')


def test_each_svg_is_emptied_but_keeps_its_attributes_and_its_words_are_lifted_apart():
    formula = render_math("x^2 < y", False)
    lifted, svgs, words = lift_svgs(f"<p>{formula}</p><div>{FIGURE}</div>")
    assert list(svgs) == [f"{PLACEHOLDER}0", f"{PLACEHOLDER}1"]
    assert svgs[f"{PLACEHOLDER}1"] == FIGURE
    assert "<path" not in lifted and "<rect" not in lifted
    # Titled with its id, which finds its Figure in the tagged PDF (see tags).
    assert (f'viewBox="0 0 200 100" id="{PLACEHOLDER}1"><title>{PLACEHOLDER}1</title></svg>'
            in lifted)
    # The formula's words leave the page and its drawing: the stamp writes them (see words).
    assert "fill=\"transparent\"" not in lifted + svgs[f"{PLACEHOLDER}0"]
    assert "<path" in svgs[f"{PLACEHOLDER}0"]
    (written,) = words[f"{PLACEHOLDER}0"]
    assert written.text == "x^2 < y" and written.length > 0 and f"{PLACEHOLDER}1" not in words


def test_invisible_text_of_another_kind_stays_for_weasyprint_to_lay_out():
    svg = ('<svg viewBox="0 0 10 10" width="1em" height="1em"><path d="M0 0L1 1"/>'
           '<text x="0" y="8" font-size="8" fill="transparent">no textLength</text></svg>')
    lifted, _, words = lift_svgs(svg)
    assert "no textLength</text></svg>" in lifted and words == {}


def test_an_svg_with_an_id_a_nested_svg_no_viewbox_or_nothing_inside_stays_as_it_is():
    html = ('<svg id="target" viewBox="0 0 1 1"><rect/></svg><svg viewBox="0 0 2 2"><svg>'
            '<rect/></svg></svg><svg width="9" height="9"><rect/></svg><svg viewBox="0 0 3 3"/>')
    assert lift_svgs(html) == (html, {}, {})


def test_placeholders_take_the_same_room_as_the_svgs():
    import weasyprint

    original, lifted = (weasyprint.HTML(string=html).render()
                        for html in (sample(), lift_svgs(sample())[0]))
    kept = {name: box for name, box in lifted.pages[0].anchors.items()
            if not name.startswith(PLACEHOLDER)}
    assert kept == original.pages[0].anchors and {"before", "after"} <= kept.keys()


def placements(data: bytes) -> list[tuple[list[float], tuple[float, ...]]]:
    """Per stamp on the first page: its cm matrix and the BBox of the form it draws."""
    import pikepdf

    found = []
    with pikepdf.open(io.BytesIO(data)) as document:
        first = document.pages[0]
        matrix = None
        for operands, operator in pikepdf.parse_content_stream(first):
            if str(operator) == "cm":
                matrix = [float(value) for value in operands]
            elif str(operator) == "Do" and str(operands[0]).startswith("/TgStamp"):
                form = first.Resources.XObject[str(operands[0])]
                found.append((matrix, tuple(float(value) for value in form.BBox)))
    return found


def test_each_drawing_is_scaled_and_centred_on_its_box(tmp_path):
    import weasyprint

    html, _, _ = lift_svgs(sample())
    layout = weasyprint.HTML(string=html).render().pages[0]
    height = layout.height * PX
    part = render_part(sample(), tmp_path)
    stamped = placements(part.pdf)
    boxes = [((x1 + x2) / 2 * PX, height - (y1 + y2) / 2 * PX, (x2 - x1) * PX)
             for name, (x1, y1, x2, y2) in layout.anchors.items()
             if name.startswith(PLACEHOLDER)]
    assert len(stamped) == len(boxes) == 3  # the formula twice, the figure once
    covered = set()
    for (a, b, c, d, x, y), (left, bottom, right, top) in stamped:
        assert b == c == 0 and a == pytest.approx(d)
        # Where the middle of the drawing lands, and how wide its box becomes.
        centre = (x + a * (left + right) / 2, y + d * (bottom + top) / 2)
        width = a * (right - left - 2 * MARGIN * PX)
        covered |= {i for i, box in enumerate(boxes)
                    if centre == pytest.approx(box[:2], abs=0.01)
                    and width == pytest.approx(box[2], abs=0.01)}
    assert covered == {0, 1, 2}  # every box has its drawing


def test_the_figure_fills_the_column_it_was_given(tmp_path):
    part = render_part(sample(), tmp_path)
    widths = sorted(matrix[0] * (bbox[2] - bbox[0] - 2 * MARGIN * PX)
                    for matrix, bbox in placements(part.pdf))
    column = (148 - 2 * 15) / 25.4 * 72  # A5 less the margins, in points
    assert widths[-1] == pytest.approx(column, abs=0.1)


def test_a_formula_stays_searchable_in_the_pdf(tmp_path):
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(render_part(sample(), tmp_path).pdf)).pages[0].extract_text()
    assert "tanh" in text and "After the figure." in text


def test_drawings_come_from_the_cache_and_an_edit_draws_only_what_changed(tmp_path, monkeypatch):
    cache = ResultCache(tmp_path / "cache")
    first = render_part(sample(), tmp_path, cache)
    drawn = []
    real_alone, real_vector = stamps.draw_alone, stamps.svg_pdf

    def alone(svgs, root, fetched):
        drawn.extend(svgs)
        return real_alone(svgs, root, fetched)

    def vector(svg, ink, margin):
        drawn.append(svg)
        return real_vector(svg, ink, margin)

    monkeypatch.setattr(stamps, "draw_alone", alone)
    monkeypatch.setattr(stamps, "svg_pdf", vector)
    assert render_part(sample(), tmp_path, cache).pdf == first.pdf
    assert drawn == []
    edited = sample().replace(render_math(r"h_t = \tanh(W h_{t-1})", False),
                              render_math(r"h_t = \tanh(U h_{t-1})", False))
    render_part(edited, tmp_path, cache)
    assert len(drawn) == 1 and "<rect" not in drawn[0]  # the new formula, not the figure


def test_the_same_part_gives_the_same_bytes(tmp_path):
    assert render_part(sample(), tmp_path).pdf == render_part(sample(), tmp_path).pdf
