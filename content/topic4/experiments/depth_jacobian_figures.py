"""Figures of the depth-jacobian experiment, drawn from its Result only."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_log10_band


def draw_rms(result: Result) -> Figure:
    """Geometric mean over seeds on log-log axes; the band is one geometric std either side,
    so its width is the seed-to-seed spread the post-ln-wanders claim compares."""
    series = result.series["rms"]
    fig, (ax,) = new_figure()
    for index, (label, log_mean) in enumerate(series.y.items()):
        log_std = series.y_std[label]
        plot_log10_band(ax, series.x, log_mean, log_std, label, index)
    ax.axhline(1.0, color="0.4", linewidth=0.8, linestyle=":", label="identity")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("depth L (blocks)")
    ax.set_ylabel("RMS singular value of dx_L/dx_0")
    ax.legend(loc="best")
    return fig


FIGURES = {"rms": draw_rms}
