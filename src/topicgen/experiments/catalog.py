"""What `topicgen list` shows: every experiment, its figures and its parameters."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from topicgen import experiments
from topicgen.experiments.params import describe_range


def catalog() -> list[dict[str, Any]]:
    return [describe(name) for name in experiments.EXPERIMENTS]


def describe(name: str) -> dict[str, Any]:
    module = experiments.load(name)
    hints = typing.get_type_hints(module.Params)
    full = module.Params()
    params = []
    for field in dataclasses.fields(module.Params):
        params.append({
            "name": field.name,
            "type": type_name(hints[field.name]),
            "default": show(getattr(full, field.name)),
            "quick": show(module.QUICK.get(field.name, getattr(full, field.name))),
            "range": describe_range(field),
            "help": field.metadata.get("help", ""),
        })
    return {"name": name, "summary": module.SUMMARY, "figures": experiments.figure_names(name),
            "params": params}


def type_name(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        return f"list of {typing.get_args(kind)[0].__name__}"
    return kind.__name__


def show(value: Any) -> Any:
    return ",".join(map(str, value)) if isinstance(value, tuple) else value
