"""sweep.csv and sweep.json: each point's parameters, scalars and claim verdicts.

sweep.csv is long form, one row per point and scalar (`<swept parameters...>, scalar, value`),
which any plotting tool reads as is; sweep.json holds everything else a reader needs to
trust or redo the sweep. A non-finite number (an exploding run) is an empty cell in the CSV,
and `null` in the JSON, listed under the point's `nonfinite`.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from topicgen.build import Run, claim_counts
from topicgen.config import Config
from topicgen.errors import UsageError, did_you_mean
from topicgen.sweep.grid import Grid


def every_scalar(runs: list[Run]) -> list[str]:
    """The scalars of any point, in the order they first appear (some exist at some
    parameters only, such as a float32-only measurement)."""
    return list(dict.fromkeys(name for run in runs for name in run.result.scalars))


def choose_scalars(runs: list[Run], wanted: tuple[str, ...]) -> list[str]:
    """`wanted` (in the order given), or every scalar when none is named."""
    found = every_scalar(runs)
    for name in wanted:
        if name not in found:
            raise UsageError(f'--scalar {name}: no point of the sweep has a scalar "{name}"'
                             + did_you_mean(name, found))
    return list(dict.fromkeys(wanted)) or found


def sweep_csv(runs: list[Run], grid: Grid, scalars: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*grid.swept, "scalar", "value"])
    for run in runs:
        point = [cell(run.params[name]) for name in grid.swept]
        for scalar in scalars:
            writer.writerow([*point, scalar, cell(run.result.scalars.get(scalar))])
    return buffer.getvalue()


def sweep_record(runs: list[Run], grid: Grid, config: Config, scalars: list[str],
                 figures: dict[str, str]) -> dict[str, Any]:
    """The content of sweep.json (publishing adds `outputs`, each file's sha256)."""
    points = [point_record(run) for run in runs]
    return {
        "experiment": runs[0].exp.name,
        "topic": config.topic,
        "profile": config.profile,
        "seed": config.seed,
        "device": config.device,
        "fixed": {name: runs[0].params[name] for name in grid.fixed},
        "swept": grid.swept,
        "log_spaced": sorted(grid.log),
        "scalars": scalars,
        "figures": figures,
        "claims": claim_counts([claim for point in points for claim in point["claims"]]),
        "points": points,
    }


def point_record(run: Run) -> dict[str, Any]:
    scalars = {name: finite(value) for name, value in run.result.scalars.items()}
    return {
        "params": run.params,
        "cached": run.cache_hit,
        "scalars": scalars,
        "nonfinite": [name for name, value in scalars.items() if value is None],
        "claims": [{"id": claim.id, "passed": claim.passed, "measured": claim.measured,
                    "expected": claim.expected} for claim in run.result.claims],
    }


def finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def cell(value: Any) -> str:
    """A CSV cell: repr() round-trips a float exactly; a missing or non-finite value is
    empty."""
    value = finite(value)
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)
