"""Figures of the cell-highway experiment."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_log10_band, style_of


def _label(name: str) -> str:
    return "tanh RNN (hidden state)" if name == "rnn" else f"LSTM, {name.replace('=', ' = ')}"


def draw_cell_gradient(result: Result) -> Figure:
    """Geometric mean over seeds on a log axis, with sigmoid(b_f)^k (zero weights) dotted."""
    series = result.series["log10_cell_gradient"]
    fig, (ax,) = new_figure()
    names = [name for name in series.y if name != "rnn"] + ["rnn"]
    for index, name in enumerate(names):
        log_mean, log_std = series.y[name], series.y_std[name]
        plot_log10_band(ax, series.x, log_mean, log_std, _label(name), index)
        if name != "rnn":
            bias = float(name.removeprefix("b_f="))
            rate = 1 / (1 + math.exp(-bias))
            ax.plot(series.x, [rate**k for k in series.x], color=style_of(index)["color"],
                    linestyle=":", linewidth=0.9)
    ax.plot([], [], color="grey", linestyle=":", linewidth=0.9,
            label="sigmoid(b_f)^k: zero weights, exact")
    ax.set_yscale("log")
    ax.set_xlabel("steps back in time, k = T - t")
    ax.set_ylabel("gradient carried by the cell, ||dc_T/dc_t||")
    ax.legend(loc="lower left", fontsize=7)
    return fig


def draw_decay_per_step(result: Result) -> Figure:
    """Measured per-step decay against the small-weight limit sigmoid(b_f)."""
    series = result.series["decay_per_step"]
    fig, (ax,) = new_figure()
    lstm, std = series.y["lstm"], series.y_std["lstm"]
    ax.errorbar(series.x, lstm, yerr=std, marker="o", capsize=3,
                label="LSTM at default init (measured)", **style_of(0))
    ax.plot(series.x, series.y["sigmoid"], marker="s", label="sigmoid(b_f): the forget gate alone",
            **style_of(1))
    ax.axhline(result.scalars["decay_rnn"], color=style_of(2)["color"], linestyle="-.",
               label="tanh RNN at default init")
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":",
               label="constant error carousel (f = 1)")
    ax.set_xlabel("forget-gate bias b_f (written into bias_ih only)")
    ax.set_ylabel("gradient kept per step")
    ax.legend(loc="upper left", fontsize=7)
    return fig


FIGURES = {"cell_gradient": draw_cell_gradient, "decay_per_step": draw_decay_per_step}
