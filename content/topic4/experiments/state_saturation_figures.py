"""Figures of the state-saturation experiment, drawn from its Result only."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_log10_band, style_of

PREDICTION_MARKERS = 10  # circles per curve: enough to follow it, few enough to see the line


def draw_saturation(result: Result) -> Figure:
    """Left: the gradient ratio against lag per drive (geometric mean over seeds, shaded one
    geometric std) with the mean-field prediction as circles in the same colour. Right: the
    influence of the first state against the share of committed units, one point per drive."""
    gradient, prediction = result.series["gradient"], result.series["prediction"]
    influence, committed = result.series["influence"], result.series["committed"]
    fig, (left, right) = new_figure(ncols=2, height=3.2)
    for index, (label, log_mean) in enumerate(gradient.y.items()):
        plot_log10_band(left, gradient.x, log_mean, gradient.y_std[label], label, index)
        every = max(1, len(prediction.x) // PREDICTION_MARKERS)
        left.plot(prediction.x[::every], [10**v for v in prediction.y[label][::every]],
                  linestyle="none", marker="o", markersize=3.5, markerfacecolor="none",
                  color=style_of(index)["color"])
    left.set_yscale("log")
    left.set_xlabel("steps back k")
    left.set_ylabel("gradient norm ratio")
    left.set_title("lines: measured; circles: mean-field")
    left.legend(loc="lower left", fontsize="small")

    # Against the committed share rather than the drive: the share is what the claim is about.
    right.plot(committed.y["committed"], [10**v for v in influence.y["measured"]], marker="o",
               **style_of(0))
    right.set_yscale("log")
    right.set_xlim(-0.03, 1)  # a drive with no committed unit sits at 0
    right.set_xlabel(committed.y_label + ", one point per drive")
    right.set_ylabel("||dL/dh_0|| / ||dL/dh_T||")
    return fig


FIGURES = {"saturation": draw_saturation}
