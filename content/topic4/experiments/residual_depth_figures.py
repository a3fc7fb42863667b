"""Figures of the residual-depth experiment: what reaches the input of a deep stack."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_log10_band, style_of

LABELS = {"plain": "plain tanh stack", "residual": "residual: x + tanh(Wx + b) / sqrt(L)"}
RANK_STYLE = {"largest": ":", "median": "-", "smallest": "-."}


def draw_input_grad(result: Result) -> Figure:
    """Geometric mean over seeds on a log axis; the band is one geometric std either side."""
    series = result.series["log10_input_grad"]
    fig, (ax,) = new_figure()
    for index, (stack, log_mean) in enumerate(series.y.items()):
        log_std = series.y_std[stack]
        plot_log10_band(ax, series.x, log_mean, log_std, LABELS[stack], index)
        ax.lines[-1].set_marker("o")
    ax.set_yscale("log")
    ax.set_xlabel("depth L (layers)")
    ax.set_ylabel("gradient reaching the input\n||dL/dx_0|| / ||dL/dx_L||")
    ax.legend(loc="lower left")
    return fig


def draw_jacobian_sv(result: Result) -> Figure:
    """Largest, median and smallest singular value of dx_L/dx_0 (geometric seed means)."""
    series = result.series["jacobian_sv"]
    fig, (ax,) = new_figure()
    for index, stack in enumerate(LABELS):
        for rank, linestyle in RANK_STYLE.items():
            values = [10**v for v in series.y[f"{stack}: {rank}"]]
            ax.plot(series.x, values, marker="o", markersize=3, label=f"{stack}: {rank}",
                    color=style_of(index)["color"], linestyle=linestyle)
    ax.set_yscale("log")
    ax.set_xlabel("depth L (layers)")
    ax.set_ylabel("singular values of dx_L/dx_0\n(those below rounding omitted)")
    ax.legend(loc="lower left", ncols=2)
    return fig


def draw_shortcut_gain(result: Result) -> Figure:
    """The zero-init stack's measured gain against lambda^L: the RNN problem in depth."""
    series = result.series["shortcut_gain"]
    fig, (ax,) = new_figure()
    depths = series.x
    for index, (name, gains) in enumerate(series.y.items()):
        ax.plot(depths, gains, marker="o", linestyle="none", label=f"measured, {name}",
                color=style_of(index)["color"])
    for scale in result.params["shortcut_scales"]:
        ax.plot(depths, [scale**d for d in depths], color="0.35", linestyle=":", linewidth=1.0)
    ax.plot([], [], color="0.35", linestyle=":", linewidth=1.0, label="lambda^L")
    ax.set_yscale("log")
    ax.set_xlabel("depth L (layers)")
    ax.set_ylabel("gain of the shortcut path\n(diagonal of dx_L/dx_0)")
    ax.legend(loc="upper left")
    return fig


FIGURES = {"input_grad": draw_input_grad, "jacobian_sv": draw_jacobian_sv,
           "shortcut_gain": draw_shortcut_gain}
