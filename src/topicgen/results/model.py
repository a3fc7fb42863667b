"""What an experiment returns: named series, scalars and claims, all JSON-able.

The JSON written here is the contract of `topicgen run --json` and of the result cache.
Non-finite numbers (an exploding run) are written as `null` and listed under
`flags.nonfinite`, never as the non-standard `Infinity`/`NaN` tokens.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Series:
    """One figure's worth of data: y[label][i] measured at x[i]; y_std is the seed spread."""

    x: list[float]
    x_label: str
    y: dict[str, list[float]]
    y_label: str
    y_std: dict[str, list[float]] | None = None


KINDS = ("evidence", "sanity")


@dataclass(frozen=True)
class Claim:
    """A statement an experiment must show, with the theory, the measurement and the verdict.

    `kind` "evidence": the measurement could contradict the theory (the handout shows these
    beside the figure); "sanity": an identity the code must satisfy (folded away). `passed`
    is None when the claim was not judged at these parameters, and `not_judged` says why.
    """

    id: str
    statement: str
    expected: str
    measured: str
    tolerance: str
    passed: bool | None
    kind: str = "evidence"
    not_judged: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f'claim "{self.id}": kind must be one of {", ".join(KINDS)}, '
                             f'got "{self.kind}"')
        if (self.passed is None) != bool(self.not_judged):
            raise ValueError(f'claim "{self.id}": a claim is either judged (passed True or '
                             "False) or not judged (passed None, with the reason in not_judged)")

    @property
    def failed(self) -> bool:
        return self.passed is False

    @property
    def verdict(self) -> str:
        return {True: "holds", False: "fails", None: "not judged"}[self.passed]

    def line(self, where: str) -> str:
        """`[PASS] where: expected ...; measured ... (tolerance ...)`, for a terminal."""
        if self.not_judged:
            return f"[NOT JUDGED] {where}: {self.not_judged}"
        return (f"[{'PASS' if self.passed else 'FAIL'}] {where}: expected {self.expected}; "
                f"measured {self.measured} (tolerance {self.tolerance})")


@dataclass
class Result:
    experiment: str
    params: dict[str, Any]
    series: dict[str, Series]
    scalars: dict[str, float]
    claims: list[Claim] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    deviations: list[str] = field(default_factory=list)
    """How this run's recipe differs from the published one it reproduces (the experiment's
    DEVIATIONS), printed beside its figure and in the report."""

    @property
    def passed(self) -> bool:
        """No claim failed (a claim that was not judged did not fail)."""
        return not any(claim.failed for claim in self.claims)

    def to_json_dict(self) -> dict[str, Any]:
        nonfinite: list[str] = []
        series = {
            name: {
                "x": _finite_list(s.x, f"series.{name}.x", nonfinite),
                "x_label": s.x_label,
                "y": {k: _finite_list(v, f"series.{name}.y.{k}", nonfinite)
                      for k, v in s.y.items()},
                "y_label": s.y_label,
                **({"y_std": {k: _finite_list(v, f"series.{name}.y_std.{k}", nonfinite)
                              for k, v in s.y_std.items()}} if s.y_std else {}),
            }
            for name, s in self.series.items()
        }
        scalars = {k: _finite(v, f"scalars.{k}", nonfinite) for k, v in self.scalars.items()}
        return {
            "experiment": self.experiment,
            "params": self.params,
            "series": series,
            "scalars": scalars,
            "claims": [vars(c) for c in self.claims],
            "deviations": self.deviations,
            "provenance": self.provenance,
            "flags": {"nonfinite": nonfinite},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), indent=2, sort_keys=False, allow_nan=False)

    def to_csv(self) -> str:
        """Every series in long form, one row per point: easy to plot again in any tool.

        Columns: series, x_label, x, y_label, curve, y, y_std (empty without seed spread;
        y is empty where the run overflowed to inf/NaN).
        """
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["series", "x_label", "x", "y_label", "curve", "y", "y_std"])
        for name, s in self.series.items():
            for curve, ys in s.y.items():
                stds = (s.y_std or {}).get(curve) or [None] * len(ys)
                for x, y, std in zip(s.x, ys, stds, strict=True):
                    writer.writerow([name, s.x_label, _cell(x), s.y_label, curve, _cell(y),
                                     _cell(std)])
        return buffer.getvalue()

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Result:
        series = {
            name: Series(
                x=_floats(s["x"]), x_label=s["x_label"],
                y={k: _floats(v) for k, v in s["y"].items()}, y_label=s["y_label"],
                y_std={k: _floats(v) for k, v in s["y_std"].items()} if "y_std" in s else None,
            )
            for name, s in data["series"].items()
        }
        scalars = {k: math.nan if v is None else v for k, v in data["scalars"].items()}
        return cls(
            experiment=data["experiment"], params=data["params"], series=series,
            scalars=scalars, claims=[Claim(**c) for c in data["claims"]],
            deviations=list(data.get("deviations", [])),
            provenance=data["provenance"],
        )


def malformed(result: Any) -> str:
    """What is wrong with what an experiment returned ("" if nothing): a mistake in its code
    (a tensor where a number goes, claims() returning nothing) read as one line naming the
    value, instead of an error deep in the JSON writer or a plot."""
    if not isinstance(result, Result):
        return f"run() must return a Result, got {_kind(result)}"
    for field_name in ("series", "scalars"):
        if not isinstance(getattr(result, field_name), dict):
            return f"the Result's {field_name} is {_kind(getattr(result, field_name))}, not a dict"
    for name, value in result.scalars.items():
        if not _is_number(value):
            return f'scalar "{name}" is {_kind(value)}, not a number{_hint(value)}'
    for name, series in result.series.items():
        if not isinstance(series, Series):
            return f'series "{name}" is {_kind(series)}, not a Series'
        if not isinstance(series.y, dict) or not isinstance(series.y_std, (dict, type(None))):
            return f'series "{name}": y and y_std map each curve\'s name to its values'
        columns = {"x": series.x, **{f"y[{k!r}]": v for k, v in series.y.items()},
                   **{f"y_std[{k!r}]": v for k, v in (series.y_std or {}).items()}}
        for column, values in columns.items():
            if not isinstance(values, (list, tuple)):
                return f'series "{name}": {column} is {_kind(values)}, not a list'
            bad = next((v for v in values if not _is_number(v)), None)
            if bad is not None:
                return (f'series "{name}": {column} holds {_kind(bad)}, not a number'
                        f"{_hint(bad)}")
            if len(values) != len(series.x):
                return (f'series "{name}": {column} has {len(values)} values for '
                        f"{len(series.x)} x values")
    if not isinstance(result.claims, (list, tuple)):
        return f"claims() must return a list of Claim, got {_kind(result.claims)}"
    seen: set[str] = set()
    for claim in result.claims:
        if not isinstance(claim, Claim):
            return f"claims() must return a list of Claim; one is {_kind(claim)}"
        if claim.passed is not None and not isinstance(claim.passed, bool):
            return (f'claim "{claim.id}": passed is {_kind(claim.passed)}, not True, False or '
                    f"None (wrap the comparison in bool(...))")
        if claim.id in seen:
            return f'two claims have the id "{claim.id}"'
        seen.add(claim.id)
    return ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))  # bool is an int: JSON keeps it


def _kind(value: Any) -> str:
    kind = type(value)
    # numpy.bool_ is called "bool": "passed is a bool, not True, False or None" misled.
    name = kind.__name__ if kind.__module__ == "builtins" else \
        f"{kind.__module__.split('.')[0]}.{kind.__name__}"
    return "None" if value is None else f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _hint(value: Any) -> str:
    return " (use .item() or float(...))" if hasattr(value, "item") else ""


def _finite(value: float, path: str, nonfinite: list[str]) -> float | None:
    if isinstance(value, float) and not math.isfinite(value):
        nonfinite.append(path)
        return None
    return value


def _finite_list(values: list[float], path: str, nonfinite: list[str]) -> list[float | None]:
    out = [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]
    if any(v is None for v in out):
        nonfinite.append(path)
    return out


def _floats(values: list[float | None]) -> list[float]:
    """Back from JSON: null was a non-finite number; NaN keeps it out of plots and fits."""
    return [math.nan if v is None else v for v in values]


def _cell(value: float | None) -> str:
    """repr() round-trips a float exactly; non-finite values become empty cells."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return repr(value)
