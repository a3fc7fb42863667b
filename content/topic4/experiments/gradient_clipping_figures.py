"""Figures of the gradient-clipping experiment."""

from __future__ import annotations

from matplotlib.figure import Figure

from topicgen.api import Result, new_figure, plot_with_band, style_of

NORM_LABELS = {"unclipped": "without clipping", "clipped": "clipped run, after clipping",
               "before_clipping": "clipped run, before clipping"}
LOSS_LABELS = {"unclipped": "without clipping", "clipped": "with clipping"}


def draw_error_surface_cliff(result: Result) -> Figure:
    """Pascanu's Fig. 6 on a grid: the steep wall sits on the edge of the bistable band.

    Between the two edges the unit has two stable states; each cell shows its steepest point.
    """
    surface = result.series["grad_norm_surface"]
    w = [float(key.removeprefix("w=")) for key in surface.y]
    fig, (ax,) = new_figure(height=3.6)
    mesh = ax.pcolormesh(w, surface.x, list(zip(*surface.y.values(), strict=True)),
                         shading="nearest", cmap="viridis", rasterized=True)
    fig.colorbar(mesh, ax=ax, label="log10 of the gradient norm ||grad E||")
    edges = result.series["band_edges"]
    for index, (edge, label) in enumerate((("lower", "lower band edge"),
                                           ("upper", "upper band edge"))):
        ax.plot(edges.x, edges.y[edge], color="white", linestyle=style_of(index)["linestyle"],
                linewidth=1.0, label=label)
    ax.plot(result.scalars["surface_argmax_w"], result.scalars["surface_argmax_b"], marker="x",
            color="red", linestyle="none", label="steepest grid point")
    ax.margins(0)  # the mesh fills the axes; the edge curves lie inside it
    ax.grid(False)
    ax.set_xlabel("recurrent weight w")
    ax.set_ylabel("bias b")
    ax.legend(loc="lower left", frameon=True, framealpha=0.85)
    return fig


def draw_grad_norm_during_training(result: Result) -> Figure:
    """Mean over seeds; the band is one standard deviation, floored so a log axis can show it.

    These runs start just below the wall, where clipping happens to end lower; from random
    starts it does not (the descent_*_success_fraction scalars), so only the norm is claimed.
    """
    fig, (left, right) = new_figure(ncols=2)
    for ax, name, labels in ((left, "grad_norm_during_training", NORM_LABELS),
                             (right, "loss_during_training", LOSS_LABELS)):
        series = result.series[name]
        for index, (key, label) in enumerate(labels.items()):
            mean, std = series.y[key], series.y_std[key]
            plot_with_band(ax, series.x, mean,
                           [max(m - s, m / 10) for m, s in zip(mean, std, strict=True)],
                           [m + s for m, s in zip(mean, std, strict=True)], label, index)
        ax.set_yscale("log")
        ax.set_xlabel("gradient-descent step")
    left.axhline(result.params["threshold"], color="black", linewidth=0.8, linestyle=":",
                 label=f"threshold c = {result.params['threshold']:g}")
    left.set_ylabel("gradient norm ||grad E||")
    right.set_ylabel(f"error E_{result.params['T']}")
    left.legend(loc="lower left", fontsize=7)
    right.legend(loc="lower left", fontsize=7)
    return fig


FIGURES = {"error_surface_cliff": draw_error_surface_cliff,
           "grad_norm_during_training": draw_grad_norm_during_training}
