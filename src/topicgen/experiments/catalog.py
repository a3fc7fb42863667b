"""What `topicgen list` shows: a topic's experiments, their figures and their parameters."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from topicgen import experiments
from topicgen.experiments.loader import Experiment
from topicgen.experiments.params import describe_range


def catalog(found: dict[str, Experiment]) -> list[dict[str, Any]]:
    return [describe(experiment) for experiment in found.values()]


def describe(experiment: Experiment) -> dict[str, Any]:
    module = experiments.load(experiment)
    quick = getattr(module, "QUICK", {})
    hints = typing.get_type_hints(module.Params)
    full = module.Params()
    params = []
    for field in dataclasses.fields(module.Params):
        params.append({
            "name": field.name,
            "type": type_name(hints[field.name]),
            "default": show(getattr(full, field.name)),
            "quick": show(quick.get(field.name, getattr(full, field.name))),
            "range": describe_range(field),
            "help": field.metadata.get("help", ""),
        })
    return {"name": experiment.name, "topic": experiment.topic,
            "summary": experiments.summary(experiment),
            "figures": experiments.figure_names(experiment), "params": params}


def type_name(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        return f"list of {typing.get_args(kind)[0].__name__}"
    return kind.__name__


def show(value: Any) -> Any:
    return ",".join(map(str, value)) if isinstance(value, tuple) else value
