"""The grid of a sweep: `-p NAME=SPEC` texts parsed into the parameter points to run.

    -p T=10:100:4          linear, both ends included (numpy.linspace): 10, 40, 70, 100
    -p rho=0.5:2:3:log     geometric (numpy.geomspace): 0.5, 1, 2
    -p hidden=8,16,32      listed values
    -p seeds=3             one value: a fixed override of every point
    -p cells=rnn,linear    a list parameter's value, fixed like `topicgen run`'s

Pure: it reads only the field types of the experiment's `Params`. Whether each value is in
range is checked where each point is resolved, by the experiment's own rules.
"""

from __future__ import annotations

import itertools
import logging
import math
import typing
from dataclasses import dataclass
from typing import Any

from topicgen.errors import ParamError, UsageError, did_you_mean
from topicgen.experiments.params import field_types, parse_value

log = logging.getLogger(__name__)

MAX_POINTS = 1000
"""A grid larger than this is more likely a typo in COUNT than a plan."""
SIGNIFICANT_DIGITS = 12
"""Spaced values are rounded to this many digits, so 0.1 + 0.2 reads 0.3; a float holds ~16."""
SPEC = "START:STOP:COUNT or START:STOP:COUNT:log"


@dataclass(frozen=True)
class Grid:
    swept: dict[str, list[Any]]
    """Each swept parameter's values, in the order given; the first is the figures' x."""
    fixed: dict[str, str]
    """Overrides of every point, as the `-p` text `topicgen run` takes."""
    log: frozenset[str] = frozenset()
    """The parameters spaced geometrically (`:log`): drawn on a log axis."""

    @property
    def points(self) -> list[dict[str, Any]]:
        """Every combination of the swept values; the first parameter varies slowest."""
        names = list(self.swept)
        return [dict(zip(names, values, strict=True))
                for values in itertools.product(*self.swept.values())]


def parse_grid(pairs: tuple[str, ...] | list[str], params_cls: type, experiment: str) -> Grid:
    """The grid the `-p` pairs describe for `experiment`, whose parameters are `params_cls`."""
    kinds = field_types(params_cls)
    swept: dict[str, list[Any]] = {}
    fixed: dict[str, str] = {}
    spaced_log: set[str] = set()
    for pair in pairs:
        name, sep, text = (part.strip() for part in pair.partition("="))
        if not sep or not name:
            raise UsageError("-p expects NAME=VALUE, NAME=a,b,c or NAME=START:STOP:COUNT[:log], "
                             f'got "{pair}"')
        if name not in kinds:
            raise ParamError(f'unknown parameter "{name}" for experiment "{experiment}"'
                             + did_you_mean(name, kinds))
        if name in swept or name in fixed:
            raise UsageError(f"-p {name} is given twice: give each parameter once "
                             f"(-p {name}=a,b,c sweeps several values)")
        if ":" in text:
            swept[name], geometric = spaced(name, kinds[name], text)
            if geometric:
                spaced_log.add(name)
        elif "," in text and typing.get_origin(kinds[name]) is not tuple:
            swept[name] = listed(params_cls, name, text)
        else:
            fixed[name] = text
    if not swept:
        raise UsageError("nothing to sweep: give a parameter a range (-p T=10:100:4) or "
                         "several values (-p T=10,20,40)")
    check_size(swept)
    return Grid(swept, fixed, frozenset(spaced_log))


def spaced(name: str, kind: Any, text: str) -> tuple[list[Any], bool]:
    """The values of `START:STOP:COUNT[:log]` (rounded to whole numbers for an int), and
    whether they are spaced geometrically."""
    where = f"-p {name}={text}"
    if typing.get_origin(kind) is tuple:
        raise UsageError(f'{where}: "{name}" is a list parameter, which cannot be swept with '
                         f"{SPEC}; -p {name}=a,b sets its value for every point")
    if kind not in (int, float):
        raise UsageError(f'{where}: "{name}" is a {getattr(kind, "__name__", kind)}, not a '
                         f"number; list its values instead (-p {name}=a,b)")
    parts = [part.strip() for part in text.split(":")]
    geometric = len(parts) == 4 and parts[3] == "log"
    if len(parts) not in (3, 4) or (len(parts) == 4 and not geometric):
        raise UsageError(f"{where}: expected {SPEC}")
    start, stop = number(where, "START", parts[0]), number(where, "STOP", parts[1])
    count = whole(where, parts[2])
    if geometric and (start <= 0 or stop <= 0):
        raise UsageError(f"{where}: a log sweep needs START and STOP above 0")
    values = [readable(v) for v in (geomspace if geometric else linspace)(start, stop, count)]
    if kind is int:
        values = [round(v) for v in values]
    why = "rounded to whole numbers" if kind is int else \
        f"equal to {SIGNIFICANT_DIGITS} significant digits"
    return distinct(where, values, why), geometric


def listed(params_cls: type, name: str, text: str) -> list[Any]:
    """The comma-separated values of `-p NAME=a,b,c`, each parsed by the field's type."""
    where = f"-p {name}={text}"
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise UsageError(f"{where}: lists no values")
    if not all(items):
        raise UsageError(f"{where}: an empty item (a value left out?)")
    values = [parse_value(params_cls, name, item) for item in items]
    return distinct(where, values, "a value is repeated")


def number(where: str, what: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f'{where}: {what} must be a number, got "{text}"') from None
    if not math.isfinite(value):
        raise UsageError(f'{where}: {what} must be a finite number, got "{text}"')
    return value


def whole(where: str, text: str) -> int:
    """COUNT: at least 1, and no more points than a grid may have."""
    try:
        count = int(text)
    except ValueError:
        raise UsageError(f'{where}: COUNT must be a whole number, got "{text}"') from None
    if count < 1:
        raise UsageError(f"{where}: COUNT must be at least 1, got {count}")
    if count > MAX_POINTS:  # before building the list: COUNT=10**9 would take the memory
        raise UsageError(f"{where}: {count} points, more than {MAX_POINTS}; use a smaller "
                         "COUNT")
    return count


def linspace(start: float, stop: float, count: int) -> list[float]:
    """`count` evenly spaced values from `start` to `stop`, both included (numpy.linspace)."""
    if count == 1:
        return [start]
    return [start + (stop - start) * i / (count - 1) for i in range(count - 1)] + [stop]


def geomspace(start: float, stop: float, count: int) -> list[float]:
    """`count` values with a constant ratio from `start` to `stop` > 0 (numpy.geomspace)."""
    if count == 1:
        return [start]
    return [start * (stop / start) ** (i / (count - 1)) for i in range(count - 1)] + [stop]


def readable(value: float) -> float:
    """`value` to SIGNIFICANT_DIGITS digits: 0.1, not 0.10000000000000002."""
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def distinct(where: str, values: list[Any], why: str) -> list[Any]:
    """`values` without repeats (the first of each kept), with a warning saying `why` they
    repeat when some were dropped."""
    unique = list(dict.fromkeys(values))
    if len(unique) < len(values):
        log.warning("warning: %s: %d values, %d distinct (%s); sweeping %s", where,
                    len(values), len(unique), why, ", ".join(map(str, unique)))
    return unique


def check_size(swept: dict[str, list[Any]]) -> None:
    size = math.prod(len(values) for values in swept.values())
    if size > MAX_POINTS:
        shape = " x ".join(f"{len(values)} {name}" for name, values in swept.items())
        raise UsageError(f"the grid has {size} points ({shape}), more than {MAX_POINTS}: "
                         "sweep fewer values")
