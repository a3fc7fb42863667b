"""Figures of the pascanu-bound experiment: each measured ratio beside its bound."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from topicgen.api import Result, log10_axis, new_figure, style_of


def draw_bound(result: Result) -> Figure:
    """One panel per nonlinearity: the measured ratio (solid, geometric mean over seeds) and
    its bound (gamma rho)^k (dotted, same colour), in decades.

    The data are log10 values, drawn as they are on an axis labelled in powers of ten: at
    long sequences they span more decades than a log axis can draw (the bound at rho = 4.5
    passes float64's 10^308 by k = 471). A ratio that underflowed to 0, or a bound past
    float64's range, is left out (a gap)."""
    measured, bound = result.series["ratio"], result.series["bound"]
    fig, axes = new_figure(ncols=2, height=3.2)
    for ax, cell in zip(axes, ("tanh", "sigmoid"), strict=True):
        labels = [label for label in measured.y if label.startswith(cell + ",")]
        for index, label in enumerate(labels):
            style = style_of(index)
            ax.plot(measured.x, finite(measured.y[label]), color=style["color"],
                    label=label.split(", ")[1])
            ax.plot(bound.x, finite(bound.y[label]), color=style["color"], linestyle=":",
                    linewidth=1.2)
        log10_axis(ax.yaxis)
        ax.set_title(f"{cell} (dotted: the bound)")
        ax.set_xlabel("steps back k")
        ax.legend(loc="best")
    axes[0].set_ylabel("gradient norm ratio")
    return fig


def finite(values: list[float]) -> list[float]:
    return [v if math.isfinite(v) else math.nan for v in values]


FIGURES = {"bound": draw_bound}
