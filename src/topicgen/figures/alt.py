"""Alt text read from a drawn figure: what each panel plots and where each curve goes.

It is read from the matplotlib objects just before saving, so it describes exactly what
was drawn (labels, scales and the plotted numbers), never what a caption hopes was drawn.
"""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.colors import LogNorm
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D

from topicgen.figures.style import Log10Formatter

MAX_CURVES = 6  # a screen reader user wants the gist, not every curve of a busy panel


def describe(fig: Figure) -> str:
    # A colour bar is the key of the heat map beside it, described with that map.
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.has_data()
              and not hasattr(ax, "_colorbar")]
    texts, left = [], {"x": "", "y": ""}
    for ax in panels:
        # Panels side by side label a quantity they share once, on the first: an unlabelled
        # axis takes the label of the panel to its left.
        left = {which: axis_label(ax, which) or left[which] for which in left}
        texts.append(describe_axes(ax, left["x"] or "x", left["y"] or "value"))
    if len(texts) <= 1:
        return texts[0] if texts else "An empty figure."
    return f"{len(texts)} panels. " + " ".join(
        f"Panel {number}: {text}" for number, text in enumerate(texts, start=1))


def describe_axes(ax: Axes, x_label: str, y_label: str) -> str:
    powers = isinstance(ax.yaxis.get_major_formatter(), Log10Formatter)  # log10 data
    scale = " (log scale)" if ax.get_yscale() in ("log", "symlog") or powers else ""
    title = f"{words(ax.get_title())}: " if ax.get_title() else ""
    text = f"{title}{y_label}{scale} against {x_label}."
    text += "".join(f" {heat_map(mesh)}." for mesh in [*ax.collections, *ax.images]
                    if isinstance(mesh, (QuadMesh, AxesImage)))
    drawn = [line for line in ax.get_lines() if len(line.get_xdata()) > 0]  # not legend proxies
    # The labelled curves; a panel's only curve, unlabelled, is described too.
    curves = [line for line in drawn if not line.get_label().startswith("_")] or \
        (drawn if len(drawn) == 1 else [])
    trends = [trend(line, x_label, powers) for line in curves[:MAX_CURVES]]
    text += "".join(f" {t}." for t in trends if t)
    if len(curves) > MAX_CURVES:
        more = len(curves) - MAX_CURVES
        text += f" And {more} more curve{'s' if more > 1 else ''}."
    if not curves and len(drawn) > 1:
        text += f" {len(drawn)} unlabelled curves."
    scatters = [points for points in ax.collections if isinstance(points, PathCollection)]
    labelled = [points for points in scatters if not points.get_label().startswith("_")]
    text += "".join(f" {scattered(points, y_label, powers)}." for points in
                    (labelled or scatters[:1]))
    text += "".join(f" {bars(container, x_label, y_label, powers)}."
                    for container in ax.containers if isinstance(container, BarContainer))
    return text


def axis_label(ax: Axes, which: str) -> str:
    """The panel's label of its x or y axis, or, where it shares that axis with a panel that
    labels it for both (subplots with sharey=True label only the first), that label."""
    own = words(getattr(ax, f"get_{which}label")())
    if own:
        return own
    shared = ax.get_shared_y_axes() if which == "y" else ax.get_shared_x_axes()
    return next((words(getattr(other, f"get_{which}label")())
                 for other in shared.get_siblings(ax)
                 if getattr(other, f"get_{which}label")()), "")


def trend(line: Line2D, x_label: str = "x", powers: bool = False) -> str:
    """'<label> falls from 1 to 2.1e-05 as <x_label> goes from 0 to 99' for one curve
    (`powers`: its values are log10 of what the axis shows, read as powers of ten)."""
    # Converted: categories and dates as the axis places them.
    log = line.axes.get_yscale() == "log"  # where a value <= 0 is not drawn at all
    points = [(float(x), float(y)) for x, y in zip(line.get_xdata(orig=False),
                                                  line.get_ydata(orig=False), strict=False)
              if _finite(x) and _finite(y) and not (log and float(y) <= 0)]
    label = "" if line.get_label().startswith("_") else words(line.get_label())
    if not label:  # the panel's only curve
        label = "the curve"
    if len({x for x, _ in points}) == 1 and len(points) > 1:
        return f"{label}: a vertical line at x = {points[0][0]:.3g}"
    if line.get_transform() is not line.axes.transData and len({y for _, y in points}) == 1:
        return f"{label}: a horizontal line at {number(points[0][1], powers)}"  # axhline
    if len(points) < 2:
        if not points:
            return f"{label}: no value that can be drawn"
        x, y = points[0]
        return f"{label}: a single point, {number(y, powers)} at {short(x_label)} = {x:g}"
    (x0, y0), (x1, y1) = points[0], points[-1]
    low, high = min(y for _, y in points), max(y for _, y in points)
    if math.isclose(y0, y1, rel_tol=0.05, abs_tol=1e-12):
        shape = f"stays near {number(y0, powers)}"
    else:
        shape = (f"{'rises' if y1 > y0 else 'falls'} from {number(y0, powers)} to "
                 f"{number(y1, powers)}")
    # Beyond the ends by 5% of their size: a margin that also holds for negative values.
    margin = 0.05 * max(abs(y0), abs(y1))
    if low < min(y0, y1) - margin or high > max(y0, y1) + margin:
        shape += f" (between {number(low, powers)} and {number(high, powers)} on the way)"
    return f"{label} {shape} as {x_label} goes from {x0:.4g} to {x1:.4g}"


def heat_map(mesh: QuadMesh | AxesImage) -> str:
    """'A heat map of <the colour bar's label>, from <lowest> to <highest>' (an image too)."""
    values = [float(v) for v in mesh.get_array().compressed() if _finite(v)]
    bar = mesh.colorbar
    key = words(bar.ax.get_ylabel() or bar.ax.get_xlabel()) if bar is not None else ""
    scale = " (log scale)" if isinstance(mesh.norm, LogNorm) else ""
    what = f"a heat map of {key or 'values'}{scale}"
    if not values:
        return f"{what[0].upper()}{what[1:]}, with no finite values"
    return f"{what[0].upper()}{what[1:]}, from {min(values):.3g} to {max(values):.3g}"


def scattered(points: PathCollection, y_label: str, powers: bool) -> str:
    """'<label>: 12 points, <y_label> from <lowest> to <highest>'."""
    ys = [float(y) for _, y in points.get_offsets() if _finite(y)]
    label = "points" if points.get_label().startswith("_") else words(points.get_label())
    if not ys:
        return f"{label}: no finite points"
    return (f"{label}: {len(ys)} point{'s' if len(ys) > 1 else ''}, {y_label} from "
            f"{number(min(ys), powers)} to {number(max(ys), powers)}")


def bars(container: BarContainer, x_label: str, y_label: str, powers: bool) -> str:
    """'<label>: 5 bars, <y_label> from <lowest> to <highest>' (a histogram's counts too;
    horizontal bars measure along x)."""
    horizontal = container.orientation == "horizontal"
    size, y_label = ("get_width", x_label) if horizontal else ("get_height", y_label)
    heights = [float(getattr(bar, size)()) for bar in container
               if _finite(getattr(bar, size)())]
    label = container.get_label()
    label = "bars" if not label or label.startswith("_") else words(label)
    if not heights:
        return f"{label}: no finite bars"
    return (f"{label}: {len(heights)} bar{'s' if len(heights) > 1 else ''}, {y_label} from "
            f"{number(min(heights), powers)} to {number(max(heights), powers)}")


def number(value: float, powers: bool = False) -> str:
    """`value` to three figures; with `powers`, 10^value (-17.2 reads 6.31e-18), written
    from its exponent so that no value overflows."""
    if not powers:
        return f"{value:.3g}"
    exponent = math.floor(value)
    mantissa = round(10 ** (value - exponent), 2)
    if mantissa >= 10:  # 9.996 rounds up into the next decade
        mantissa, exponent = 1.0, exponent + 1
    if -3 <= exponent < 4:
        return f"{mantissa * 10 ** exponent:.3g}"
    return f"{mantissa:.3g}e{exponent:+03d}"


def short(label: str) -> str:
    """An axis label without what follows a colon or opens a bracket: "sequence length T" of
    "sequence length T: the first marked value is held T/2 to T steps"."""
    return label.split(":")[0].split(" (")[0].strip()


def words(text: str) -> str:
    """Matplotlib mathtext without the dollar signs and backslashes a reader would hear."""
    return " ".join(text.replace("$", "").replace("\\", "").split())


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
