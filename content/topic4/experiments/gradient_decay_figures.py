"""Figures of the gradient-decay experiment."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_log10_band

LABELS = {"rnn": "tanh RNN", "lstm": "LSTM (hidden state)", "gru": "GRU", "linear": "linear RNN"}


def draw_grad_norm(result: Result) -> Figure:
    """Geometric mean over seeds on a log axis; the band is one geometric std either side."""
    series = result.series["log10_grad_norm"]
    fig, (ax,) = new_figure()
    for index, (cell, log_mean) in enumerate(series.y.items()):
        # NaN marks a norm below the dtype's smallest normal number (see run): not a
        # measurement, so the line ends there rather than being drawn as an overflow.
        kept = [i for i, m in enumerate(log_mean) if not math.isnan(m)]
        mean = [log_mean[i] for i in kept]
        std = [series.y_std[cell][i] for i in kept]
        label = LABELS[cell] + (f" (rho = {result.params['rho']:g})" if cell == "linear" else "")
        plot_log10_band(ax, [series.x[i] for i in kept], mean, std, label, index)
    ax.set_yscale("log")
    ax.set_xlabel("steps back in time, k = T - t")
    ax.set_ylabel("gradient norm ||dL/dh||")
    ax.legend(loc="best")
    return fig


FIGURES = {"grad_norm": draw_grad_norm}
