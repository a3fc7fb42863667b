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
    assert len(found) == 15
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


def test_alt_text_reads_what_a_sighted_reader_reads_off_the_axes():
    """It read log10 data on a powers-of-ten axis as "falls from 0 to -17.2", a lone point
    as "a single point", an unlabelled second panel as "value", a colour bar as a panel of
    its own and the heat map beside it not at all."""
    import numpy as np

    from topicgen.figures.alt import describe
    from topicgen.figures.style import log10_axis, new_figure

    fig, (powers, lone) = new_figure(2)
    powers.plot([0, 30, 60], [0.0, -8.0, -17.2], label="rho = 0.8")
    log10_axis(powers.yaxis)
    powers.set_ylabel("gradient norm ratio")
    powers.set_xlabel("steps back k")
    lone.plot([20], [0.161], marker="o", label="tanh RNN")
    lone.set_xlabel("sequence length T: the first value is held T/2 to T steps")
    assert describe(fig) == (
        "2 panels. Panel 1: gradient norm ratio (log scale) against steps back k. rho = 0.8 "
        "falls from 1 to 6.31e-18 as steps back k goes from 0 to 60. Panel 2: gradient norm "
        "ratio against sequence length T: the first value is held T/2 to T steps. tanh RNN: a "
        "single point, 0.161 at sequence length T = 20.")

    fig, (ax,) = new_figure()
    mesh = ax.pcolormesh([0, 1, 2], [0, 1], np.array([[-4.0, 1.5]]))
    fig.colorbar(mesh, ax=ax, label="log10 of the gradient norm")
    ax.scatter([0.5, 1.5], [0.2, 0.7], label="starts")
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    for curve in range(8):
        ax.plot([0, 1], [curve, curve], label=f"c{curve}")
    text = describe(fig)
    assert text.startswith("b against w. A heat map of log10 of the gradient norm, from -4 "
                           "to 1.5. c0 stays near 0 as w goes from 0 to 1.")
    assert text.endswith("And 2 more curves. starts: 2 points, b from 0.2 to 0.7.")
    assert "Panel" not in text  # the colour bar is the heat map's key, not a panel

    fig, (ax,) = new_figure()
    ax.bar([1, 2, 3], [3.0, 1.0, 2.0], label="runs per width")
    ax.set_ylabel("count")
    assert describe(fig) == "count against x. runs per width: 3 bars, count from 1 to 3."

    fig, (ax,) = new_figure()
    ax.barh(["rnn", "lstm"], [0.16, 0.06], label="test error")  # categories, measured along x
    ax.set_xlabel("MSE")
    ax.scatter([1, 2], [3, 4])  # unlabelled
    assert describe(fig) == ("value against MSE. points: 2 points, value from 3 to 4. test "
                             "error: 2 bars, MSE from 0.06 to 0.16.")
    fig, (ax,) = new_figure()
    ax.semilogy([1, 2, 3], [0.0, 10.0, 100.0], label="growth")  # 0 is not drawn on a log axis
    ax.plot(["a", "b"], [1.0, 2.0], label="by category")
    for level in range(8):
        ax.plot([0, 1], [level + 1, level + 2])
    assert describe(fig) == ("value (log scale) against x. growth rises from 10 to 100 as x "
                             "goes from 2 to 3. by category rises from 1 to 2 as x goes from 0 "
                             "to 1.")
    assert describe(new_figure()[0]) == "An empty figure."


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


def test_a_log_axis_and_a_log10_axis_on_one_axis_are_refused():
    """plot_log10_band draws 10^value on a log axis, log10_axis labels log10 values on a
    linear one; used together, a figure read 10^0 to 10^1 for values from 1 to 1e-16."""
    import pytest

    from topicgen.figures.style import MIXED_LOG_AXES, log10_axis, new_figure, plot_log10_band

    fig, (band_first, axis_first) = new_figure(2)
    plot_log10_band(band_first, [0, 1], [0.0, -16.0], [0.1, 0.1], "distance", 0)
    assert band_first.get_yscale() == "log"
    with pytest.raises(ValueError, match="log10_axis labels log10 values") as caught:
        log10_axis(band_first.yaxis)
    assert str(caught.value) == MIXED_LOG_AXES
    log10_axis(axis_first.yaxis)
    with pytest.raises(ValueError, match="log10_axis labels log10 values"):
        plot_log10_band(axis_first, [0, 1], [0.0, -16.0], [0.1, 0.1], "distance", 0)
