"""The identity shortcut as a gradient highway: input gradients of plain and residual stacks.

    topicgen run residual-depth -p depths=10,50,100 -p width=64 --json

A plain stack x_(l+1) = tanh(W_l x_l + b_l) multiplies one Jacobian D_l W_l per layer, so
its input gradient shrinks (or grows) geometrically with depth, like an RNN's through time.
A residual stack adds the identity, x_(l+1) = x_l + F(x_l), and then

    x_L = x_0 + sum_l F(x_l),    dE/dx_0 = dE/dx_L (I + d/dx_0 sum_l F(x_l)),

so the output gradient reaches the input unchanged through the identity term whatever the
branches do (He et al. 2016b, §3). Scaling the shortcut, x_(l+1) = lambda x_l + F(x_l),
turns that direct term into lambda^L: the RNN problem again, now in depth (He et al. 2016b,
§3.1). Three stacks, each with PyTorch's default `nn.Linear` initialisation U(+-1/sqrt(d)):

  plain       x_(l+1) = tanh(W_l x_l + b_l)
  residual    x_(l+1) = x_l + tanh(W_l x_l + b_l) / sqrt(L); the 1/sqrt(L) keeps the sum of
              L branches of order one, so the stack neither explodes nor reduces to x_0
  zero-init   x_(l+1) = lambda x_l + V_l tanh(W_l x_l + b_l) with V_l = 0, the "zero-init
              residual" trick: at initialisation every branch is exactly 0, so
              dx_L/dx_0 = lambda^L I exactly, and exactly I for lambda = 1.

The plain and residual stacks share their W_l and b_l, so the shortcut is the only
difference. The Jacobian dx_L/dx_0 comes from autograd; the measured input gradient of
L = v . x_L (v a random unit vector) is ||J^T v|| = ||dL/dx_0|| / ||dL/dx_L||.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, param

from ._tensors import batch_jacobian, generator, resolved, uniform

SUMMARY = "Input-gradient norm and Jacobian singular values vs depth: plain vs residual stacks."
DTYPE = torch.float64  # the shortcut law is checked to 1e-12
STACKS = ("plain", "residual")
# Measured with this code at depth 50: the plain net's ratio is ~5e-13 and the residual
# net's ~1.1; the contrast is judged where depth >= 50 and the width is at least
# 16 (below it one draw of a narrow residual stack can stray near 2).
CONTRAST_MIN_DEPTH = 50
CONTRAST_MIN_WIDTH = 16
PLAIN_MAX = 1e-6
RESIDUAL_RANGE = (0.5, 2.0)
EXACT = 1e-12  # rounding over <= 200 multiplications by lambda stays below 1e-13
# The singular values shown, by rank from the top (0 = largest).
RANKS = {"largest": 0.0, "median": 0.5, "smallest": 1.0}


@dataclass(frozen=True)
class Params:
    # From one layer to twice the depth of 50 at which the contrast is judged.
    depths: tuple[int, ...] = param((1, 2, 5, 10, 20, 50, 100), "stack depths L to measure",
                                    min=1, max=200)
    # A typical small width; default init's per-layer gain does not depend on it.
    width: int = param(64, "features per layer", min=2, max=256)
    # Five seeds give a mean and a spread of each ratio: one random draw can mislead.
    seeds: int = param(5, "independent weight, input and readout draws", min=1, max=1000)
    # Below, at and above 1: the direct path vanishes, is kept exactly, or explodes.
    shortcut_scales: tuple[float, ...] = param((0.9, 1.0, 1.1), "lambda of the zero-init stack",
                                               min=0.5, max=2.0)


QUICK = {"depths": (1, 5, 20, 50), "seeds": 3}


def draw_stack(depth: int, width: int, gens: list[torch.Generator],
               device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed W (S, L, N, N) and b (S, L, N), drawn like `nn.Linear`: U(+-1/sqrt(N))."""
    bound = 1 / math.sqrt(width)
    w = torch.stack([uniform((depth, width, width), bound, g, DTYPE, device) for g in gens])
    b = torch.stack([uniform((depth, width), bound, g, DTYPE, device) for g in gens])
    return w, b


def branch(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """tanh(W x + b) for each seed: w (S, N, N), b (S, N), x (S, B, N) -> (S, B, N)."""
    return torch.tanh(torch.einsum("sij,sbj->sbi", w, x) + b[:, None, :])


def forward(stack: str, w: torch.Tensor, b: torch.Tensor, x: torch.Tensor,
            shortcut: float = 1.0) -> torch.Tensor:
    """x_L of `stack` ("plain", "residual" or "zero-init") from a batch x_0 (S, B, N)."""
    depth = w.shape[1]
    for layer in range(depth):
        update = branch(w[:, layer], b[:, layer], x)  # (S, B, N)
        if stack == "plain":
            x = update
        elif stack == "residual":
            x = x + update / math.sqrt(depth)
        else:  # the branch's zero-initialised output layer V_l makes it exactly zero
            v = torch.zeros_like(w[:, layer])  # (S, N, N)
            x = shortcut * x + torch.einsum("sij,sbj->sbi", v, update)
    return x






def draw_probe(width: int, gens: list[torch.Generator],
               device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed input x_0 (S, N) and unit readout v (S, N) of the loss L = v . x_L."""
    x0 = torch.stack([torch.randn(width, generator=g, dtype=DTYPE, device=device) for g in gens])
    readout = torch.stack([torch.randn(width, generator=g, dtype=DTYPE, device=device)
                           for g in gens])
    return x0, readout / readout.norm(dim=1, keepdim=True)  # ||dL/dx_L|| = 1 exactly


def run(params: Params, ctx: Context) -> Result:
    depths = sorted(set(params.depths))
    ratios = {stack: [] for stack in STACKS}  # per depth, (S,) each
    sv_logs = {f"{stack}: {rank}": [] for stack in STACKS for rank in RANKS}  # per depth, (S,)
    gains = {scale: [] for scale in params.shortcut_scales}  # per depth, (S,)
    errors = {scale: [] for scale in params.shortcut_scales}
    for depth in depths:
        # Fresh streams per depth: the same x_0 and v everywhere, and a depth's weights do
        # not depend on which other depths are measured.
        gens = [generator(seed, ctx.device) for seed in range(ctx.seed, ctx.seed + params.seeds)]
        x0, readout = draw_probe(params.width, gens, ctx.device)
        w, b = draw_stack(depth, params.width, gens, ctx.device)  # (S, L, N, N), (S, L, N)
        for stack in STACKS:
            jac = batch_jacobian(partial(forward, stack, w, b), x0)  # (S, N, N)
            ratios[stack].append(torch.einsum("sij,si->sj", jac, readout).norm(dim=1))
            logs = resolved(torch.linalg.svdvals(jac)).log10()  # (S, N), largest first
            for rank, fraction in RANKS.items():
                sv_logs[f"{stack}: {rank}"].append(logs[:, round(fraction * (params.width - 1))])
        eye = torch.eye(params.width, dtype=DTYPE, device=ctx.device)
        for scale in params.shortcut_scales:
            jac = batch_jacobian(partial(forward, "zero-init", w, b, shortcut=scale), x0)
            theory = scale**depth
            gains[scale].append(jac.diagonal(dim1=1, dim2=2).mean(1))
            errors[scale].append(((jac - theory * eye).abs() / theory).amax(dim=(1, 2)))

    return Result("residual-depth", as_dict(params),
                  _series(depths, ratios, sv_logs, gains),
                  _scalars(depths, ratios, errors))


def _mean_std(values: list[torch.Tensor]) -> tuple[list[float], list[float]]:
    """Mean and population std over seeds of a per-depth list of (S,) tensors."""
    stacked = torch.stack(values)  # (D, S)
    return stacked.mean(1).tolist(), stacked.std(1, correction=0).tolist()


def _series(depths: list[int], ratios: dict, sv_logs: dict, gains: dict) -> dict[str, Series]:
    x_label = "depth L (layers)"
    grad = {stack: _mean_std(values) for stack, values in ratios.items()}
    # The plain ratio spans tens of decades, so its seeds are also averaged in log10.
    log_grad = {stack: _mean_std([v.log10() for v in values]) for stack, values in ratios.items()}
    sv = {label: _mean_std(values) for label, values in sv_logs.items()}
    gain = {f"lambda = {scale:g}": _mean_std(values) for scale, values in gains.items()}
    return {
        "input_grad": Series(depths, x_label, {k: v[0] for k, v in grad.items()},
                             "||dL/dx_0|| / ||dL/dx_L||", {k: v[1] for k, v in grad.items()}),
        "log10_input_grad": Series(depths, x_label, {k: v[0] for k, v in log_grad.items()},
                                   "log10 ||dL/dx_0|| / ||dL/dx_L||",
                                   {k: v[1] for k, v in log_grad.items()}),
        "jacobian_sv": Series(depths, x_label, {k: v[0] for k, v in sv.items()},
                              "log10 singular value of dx_L/dx_0",
                              {k: v[1] for k, v in sv.items()}),
        "shortcut_gain": Series(depths, x_label, {k: v[0] for k, v in gain.items()},
                                "diagonal entry of dx_L/dx_0", {k: v[1] for k, v in gain.items()}),
    }


def _scalars(depths: list[int], ratios: dict, errors: dict) -> dict[str, float]:
    found = {}
    for index, depth in enumerate(depths):
        for stack in STACKS:
            found[f"input_grad_{stack}_L{depth}"] = ratios[stack][index].mean().item()
            found[f"input_grad_{stack}_L{depth}_std"] = ratios[stack][index].std(
                correction=0).item()
    # The plain stack's gradient factor per layer, from the deepest stack (geometric seed mean).
    deepest = ratios["plain"][-1]  # (S,)
    found["plain_factor_per_layer"] = (deepest.log().mean() / depths[-1]).exp().item()
    found["shortcut_max_rel_error"] = max(torch.stack(e).max().item() for e in errors.values())
    if 1.0 in errors:
        found["zero_init_identity_error"] = torch.stack(errors[1.0]).max().item()
    return found


def claims(result: Result) -> list[Claim]:
    p, s = result.params, result.scalars
    error = s["shortcut_max_rel_error"]
    found = [Claim(
        id="shortcut-law",
        statement="With the branches at zero, a shortcut scaled by lambda multiplies the "
                  "gradient by exactly lambda per layer (He et al. 2016b, §3.1).",
        expected="dx_L/dx_0 = lambda^L I for lambda = "
                 + ", ".join(f"{scale:g}" for scale in p["shortcut_scales"]),
        measured=f"max relative error {error:.1e}",
        tolerance=f"<= {EXACT:g}",
        passed=error <= EXACT,
    )]
    if "zero_init_identity_error" in s:
        error = s["zero_init_identity_error"]
        found.append(Claim(
            id="zero-init-identity",
            statement="A residual stack whose branches end in a zero-initialised layer is the "
                      "identity at init: the input gradient equals the output gradient "
                      "(He et al. 2016b, §3).",
            expected="dx_L/dx_0 = I",
            measured=f"max |J - I| = {error:.1e}",
            tolerance=f"<= {EXACT:g}",
            passed=error <= EXACT,
        ))
    found.extend(_contrast(p, s))
    return found


def _contrast(p: dict, s: dict[str, float]) -> list[Claim]:
    """Plain vanishes, residual stays of order one, at every judged depth."""
    judged = sorted(d for d in set(p["depths"]) if d >= CONTRAST_MIN_DEPTH)
    if not judged or p["width"] < CONTRAST_MIN_WIDTH:
        return []
    plain = [s[f"input_grad_plain_L{d}"] for d in judged]
    residual = [s[f"input_grad_residual_L{d}"] for d in judged]
    low, high = RESIDUAL_RANGE
    return [Claim(
        id="plain-vs-residual",
        statement="Identity shortcuts carry the gradient through a deep tanh stack that "
                  "otherwise loses it (He et al. 2016b, §3).",
        expected=f"||dL/dx_0|| / ||dL/dx_L||: plain < {PLAIN_MAX:g}, residual in "
                 f"[{low:g}, {high:g}] at L = " + ", ".join(str(d) for d in judged),
        measured="plain " + ", ".join(f"{v:.1e}" for v in plain)
                 + "; residual " + ", ".join(f"{v:.3g}" for v in residual),
        tolerance="the bounds themselves",
        passed=all(v < PLAIN_MAX for v in plain) and all(low <= v <= high for v in residual),
    )]
