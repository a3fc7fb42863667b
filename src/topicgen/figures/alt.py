"""Alt text read from a drawn figure: what each panel plots and where each curve goes.

It is read from the matplotlib objects just before saving, so it describes exactly what
was drawn (labels, scales and the plotted numbers), never what a caption hopes was drawn.
"""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

MAX_CURVES = 6  # a screen reader user wants the gist, not every curve of a busy panel


def describe(fig: Figure) -> str:
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]
    texts = [describe_axes(ax) for ax in panels]
    if len(texts) == 1:
        return texts[0]
    return f"{len(texts)} panels. " + " ".join(
        f"Panel {number}: {text}" for number, text in enumerate(texts, start=1))


def describe_axes(ax: Axes) -> str:
    y_label, x_label = words(ax.get_ylabel()) or "value", words(ax.get_xlabel()) or "x"
    scale = " (log scale)" if ax.get_yscale() in ("log", "symlog") else ""
    title = f"{words(ax.get_title())}: " if ax.get_title() else ""
    curves = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    text = f"{title}{y_label}{scale} against {x_label}."
    curves = [line for line in curves if len(line.get_xdata()) > 0]  # legend-only proxies
    trends = [trend(line, x_label) for line in curves[:MAX_CURVES]]
    text += "".join(f" {t}." for t in trends if t)
    if len(curves) > MAX_CURVES:
        text += f" And {len(curves) - MAX_CURVES} more curves."
    return text


def trend(line: Line2D, x_label: str = "x") -> str:
    """'<label> falls from 1 to 2.1e-05 as <x_label> goes from 0 to 99' for one curve."""
    points = [(float(x), float(y)) for x, y in zip(line.get_xdata(), line.get_ydata(),
                                                  strict=False)
              if _finite(x) and _finite(y)]
    label = words(line.get_label())
    if len({x for x, _ in points}) == 1 and len(points) > 1:
        return f"{label}: a vertical line at x = {points[0][0]:.3g}"
    if line.get_transform() is not line.axes.transData and len({y for _, y in points}) == 1:
        return f"{label}: a horizontal line at {points[0][1]:.3g}"  # axhline: x spans the axes
    if len(points) < 2:
        return f"{label}: a single point" if points else f"{label}: no finite values (overflow)"
    (x0, y0), (x1, y1) = points[0], points[-1]
    low, high = min(y for _, y in points), max(y for _, y in points)
    if math.isclose(y0, y1, rel_tol=0.05, abs_tol=1e-12):
        shape = f"stays near {y0:.3g}"
    else:
        shape = f"{'rises' if y1 > y0 else 'falls'} from {y0:.3g} to {y1:.3g}"
    # Beyond the ends by 5% of their size: a margin that also holds for negative values.
    margin = 0.05 * max(abs(y0), abs(y1))
    if low < min(y0, y1) - margin or high > max(y0, y1) + margin:
        shape += f" (between {low:.3g} and {high:.3g} on the way)"
    return f"{label} {shape} as {x_label} goes from {x0:g} to {x1:g}"


def words(text: str) -> str:
    """Matplotlib mathtext without the dollar signs and backslashes a reader would hear."""
    return " ".join(text.replace("$", "").replace("\\", "").split())


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
