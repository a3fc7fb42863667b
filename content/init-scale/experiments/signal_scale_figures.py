"""Figures of the signal-scale experiment, drawn from its Result only."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_log10_band


def draw_mean_square(result: Result) -> Figure:
    """Geometric mean over seeds on a log axis; the band is one geometric std either side."""
    series = result.series["mean_square"]
    fig, (ax,) = new_figure()
    for index, (label, log_mean) in enumerate(series.y.items()):
        log_std = series.y_std[label]
        plot_log10_band(ax, series.x, log_mean, log_std, label, index)
    ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel("mean square of the signal")
    ax.legend(loc="best")
    return fig


FIGURES = {"mean_square": draw_mean_square}
