"""What an experiment file imports: the whole of topicgen an experiment author needs.

An experiment lives in `content/<topic>/experiments/<stem>.py` and provides

    Params            a frozen dataclass; declare each field with `param(default, help, ...)`
    QUICK             dict of overrides for the fast `quick` profile (optional)
    SUMMARY           one line for `topicgen list` (optional: the docstring's first line)
    run(params, ctx)  -> Result; pure and seeded from `ctx.seed`, no file I/O
    claims(result)    -> list[Claim]; what the run must show (optional)

A run may be split into independent parts, which the runner computes in parallel and caches
one by one: `parts(params)`, `run_part(params, ctx, part)` and `combine(params, ctx, outputs)`
(optional). With `parts_for(params, figure)` (optional) a build computes only the parts its
figures need; `combine` then gets those, and claims() marks what needs the others
`not_computed`.

and its figures live in `<stem>_figures.py` beside it, as `FIGURES = {name: draw}` with
`draw(result) -> matplotlib Figure` built from `new_figure()`. See docs/writing-experiments.md.

This module is part of every result's cache key (with everything it imports), so it stays
small and changes rarely. The figure helpers are loaded on first use, outside that key:
restyling figures reruns no experiment, and an experiment never imports matplotlib.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any

from topicgen.results.model import Claim, Result, Series

FIGURE_HELPERS = ("log10_axis", "new_figure", "plot_log10_band", "plot_with_band",
                  "style_of")

__all__ = ["Claim", "Context", "Result", "Series", "as_dict", "not_computed", "not_judged", "param",
           *FIGURE_HELPERS]


@dataclass(frozen=True)
class Context:
    """What a run may depend on besides its parameters."""

    seed: int = 0  # first seed; an experiment with `seeds = n` uses seed .. seed + n - 1
    device: str = "cpu"


def param(default: Any, help: str, *, min: float | None = None, max: float | None = None,
          choices: tuple[str, ...] | None = None, min_len: int = 1) -> Any:
    """A `Params` field with its allowed range (`min`/`max`, or `choices`) and a help line.

    `-p name=value` is parsed by the field's type; a tuple field takes a comma-separated list
    of at least `min_len` items, each listed once. A `Params.check(self)` method may add rules
    tying fields together; it raises ValueError with the message a user should see.
    """
    meta = {"help": help, "min": min, "max": max, "choices": choices, "min_len": min_len}
    return dataclasses.field(default=default, metadata=meta)


def not_judged(id: str, statement: str, expected: str, reason: str,
               kind: str = "evidence") -> Claim:
    """A claim these parameters cannot judge (e.g. a width outside the theory's range): shown
    as "not judged" with `reason`, so it never silently disappears."""
    return Claim(id, statement, expected, measured="", tolerance="", passed=None, kind=kind,
                 not_judged=reason)


def not_computed(claim: Claim, part: str) -> Claim:
    """`claim` as not judged, because the `part` of the run it needs was not computed: the
    build shows no figure drawn from that part (see `parts_for`)."""
    return dataclasses.replace(claim, measured="", tolerance="", passed=None, not_judged=(
        f"the {part} was not computed: this build shows no figure drawn from it "
        "(topicgen check computes every part)"))


def as_dict(params: Any) -> dict[str, Any]:
    """The parameters as JSON-able values (tuples become lists): what `Result.params` holds."""
    values = dataclasses.asdict(params)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def __getattr__(name: str) -> Any:
    if name in FIGURE_HELPERS:
        return getattr(importlib.import_module("topicgen.figures.style"), name)
    raise AttributeError(f"module 'topicgen.api' has no attribute '{name}'")
