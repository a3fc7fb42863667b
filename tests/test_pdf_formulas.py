"""Formulas drawn straight into PDF operators look as WeasyPrint draws them, pixel for pixel,
and anything outside their small vocabulary is still drawn by WeasyPrint."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

from topicgen.mathtex import render_math
from topicgen.publish.pdf.formulas import formula_pdf
from topicgen.publish.pdf.stamps import INK, MARGIN, draw_alone, lift_svgs

FORMULAS = [
    (r"h_t = \tanh(W h_{t-1} + U x_t + b)", False),
    (r"\frac{\partial \mathcal{L}}{\partial h_k} = \prod_{t=k+1}^{T} "
     r"\frac{\partial h_t}{\partial h_{t-1}}", True),
    (r"\sqrt{d_k}\,,\ \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)", True),
    (r"\lVert g \rVert > \theta \Rightarrow g \leftarrow \frac{\theta}{\lVert g \rVert} g", False),
    (r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}", True),
    (r"\sigma'(a) \le \tfrac14", False),
]


def lifted(tex: str, display: bool) -> str:
    """The SVG as stamps draws it: lifted out of a page, without its invisible text."""
    _, found = lift_svgs(f"<p>{render_math(tex, display)}</p>")
    return next(iter(found.values()))


def pixels(pdf: bytes):
    page = pdfium.PdfDocument(pdf)[0]
    return page.render(scale=6).to_numpy()[..., :3].astype(int)


@pytest.mark.parametrize(("tex", "display"), FORMULAS)
def test_a_formula_looks_as_weasyprint_draws_it(tex, display, tmp_path):
    svg = lifted(tex, display)
    ours = formula_pdf(svg, INK, MARGIN)
    assert ours is not None
    (theirs,) = draw_alone([svg], tmp_path, [])
    a, b = pixels(ours), pixels(theirs)
    assert a.shape == b.shape  # the same page, margin included
    ink = (a.min(-1) < 128).mean()
    assert ink > 0.01  # something is drawn
    # Edges may be smoothed a little differently; a missing or misplaced glyph is not.
    assert (abs(a - b).max(-1) > 64).mean() < 0.005


def test_the_same_formula_gives_the_same_bytes():
    svg = lifted(*FORMULAS[1])
    assert formula_pdf(svg, INK, MARGIN) == formula_pdf(svg, INK, MARGIN)


@pytest.mark.parametrize("change", [
    ('fill="currentColor"', 'fill="#c33"'),  # a colour of its own
    ("<defs>", '<defs><linearGradient id="x"/>'),  # another element
    (' d="M', ' d="m'),  # a relative path command
    ("<g ", '<g opacity="0.5" '),  # another attribute
])
def test_anything_else_is_left_to_weasyprint(change):
    svg = lifted(*FORMULAS[0])
    assert change[0] in svg
    assert formula_pdf(svg.replace(*change, 1), INK, MARGIN) is None


def test_a_figure_is_drawn_by_weasyprint(tmp_path):
    from topicgen.publish.pdf import stamps

    figure = ('<svg xmlns="http://www.w3.org/2000/svg" width="20pt" height="10pt" '
              'viewBox="0 0 20 10"><rect width="20" height="10" fill="#c33"/></svg>')
    formula = lifted(*FORMULAS[0])
    drawn = stamps.drawings([figure, formula], Path(tmp_path), None, [])
    assert drawn[0] == draw_alone([figure], tmp_path, [])[0]
    assert drawn[1] == formula_pdf(formula, INK, MARGIN)
