"""The spread of a sample mean shrinks like 1/sqrt(n): a first experiment to copy.

    topicgen run standard-error --profile quick -p sizes=4,64,1024 --json

Draw n independent values with standard deviation sigma = 1 and average them: the average
varies from sample to sample with standard deviation sigma / sqrt(n), the standard error
(Wasserman 2004, §5.2). We draw `repeats` samples of each size n, measure the spread of their
means, and fit the slope of log(spread) against log(n), which theory puts at -1/2.

Replace it with your own: keep `Params`, `run` and `claims`, and the figures file beside it
(standard_error_figures.py). topicgen's docs/writing-experiments.md explains each part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, not_judged, param

SUMMARY = "Spread of a sample mean against the sample size n, beside sigma / sqrt(n)."


@dataclass(frozen=True)
class Params:
    # Four to 1024 draws: two and a half decades, enough to read a slope off a log-log plot.
    sizes: tuple[int, ...] = param((4, 16, 64, 256, 1024), "sample sizes n",
                                   min=2, max=100_000)
    # 2000 means per size pin their spread down to about 1.6% (1 / sqrt(2 * 2000)).
    repeats: int = param(2000, "samples drawn at each size", min=10, max=100_000)

    def check(self) -> None:
        # Each size's draws are one (repeats, n) tensor: the ranges above allow 10^10 numbers.
        if self.repeats * max(self.sizes) > MAX_DRAWS:
            raise ValueError(f"repeats x the largest size is {self.repeats * max(self.sizes):,}"
                             f" draws at once; at most {MAX_DRAWS:,} (800 MB of float64)")


MAX_DRAWS = 10**8


QUICK = {"repeats": 500}

# Each spread is measured from `repeats` means, so its logarithm varies by about
# 1 / sqrt(2 (repeats - 1)) (the sample standard deviation of normal values), and a slope
# fitted by least squares over the ln n by that over sqrt(sum((ln n - their mean)^2)). The
# claim allows Z such standard errors: a false alarm about once in 16,000 runs, while a
# spread that shrank like 1/n (slope -1) or not at all (slope 0) fails by far.
Z = 4.0
# Sizes too close together, or too few repeats, to tell -1/2 from 0 or -1 (a tolerance
# wider than this): the claim is not judged.
MAX_TOLERANCE = 0.25


def run(params: Params, ctx: Context) -> Result:
    gen = torch.Generator(device=ctx.device).manual_seed(ctx.seed)
    spreads = []
    for n in params.sizes:
        draws = torch.randn((params.repeats, n), generator=gen, dtype=torch.float64,
                            device=ctx.device)  # (repeats, n)
        spreads.append(draws.mean(dim=1).std().item())  # spread of the `repeats` means
    log_n = [math.log(n) for n in params.sizes]
    spread_of_log_n = sum((x - sum(log_n) / len(log_n)) ** 2 for x in log_n)
    scalars = {"slope": math.nan, "slope_standard_error": math.inf}  # one size: no slope
    if spread_of_log_n > 0:
        scalars["slope"] = fitted_slope(log_n, [math.log(s) for s in spreads])
        scalars["slope_standard_error"] = math.sqrt(1 / (2 * (params.repeats - 1))
                                                    / spread_of_log_n)
    theory = [1 / math.sqrt(n) for n in params.sizes]
    series = {"spread": Series(list(params.sizes), "sample size n",
                               {"measured": spreads, "theory: 1/sqrt(n)": theory},
                               "standard deviation of the sample mean")}
    return Result("standard-error", as_dict(params), series, scalars)


def fitted_slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of y against x."""
    mean_x, mean_y = sum(x) / len(x), sum(y) / len(y)
    covariance = sum((a - mean_x) * (b - mean_y) for a, b in zip(x, y, strict=True))
    return covariance / sum((a - mean_x) ** 2 for a in x)


def claims(result: Result) -> list[Claim]:
    statement = "The spread of a sample mean falls like 1/sqrt(n) (Wasserman 2004, §5.2)."
    expected = "slope of log spread against log n = -0.5"
    slope, error = result.scalars["slope"], result.scalars["slope_standard_error"]
    tolerance = Z * error
    if math.isnan(slope):
        return [not_judged("one-over-root-n", statement, expected,
                           "needs at least two sample sizes to fit a slope")]
    if tolerance > MAX_TOLERANCE:
        return [not_judged("one-over-root-n", statement, expected,
                           f"needs sizes far enough apart, and repeats enough, to tell a "
                           f"slope of -1/2 from 0 or -1 (here {Z:g} standard errors are "
                           f"{tolerance:.2g}, above {MAX_TOLERANCE})")]
    return [Claim(
        id="one-over-root-n",
        statement=statement,
        expected=expected,
        measured=f"slope {slope:.3f}",
        tolerance=f"± {tolerance:.3f} ({Z:g} standard errors of the fitted slope)",
        passed=abs(slope + 0.5) <= tolerance,
    )]
