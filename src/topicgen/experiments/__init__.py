"""The experiment registry and the one function that runs an experiment.

Every experiment is one module in this package providing `Params` (a frozen dataclass),
`QUICK` (the overrides of the fast CI profile), `SUMMARY`, `run(params, ctx) -> Result`
and `claims(result) -> list[Claim]`. Its figures live in `topicgen.figures.<module>`, so
restyling a figure never changes the experiment's code hash and never reruns it.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from topicgen import sources
from topicgen.errors import UsageError, did_you_mean
from topicgen.experiments import params as params_mod
from topicgen.experiments.result import Result

# name -> module stem, in the order the handout introduces them.
EXPERIMENTS: dict[str, str] = {
    "gradient-decay": "gradient_decay",
    "jacobian-spectrum": "jacobian_spectrum",
    "gradient-clipping": "gradient_clipping",
    "gate-saturation": "gate_saturation",
    "cell-highway": "cell_highway",
    "residual-depth": "residual_depth",
    "layernorm": "layernorm",
    "attention-scaling": "attention_scaling",
    "norm-placement": "norm_placement",
    "long-range-memory": "long_range_memory",
}

PROFILES = ("quick", "full")


@dataclass(frozen=True)
class Context:
    """What a run may depend on besides its parameters."""

    seed: int = 0  # first seed; an experiment with `seeds = n` uses seed .. seed + n - 1
    device: str = "cpu"


def check_name(name: str) -> None:
    if name not in EXPERIMENTS:
        raise UsageError(f'unknown experiment "{name}"' + did_you_mean(name, EXPERIMENTS))


def load(name: str) -> ModuleType:
    check_name(name)
    return importlib.import_module(f"topicgen.experiments.{EXPERIMENTS[name]}")


def load_figures(name: str) -> ModuleType:
    load(name)  # validates the name
    return importlib.import_module(f"topicgen.figures.{EXPERIMENTS[name]}")


def figure_names(name: str) -> list[str]:
    """The figures an experiment draws, read from its figures module without importing it
    (that would import matplotlib, a second that a rebuild with cached figures never needs)."""
    check_name(name)
    return sources.dict_keys(f"topicgen.figures.{EXPERIMENTS[name]}", "FIGURES")


def resolve_params(name: str, profile: str, overrides: dict[str, str] | None = None) -> Any:
    """The profile's parameters with `overrides` (text from `-p k=v`) applied and validated."""
    if profile not in PROFILES:
        raise UsageError(f'unknown profile "{profile}"' + did_you_mean(profile, PROFILES))
    module = load(name)
    base = module.Params()
    if profile == "quick":
        base = dataclasses.replace(base, **module.QUICK)
    return params_mod.resolve(module.Params, base, overrides or {}, name)


def code_files(name: str) -> dict[str, str]:
    """Hashes of the experiment's source and of every topicgen module it imports."""
    check_name(name)
    return sources.file_hashes(f"topicgen.experiments.{EXPERIMENTS[name]}")


def params_object(name: str, values: dict[str, Any]) -> Any:
    """The experiment's `Params` from resolved values (as_dict's inverse: lists are tuples)."""
    return load(name).Params(**{k: tuple(v) if isinstance(v, list) else v
                                for k, v in values.items()})


def code_hash(name: str) -> str:
    return sources.digest(code_files(name))[:16]


@contextmanager
def one_thread():
    """Run torch on one thread: these tensors are small, so extra threads mostly add
    synchronisation (up to 100x slower on a busy 2-core machine), and float sums then never
    depend on the core count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run(name: str, params: Any, ctx: Context) -> Result:
    """Run one experiment, then judge its claims and record where the numbers came from."""
    module = load(name)
    started = time.perf_counter()
    with one_thread():
        result = module.run(params, ctx)
    return finish(name, params, ctx, result, time.perf_counter() - started)


def parts(name: str, params: Any) -> list | None:
    """The independent parts a run may be split into (for the process pool), or None."""
    module = load(name)
    return module.parts(params) if hasattr(module, "parts") else None


def run_part(name: str, params: Any, ctx: Context, part: Any) -> Any:
    with one_thread():
        return load(name).run_part(params, ctx, part)


def combine(name: str, params: Any, ctx: Context, outputs: dict, wall_s: float) -> Result:
    """The Result of a run computed part by part; the same numbers as `run`."""
    with one_thread():
        result = load(name).combine(params, ctx, outputs)
    return finish(name, params, ctx, result, wall_s)


def finish(name: str, params: Any, ctx: Context, result: Result, wall_s: float) -> Result:
    """Record where the numbers came from, then judge the claims."""
    import torch

    import topicgen

    result.provenance = {
        "seeds": list(range(ctx.seed, ctx.seed + getattr(params, "seeds", 1))),
        "device": ctx.device,
        "torch": torch.__version__,
        "topicgen": topicgen.__version__,
        "code_hash": code_hash(name),
        "wall_s": round(wall_s, 3),
    }
    result.claims = load(name).claims(result)
    return result
