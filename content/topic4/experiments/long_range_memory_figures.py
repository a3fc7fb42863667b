"""Figures of the long-range-memory experiment: every panel draws the exact 1/6 baseline."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_with_band

LABELS = {"rnn": "tanh RNN", "lstm": "LSTM (forget bias 1)", "gru": "GRU",
          "attention": "attention readout"}


def _draw_baseline(ax, result: Result) -> None:
    ax.axhline(result.scalars["baseline_mse_theory"], color="0.35", linestyle=":",
               linewidth=1.2, label="constant prediction 1 (MSE = 1/6)")


def _draw(series, ax) -> None:
    """Seed mean with a one-std band, kept above a tenth of the mean for the log axis.

    Each model keeps its colour whichever subset was trained.
    """
    for model, mean in series.y.items():
        std = series.y_std[model]
        low = [max(m - s, m / 10) for m, s in zip(mean, std, strict=True)]
        high = [m + s for m, s in zip(mean, std, strict=True)]
        plot_with_band(ax, series.x, mean, low, high, LABELS[model], list(LABELS).index(model))


def draw_test_mse(result: Result) -> Figure:
    """Test MSE against the delay: a model that remembers nothing sits on the baseline."""
    series = result.series["test_mse"]
    fig, (ax,) = new_figure()
    _draw(series, ax)
    for line in ax.get_lines():
        line.set_marker("o")
    _draw_baseline(ax, result)
    ax.set_xscale("log")  # delays usually grow geometrically (10, 30, 100)
    ax.set_xticks(series.x, [f"{x:g}" for x in series.x])
    ax.minorticks_off()
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T: the first marked value is held T/2 to T steps")
    ax.set_ylabel("test mean squared error")
    ax.legend(loc="best")
    return fig


def draw_training_loss(result: Result) -> Figure:
    """Training loss against step at the longest delay, on a log axis."""
    series = result.series["training_loss"]
    fig, (ax,) = new_figure()
    _draw(series, ax)
    _draw_baseline(ax, result)
    ax.set_yscale("log")
    ax.set_xlabel(series.x_label)
    ax.set_ylabel("training mean squared error")
    ax.legend(loc="best")
    return fig


FIGURES = {"test_mse": draw_test_mse, "training_loss": draw_training_loss}
