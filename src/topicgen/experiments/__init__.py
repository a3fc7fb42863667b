"""Running a topic's experiments: parameters by profile, one run, its provenance and claims.

The experiments themselves live with their topic (see `loader`); this package finds, loads
and runs them, and is part of no cache key.
"""

from __future__ import annotations

import dataclasses
import re
import time
import tokenize
import unicodedata
from contextlib import contextmanager
from typing import Any

from topicgen import sources
from topicgen.api import Context, Result
from topicgen.errors import ContentError, ParamError, UsageError, did_you_mean
from topicgen.experiments import params as params_mod
from topicgen.experiments.loader import (
    Experiment,
    discover,
    figure_names,
    last_frame_in,
    load,
    load_figures,
    topic_code,
)

__all__ = ["Context", "Experiment", "discover", "figure_names", "load", "load_figures",
           "resolve_params", "run"]

PROFILES = ("quick", "full")


def summary(experiment: Experiment) -> str:
    """SUMMARY, or the first line of the module's docstring."""
    module = load(experiment)
    return getattr(module, "SUMMARY", None) or (module.__doc__ or "").strip().split("\n")[0]


def resolve_params(experiment: Experiment, profile: str,
                   overrides: dict[str, str] | None = None) -> Any:
    """The profile's parameters with `overrides` (text from `-p k=v`) applied and validated."""
    if profile not in PROFILES:
        raise UsageError(f'unknown profile "{profile}"' + did_you_mean(profile, PROFILES))
    module = load(experiment)
    base = declared(experiment, module.Params(), "Params")
    if profile == "quick":
        quick = getattr(module, "QUICK", {})
        unknown = sorted(set(quick) - {f.name for f in dataclasses.fields(base)})
        if unknown:
            raise ContentError(f'QUICK sets "{unknown[0]}", which Params does not have'
                               + did_you_mean(unknown[0], [f.name for f in
                                                           dataclasses.fields(base)]),
                               experiment.path)
        base = declared(experiment, dataclasses.replace(base, **quick), "QUICK")
    return params_mod.resolve(module.Params, base, overrides or {}, experiment.name)


def declared(experiment: Experiment, params: Any, source: str) -> Any:
    """`params` as the experiment file declares them (its `source`: the defaults, or QUICK),
    checked: a mistake there is the file's, not the figure's that asked for the run."""
    try:
        params_mod.check_declared(params)
        params_mod.validate(params, experiment.name)
    except ParamError as error:
        raise ContentError(f"{source}: {error.message}", experiment.path) from None
    return params


def params_object(experiment: Experiment, values: dict[str, Any]) -> Any:
    """The experiment's `Params` from resolved values (as_dict's inverse: lists are tuples)."""
    return load(experiment).Params(**{k: tuple(v) if isinstance(v, list) else v
                                      for k, v in values.items()})


def trains(experiment: Experiment) -> bool:
    """Whether its code names torch.optim (`torch.optim.Adam`, `from torch import optim`),
    comments and strings aside: read without importing it, to choose what workers preload
    (pools.TRAINING_PRELOAD); a wrong guess costs time only."""
    try:
        with experiment.path.open("rb") as source:
            return any(token.type == tokenize.NAME and token.string == "optim"
                       for token in tokenize.tokenize(source.readline))
    except (tokenize.TokenError, SyntaxError):  # its import will say what is wrong
        return False


def code_hash(experiment: Experiment) -> str:
    from topicgen.results.keys import experiment_code

    return sources.digest(experiment_code(experiment))[:16]


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


def run(experiment: Experiment, params: Any, ctx: Context) -> Result:
    """Run one experiment, then judge its claims and record where the numbers came from."""
    module = load(experiment)
    started = time.perf_counter()
    with one_thread(), topic_code():
        result = module.run(params, ctx)
    return finish(experiment, params, ctx, result, time.perf_counter() - started)


def parts(experiment: Experiment, params: Any) -> list | None:
    """The independent parts a run may be split into (for the process pool), or None."""
    module = load(experiment)
    return planned(experiment, module.parts, params) if hasattr(module, "parts") else None


def planned(experiment: Experiment, function: Any, *args: Any) -> Any:
    """`function(*args)`, a planning function of the experiment's (parts, parts_for) that
    runs in the command: an exception in it names its line, as one in the run would."""
    try:
        with topic_code():
            return function(*args)
    except (Exception, SystemExit) as error:
        path, line = last_frame_in(error, experiment.path.parent)
        raise ContentError(f"{function.__name__}() failed: {type(error).__name__}: {error}",
                           path or experiment.path, line) from None


def needed_parts(experiment: Experiment, params: Any, figures: set[str]) -> list | None:
    """The parts (in `parts` order) that drawing `figures` needs: those each figure's
    `parts_for(params, figure)` names, or every part where the experiment does not say;
    None for an experiment that is not split into parts."""
    module = load(experiment)
    every = parts(experiment, params)
    if every is None or not hasattr(module, "parts_for") or not figures:
        return every
    wanted = {part for figure in sorted(figures)
              for part in planned(experiment, module.parts_for, params, figure)}
    unknown = wanted.difference(every)
    if unknown:
        raise ContentError(f"parts_for names {sorted(map(str, unknown))[0]!r}, which "
                           "parts(params) does not list", experiment.path)
    return [part for part in every if part in wanted]


def run_part(experiment: Experiment, params: Any, ctx: Context, part: Any) -> Any:
    module = load(experiment)
    with one_thread(), topic_code():
        return module.run_part(params, ctx, part)


def combine(experiment: Experiment, params: Any, ctx: Context, outputs: dict,
            wall_s: float) -> Result:
    """The Result of a run computed part by part; the same numbers as `run`."""
    module = load(experiment)
    with one_thread(), topic_code():
        result = module.combine(params, ctx, outputs)
    return finish(experiment, params, ctx, result, wall_s)


def finish(experiment: Experiment, params: Any, ctx: Context, result: Result,
           wall_s: float) -> Result:
    """Record where the numbers came from, then judge the claims."""
    import torch

    import topicgen
    from topicgen.results.model import malformed

    if problem := malformed(result):  # before anything is written into it
        raise ContentError(problem, experiment.path)
    if result.experiment != experiment.name:  # a Result(...) line copied from another file
        raise ContentError(f'run() returned a Result named "{result.experiment}": name it '
                           f'after its file, Result("{experiment.name}", ...)', experiment.path)
    result.provenance = {
        "seeds": list(range(ctx.seed, ctx.seed + getattr(params, "seeds", 1))),
        "device": ctx.device,
        "torch": str(torch.__version__),  # not its TorchVersion: unpickling that imports torch
        "topicgen": topicgen.__version__,
        "code_hash": code_hash(experiment),
        "wall_s": round(wall_s, 3),
    }
    module = load(experiment)
    with topic_code():
        result.claims = module.claims(result) if hasattr(module, "claims") else []
        deviations = (module.deviations(params) if hasattr(module, "deviations")
                      else getattr(module, "DEVIATIONS", []))
    if problem := malformed(result) or lost_backslash(result.claims):
        raise ContentError(problem, experiment.path)
    result.deviations = list(deviations)
    return result


DOLLAR_PAIR = re.compile(r"\$([^$]+)\$")
"""Any two dollars: "$\\nabla$" not raw opens with a newline, which no formula starts with."""
CLAIM_TEXTS = ("statement", "expected", "measured", "tolerance", "not_judged")
ESCAPES = {"\a": "a", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t", "\v": "v"}


def lost_backslash(claims: list) -> str:
    """A claim whose words hold a control character, most likely a formula in a string that
    is not raw: "$\\beta$" holds a backspace and "eta", "$\\theta$" a tab and "heta", which
    would typeset wrongly without a word of warning."""
    for claim in claims:
        for part in CLAIM_TEXTS:
            text = getattr(claim, part)
            control = next((char for char in text if char != "\n"
                            and unicodedata.category(char) == "Cc"), None)
            if control is None and any("\n" in pair for pair in DOLLAR_PAIR.findall(text)):
                control = "\n"
            if control is None:
                continue
            where = (f'claim "{claim.id}": its {part} holds the control character '
                     f"U+{ord(control):04X}")
            if control not in ESCAPES:
                return where
            return (f'{where}, which "\\{ESCAPES[control]}" becomes in a string that is not raw: '
                    'write the string r"..." so that a formula keeps its backslashes')
    return ""
