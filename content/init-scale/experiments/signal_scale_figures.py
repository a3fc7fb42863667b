"""Figures of the signal-scale experiment, drawn from its Result only."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_with_band


def draw_mean_square(result: Result) -> Figure:
    """Geometric mean over seeds on a log axis; the band is one geometric std either side."""
    series = result.series["mean_square"]
    fig, (ax,) = new_figure()
    for index, (label, log_mean) in enumerate(series.y.items()):
        log_std = series.y_std[label]
        plot_with_band(ax, series.x, [10**m for m in log_mean],
                       [10 ** (m - s) for m, s in zip(log_mean, log_std, strict=True)],
                       [10 ** (m + s) for m, s in zip(log_mean, log_std, strict=True)],
                       label, index)
    ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel("mean square of the signal")
    ax.legend(loc="best")
    return fig


FIGURES = {"mean_square": draw_mean_square}
