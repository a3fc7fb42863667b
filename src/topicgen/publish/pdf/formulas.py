"""Formulas drawn straight into PDF operators, without a layout engine.

A formula's SVG (topicgen.mathtex) is a handful of glyph outlines in <defs>, placed by <use>
elements inside one filled <g>, and perhaps a few <rect> rules (fraction bars, roots). Drawing
that is a list of PDF path operators: about a millisecond, where WeasyPrint's general SVG
renderer takes twenty, and a handout holds hundreds of formulas. Anything outside that small
vocabulary (another element, attribute, path command or colour) is left to WeasyPrint:
`formula_pdf` returns None and stamps.draw_alone draws it.

The page has the geometry draw_alone gives a drawing: the SVG's box at 16 px per em, its
TrimBox, and MARGIN more on every side as its MediaBox; the formula is filled in INK.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from topicgen.publish.pdf.part import PX

SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
EM_PX = 16.0
"""CSS px per em where draw_alone lays a drawing out: the default font size."""
SKIPPED = {"title", "desc", "style", "metadata"}
"""Elements that draw nothing (the formula's colour is INK whatever its <style> says)."""
ALLOWED = {
    "svg": {"viewBox", "width", "height", "style", "role", "aria-labelledby",
            "aria-label", "lang", "data-mathra-version", "version", "id"},
    "defs": set(),
    "g": {"fill", "stroke", "transform", "id"},
    "use": {"href", XLINK_HREF, "x", "y", "transform"},
    "path": {"d", "id", "transform"},
    "rect": {"x", "y", "width", "height"},
}
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
PATH_TOKEN = re.compile(rf"{NUMBER}|[A-Za-z]")
TRANSFORM = re.compile(r"\s*(translate|scale|matrix)\s*\(([^)]*)\)\s*,?")
ARGUMENTS = {"M": 2, "L": 2, "C": 6, "Z": 0, "z": 0}
"""The path commands a glyph outline of the math font uses (cubic, absolute)."""

Matrix = tuple[float, float, float, float, float, float]


class Unsupported(ValueError):
    """Something this module does not draw: WeasyPrint will."""


def formula_pdf(svg: str, ink: str, margin_px: float) -> bytes | None:
    """A one-page PDF of `svg` filled with `ink` ("#rrggbb"), or None if it holds anything
    but glyphs placed by <use> and rectangles."""
    try:
        root = ET.fromstring(svg)
        return page(root, ink, margin_px)
    except (ET.ParseError, Unsupported, ValueError):
        return None


def page(root: ET.Element, ink: str, margin_px: float) -> bytes:
    import pikepdf

    from topicgen.publish.pdf.stamps import save

    if tag(root) != "svg":
        raise Unsupported("not an svg")
    check_attributes(root)
    vx, vy, vw, vh = (float(v) for v in re.split(r"[\s,]+", root.get("viewBox", "").strip()))
    width, height = length(root.get("width", "")), length(root.get("height", ""))
    if min(vw, vh, width, height) <= 0:
        raise Unsupported("an empty box")
    # viewBox -> box as preserveAspectRatio="xMidYMid meet", then CSS px -> PDF points with
    # y upwards; the box sits `margin` in from the page's corner.
    scale = min(width / vw, height / vh)
    dx, dy = (width - vw * scale) / 2 - vx * scale, (height - vh * scale) / 2 - vy * scale
    margin = margin_px * PX
    top = margin + height * PX
    paths = {element.get("id"): element for element in root.iter(f"{SVG_NS}path")
             if element.get("id")}
    red, green, blue = (int(ink[i:i + 2], 16) / 255 for i in (1, 3, 5))
    operators = [f"{red:.4f} {green:.4f} {blue:.4f} rg",
                 f"{cm((scale * PX, 0, 0, -scale * PX, margin + dx * PX, top - dy * PX))}"]
    for child in root:
        operators += draw(child, paths)
    box = [margin, margin, margin + width * PX, top]
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(box[2] + margin, box[3] + margin))
        drawing = pdf.pages[0]
        drawing.trimbox = box
        drawing.Contents = pdf.make_stream(("\n".join(operators) + "\n").encode())
        return save(pdf)


def draw(element: ET.Element, paths: dict[str, ET.Element]) -> list[str]:
    """PDF operators drawing `element` and what it holds."""
    name = tag(element)
    if name in SKIPPED:
        return []
    if name not in ALLOWED or name == "svg":
        raise Unsupported(f"<{name}>")
    check_attributes(element)
    if name == "defs":
        if any(tag(child) != "path" for child in element):
            raise Unsupported("defs other than paths")
        return []
    if name == "g":
        if element.get("fill", "currentColor") != "currentColor" \
                or element.get("stroke", "none") != "none":
            raise Unsupported("a colour of its own")
        inside = [operator for child in element for operator in draw(child, paths)]
        return ["q", *transform(element.get("transform")), *inside, "Q"]
    if name == "rect":
        x, y, w, h = (float(element.get(key, "0")) for key in ("x", "y", "width", "height"))
        return [f"{x:g} {y:g} {w:g} {h:g} re f"]
    if name == "path":  # drawn where it stands; a path with an id in <defs> was skipped
        return ["q", *transform(element.get("transform")), *outline(element.get("d", "")),
                "f", "Q"]
    href = element.get("href") or element.get(XLINK_HREF) or ""
    glyph = paths.get(href.removeprefix("#"))
    if glyph is None or glyph.get("transform"):
        raise Unsupported(f"<use> of {href!r}")
    x, y = float(element.get("x", "0")), float(element.get("y", "0"))
    return ["q", *transform(element.get("transform")), cm((1, 0, 0, 1, x, y)),
            *outline(glyph.get("d", "")), "f", "Q"]


def outline(d: str) -> list[str]:
    """An SVG path's absolute M, L, C and Z commands as PDF path operators."""
    tokens = PATH_TOKEN.findall(d)
    operators: list[str] = []
    command = ""
    i = 0
    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            if command not in ARGUMENTS:
                raise Unsupported(f"path command {command}")
        elif command in ("", "Z", "z"):
            raise Unsupported("a number with no command")
        count = ARGUMENTS[command]
        values = [float(v) for v in tokens[i:i + count]]
        if len(values) < count:
            raise Unsupported("a command short of numbers")
        i += count
        if command == "M":
            operators.append(f"{num(values[0])} {num(values[1])} m")
            command = "L"  # further pairs draw lines
        elif command == "L":
            operators.append(f"{num(values[0])} {num(values[1])} l")
        elif command == "C":
            operators.append(" ".join(map(num, values)) + " c")
        else:
            operators.append("h")
    return operators


def transform(text: str | None) -> list[str]:
    """An SVG transform list as one `cm` operator (none for no transform)."""
    if not text:
        return []
    matrix: Matrix = (1, 0, 0, 1, 0, 0)
    position = 0
    for match in TRANSFORM.finditer(text):
        if match.start() != position:
            raise Unsupported(f"transform {text!r}")
        position = match.end()
        kind, values = match.group(1), [float(v) for v in re.findall(NUMBER, match.group(2))]
        if kind == "translate" and len(values) in (1, 2):
            step: Matrix = (1, 0, 0, 1, values[0], values[1] if len(values) == 2 else 0)
        elif kind == "scale" and len(values) in (1, 2):
            step = (values[0], 0, 0, values[-1], 0, 0)
        elif kind == "matrix" and len(values) == 6:
            step = tuple(values)  # type: ignore[assignment]
        else:
            raise Unsupported(f"transform {text!r}")
        matrix = multiply(matrix, step)
    if position != len(text):
        raise Unsupported(f"transform {text!r}")
    return [cm(matrix)]


def multiply(outer: Matrix, inner: Matrix) -> Matrix:
    """The transform applying `inner` first, then `outer` (SVG lists them outer first)."""
    a, b, c, d, e, f = outer
    p, q, r, s, t, u = inner
    return (a * p + c * q, b * p + d * q, a * r + c * s, b * r + d * s,
            a * t + c * u + e, b * t + d * u + f)


def cm(matrix: Matrix) -> str:
    return " ".join(f"{v:.6g}" for v in matrix) + " cm"


def num(value: float) -> str:
    """A coordinate with three decimals at most, without trailing zeros: the same bytes on
    every run."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def length(text: str) -> float:
    """A width or height attribute in CSS px (em at EM_PX)."""
    match = re.fullmatch(rf"\s*({NUMBER})\s*(em|px|pt)?\s*", text)
    if not match:
        raise Unsupported(f"length {text!r}")
    value = float(match.group(1))
    return value * {"em": EM_PX, "px": 1.0, "pt": 4 / 3, None: 1.0}[match.group(2)]


def tag(element: ET.Element) -> str:
    name = element.tag
    if not isinstance(name, str) or not name.startswith(SVG_NS):
        raise Unsupported(f"element {name!r} outside SVG")
    return name[len(SVG_NS):]


def check_attributes(element: ET.Element) -> None:
    extra = set(element.attrib) - ALLOWED[tag(element)]
    if extra:
        raise Unsupported(f"attributes {sorted(extra)}")
