"""Judge a topic's experiments' claims at a profile, without drawing or rendering anything."""

from __future__ import annotations

import dataclasses
import logging

from topicgen import experiments
from topicgen.api import Result
from topicgen.config import Config
from topicgen.content.topic import load_topic
from topicgen.errors import UsageError
from topicgen.overrides import Overrides

log = logging.getLogger(__name__)


def check_claims(config: Config, names: tuple[str, ...] = (), overrides: Overrides | None = None
                 ) -> list[tuple[str, Result, bool]]:
    """(name, result, cache hit) for each experiment named (default: all of the topic's), at
    the profile with `overrides` (-p NAME=VALUE) on top; without overrides, also at each
    other set of parameters the handout's figures ask for (a claim may fail only there, and
    the build with it). Each run whole, through the cache, in the worker pool or on the
    cluster as a build runs; a run the handout alone asks for is named with its figures."""
    from topicgen.build import Run, plan_figures, plan_runs, run_stage
    from topicgen.results.cache import ResultCache

    if overrides and not names:
        raise UsageError("-p applies to the experiments named: name them, e.g. topicgen check "
                         f"gradient-decay -p {next(iter(overrides))}=...")
    topic = load_topic(config.content_dir, config.topic)
    selected = [topic.experiment(name) for name in names] or list(topic.experiments.values())
    for experiment in selected:
        experiments.load(experiment)  # a broken file fails before anything runs
    cache = ResultCache(config.cache_path, config.force)
    shown = [] if overrides else plan_runs(plan_figures(topic), topic, config.profile,
                                           config.seed, cache)[0]
    runs, named = [], []
    for experiment in selected:
        profile_run = Run(experiment, cache.params(experiment, config.profile, overrides or {}),
                          config.seed)
        runs.append(profile_run)
        named.append(experiment.name)
        for run in shown:
            if run.exp == experiment and run.params != profile_run.params:
                runs.append(run)
                named.append(f"{experiment.name} ({', '.join(run.labels)})")
    run_stage(runs, config, cache)
    return [(name, run.result, run.cache_hit) for name, run in zip(named, runs, strict=True)]


def check_seeds(config: Config, names: tuple[str, ...], seeds: int,
                overrides: Overrides | None = None) -> dict[str, dict[str, dict[str, list[int]]]]:
    """Each claim's verdicts over `seeds` first seeds, from config.seed on: experiment ->
    claim id -> verdict ("holds", "fails", "not judged") -> the first seeds that gave it. A claim
    must hold at any seed, not only at the one a handout happens to be built with."""
    verdicts: dict[str, dict[str, dict[str, list[int]]]] = {}
    topicgen = logging.getLogger("topicgen")
    for seed in range(config.seed, config.seed + seeds):
        log.info("first seed %d (%d of %d)", seed, seed - config.seed + 1, seeds)
        # A line per seed is the progress: each run's and stage's lines only with -v (a
        # hundred seeds printed some 400 lines before the summary).
        level = topicgen.level
        if level == logging.INFO:
            topicgen.setLevel(logging.WARNING)
        try:
            checked = check_claims(dataclasses.replace(config, seed=seed), names, overrides)
        finally:
            topicgen.setLevel(level)
        for name, result, _ in checked:
            claims = verdicts.setdefault(name, {})
            for claim in result.claims:
                claims.setdefault(claim.id, {"holds": [], "fails": [], "not judged": []})
                claims[claim.id][claim.verdict].append(seed)
    return verdicts
