"""Figures are drawn from results only and come out byte-identical every time."""

from __future__ import annotations

import dataclasses

from conftest import TOPIC4_EXPERIMENTS, topic4
from topicgen import experiments
from topicgen.figures.style import save, to_svg


def draw(name: str, figure: str) -> tuple[str, bytes]:
    params = experiments.resolve_params(topic4(name), "quick")
    result = experiments.run(topic4(name), params, experiments.Context())
    draw_fn = experiments.load_figures(topic4(name))[figure]
    return to_svg(draw_fn(result)), save(draw_fn(result), "png")


def test_gradient_decay_figure_is_byte_identical_over_two_runs():
    first_svg, first_png = draw("gradient-decay", "grad_norm")
    second_svg, second_png = draw("gradient-decay", "grad_norm")
    assert first_svg == second_svg
    assert first_png == second_png
    assert first_svg.startswith("<svg") and "<metadata>" not in first_svg
    assert "<dc:date>" not in first_svg


def test_every_topic4_experiment_has_figures_and_a_quick_profile():
    """The per-experiment test files draw each figure; here the set of them is checked."""
    found = experiments.discover(TOPIC4_EXPERIMENTS, "topic4")
    assert len(found) == 14
    for name, experiment in found.items():
        module = experiments.load(experiment)
        assert experiments.figure_names(experiment), name
        assert set(module.QUICK) <= {f.name for f in dataclasses.fields(module.Params)}, name
        assert module.SUMMARY and callable(module.run) and callable(module.claims), name


def test_alt_text_names_the_x_axis_and_reads_negative_values_right():
    from topicgen.figures.alt import describe
    from topicgen.figures.style import new_figure

    fig, (ax,) = new_figure()
    ax.plot([0, 1, 2], [-2.0, 0.0, 2.0], label="straight")
    ax.plot([0, 1, 2], [-2.0, -5.0, 2.0], label="dips")
    ax.set_xlabel("depth L")
    ax.set_ylabel("bias")
    assert describe(fig) == ("bias against depth L. straight rises from -2 to 2 as depth L goes "
                             "from 0 to 2. dips rises from -2 to 2 (between -5 and 2 on the "
                             "way) as depth L goes from 0 to 2.")


def test_log_axes_label_their_ticks_in_plain_text_without_parsing_mathtext(monkeypatch):
    """Parsing mathtext tick labels was a third of the time figures took to draw."""
    from matplotlib.mathtext import MathTextParser

    from topicgen.figures.style import new_figure

    def no_mathtext(*_args, **_kwargs):
        raise AssertionError("a tick label was parsed as mathtext")

    monkeypatch.setattr(MathTextParser, "parse", no_mathtext)
    fig, (decades, narrow) = new_figure(2)
    decades.semilogy([1, 2, 3], [1e-6, 1e-3, 1e2])
    narrow.semilogy([1, 2, 3], [2e-3, 3e-3, 4e-3])
    svg = to_svg(fig)
    assert svg.startswith("<svg")
    assert {"10\u207b\u2076", "10\u207b\u00b3", "10\u2070", "10\u00b2"} <= {
        label.get_text() for label in decades.get_yticklabels()}
    assert "3\u00d710\u207b\u00b3" in {label.get_text() for label in narrow.get_yticklabels(
        minor=True)}


def test_a_figure_is_laid_out_once_and_saved_as_matplotlib_would_save_it(monkeypatch):
    """matplotlib's `savefig` draws a constrained-layout figure twice, once with output off
    just to lay it out; topicgen lays it out first and draws it once, to the same bytes."""
    from matplotlib.figure import Figure

    from topicgen.figures import style
    from topicgen.figures.style import new_figure

    def figure() -> Figure:
        fig, (linear, logarithmic) = new_figure(2)
        linear.plot([0, 1, 2], [3.0, 1.0, 2.0], label="a curve")
        linear.legend(loc="best")  # placed at draw time
        linear.set_ylabel("a label long enough to need a wide margin")
        logarithmic.semilogy([1, 2, 3], [1e-6, 1e-3, 1e2])
        logarithmic.set_title("six decades")
        return fig

    draws = []
    draw, lay_out = Figure.draw, style.lay_out
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: draws.append(self)
                        or draw(self, renderer))
    for fmt in ("svg", "png", "pdf"):
        monkeypatch.setattr(style, "lay_out", lambda *_: None)  # savefig lays it out itself
        expected = save(figure(), fmt, dpi=150)
        assert len(draws) == 2, "matplotlib's own way"
        draws.clear()
        monkeypatch.setattr(style, "lay_out", lay_out)
        assert save(figure(), fmt, dpi=150) == expected, fmt
        assert len(draws) == 1, fmt
        draws.clear()
