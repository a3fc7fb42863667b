"""Figures of the pascanu-bound experiment: each measured ratio beside its bound."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, style_of


def draw_bound(result: Result) -> Figure:
    """One panel per nonlinearity: the measured ratio (solid, geometric mean over seeds) and
    its bound (gamma rho)^k (dotted, same colour) on a log axis."""
    measured, bound = result.series["ratio"], result.series["bound"]
    fig, axes = new_figure(ncols=2, height=3.2)
    for ax, cell in zip(axes, ("tanh", "sigmoid"), strict=True):
        labels = [label for label in measured.y if label.startswith(cell + ",")]
        for index, label in enumerate(labels):
            style = style_of(index)
            ax.plot(measured.x, [10**v for v in measured.y[label]], color=style["color"],
                    label=label.split(", ")[1])
            ax.plot(bound.x, [10**v for v in bound.y[label]], color=style["color"],
                    linestyle=":", linewidth=1.2)
        ax.set_yscale("log")
        ax.set_title(f"{cell} (dotted: the bound)")
        ax.set_xlabel("steps back k")
        ax.legend(loc="best")
    axes[0].set_ylabel("gradient norm ratio")
    return fig


FIGURES = {"bound": draw_bound}
