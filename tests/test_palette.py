"""The figures' palette stays tellable apart for readers with a colour-vision deficiency.

Each colour is seen as a protanope, deuteranope or tritanope would see it (Machado, Oliveira
and Fernandes 2009, "A physiologically-based model for simulation of color vision deficiency",
IEEE TVCG 15(6), severity 1.0, applied to linear sRGB), then every pair is compared by its
CIEDE2000 distance in CIELAB. `style_of` cycles through the whole palette, so a figure with as
many curves as colours shows every pair together: every pair must pass. And every colour must
stand out from the white figure background by WCAG's 3:1 for graphical objects (1.4.11).
"""

from __future__ import annotations

import itertools
import math

import pytest

from topicgen.figures.style import PALETTE

# CIEDE2000 of about 1 is the smallest difference seen between two large patches side by side.
# A legend swatch and a 1.6 pt line are small and apart, so a pair must be ten times that.
MIN_DISTANCE = 10.0

VISION = {
    "normal": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602),
                   (0.004733, 0.691367, 0.303900)),
}


def linear_rgb(colour: str) -> list[float]:
    """'#RRGGBB' -> linear-light sRGB in [0, 1]."""
    channels = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]


def seen(colour: str, vision: str) -> list[float]:
    """The linear RGB a reader with `vision` perceives, clipped to what a screen can show."""
    rgb = linear_rgb(colour)
    return [min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb, strict=True))))
            for row in VISION[vision]]


def lab(rgb: list[float]) -> tuple[float, float, float]:
    """Linear sRGB -> CIELAB under D65."""
    r, g, b = rgb
    xyz = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b,
           0.2126729 * r + 0.7151522 * g + 0.0721750 * b,
           0.0193339 * r + 0.1191920 * g + 0.9503041 * b)
    fx, fy, fz = (t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
                  for t in (xyz[0] / 0.95047, xyz[1], xyz[2] / 1.08883))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """The CIEDE2000 colour difference, as Sharma, Wu and Dalal (2005) spell it out."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    mean_c = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(mean_c**7 / (mean_c**7 + 25**7)))
    c1, c2 = math.hypot((1 + g) * a1, b1), math.hypot((1 + g) * a2, b2)
    h1, h2 = (math.degrees(math.atan2(b, (1 + g) * a)) % 360 if c else 0.0
              for a, b, c in ((a1, b1, c1), (a2, b2, c2)))
    dh = 0.0 if c1 * c2 == 0 else h2 - h1
    dh += 360 if dh < -180 else -360 if dh > 180 else 0
    d_l, d_c = l2 - l1, c2 - c1
    d_h = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh / 2))
    mean_l, mean_c = (l1 + l2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        mean_h = h1 + h2
    elif abs(h1 - h2) <= 180:
        mean_h = (h1 + h2) / 2
    else:
        mean_h = (h1 + h2 + (360 if h1 + h2 < 360 else -360)) / 2
    t = (1 - 0.17 * math.cos(math.radians(mean_h - 30)) + 0.24 * math.cos(math.radians(2 * mean_h))
         + 0.32 * math.cos(math.radians(3 * mean_h + 6))
         - 0.20 * math.cos(math.radians(4 * mean_h - 63)))
    rotation = -math.sin(math.radians(60 * math.exp(-(((mean_h - 275) / 25) ** 2)))) \
        * 2 * math.sqrt(mean_c**7 / (mean_c**7 + 25**7))
    s_l = 1 + 0.015 * (mean_l - 50) ** 2 / math.sqrt(20 + (mean_l - 50) ** 2)
    s_c, s_h = 1 + 0.045 * mean_c, 1 + 0.015 * mean_c * t
    return math.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2
                     + rotation * (d_c / s_c) * (d_h / s_h))


def too_close(palette: list[str]) -> list[str]:
    """Every pair of `palette` nearer than MIN_DISTANCE for some reader, as readable lines."""
    return [f"{vision}: {a} and {b} are {distance:.1f} apart"
            for vision in VISION for a, b in itertools.combinations(palette, 2)
            if (distance := ciede2000(lab(seen(a, vision)), lab(seen(b, vision))))
            < MIN_DISTANCE]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), [
    # Pairs 1, 7, 12, 16, 17 and 25 of Sharma, Wu and Dalal's test data: blue hues, a
    # neutral, hues half a turn apart either way round, a lightness step, a green.
    ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
    ((50, 0, 0), (50, -1, 2), 2.3669),
    ((50, 2.49, -0.001), (50, -2.49, 0.0009), 7.1792),
    ((50, -0.001, 2.49), (50, 0.0009, -2.49), 4.8045),
    ((50, 2.5, 0), (73, 25, -18), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
])
def test_ciede2000_matches_the_published_test_data(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)
    assert ciede2000(lab2, lab1) == pytest.approx(expected, abs=1e-4)


def test_the_check_rejects_a_palette_that_merges_for_a_protanope():
    # matplotlib's default green and orange: 52 apart for normal vision, 1.3 for a protanope.
    assert too_close(["#2CA02C", "#FF7F0E"]) == ["protanopia: #2CA02C and #FF7F0E are 1.3 apart"]


def test_every_pair_of_figure_colours_stays_apart_under_each_colour_vision_deficiency():
    assert len(set(PALETTE)) == len(PALETTE) >= 6
    assert too_close(PALETTE) == []


def contrast_with_white(colour: str) -> float:
    """WCAG 2.1's contrast ratio (L1 + 0.05) / (L2 + 0.05) against white (luminance 1)."""
    luminance = sum(w * c for w, c in zip((0.2126, 0.7152, 0.0722), linear_rgb(colour),
                                          strict=True))
    return 1.05 / (luminance + 0.05)


def test_contrast_is_computed_as_wcag_defines_it():
    # WCAG's own end points and a well-known middle: #767676 is the lightest grey at 4.5:1.
    assert contrast_with_white("#FFFFFF") == pytest.approx(1.0)
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)
    # Okabe and Ito's orange, which this palette replaced.
    assert contrast_with_white("#E69F00") < 3


def test_every_figure_colour_has_3_to_1_contrast_against_the_white_background():
    assert [c for c in PALETTE if contrast_with_white(c) < 3] == []
