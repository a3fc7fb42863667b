"""Figures of the attention-scaling experiment."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from topicgen.api import Result, new_figure, style_of

LABELS = {"unscaled": "q . k (no scaling)", "scaled": "q . k / sqrt(d_k)"}


def _width_axis(ax, widths: list[float]) -> None:
    """Log-2 axis labelled with the widths themselves (4, 16, 64), not powers of two."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(widths))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("key width d_k")


def draw_logit_variance(result: Result) -> Figure:
    """Measured variances on log-log axes, over the theory lines Var = d_k and Var = 1."""
    series = result.series["logit_variance"]
    fig, (ax,) = new_figure()
    for index, (label, values) in enumerate(series.y.items()):
        ax.plot(series.x, values, marker="o", label=LABELS[label], **style_of(index))
    theory = {"color": "grey", "linewidth": 5, "alpha": 0.3, "zorder": 0}
    ax.plot(series.x, series.x, label="theory: d_k and 1", **theory)
    ax.plot(series.x, [1.0] * len(series.x), **theory)
    _width_axis(ax, series.x)
    ax.set_yscale("log", base=2)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylabel("variance of the attention logit")
    ax.legend(loc="upper left")
    return fig


def draw_softmax_saturation(result: Result) -> Figure:
    """Three views of one softmax: its top weight, how often it is one-hot, its Jacobian."""
    panels = [("softmax_saturation", "largest weight", "E[max p]"),
              ("saturated_rows", "near one-hot rows", "share with max p > 0.99"),
              ("softmax_jacobian", "softmax Jacobian", "E||J||_F")]
    fig, axes = new_figure(ncols=3, height=2.8)
    for ax, (name, title, y_label) in zip(axes, panels, strict=True):
        series = result.series[name]
        for index, (label, values) in enumerate(series.y.items()):
            ax.plot(series.x, values, marker="o", markersize=3, label=LABELS[label],
                    **style_of(index))
        _width_axis(ax, series.x)
        ax.set_title(title)
        ax.set_ylabel(y_label)
        ax.set_ylim(bottom=0)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return fig


FIGURES = {"logit_variance": draw_logit_variance, "softmax_saturation": draw_softmax_saturation}
