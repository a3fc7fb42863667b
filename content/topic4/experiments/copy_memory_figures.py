"""Figures of the copy-memory experiment: every panel draws the task's exact levels."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_with_band, style_of

LEVEL_STYLES = {"knows nothing": ":", "knows when, not what": "--"}


def _band(series, curve: str) -> tuple[list[float], list[float]]:
    """One std either side, kept above a tenth of the mean for the log axis."""
    mean, std = series.y[curve], series.y_std[curve]
    return ([max(m - s, m / 10) for m, s in zip(mean, std, strict=True)],
            [m + s for m, s in zip(mean, std, strict=True)])


def draw_test_loss(result: Result) -> Figure:
    """Test loss against the delay, on the two exact level curves (log-log)."""
    measured, levels = result.series["test_loss"], result.series["levels"]
    fig, (ax,) = new_figure()
    for name, values in levels.y.items():
        ax.plot(levels.x, values, color="0.35", linewidth=1.2, linestyle=LEVEL_STYLES[name],
                label=name)
    low, high = _band(measured, "trained LSTM")
    plot_with_band(ax, measured.x, measured.y["trained LSTM"], low, high, "trained LSTM", 0)
    ax.get_lines()[-1].set_marker("o")
    if "control" in result.series:  # the positive control: the same model, trained longer
        control = result.series["control"]
        steps = result.params["control_steps"]
        ax.errorbar(control.x, control.y["trained LSTM"], yerr=control.y_std["trained LSTM"],
                    fmt="s", color=style_of(1)["color"],
                    label=f"trained LSTM, {steps} steps (positive control)")
    ax.set_xscale("log")  # the levels fall like 1/(T + 2N)
    ticks = sorted({*measured.x, *result.series.get("control", measured).x})
    ax.set_xticks(ticks, [f"{x:g}" for x in ticks])
    ax.minorticks_off()
    ax.set_yscale("log")
    ax.set_xlabel(measured.x_label)
    ax.set_ylabel(measured.y_label)
    ax.legend(loc="best")
    return fig


def draw_training(result: Result) -> Figure:
    """Training loss against the step at the longest delay, with that delay's two levels."""
    series = result.series["training_loss"]
    T = max(result.params["delays"])
    fig, (ax,) = new_figure()
    low, high = _band(series, "trained LSTM")
    plot_with_band(ax, series.x, series.y["trained LSTM"], low, high, "trained LSTM", 0)
    for name, key in (("knows nothing", "blind"), ("knows when, not what", "memoryless")):
        ax.axhline(result.scalars[f"{key}_T{T}"], color="0.35", linewidth=1.2,
                   linestyle=LEVEL_STYLES[name], label=name)
    ax.set_yscale("log")
    ax.set_xlabel(series.x_label)
    ax.set_ylabel(series.y_label)
    ax.legend(loc="best")
    return fig


FIGURES = {"test_loss": draw_test_loss, "training": draw_training}
