"""Parameter overrides given on the command line (`-p NAME=VALUE`, `-p EXPERIMENT.NAME=VALUE`)
and how they change the figures a build plans."""

from __future__ import annotations

import dataclasses
import re

from topicgen import experiments
from topicgen.content.myst import FigureRequest
from topicgen.content.topic import Topic
from topicgen.errors import UsageError, did_you_mean

Overrides = dict[str, str]  # parameter name -> its text, parsed like a chapter's :params:


def parse_overrides(pairs: tuple[str, ...] | list[str]) -> Overrides:
    """`-p NAME=VALUE` pairs, in order (a later one wins)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f'-p expects name=value, got "{pair}"')
        overrides[key.strip()] = value
    return overrides


def parse_experiment_overrides(pairs: tuple[str, ...] | list[str], topic: Topic
                               ) -> dict[str, Overrides]:
    """`-p EXPERIMENT.NAME=VALUE` pairs as experiment -> overrides, each parameter checked
    against the experiment's Params (so a typo fails before anything runs)."""
    grouped: dict[str, Overrides] = {}
    for pair in pairs:
        target, sep, value = pair.partition("=")
        experiment, dot, name = target.strip().rpartition(".")
        if not sep or not dot or not experiment or not name:
            raise UsageError(f'-p expects experiment.name=value (e.g. gradient-decay.T=200), '
                             f'got "{pair}"')
        if experiment not in topic.experiments:
            raise UsageError(f'-p {target}: topic {topic.slug} has no experiment "{experiment}"'
                             + did_you_mean(experiment, topic.experiments))
        grouped.setdefault(experiment, {})[name] = value
    for experiment, overrides in grouped.items():
        experiments.resolve_params(topic.experiments[experiment], "full", overrides)
    return grouped


def check_overrides(overrides: Overrides, requests: list[FigureRequest], topic: Topic) -> None:
    """Every experiment the requests draw from accepts `overrides` (one line naming the first
    parameter one of them refuses)."""
    for name in dict.fromkeys(request.experiment for request in requests):
        experiments.resolve_params(topic.experiments[name], "full", overrides)


def overridden(request: FigureRequest, overrides: Overrides, rename: bool) -> FigureRequest:
    """The request with `overrides` on top of its own :params:; with `rename`, its label
    carries them (`fig-decay.T=200`), so its files never replace the handout's own."""
    if not overrides:
        return request
    label = f"{request.label}.{suffix(overrides)}" if rename else request.label
    return dataclasses.replace(request, label=label,
                               overrides={**request.overrides, **overrides})


def suffix(overrides: Overrides) -> str:
    """`T=200.cells=rnn+lstm`: the overrides as a file-name part (lists joined by +)."""
    parts = [f"{name}={re.sub(r'[^A-Za-z0-9.+-]', '+', value.replace(',', '+'))}"
             for name, value in overrides.items()]
    return ".".join(parts)


def describe(grouped: dict[str, Overrides]) -> list[str]:
    """`["gradient-decay.T=200", ...]`: how a variant handout says what it changed."""
    return [f"{experiment}.{name}={value}" for experiment, overrides in grouped.items()
            for name, value in overrides.items()]
