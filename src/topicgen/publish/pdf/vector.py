"""SVG drawn straight into PDF operators, for the SVG that topicgen itself makes.

A formula's SVG (topicgen.mathtex) is glyph outlines placed by <use>; a figure's (matplotlib,
glyphs as paths) is paths with a few style properties, rectangular clips and the same <use>.
Drawing that is a list of PDF path operators: Topic 4's 627 formulas take 0.65 s and 23 of its
24 figures 1.2 s, where WeasyPrint's general SVG renderer took 12 s and 9.3 s. Anything
outside this small vocabulary (another element, attribute, property, path command or colour
syntax) makes `svg_pdf` return None, and the SVG is drawn by WeasyPrint (stamps.draw_alone).

The page has the geometry draw_alone gives a drawing: the SVG's box (16 px per em), its
TrimBox, and `margin_px` more on every side as its MediaBox; `currentColor` is `ink`.
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from topicgen.publish.pdf.part import PX

SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
EM_PX = 16.0
"""CSS px per em where draw_alone lays a drawing out: the default font size."""
SKIPPED = {"title", "desc", "metadata", "style", "defs", "clipPath"}
"""Elements that draw nothing where they stand (defs and clip paths are drawn when used)."""
ATTRIBUTES = {
    "svg": {"viewBox", "width", "height", "style", "role", "aria-labelledby", "aria-label",
            "lang", "data-mathra-version", "version", "id"},
    "g": {"id", "transform", "style", "fill", "stroke", "clip-path"},
    "path": {"id", "d", "transform", "style", "clip-path"},
    "use": {"href", XLINK_HREF, "x", "y", "transform", "style"},
    "rect": {"x", "y", "width", "height", "style", "clip-path"},
}
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
PATH_TOKEN = re.compile(rf"{NUMBER}|[A-Za-z]")
ARGUMENTS = {"M": 2, "L": 2, "C": 6, "Q": 4, "Z": 0, "z": 0}
"""The path commands of glyph outlines and matplotlib's paths (all absolute)."""
TRANSFORM = re.compile(r"\s*(translate|scale|rotate|matrix)\s*\(([^)]*)\)\s*,?")
CAPS = {"butt": 0, "round": 1, "square": 2}
JOINS = {"miter": 0, "round": 1, "bevel": 2}

Matrix = tuple[float, float, float, float, float, float]


class Unsupported(ValueError):
    """Something this module does not draw: WeasyPrint will."""


@dataclass(frozen=True)
class Paint:
    """The inherited properties that decide how a shape is painted (SVG's initial values)."""

    fill: str | None = "0 0 0"  # as PDF's "r g b"; None: none
    stroke: str | None = None
    fill_opacity: float = 1.0
    stroke_opacity: float = 1.0
    opacity: float = 1.0  # not inherited: set on a shape, it scales both of the above
    stroke_width: float = 1.0
    linecap: str = "butt"
    linejoin: str = "miter"
    dasharray: tuple[float, ...] = ()
    dashoffset: float = 0.0


def svg_pdf(svg: str, ink: str, margin_px: float) -> bytes | None:
    """A one-page PDF of `svg`, or None where it holds anything this module does not draw."""
    try:
        return Drawing(ET.fromstring(svg), ink).page(margin_px)
    except (ET.ParseError, ValueError, KeyError):  # Unsupported is a ValueError
        return None


class Drawing:
    """One SVG document on its way to PDF operators."""

    def __init__(self, root: ET.Element, ink: str):
        if tag(root) != "svg":
            raise Unsupported("not an svg")
        self.root = root
        self.ink = ink
        self.by_id = {element.get("id"): element for element in root.iter() if element.get("id")}
        self.every_element = tuple(universal_rule(root).items())
        self.states: dict[tuple[float, float], str] = {}  # (ca, CA) -> ExtGState name

    def page(self, margin_px: float) -> bytes:
        import pikepdf

        from topicgen.publish.pdf.stamps import save

        root = self.root
        check_attributes(root, "svg")
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
        operators = [cm((scale * PX, 0, 0, -scale * PX, margin + dx * PX, top - dy * PX)),
                     # Clipped to its viewport, as a browser and WeasyPrint clip an inline SVG
                     # (an italic glyph may overhang its box).
                     f"{num(-dx / scale)} {num(-dy / scale)} {num(width / scale)} "
                     f"{num(height / scale)} re W n",
                     "4 M"]  # SVG's miter limit; PDF's is 10
        paint = self.styled(root, Paint())
        for child in root:
            operators += self.draw(child, paint)
        with pikepdf.new() as pdf:
            pdf.add_blank_page(page_size=(margin + width * PX + margin, top + margin))
            drawing = pdf.pages[0]
            drawing.trimbox = [margin, margin, margin + width * PX, top]
            drawing.Contents = pdf.make_stream(("\n".join(operators) + "\n").encode())
            if self.states:
                drawing.Resources = pikepdf.Dictionary(ExtGState=pikepdf.Dictionary({
                    f"/{name}": pikepdf.Dictionary(Type=pikepdf.Name.ExtGState, ca=ca, CA=big)
                    for (ca, big), name in self.states.items()}))
            return save(pdf)

    def draw(self, element: ET.Element, inherited: Paint) -> list[str]:
        """PDF operators drawing `element` (and what it holds) where it stands."""
        name = tag(element)
        if name in SKIPPED:
            return []
        if name not in ATTRIBUTES or name == "svg":
            raise Unsupported(f"<{name}>")
        check_attributes(element, name)
        paint = self.styled(element, inherited)
        inner = [*transform(element.get("transform")), *self.clip(element.get("clip-path"))]
        if name == "g":
            if paint.opacity != 1:
                raise Unsupported("a group's opacity")
            return ["q", *inner, *[op for child in element for op in self.draw(child, paint)],
                    "Q"]
        if name == "use":
            target = self.by_id.get((element.get("href") or element.get(XLINK_HREF) or "")
                                    .removeprefix("#"))
            if target is None or tag(target) != "path":
                raise Unsupported("<use> of something other than a path")
            x, y = float(element.get("x", "0")), float(element.get("y", "0"))
            return ["q", *inner, cm((1, 0, 0, 1, x, y)), *self.draw_shape(target, paint), "Q"]
        return ["q", *inner, *self.draw_shape(element, paint, styled=True), "Q"]

    def draw_shape(self, element: ET.Element, inherited: Paint, styled: bool = False
                   ) -> list[str]:
        """A path or rect painted with its paint; `styled`: `inherited` is its own already."""
        name = tag(element)
        check_attributes(element, name)
        if not styled:  # a path a <use> places: the use's opacity applies to it too
            own = self.styled(element, inherited)
            inherited = replace(own, opacity=own.opacity * inherited.opacity)
        paint = inherited
        if name == "path":
            shape = outline(element.get("d", ""))
        else:
            x, y, w, h = (float(element.get(key, "0")) for key in ("x", "y", "width", "height"))
            shape = [f"{num(x)} {num(y)} {num(w)} {num(h)} re"]
        inner = [] if styled else [*transform(element.get("transform")),
                                   *self.clip(element.get("clip-path"))]
        return [*inner, *self.graphics_state(paint), *shape, painting(paint)]

    def styled(self, element: ET.Element, inherited: Paint) -> Paint:
        return paint_of(inherited, element.get("fill"), element.get("stroke"),
                        element.get("style", ""), self.every_element, self.ink)

    def clip(self, reference: str | None) -> list[str]:
        """`url(#id)` of a clipPath holding rectangles: their union as the clip."""
        if not reference:
            return []
        match = re.fullmatch(r"url\(#([^)]+)\)", reference.strip())
        target = self.by_id.get(match.group(1)) if match else None
        if target is None or tag(target) != "clipPath" or set(target.attrib) - {"id"} \
                or not len(target):
            raise Unsupported(f"clip-path {reference!r}")
        rectangles = []
        for rect in target:
            if tag(rect) != "rect" or set(rect.attrib) - {"x", "y", "width", "height"}:
                raise Unsupported("a clip other than rectangles")
            x, y, w, h = (float(rect.get(key, "0")) for key in ("x", "y", "width", "height"))
            rectangles.append(f"{num(x)} {num(y)} {num(w)} {num(h)} re")
        return [*rectangles, "W n"]

    def graphics_state(self, paint: Paint) -> list[str]:
        found = []
        if paint.fill is not None:
            found.append(f"{paint.fill} rg")
        if paint.stroke is not None:
            found += [f"{paint.stroke} RG", f"{num(paint.stroke_width)} w",
                      f"{CAPS[paint.linecap]} J", f"{JOINS[paint.linejoin]} j",
                      f"[{' '.join(map(num, paint.dasharray))}] {num(paint.dashoffset)} d"]
        alphas = (round(paint.fill_opacity * paint.opacity, 4),
                  round(paint.stroke_opacity * paint.opacity, 4))
        if alphas != (1, 1):
            name = self.states.setdefault(alphas, f"TgAlpha{len(self.states)}")
            found.append(f"/{name} gs")
        return found


@functools.lru_cache(maxsize=4096)
def paint_of(inherited: Paint, fill: str | None, stroke: str | None, style: str,
             every_element: tuple[tuple[str, str], ...], ink: str) -> Paint:
    """An element's paint: inherited, then its fill/stroke attributes, then the rule for
    every element in <style>, then its own style attribute (CSS's order). Memoised: a
    chapter's formulas and figures ask for a few dozen combinations thousands of times."""
    paint = replace(inherited, opacity=1.0)
    declared = {key: value for key, value in (("fill", fill), ("stroke", stroke)) if value}
    declared.update(every_element)
    declared.update(declarations(style))
    for key, value in declared.items():
        paint = apply(paint, key, value, ink)
    return paint


def universal_rule(root: ET.Element) -> dict[str, str]:
    """The declarations of `*{...}` in the SVG's <style> (matplotlib's default line joins and
    caps); a rule for the root's colour (mathra's) is ignored: currentColor is the ink."""
    found: dict[str, str] = {}
    for style in root.iter(f"{SVG_NS}style"):
        for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", style.text or ""):
            if selector.strip() == "*":
                found.update(declarations(body))
            elif selector.strip() != "svg:root" or set(declarations(body)) - {"color"}:
                raise Unsupported(f"CSS rule {selector.strip()!r}")
    return found


def declarations(text: str) -> dict[str, str]:
    pairs = [item.split(":", 1) for item in text.split(";") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise Unsupported(f"style {text!r}")
    return {key.strip(): value.strip() for key, value in pairs}


NUMBERS = {"fill-opacity": "fill_opacity", "stroke-opacity": "stroke_opacity",
           "opacity": "opacity", "stroke-width": "stroke_width",
           "stroke-dashoffset": "dashoffset"}
IGNORED = {"vertical-align"}
"""Properties that do not change the drawing (mathra places a formula on the baseline so)."""


def apply(paint: Paint, key: str, value: str, ink: str) -> Paint:
    """`paint` with one property set."""
    if key in IGNORED:
        return paint
    if key in ("fill", "stroke"):
        return replace(paint, **{key: color(value, ink)})
    if key in NUMBERS:
        return replace(paint, **{NUMBERS[key]: float(value)})
    if key == "stroke-linecap" and value in CAPS:
        return replace(paint, linecap=value)
    if key == "stroke-linejoin" and value in JOINS:
        return replace(paint, linejoin=value)
    if key == "stroke-dasharray":
        dashes = () if value == "none" else tuple(float(v) for v in re.split(r"[\s,]+", value))
        if any(d < 0 for d in dashes) or (dashes and not any(dashes)):
            raise Unsupported(f"dashes {value!r}")
        return replace(paint, dasharray=dashes)
    raise Unsupported(f"property {key}: {value}")


def color(value: str, ink: str) -> str | None:
    """A colour ("#rgb", "#rrggbb", currentColor: `ink`) as PDF's "r g b"; None for none."""
    if value == "none":
        return None
    if value == "currentColor":
        value = ink
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        value = "#" + "".join(c * 2 for c in value[1:])
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise Unsupported(f"colour {value!r}")
    return " ".join(num(int(value[i:i + 2], 16) / 255) for i in (1, 3, 5))


def painting(paint: Paint) -> str:
    """The operator that paints the current path: fill and stroke, one, or neither."""
    return {(True, True): "B", (True, False): "f", (False, True): "S",
            (False, False): "n"}[(paint.fill is not None, paint.stroke is not None)]


@functools.lru_cache(maxsize=4096)
def outline(d: str) -> tuple[str, ...]:
    """An SVG path's absolute M, L, C, Q and Z commands as PDF path operators. Memoised: a
    formula places each glyph's outline by <use>, and Topic 4's 935 formulas and figures ask
    for 11,918 outlines of which 993 differ (half the time vector drawing took)."""
    tokens = PATH_TOKEN.findall(d)
    operators: list[str] = []
    command, here, start = "", (0.0, 0.0), (0.0, 0.0)
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
            command, start = "L", (values[0], values[1])  # further pairs draw lines
        elif command == "L":
            operators.append(f"{num(values[0])} {num(values[1])} l")
        elif command == "C":
            operators.append(" ".join(map(num, values)) + " c")
        elif command == "Q":  # the same curve as a cubic: control points 2/3 of the way
            (qx, qy), (x, y) = values[:2], values[2:]
            first = (here[0] + 2 / 3 * (qx - here[0]), here[1] + 2 / 3 * (qy - here[1]))
            second = (x + 2 / 3 * (qx - x), y + 2 / 3 * (qy - y))
            operators.append(" ".join(map(num, (*first, *second, x, y))) + " c")
        else:
            operators.append("h")
            here = start
            continue
        here = (values[-2], values[-1])
    return tuple(operators)


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
        elif kind == "rotate" and len(values) == 1:
            angle = math.radians(values[0])
            step = (math.cos(angle), math.sin(angle), -math.sin(angle), math.cos(angle), 0, 0)
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
    """The `cm` operator; PDF has no exponents, so eight decimals (glyph scales are ~1e-3)."""
    return " ".join(num(v, 8) for v in matrix) + " cm"


def num(value: float, decimals: int = 3) -> str:
    """A number with at most `decimals` decimals and no trailing zeros: the same bytes on
    every run."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def length(text: str) -> float:
    """A width or height attribute in CSS px (em at EM_PX)."""
    match = re.fullmatch(rf"\s*({NUMBER})\s*(em|px|pt)?\s*", text)
    if not match:
        raise Unsupported(f"length {text!r}")
    return float(match.group(1)) * {"em": EM_PX, "px": 1.0, "pt": 4 / 3, None: 1.0}[
        match.group(2)]


def tag(element: ET.Element) -> str:
    name = element.tag
    if not isinstance(name, str) or not name.startswith(SVG_NS):
        raise Unsupported(f"element {name!r} outside SVG")
    return name[len(SVG_NS):]


def check_attributes(element: ET.Element, name: str) -> None:
    extra = set(element.attrib) - ATTRIBUTES[name]
    if extra:
        raise Unsupported(f"attributes {sorted(extra)} on <{name}>")
