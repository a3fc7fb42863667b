"""Figures of the layernorm experiment: the scale across depth and the Jacobian's spectrum."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_with_band, style_of


def draw_activation_scale(result: Result) -> Figure:
    """RMS of each layer's output on a log axis, with gain^l for the stack without LN."""
    series = result.series["activation_scale"]
    fig, (ax,) = new_figure()
    for index, (name, mean) in enumerate(series.y.items()):
        std = series.y_std[name]
        low = [max(m - s, m / 10) for m, s in zip(mean, std, strict=True)]  # stays > 0 on log
        high = [m + s for m, s in zip(mean, std, strict=True)]
        plot_with_band(ax, series.x, mean, low, high, name, index)
    # E||x_l||^2 grows exactly like gain^(2l); a single run's log RMS drifts 1.25/N per layer
    # below that (Jensen), which is where the measured curve sits.
    gain, width = result.params["gain"], result.params["width"]
    typical = gain * math.exp(-1.25 / width)
    ax.plot(series.x, [gain**layer for layer in series.x], color="0.35", linestyle=":",
            linewidth=1.2, label=f"{gain:g}^l: root of the mean square")
    ax.plot(series.x, [typical**layer for layer in series.x], color="0.35", linestyle="--",
            linewidth=1.0, label=f"{typical:.3f}^l: a typical run, gain e^(-1.25/N)")
    ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel("RMS of the activations x_l")
    ax.legend(loc="upper left")
    return fig


def draw_ln_jacobian(result: Result) -> Figure:
    """sigma times each singular value of dLN/dx: H - 2 ones, then two zeros."""
    series = result.series["ln_singular_values"]
    fig, (ax,) = new_figure()
    ax.plot(series.x, series.y["measured"], marker="o", markersize=3, linestyle="none",
            color=style_of(0)["color"], label="measured (mean over seeds)")
    ax.axhline(1.0, color="0.35", linestyle=":", linewidth=1.2, label="1/sigma")
    ax.set_ylim(-0.1, 1.2)
    ax.set_xlabel("singular value index i (largest first)")
    ax.set_ylabel("singular value of dLN/dx\nin units of 1/sigma")
    ax.legend(loc="center left")
    return fig


FIGURES = {"activation_scale": draw_activation_scale, "ln_jacobian": draw_ln_jacobian}
