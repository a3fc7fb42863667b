"""Figures of the standard-error experiment: drawn from its Result only, so restyling one
reruns nothing."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, style_of


def draw_spread(result: Result) -> Figure:
    """Measured spread as points, the 1/sqrt(n) law as a line, on log-log axes."""
    series = result.series["spread"]
    fig, (ax,) = new_figure()
    measured, theory = series.y
    ax.plot(series.x, series.y[theory], label=theory, **style_of(1))
    ax.plot(series.x, series.y[measured], label=measured, marker="o", linestyle="none",
            color=style_of(0)["color"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(series.x_label)
    ax.set_ylabel("spread of the mean")
    ax.legend(loc="best")
    return fig


FIGURES = {"spread": draw_spread}
