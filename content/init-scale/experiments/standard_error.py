"""The spread of a sample mean shrinks like 1/sqrt(n): a first experiment to copy.

    topicgen run standard-error --profile quick -p sizes=4,64,1024 --json

Draw n independent values with standard deviation sigma = 1 and average them: the average
varies from sample to sample with standard deviation sigma / sqrt(n), the standard error
(Wasserman 2004, §5.2). We draw `repeats` samples of each size n, measure the spread of their
means, and fit the slope of log(spread) against log(n), which theory puts at -1/2.

Replace it with your own: keep `Params`, `run` and `claims`, and the figures file beside it
(standard_error_figures.py). docs/writing-experiments.md explains each part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, param

SUMMARY = "Spread of a sample mean against the sample size n, beside sigma / sqrt(n)."


@dataclass(frozen=True)
class Params:
    # Four to 1024 draws: two and a half decades, enough to read a slope off a log-log plot.
    sizes: tuple[int, ...] = param((4, 16, 64, 256, 1024), "sample sizes n",
                                   min=2, max=100_000)
    # 2000 means per size pin their spread down to about 1.6% (1 / sqrt(2 * 2000)).
    repeats: int = param(2000, "samples drawn at each size", min=10, max=100_000)


QUICK = {"repeats": 500}

# The fit may miss -1/2 by this much. With 500 repeats each spread is off by ~3%, which moves
# a slope fitted over ln(1024 / 4) = 5.5 by about 0.01; 0.05 leaves room, yet a spread that
# shrank like 1/n (slope -1) or not at all (slope 0) fails by far.
SLOPE_TOLERANCE = 0.05


def run(params: Params, ctx: Context) -> Result:
    gen = torch.Generator(device=ctx.device).manual_seed(ctx.seed)
    spreads = []
    for n in params.sizes:
        draws = torch.randn((params.repeats, n), generator=gen, dtype=torch.float64,
                            device=ctx.device)  # (repeats, n)
        spreads.append(draws.mean(dim=1).std().item())  # spread of the `repeats` means
    slope = fitted_slope([math.log(n) for n in params.sizes], [math.log(s) for s in spreads])
    theory = [1 / math.sqrt(n) for n in params.sizes]
    series = {"spread": Series(list(params.sizes), "sample size n",
                               {"measured": spreads, "theory: 1/sqrt(n)": theory},
                               "standard deviation of the sample mean")}
    return Result("standard-error", as_dict(params), series, {"slope": slope})


def fitted_slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of y against x."""
    mean_x, mean_y = sum(x) / len(x), sum(y) / len(y)
    covariance = sum((a - mean_x) * (b - mean_y) for a, b in zip(x, y, strict=True))
    return covariance / sum((a - mean_x) ** 2 for a in x)


def claims(result: Result) -> list[Claim]:
    slope = result.scalars["slope"]
    return [Claim(
        id="one-over-root-n",
        statement="The spread of a sample mean falls like 1/sqrt(n) (Wasserman 2004, §5.2).",
        expected="slope of log spread against log n = -0.5",
        measured=f"slope {slope:.3f}",
        tolerance=f"± {SLOPE_TOLERANCE}",
        passed=abs(slope + 0.5) <= SLOPE_TOLERANCE,
    )]
