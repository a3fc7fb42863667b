"""Experiment parameters: parsed from `-p name=value` and validated in one place.

Each `Params` field is declared with `topicgen.api.param(...)`, which records the range or
choices the value must respect and a one-line help text. Validation runs here, so every
experiment reports bad values the same way (and rewording an error reruns nothing: this
module is not part of any result's key).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from topicgen.errors import ParamError, did_you_mean

KINDS = (int, float, str, bool)
"""What a parameter's value may be, or a tuple of one of them (`tuple[int, ...]`)."""


def field_types(params_cls: type) -> dict[str, Any]:
    return typing.get_type_hints(params_cls)


def declaration_problem(params_cls: type) -> tuple[str, str | None]:
    """What is wrong with how `Params` is declared, and the field it is about ("" if nothing):
    -p, the cache key and `list` rely on frozen fields of these types, each with a default."""
    if not params_cls.__dataclass_params__.frozen:
        return ("Params must be frozen: @dataclass(frozen=True) (a run's parameters are its "
                "cache key, and a run must not change them)"), None
    types = field_types(params_cls)
    for field in dataclasses.fields(params_cls):
        if field.default is dataclasses.MISSING and \
                field.default_factory is dataclasses.MISSING:
            return (f'Params field "{field.name}" has no default: declare it with '
                    'param(default, "help")'), field.name
        if "help" not in field.metadata:  # a plain default: no help or range for `list`, -p
            return (f'Params field "{field.name}" is not declared with param(default, '
                    '"help"): it needs the help line topicgen list shows, and a range'), \
                field.name
        kind = types[field.name]
        items = typing.get_args(kind) if typing.get_origin(kind) is tuple else None
        if not (kind in KINDS or (items and len(items) == 2 and items[0] in KINDS
                                  and items[1] is Ellipsis)):
            shown = kind.__name__ if isinstance(kind, type) else str(kind)
            return (f'Params field "{field.name}" is {shown}: a '
                    "parameter is int, float, str or bool, or a tuple of one of them "
                    "(tuple[int, ...], not list[int])"), field.name
    return "", None


def describe_range(field: dataclasses.Field) -> str:
    """'1 <= T <= 10000' or 'one or more of rnn, lstm' : the words an error and `list` show."""
    meta = field.metadata
    if meta.get("choices"):
        return "one of " + ", ".join(meta["choices"])
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"{lo} <= {field.name} <= {hi}"
    if lo is not None:
        return f"{field.name} >= {lo}"
    if hi is not None:
        return f"{field.name} <= {hi}"
    return "any value"


def parse_value(params_cls: type, name: str, text: str) -> Any:
    """Turn the text after `name=` into the field's type, or raise ParamError."""
    kind = field_types(params_cls)[name]
    origin = typing.get_origin(kind)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        parts = [p.strip() for p in text.split(",")]
        if "" in parts and any(parts):  # "4,,16": a value left out, not a shorter list
            raise ParamError(f'parameter "{name}" has an empty item in "{text}"')
        return tuple(_parse_scalar(item, name, p) for p in parts if p)
    return _parse_scalar(kind, name, text.strip())


def _parse_scalar(kind: type, name: str, text: str) -> Any:
    try:
        if kind is bool:
            if text.lower() in {"true", "1", "yes"}:
                return True
            if text.lower() in {"false", "0", "no"}:
                return False
            raise ValueError(text)
        value = kind(text)
        # "-0.0" is 0: as -0.0 it passed "min=0" and then broke code that divides by it
        # (erfc(x / -0.0) = 2), and it would have been a second cache entry for one value.
        return value + 0.0 if kind is float else value
    except ValueError:
        raise ParamError(
            f'parameter "{name}" expects {kind.__name__}, got "{text}"'
        ) from None


def resolve(params_cls: type, base: Any, overrides: dict[str, str], experiment: str) -> Any:
    """`base` (a profile) with `overrides` parsed and applied, then validated."""
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    values = {}
    for name, text in overrides.items():
        if name not in fields:
            raise ParamError(
                f'unknown parameter "{name}" for experiment "{experiment}"'
                + did_you_mean(name, fields)
            )
        values[name] = parse_value(params_cls, name, text) if isinstance(text, str) else text
    params = dataclasses.replace(base, **values)
    validate(params, experiment)
    return params


def check_declared(params: Any) -> None:
    """Raise ParamError where an experiment's own declarations are wrong: a field whose min
    lies above its max, or whose value (a default, or a profile's) is not of its type."""
    types = field_types(type(params))
    for field in dataclasses.fields(params):
        low, high = field.metadata.get("min"), field.metadata.get("max")
        if low is not None and high is not None and low > high:
            raise ParamError(f'parameter "{field.name}" declares min {low} above max {high}')
        value, kind = getattr(params, field.name), types[field.name]
        if typing.get_origin(kind) is tuple:
            item = typing.get_args(kind)[0]
            fits = isinstance(value, tuple) and all(_is_a(v, item) for v in value)
            wanted = f"a tuple of {item.__name__}"
        else:
            fits, wanted = _is_a(value, kind), getattr(kind, "__name__", str(kind))
        if not fits:
            raise ParamError(f'parameter "{field.name}" is {value!r}, not {wanted}')


def _is_a(value: Any, kind: Any) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return not isinstance(kind, type) or isinstance(value, kind)


def validate(params: Any, experiment: str) -> None:
    """Raise ParamError naming the first field outside its declared range.

    A `Params` class may define `check(self)` for rules that tie fields together (e.g.
    heads must divide d_model); it runs after every field is known to be in range.
    """
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        items = value if isinstance(value, tuple) else (value,)
        if isinstance(value, tuple) and len(value) < field.metadata.get("min_len", 1):
            raise _out_of_range(experiment, field, "an empty list")
        # Every list is a set of things to compare (delays, models, scales): one listed twice
        # would be computed twice and drawn as two points at one x.
        repeated = [item for i, item in enumerate(items) if item in items[:i]]
        if repeated:
            raise ParamError(f'parameter "{field.name}" of "{experiment}" lists '
                             f"{repeated[0]!r} twice")
        for item in items:
            if not _in_range(field.metadata, item):
                raise _out_of_range(experiment, field, repr(item))
    if hasattr(params, "check"):
        try:
            params.check()
        except ValueError as error:
            raise ParamError(str(error)) from None


def _in_range(meta: typing.Mapping[str, Any], value: Any) -> bool:
    if meta.get("choices"):
        return value in meta["choices"]
    if isinstance(value, float) and not math.isfinite(value):
        return False
    lo, hi = meta.get("min"), meta.get("max")
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _out_of_range(experiment: str, field: dataclasses.Field, got: str) -> ParamError:
    return ParamError(
        f'parameter "{field.name}" of "{experiment}" must be {describe_range(field)}, got {got}'
    )
