"""Judge a topic's experiments' claims at a profile, without drawing or rendering anything."""

from __future__ import annotations

from collections.abc import Iterator

from topicgen import experiments
from topicgen.api import Context, Result
from topicgen.config import Config
from topicgen.content.topic import load_topic


def check_claims(config: Config, names: tuple[str, ...] = ()) -> Iterator[tuple[str, Result, bool]]:
    """(name, result, cache hit) for each experiment named (default: all of the topic's)."""
    from topicgen.build import check_device
    from topicgen.results.cache import ResultCache, cached_run

    topic = load_topic(config.content_dir, config.topic)
    selected = [topic.experiment(name) for name in names] or list(topic.experiments.values())
    for experiment in selected:
        experiments.load(experiment)  # a broken file fails before anything runs
    ctx = Context(seed=config.seed, device=check_device(config.device))
    cache = ResultCache(config.cache_path, config.force)
    for experiment in selected:
        params = experiments.resolve_params(experiment, config.profile)
        result, hit = cached_run(experiment, params, ctx, cache)
        yield experiment.name, result, hit
