"""Figures of the norm-placement experiment."""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from topicgen.api import Result, Series, new_figure, plot_with_band

LABELS = {"pre": "Pre-LN", "post": "Post-LN"}


def _bands(ax, series: Series) -> None:
    """Seed mean with one population std either side, one line per placement."""
    for index, (placement, mean) in enumerate(series.y.items()):
        std = series.y_std[placement]
        plot_with_band(ax, series.x, mean, [m - s for m, s in zip(mean, std, strict=True)],
                       [m + s for m, s in zip(mean, std, strict=True)], LABELS[placement],
                       index)


def _depth_axis(ax, depths: list[float]) -> None:
    """Log-2 depth axis labelled with the depths themselves, not powers of two."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(depths))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _plain_log_y(ax) -> None:
    """Log y axis whose ticks read 0.2, 0.3 rather than 2 x 10^-1; minor ticks at 2, 3, 5."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(
        lambda v, _: f"{v:g}" if round(v / 10 ** math.floor(math.log10(v))) in (2, 3, 5) else ""))


def draw_last_layer_grad(result: Result) -> Figure:
    """Xiong's Theorem 1 on log-log axes: Post-LN flat, Pre-LN falling like 1/sqrt(L)."""
    fig, (ax,) = new_figure()
    series = result.series["last_layer_grad"]
    _bands(ax, series)
    _depth_axis(ax, series.x)
    _plain_log_y(ax)
    ax.set_xlabel("model depth L (layers)")
    ax.set_ylabel("gradient of the last layer's W2\n(Frobenius norm)")
    ax.legend(loc="best")
    return fig


def draw_layer_grad(result: Result) -> Figure:
    """Which layers get the gradient, in the deepest model."""
    series = result.series["layer_grad"]
    fig, (ax,) = new_figure()
    _bands(ax, series)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"layer (1 = next to the input, {len(series.x)} = next to the output)")
    ax.set_ylabel("gradient of the layer's W2\n(Frobenius norm)")
    ax.legend(loc="best")
    return fig


def draw_hidden_scale(result: Result) -> Figure:
    """Lemma 2: Pre-LN's stream grows inside its wedge (left); Post-LN stays at 3/2 (right)."""
    series = result.series["hidden_scale"]
    layers = series.x
    fig, (both, post) = new_figure(ncols=2)
    both.fill_between(layers, [1 + i / 2 for i in layers], [1 + 3 * i / 2 for i in layers],
                      color="grey", alpha=0.15, linewidth=0, label="Lemma 2 bounds (Pre-LN)")
    _bands(both, series)
    both.set_ylabel("hidden-state scale E||x||^2 / d")
    both.legend(loc="upper left")
    mean, std = series.y["post"], series.y_std["post"]
    post.axhline(1.5, color="grey", linewidth=0.8, linestyle=":", label="Lemma 2: 3/2")
    plot_with_band(post, layers, mean, [m - s for m, s in zip(mean, std, strict=True)],
                   [m + s for m, s in zip(mean, std, strict=True)], "Post-LN, x after FFN add",
                   1)
    post.set_ylim(1.0, 2.0)
    post.legend(loc="upper left")
    for ax in (both, post):
        ax.set_xlabel("layer l")
    return fig


def draw_amplification(result: Result) -> Figure:
    """Liu's amplification: near-linear growth for Post-LN, slow growth for Pre-LN."""
    series = result.series["amplification"]
    fig, (ax,) = new_figure()
    _bands(ax, series)
    first = series.x[0]
    start = series.y["post"][0]
    ax.plot(series.x, [start * L / first for L in series.x], color="grey", linewidth=0.8,
            linestyle=":", label="proportional to L")
    _depth_axis(ax, series.x)
    _plain_log_y(ax)
    ax.set_xlabel("model depth L (layers)")
    ax.set_ylabel("output change under a small\nweight change (relative, / eps^2)")
    ax.legend(loc="upper left")
    return fig


FIGURES = {"last_layer_grad": draw_last_layer_grad, "layer_grad": draw_layer_grad,
           "hidden_scale": draw_hidden_scale, "amplification": draw_amplification}
