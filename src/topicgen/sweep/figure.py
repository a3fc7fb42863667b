"""One figure per scalar: its value against the first swept parameter, one line per
combination of the others, each point marked by the verdict of its claims.

Drawn in the house style (figures.style) as SVG whose `<title>` is the alt text read from
the drawing, like every experiment figure. A point is marked filled where every claim judged
there holds, with a cross in the failure colour where one fails, and hollow where none was
judged: shape and colour both differ, so the marks survive colour blindness and greyscale.
The legend lists the marks the figure uses.
"""

from __future__ import annotations

import math
from typing import Any

from topicgen.build import Run
from topicgen.sweep.grid import Grid

FAIL_COLOUR = "#D55E00"  # Okabe and Ito's vermillion, kept out of the lines' colours
VERDICT_LABELS = {"holds": "every judged claim holds", "fails": "a claim fails",
                  "none": "no claim judged"}
MAX_TICKS = 10
"""A log x axis with at most this many swept values is ticked at each of them."""
LOG_Y_SPAN = 1e3
"""Positive values spanning more than three decades (a gradient norm) get a log y axis."""


def verdict(run: Run) -> str:
    """holds, fails or none: what the point's marker shows."""
    judged = [claim.passed for claim in run.result.claims if claim.passed is not None]
    return "none" if not judged else "holds" if all(judged) else "fails"


def draw_scalar(runs: list[Run], grid: Grid, scalar: str) -> bytes:
    """The SVG of `scalar` against the first swept parameter."""
    from topicgen.figures.alt import describe
    from topicgen.figures.style import LINESTYLES, PALETTE, new_figure, to_svg
    from topicgen.svg import with_title

    x_name, *others = grid.swept
    colours = [colour for colour in PALETTE if colour != FAIL_COLOUR]
    fig, (ax,) = new_figure()
    grouped = lines(runs, others, scalar)
    for index, (label, line) in enumerate(grouped.items()):
        style = {"color": colours[index % len(colours)],
                 "linestyle": LINESTYLES[index % len(LINESTYLES)]}
        plot_line(ax, [(x_of(run.params[x_name]), y, verdict(run)) for run, y in line],
                  label, style)
    seen = {verdict(run) for run in runs}
    for kind, marker in markers("black").items():  # legend entries only: no data
        if kind in seen:
            ax.plot([], [], linestyle="none", label=VERDICT_LABELS[kind], **marker)
    if x_name in grid.log:
        log_x(ax, grid.swept[x_name])
    ys = [y for line in grouped.values() for _, y in line if math.isfinite(y)]
    if ys and min(ys) > 0 and max(ys) > LOG_Y_SPAN * min(ys):
        ax.set_yscale("log")
    ax.set_xlabel(x_name)
    ax.set_ylabel(scalar)
    ax.set_title(runs[0].exp.name)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    alt = describe(fig)
    return with_title(to_svg(fig), alt).encode("utf-8")


def log_x(ax, values: list[float]) -> None:
    """A log x axis labelled in plain numbers (0.5, not 5 x 10^-1), at the swept values
    where they are few enough to read."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    ax.set_xscale("log")
    if len(values) <= MAX_TICKS:
        ax.xaxis.set_major_locator(FixedLocator(values))
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))


def lines(runs: list[Run], others: list[str], scalar: str
          ) -> dict[str, list[tuple[Run, float]]]:
    """label -> (run, value) of each point with those values of the `others` (the scalar
    alone for a single swept parameter)."""
    found: dict[str, list[tuple[Run, float]]] = {}
    for run in runs:
        label = ", ".join(f"{name}={run.params[name]}" for name in others) or scalar
        value = run.result.scalars.get(scalar)
        found.setdefault(label, []).append((run, math.nan if value is None else float(value)))
    return found


def x_of(value: Any) -> Any:
    """A number as it is; a word or flag as a category of the x axis."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else str(value)


def plot_line(ax, points: list[tuple[Any, float, str]], label: str, style: dict) -> None:
    """The line through `points` (x, y, verdict), in x order where x is a number, then each
    point's marker."""
    if all(not isinstance(x, str) for x, _, _ in points):
        points = sorted(points, key=lambda point: point[0])
    ax.plot([x for x, _, _ in points], [y for _, y, _ in points], label=label, **style)
    for kind, marker in markers(style["color"]).items():
        chosen = [(x, y) for x, y, seen in points if seen == kind]
        if chosen:
            ax.plot([x for x, _ in chosen], [y for _, y in chosen], linestyle="none",
                    zorder=3, **marker)


def markers(colour: str) -> dict[str, dict[str, Any]]:
    """How each verdict is marked on a line of `colour`."""
    return {"holds": {"marker": "o", "color": colour},
            "fails": {"marker": "X", "markersize": 8, "color": FAIL_COLOUR,
                      "markeredgecolor": "black", "markeredgewidth": 0.5},
            "none": {"marker": "o", "color": colour, "markerfacecolor": "white"}}
