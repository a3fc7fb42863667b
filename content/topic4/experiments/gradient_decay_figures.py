"""Figures of the gradient-decay experiment."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_with_band

LABELS = {"rnn": "tanh RNN", "lstm": "LSTM (hidden state)", "gru": "GRU", "linear": "linear RNN"}


def draw_grad_norm(result: Result) -> Figure:
    """Geometric mean over seeds on a log axis; the band is one geometric std either side."""
    series = result.series["log10_grad_norm"]
    fig, (ax,) = new_figure()
    for index, (cell, log_mean) in enumerate(series.y.items()):
        log_std = series.y_std[cell]
        label = LABELS[cell] + (f" (rho = {result.params['rho']:g})" if cell == "linear" else "")
        plot_with_band(
            ax, series.x, [10**m for m in log_mean],
            [10 ** (m - s) for m, s in zip(log_mean, log_std, strict=True)],
            [10 ** (m + s) for m, s in zip(log_mean, log_std, strict=True)],
            label, index,
        )
    ax.set_yscale("log")
    ax.set_xlabel("steps back in time, k = T - t")
    ax.set_ylabel("gradient norm ||dL/dh||")
    ax.legend(loc="best")
    return fig


FIGURES = {"grad_norm": draw_grad_norm}
