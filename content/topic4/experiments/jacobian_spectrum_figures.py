"""Figures of the jacobian-spectrum experiment: the spread of J_L's singular values with depth."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_with_band, style_of

THEORY_STYLE = {"limit": {"color": "0.35", "linestyle": ":", "linewidth": 1.2},
                "exact": {"color": "0.35", "linestyle": "--", "linewidth": 1.0}}


def draw_sv_spread(result: Result) -> Figure:
    """Var(s^2) against L on linear axes: the Gaussian law is a straight line of slope 1."""
    series = result.series["sv_spread"]
    fig, (ax,) = new_figure()
    measured = [name for name in series.y if not name.startswith("theory")]
    for index, case in enumerate(measured):
        mean, std = series.y[case], series.y_std[case]
        plot_with_band(ax, series.x, mean, [m - s for m, s in zip(mean, std, strict=True)],
                       [m + s for m, s in zip(mean, std, strict=True)], case, index)
        ax.lines[-1].set_marker("o")
    limit, exact = (name for name in series.y if name.startswith("theory"))
    ax.plot(series.x, series.y[limit], label="L, the infinite-width law",
            **THEORY_STYLE["limit"])
    ax.plot(series.x, series.y[exact],
            label=f"exact Gaussian mean at N = {result.params['width']}", **THEORY_STYLE["exact"])
    ax.set_xlabel("number of Jacobian factors L (layers or time steps)")
    ax.set_ylabel("variance of squared\nsingular values")
    ax.legend(loc="upper left")
    return fig


def draw_sv_range(result: Result) -> Figure:
    """Per weight distribution: the median singular value, the middle half of them shaded, and
    the largest dotted; one panel per nonlinearity."""
    series = {name: result.series[name] for name in
              ("sv_largest", "sv_upper_quartile", "sv_median", "sv_lower_quartile")}
    activations = result.params["activations"]
    fig, axes = new_figure(ncols=len(activations), height=3.6)
    for ax, activation in zip(axes, activations, strict=True):
        for index, weights in enumerate(result.params["weights"]):
            case = weights if activation == "linear" else f"{weights} + tanh"
            values = {name: [10**v for v in s.y[case]] for name, s in series.items()}
            x = series["sv_median"].x
            plot_with_band(ax, x, values["sv_median"], values["sv_lower_quartile"],
                           values["sv_upper_quartile"], f"{weights} W: median", index)
            ax.plot(x, values["sv_largest"], label=f"{weights} W: largest", linewidth=1.0,
                    color=style_of(index)["color"], linestyle=":")
        ax.set_yscale("log")
        ax.set_title("linear network" if activation == "linear" else "tanh network")
        ax.set_xlabel("number of Jacobian factors L")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2,
               frameon=False)
    axes[0].set_ylabel("singular values of J_L\n(shaded: middle half)")
    return fig


FIGURES = {"sv_spread": draw_sv_spread, "sv_range": draw_sv_range}
