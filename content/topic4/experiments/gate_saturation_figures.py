"""Figures of the gate-saturation experiment."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, Series, new_figure, plot_with_band

LABELS = {"lstm": "LSTM (gates i, f, o)", "gru": "GRU (gates r, z)"}


def _plot_cells(ax, series: Series, floor: float | None = None) -> None:
    """One line per cell with its seed band (clipped at `floor` for a log axis)."""
    for index, (cell, mean) in enumerate(series.y.items()):
        std = series.y_std[cell]
        low = [m - s for m, s in zip(mean, std, strict=True)]
        if floor is not None:
            low = [max(value, m * floor) for value, m in zip(low, mean, strict=True)]
        plot_with_band(ax, series.x, mean, low, [m + s for m, s in zip(mean, std, strict=True)],
                       LABELS[cell], index)


def draw_saturated_fraction(result: Result) -> Figure:
    """Saturation and the gradient a gate passes (sigma'), both against the weight scale."""
    fig, (left, right) = new_figure(ncols=2)
    _plot_cells(left, result.series["saturated_fraction"])
    _plot_cells(right, result.series["mean_gate_slope"])
    right.axhline(0.25, color="black", linewidth=0.8, linestyle=":")
    right.annotate("upper bound 1/4, reached only at a = 0", (1.0, 0.25), xycoords=("axes fraction",
                   "data"), xytext=(0, 3), textcoords="offset points", ha="right", fontsize=7)
    for ax in (left, right):
        ax.axvline(1.0, color="grey", linewidth=0.8, linestyle="--", label="PyTorch default")
        if min(result.params["scales"]) > 0:
            ax.set_xscale("log", base=2)
        ax.set_xlabel("weight scale s (1 = default init)")
    left.set_ylabel("fraction of gates < 0.05 or > 0.95")
    right.set_ylabel("mean gate slope sigma'(a)")
    right.set_ylim(0, 0.27)
    left.legend(loc="upper left")  # the right panel shares the left one's lines
    return fig


def draw_saturation_during_training(result: Result) -> Figure:
    """Adam on the marked-value task: the gates leave the linear region as the task is learned."""
    fig, (left, right) = new_figure(ncols=2)
    _plot_cells(left, result.series["saturation_during_training"])
    _plot_cells(right, result.series["loss_during_training"], floor=0.1)
    right.set_yscale("log")
    for ax in (left, right):
        ax.set_xlabel("Adam step")
    left.set_ylabel("fraction of saturated gates")
    right.set_ylabel("squared error on the batch")
    left.legend(loc="upper left")
    return fig


FIGURES = {"saturated_fraction": draw_saturated_fraction,
           "saturation_during_training": draw_saturation_during_training}
