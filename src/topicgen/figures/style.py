"""The one look every figure shares, and deterministic saving.

Sizes survive printing at A4 text width; the palette stays distinguishable under the common
colour-vision deficiencies and every colour has 3:1 contrast against the white figure
background (WCAG 2.1, 1.4.11: a curve is a graphical object the reader needs); line styles
differ too, so a greyscale print still tells the curves apart.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # never open a window; the same backend on every machine

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backend_bases import get_registered_canvas_class  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    Formatter,
    LogFormatterSciNotation,
    MaxNLocator,
)

# Okabe and Ito's blue, vermillion, bluish green, reddish purple and black; their orange and
# sky blue are under 2.4:1 against white, so Tol's indigo and a saddle brown take their places
# (the nearest pair for any simulated reader is 13.5 apart: tests/test_palette.py).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#332288", "#8B4513", "#000000"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (3, 1, 1, 1, 1, 1))]
TEXT_WIDTH_IN = 6.3  # A4 (210 mm) less 2 x 25 mm margins

STYLE = {
    "figure.figsize": (TEXT_WIDTH_IN, 3.0),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "font.family": "DejaVu Sans",  # ships with matplotlib, so every machine draws the same glyphs
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.6,
    "svg.fonttype": "path",  # glyphs as paths: the figure looks identical in HTML and PDF
    "svg.hashsalt": "topicgen",  # matplotlib otherwise salts SVG ids with a random uuid
}


# Set once for the process: matplotlib reads most of these when a label, line or legend is
# added, long after the figure was created, so a context around creation would not cover them.
plt.rcParams.update(STYLE)


def new_figure(ncols: int = 1, height: float = 3.0) -> tuple[Figure, list]:
    """A figure with `ncols` axes side by side, in the house style."""
    fig, axes = plt.subplots(1, ncols, figsize=(TEXT_WIDTH_IN, height), squeeze=False,
                             layout="constrained")
    return fig, list(axes[0])


def style_of(index: int) -> dict:
    return {"color": PALETTE[index % len(PALETTE)],
            "linestyle": LINESTYLES[index % len(LINESTYLES)]}


def plot_with_band(ax, x: Sequence[float], center: Sequence[float], low: Sequence[float],
                   high: Sequence[float], label: str, index: int) -> None:
    """A line with its seed spread shaded; non-finite points are marked, not dropped silently."""
    style = style_of(index)
    ax.plot(x, center, label=label, **style)
    ax.fill_between(x, low, high, color=style["color"], alpha=0.18, linewidth=0)
    bad = [xi for xi, yi in zip(x, center, strict=True) if not math.isfinite(yi)]
    if bad:
        ax.plot(bad, [1.0] * len(bad), marker="^", linestyle="none", color=style["color"],
                transform=ax.get_xaxis_transform(), clip_on=False,
                label=f"{label}: overflow (inf/NaN)")


def plot_log10_band(ax, x: Sequence[float], log_mean: Sequence[float],
                    log_std: Sequence[float], label: str, index: int) -> None:
    """A curve recorded as log10 values over seeds: the geometric mean, shaded one geometric
    standard deviation either side, on a log axis (it makes `ax`'s y axis one)."""
    if isinstance(ax.yaxis.get_major_formatter(), Log10Formatter):
        raise ValueError(MIXED_LOG_AXES)
    ax.set_yscale("log")
    plot_with_band(ax, x, [10**m for m in log_mean],
                   [10 ** (m - s) for m, s in zip(log_mean, log_std, strict=True)],
                   [10 ** (m + s) for m, s in zip(log_mean, log_std, strict=True)],
                   label, index)


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
MATHTEXT_POWER = re.compile(
    r"\$\\mathdefault\{(-?)(?:([0-9.]+)\\times)?([0-9.]+)\^\{(-?[0-9]+)\}\}\$")
"""matplotlib's log tick label: sign, coefficient (2×10⁻³, below a decade), base, exponent."""


class PowerOfTen(LogFormatterSciNotation):
    """Log-axis tick labels as plain text (10⁻³, 2×10⁻³) where matplotlib writes mathtext:
    they look the same, and parsing mathtext was a third of the time a figure took to draw."""

    def __init__(self, default: LogFormatterSciNotation):
        vars(self).update(vars(default))  # its base, thresholds and labelled decades

    def __call__(self, x: float, pos: int | None = None) -> str:
        label = super().__call__(x, pos)
        power = MATHTEXT_POWER.fullmatch(label)
        if power is None:  # "" (an unlabelled minor tick), or a plain $\mathdefault{5}$
            return re.sub(r"^\$\\mathdefault\{(.*)\}\$$", r"\1", label).replace("-", "\u2212")
        sign, coefficient, base, exponent = power.groups()
        return ("\u2212" if sign else "") + (f"{coefficient}\u00d7" if coefficient else "") + \
            base + exponent.translate(SUPERSCRIPT)


class Log10Formatter(Formatter):
    """A log10 value's tick label as the power of ten it stands for: 10⁻³ at -3. Its own
    class, so that the alt text knows the data are log10 values (figures.alt)."""

    def __call__(self, value, pos=None) -> str:
        return "10" + str(round(value)).translate(SUPERSCRIPT)


def log10_axis(axis) -> None:
    """Label an axis whose data are log10 values as powers of ten (10⁻³ at -3), with ticks on
    whole decades: a log scale for quantities spanning more decades than a log axis can
    draw (matplotlib's overflows, and collapses, where its padded limits pass float64's
    10^308; a gradient norm can span 10^-160 to 10^300 in one figure)."""
    if axis.get_scale() != "linear":
        raise ValueError(MIXED_LOG_AXES)
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(Log10Formatter())


MIXED_LOG_AXES = ("log10_axis labels log10 values drawn as they are on a linear axis, and "
                  "plot_log10_band draws 10^value on a log axis: together the axis reads "
                  "wrong by orders of magnitude; use one (plot_with_band draws log10 values "
                  "with their band for log10_axis)")
"""Both are for data recorded as log10 values; one figure's axis can take only one."""


def plain_log_ticks(fig: Figure) -> None:
    """Give every log axis left with matplotlib's default tick labels the plain-text ones."""
    for axis in (axis for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)):
        if type(axis.get_major_formatter()) is LogFormatterSciNotation:
            axis.set_major_formatter(PowerOfTen(axis.get_major_formatter()))
        if type(axis.get_minor_formatter()) is LogFormatterSciNotation:
            axis.set_minor_formatter(PowerOfTen(axis.get_minor_formatter()))


def to_svg(fig: Figure) -> str:
    """The figure as SVG text that is identical on every run (no dates, no random ids)."""
    buffer = io.StringIO()
    write(fig, buffer, "svg", STYLE["savefig.dpi"], {"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)  # drop RDF metadata
    return svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: the SVG is inlined


def save(fig: Figure, fmt: str, dpi: int = 200) -> bytes:
    """The figure as svg, png or pdf bytes, identical on every run."""
    if fmt == "svg":
        return to_svg(fig).encode("utf-8")
    # Without these keys matplotlib stamps its version and the current date into the file.
    metadata = {"png": {"Software": None},
                "pdf": {"Creator": None, "Producer": None, "CreationDate": None}}[fmt]
    buffer = io.BytesIO()
    write(fig, buffer, fmt, dpi, metadata)
    return buffer.getvalue()


def write(fig: Figure, buffer: io.IOBase, fmt: str, dpi: int, metadata: dict) -> None:
    """Save the figure into `buffer` with plain tick labels, laid out once, and close it."""
    plain_log_ticks(fig)  # first: the layout makes room for the labels as they will read
    lay_out(fig, fmt, dpi)
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    plt.close(fig)


def lay_out(fig: Figure, fmt: str, dpi: int) -> None:
    """Run the figure's layout engine (constrained layout) now, with the canvas and dots per
    inch that saving as `fmt` uses, and switch it off. Left on, `savefig` draws the whole
    figure once with output disabled just to lay it out, then again for real: that first
    draw was 10-20% of the time a figure took to save, and the file is the same bytes."""
    engine = fig.get_layout_engine()
    if engine is None:
        return
    canvas = get_registered_canvas_class(fmt)(fig)
    fig.set_dpi(canvas.fixed_dpi or dpi)  # vector formats measure text at 72 dpi
    engine.execute(fig)
    fig.set_layout_engine(None)
