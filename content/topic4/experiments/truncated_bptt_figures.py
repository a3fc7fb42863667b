"""Figures of the truncated-bptt experiment, drawn from its Result only."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_with_band


def draw_training(result: Result) -> Figure:
    """Training loss per arm (seed mean, one std band kept above a tenth of the mean for the
    log axis), with the two exact levels: 1/6 (nothing learned) and the best possible without
    seeing the first marker, (1/12)(1 - 2/T)."""
    series = result.series["training_loss"]
    fig, (ax,) = new_figure()
    for index, (arm, mean) in enumerate(series.y.items()):
        std = series.y_std[arm]
        low = [max(m - s, m / 10) for m, s in zip(mean, std, strict=True)]
        high = [m + s for m, s in zip(mean, std, strict=True)]
        plot_with_band(ax, series.x, mean, low, high, arm, index)
    ax.axhline(result.scalars["baseline_mse"], color="0.35", linestyle=":", linewidth=1.2,
               label="1/6: constant prediction")
    ax.axhline(result.scalars["unreachable_bound"], color="0.35", linestyle="--",
               linewidth=1.2, label="(1/12)(1 - 2/T): blind to the first marker")
    ax.set_yscale("log")
    ax.set_xlabel(series.x_label)
    ax.set_ylabel(series.y_label)
    ax.legend(loc="lower left", fontsize="small")
    return fig


FIGURES = {"training": draw_training}
