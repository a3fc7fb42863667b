"""Judge every experiment's claims at a profile, without drawing or rendering anything."""

from __future__ import annotations

from collections.abc import Iterator

from topicgen import experiments
from topicgen.config import Config
from topicgen.experiments.result import Result


def check_claims(config: Config, names: tuple[str, ...] = ()) -> Iterator[tuple[str, Result, bool]]:
    """(name, result, cache hit) for each experiment, in registry order."""
    from topicgen.build import check_device
    from topicgen.results.cache import ResultCache, cached_run

    selected = names or tuple(experiments.EXPERIMENTS)
    for name in selected:
        experiments.load(name)  # an unknown name fails before anything runs
    ctx = experiments.Context(seed=config.seed, device=check_device(config.device))
    cache = ResultCache(config.cache_path, config.force)
    for name in selected:
        params = experiments.resolve_params(name, config.profile)
        result, hit = cached_run(name, params, ctx, cache)
        yield name, result, hit
