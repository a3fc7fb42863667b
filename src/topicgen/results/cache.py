"""The result cache: one JSON file per (experiment, params, seed, device, code, versions).

Entries are written only after a run succeeded, atomically; an unreadable entry counts as
a miss and is recomputed. Claims are re-judged on every load, so editing a tolerance takes
effect without rerunning anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from topicgen import experiments
from topicgen.experiments.params import as_dict
from topicgen.experiments.result import Result
from topicgen.files import write_atomic

log = logging.getLogger(__name__)


def cache_key(name: str, params: Any, ctx: experiments.Context) -> str:
    import torch

    import topicgen

    material = {
        "experiment": name,
        "params": as_dict(params),
        "seed": ctx.seed,
        "device": ctx.device,
        "code": experiments.code_hash(name),
        "torch": torch.__version__,
        "topicgen": topicgen.__version__,
    }
    blob = json.dumps(material, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def cached_run(name: str, params: Any, ctx: experiments.Context, cache_dir: Path | None,
               force: bool = False) -> tuple[Result, bool]:
    """The result of running `name`, from the cache when possible; returns (result, hit)."""
    path = cache_dir / f"{name}-{cache_key(name, params, ctx)}.json" if cache_dir else None
    if path and path.exists() and not force:
        try:
            result = Result.from_json_dict(json.loads(path.read_text("utf-8")))
            return experiments.judge(result), True
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("cache entry %s is unreadable (%s); recomputing", path.name, error)
    result = experiments.run(name, params, ctx)
    if path:
        write_atomic(path, result.to_json())
    return result, False
