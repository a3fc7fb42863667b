"""Formulas and figures drawn straight into PDF operators look as WeasyPrint draws them,
pixel for pixel, and anything outside their small vocabulary is still drawn by WeasyPrint."""

from __future__ import annotations

import math
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from topicgen.mathtex import render_math
from topicgen.publish.pdf.stamps import INK, MARGIN, draw_alone, lift_svgs
from topicgen.publish.pdf.vector import svg_pdf

FORMULAS = [
    (r"h_t = \tanh(W h_{t-1} + U x_t + b)", False),
    (r"\frac{\partial \mathcal{L}}{\partial h_k} = \prod_{t=k+1}^{T} "
     r"\frac{\partial h_t}{\partial h_{t-1}}", True),
    (r"\sqrt{d_k}\,,\ \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)", True),
    (r"\lVert g \rVert > \theta \Rightarrow g \leftarrow \frac{\theta}{\lVert g \rVert} g", False),
    (r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}", True),
    (r"\sigma'(a) \le \tfrac14", False),
    ("T", False),  # an italic glyph reaching past its box: clipped, as in the browser
]


def lifted(svg: str) -> str:
    """The SVG as stamps draws it: lifted out of a page, without its invisible text."""
    _, found, _ = lift_svgs(f"<p>{svg}</p>")
    return next(iter(found.values()))


def figure() -> str:
    """A figure in the house style with what experiments' figures use: two panels, a log
    axis, a seed band (transparent fill), dashed and dotted lines, markers, a legend, a
    rotated label, clipping to the axes."""
    from topicgen.figures.style import new_figure, plot_with_band, save

    fig, (left, right) = new_figure(ncols=2)
    x = list(range(1, 30))
    centre = [math.exp(-0.2 * v) for v in x]
    plot_with_band(left, x, centre, [c * 0.7 for c in centre], [c * 1.4 for c in centre],
                   "tanh RNN", 0)
    left.plot(x, [c * 3 for c in centre], linestyle="--", marker="o", label="LSTM")
    left.set_yscale("log")
    left.set_ylabel("gradient norm ||dL/dh||")
    left.legend()
    right.plot(x, [math.sin(v / 3) for v in x], linestyle=":")
    right.axhline(0.25, color="grey", linewidth=0.8)
    right.set_ylim(-0.5, 0.5)  # the curve leaves the axes: clipped
    right.set_xlabel("steps back in time")
    return save(fig, "svg").decode("utf-8")


def pixels(pdf: bytes, scale: float):
    return pdfium.PdfDocument(pdf)[0].render(scale=scale).to_numpy()[..., :3].astype(int)


def assert_looks_the_same(ours: bytes, theirs: bytes, scale: float) -> None:
    a, b = pixels(ours, scale), pixels(theirs, scale)
    assert a.shape == b.shape  # the same page, margin included
    inked = ((a.min(-1) < 200) | (b.min(-1) < 200)).sum()
    assert inked > 0.01 * a.shape[0] * a.shape[1]  # something is drawn
    # Edges may be smoothed a little differently; a missing label or glyph is not.
    assert (abs(a - b).max(-1) > 64).sum() < 0.005 * inked


@pytest.mark.parametrize(("tex", "display"), FORMULAS)
def test_a_formula_looks_as_weasyprint_draws_it(tex, display, tmp_path):
    svg = lifted(render_math(tex, display))
    ours = svg_pdf(svg, INK, MARGIN)
    assert ours is not None
    assert_looks_the_same(ours, draw_alone([svg], tmp_path, [])[0], scale=6)


def test_a_figure_looks_as_weasyprint_draws_it(tmp_path):
    svg = lifted(figure())
    ours = svg_pdf(svg, INK, MARGIN)
    assert ours is not None
    assert_looks_the_same(ours, draw_alone([svg], tmp_path, [])[0], scale=2)


def test_the_same_svg_gives_the_same_bytes():
    svg = lifted(render_math(*FORMULAS[1]))
    assert svg_pdf(svg, INK, MARGIN) == svg_pdf(svg, INK, MARGIN)


@pytest.mark.parametrize("change", [
    ('fill="currentColor"', 'fill="red"'),  # a colour syntax it does not read
    ("<g ", '<ellipse rx="9" ry="9"/><g '),  # another element
    (' d="M', ' d="m'),  # a relative path command
    ("<g ", '<g opacity="0.5" '),  # another attribute
])
def test_anything_else_is_left_to_weasyprint(change):
    svg = lifted(render_math(*FORMULAS[0]))
    assert change[0] in svg
    assert svg_pdf(svg.replace(*change, 1), INK, MARGIN) is None


def test_an_svg_it_cannot_draw_is_drawn_by_weasyprint(tmp_path):
    from topicgen.publish.pdf import stamps

    image = ('<svg xmlns="http://www.w3.org/2000/svg" width="20pt" height="10pt" '
             'viewBox="0 0 20 10"><image width="20" height="10" href="x.png"/></svg>')
    formula = lifted(render_math(*FORMULAS[0]))
    drawn = stamps.drawings([image, formula], Path(tmp_path), None, [])
    assert svg_pdf(image, INK, MARGIN) is None
    assert drawn[0] == draw_alone([image], tmp_path, [])[0]
    assert drawn[1] == svg_pdf(formula, INK, MARGIN)


def test_a_quadratic_curve_becomes_the_same_cubic():
    from topicgen.publish.pdf.vector import outline

    # Control points two thirds of the way from each end to the quadratic's control point.
    assert outline("M 0 0 Q 3 3 6 0 z M 1 1 L 2 2") == (
        "0 0 m", "2 2 4 2 6 0 c", "h", "1 1 m", "2 2 l")
