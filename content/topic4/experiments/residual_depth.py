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

How much the residual stack's gradient grows is predicted layer by layer, by the first-moment
bookkeeping of Pennington et al. 2017 (§2) applied to the residual step Jacobian
I + D_l W_l / sqrt(L), D_l = diag(tanh'(h_l)): for an isotropic backward vector u, the cross
term has mean zero (E W_l = 0), so E||(I + D_l W_l / sqrt(L))^T u||^2 = ||u||^2 (1 + chi_l / L),
chi_l = N Var(W) mean_i tanh'(h_l,i)^2, and N Var(W) = 1/3 for U(+-1/sqrt(N)). Hence the mean
squared singular value of dx_L/dx_0, ||J||_F^2 / N, is prod_l (1 + chi_l / L): at most
(1 + 1/(3L))^L < e^(1/3), and near e^(0.2) at this init. A branch counted twice, a missing or
wrong 1/sqrt(L), a dropped shortcut or a wrong init all move it by far more than its noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, not_judged, param

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
# The residual stack's mean squared singular value against prod_l (1 + chi_l / L): per seed,
# log(measured / predicted) has a spread of about SPREAD / N and a bias of at most BIAS / N
# (measured with this code over 400 seeds at N = 8, 16, 32, 64, 128 and L = 1, 5, 20, 50,
# 100, and at L = 200 for N = 16, 64 and, over 100 seeds, 256: spread 0.76/N to 1.06/N,
# bias -0.00/N to -0.19/N, largest single draw 4.6 spreads). The seed mean is judged at the
# bias plus Z standard errors, from width MEAN_FIELD_MIN_WIDTH on (the widths measured;
# below, the 1/N law is unchecked).
MEAN_FIELD_SPREAD, MEAN_FIELD_BIAS, MEAN_FIELD_Z = 1.1, 0.2, 5.0
MEAN_FIELD_MIN_WIDTH = 8
# N Var(W) for nn.Linear's U(+-1/sqrt(N)): the gradient gain of one branch per unit tanh'^2.
BRANCH_GAIN = 1 / 3
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

# Against He et al. 2016b, whose residual units are convolutional with batch normalisation:
DEVIATIONS = ["fully connected tanh layers without normalisation, not convolutional units",
              "residual branches scaled by 1/sqrt(L), which He et al. do not use, so that the "
              "stack's input gradient stays bounded at every depth measured"]


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


def mean_field_gain(w: torch.Tensor, b: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """Predicted ||dx_L/dx_0||_F^2 / N of the residual stack per seed (S,): prod_l (1 + chi_l/L).

    Walks x_(l+1) = x_l + tanh(h_l) / sqrt(L), h_l = W_l x_l + b_l, as the module docstring
    defines the stack (written out here, not by calling `forward`, so the prediction does not
    inherit a slip in the stack it is checked against), with chi_l = mean_i tanh'(h_l,i)^2 / 3.
    """
    depth = w.shape[1]
    x = x0  # (S, N)
    log_gain = torch.zeros(x0.shape[0], dtype=x0.dtype, device=x0.device)
    for layer in range(depth):
        h = torch.einsum("sij,sj->si", w[:, layer], x) + b[:, layer]
        chi = BRANCH_GAIN * (1 - torch.tanh(h).square()).square().mean(1)  # (S,)
        log_gain += torch.log1p(chi / depth)
        x = x + torch.tanh(h) / math.sqrt(depth)
    return log_gain.exp()


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
    mean_field = {"measured": [], "theory": []}  # per depth, (S,): residual ||J||_F^2 / N
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
            if stack == "residual":
                mean_field["measured"].append(jac.square().sum((1, 2)) / params.width)
                mean_field["theory"].append(mean_field_gain(w, b, x0))
        eye = torch.eye(params.width, dtype=DTYPE, device=ctx.device)
        for scale in params.shortcut_scales:
            jac = batch_jacobian(partial(forward, "zero-init", w, b, shortcut=scale), x0)
            theory = scale**depth
            gains[scale].append(jac.diagonal(dim1=1, dim2=2).mean(1))
            errors[scale].append(((jac - theory * eye).abs() / theory).amax(dim=(1, 2)))

    return Result("residual-depth", as_dict(params),
                  _series(depths, ratios, sv_logs, gains),
                  _scalars(depths, ratios, errors, mean_field))


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


def _scalars(depths: list[int], ratios: dict, errors: dict,
             mean_field: dict) -> dict[str, float]:
    found = {}
    for index, depth in enumerate(depths):
        for stack in STACKS:
            found[f"input_grad_{stack}_L{depth}"] = ratios[stack][index].mean().item()
            found[f"input_grad_{stack}_L{depth}_std"] = ratios[stack][index].std(
                correction=0).item()
        measured, theory = mean_field["measured"][index], mean_field["theory"][index]
        found[f"residual_msv_L{depth}"] = measured.mean().item()
        found[f"residual_msv_theory_L{depth}"] = theory.mean().item()
        # The seed mean of log(measured / predicted): what the mean-field claim judges.
        found[f"residual_msv_log_error_L{depth}"] = (measured / theory).log().mean().item()
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
    # Both zero-branch claims are identities of the code: with V_l = 0 the branch is exactly
    # 0, so autograd can only return lambda^L I. They check the plumbing, not the theory.
    found = [Claim(
        id="shortcut-law",
        statement=r"With the branches at zero, a shortcut scaled by $\lambda$ multiplies the "
                  r"gradient by exactly $\lambda$ per layer (He et al. 2016b, §3.1).",
        expected=r"$\partial x_L / \partial x_0 = \lambda^L I$ for $\lambda = "
                 + ", ".join(f"{scale:g}" for scale in p["shortcut_scales"]) + "$",
        measured=f"max relative error {error:.1e}",
        tolerance=f"<= {EXACT:g}",
        passed=error <= EXACT,
        kind="sanity",
    )]
    statement = ("A residual stack whose branches end in a zero-initialised layer is the "
                 "identity at init: the input gradient equals the output gradient "
                 "(He et al. 2016b, §3).")
    if "zero_init_identity_error" in s:
        error = s["zero_init_identity_error"]
        found.append(Claim(
            id="zero-init-identity",
            statement=statement,
            expected=r"$\partial x_L / \partial x_0 = I$",
            measured=rf"$\max \lvert J - I \rvert$ = {error:.1e}",
            tolerance=f"<= {EXACT:g}",
            passed=error <= EXACT,
            kind="sanity",
        ))
    else:
        found.append(not_judged("zero-init-identity", statement,
                                r"$\partial x_L / \partial x_0 = I$",
                                "needs lambda = 1 among shortcut_scales", kind="sanity"))
    found.append(_contrast(p, s))
    found.append(_mean_field(p, s))
    return found


def _contrast(p: dict, s: dict[str, float]) -> Claim:
    """Plain vanishes, residual stays of order one, at every judged depth."""
    judged = sorted(d for d in set(p["depths"]) if d >= CONTRAST_MIN_DEPTH)
    low, high = RESIDUAL_RANGE
    statement = ("Identity shortcuts carry the gradient through a deep tanh stack that "
                 "otherwise loses it (He et al. 2016b, §3).")
    ratio = r"$\lVert \partial L / \partial x_0 \rVert / \lVert \partial L / \partial x_L \rVert$"
    expected = (f"{ratio}: plain < {PLAIN_MAX:g}, residual in [{low:g}, {high:g}] at depth "
                rf"$\ge {CONTRAST_MIN_DEPTH}$")
    if not judged or p["width"] < CONTRAST_MIN_WIDTH:
        return not_judged("plain-vs-residual", statement, expected,
                          f"needs a depth >= {CONTRAST_MIN_DEPTH} and width >= "
                          f"{CONTRAST_MIN_WIDTH}")
    plain = [s[f"input_grad_plain_L{d}"] for d in judged]
    residual = [s[f"input_grad_residual_L{d}"] for d in judged]
    return Claim(
        id="plain-vs-residual",
        statement=statement,
        expected=f"{ratio}: plain < {PLAIN_MAX:g}, residual in [{low:g}, {high:g}] at $L = "
                 + ", ".join(str(d) for d in judged) + "$",
        measured="plain " + ", ".join(f"{v:.1e}" for v in plain)
                 + "; residual " + ", ".join(f"{v:.3g}" for v in residual),
        tolerance="the bounds themselves",
        passed=all(v < PLAIN_MAX for v in plain) and all(low <= v <= high for v in residual),
    )


def mean_field_tolerance(width: int, seeds: int) -> float:
    """Band on the seed mean of log(measured / predicted): the bias plus Z standard errors."""
    return (MEAN_FIELD_BIAS + MEAN_FIELD_Z * MEAN_FIELD_SPREAD / math.sqrt(seeds)) / width


def _mean_field(p: dict, s: dict[str, float]) -> Claim:
    """The residual stack's mean squared singular value against prod_l (1 + chi_l / L)."""
    statement = (r"Each residual layer $I + D_l W_l / \sqrt{L}$ adds $\chi_l / L$ to the mean "
                 r"squared gradient, $\chi_l = N \operatorname{Var}(W)\, "
                 r"\mathbb{E}[\tanh'(h_l)^2]$: the first-moment bookkeeping of Pennington et "
                 "al. 2017 (§2) on He et al. 2016b's identity shortcut (§3).")
    expected = (r"$\lVert \partial x_L / \partial x_0 \rVert_F^2 / N = \prod_l (1 + \chi_l / L)$, "
                r"$N \operatorname{Var}(W) = 1/3$, at every depth")
    if p["width"] < MEAN_FIELD_MIN_WIDTH:
        return not_judged("residual-mean-field", statement, expected,
                          f"needs width >= {MEAN_FIELD_MIN_WIDTH}, where its 1/N noise was "
                          "measured")
    depths = sorted(set(p["depths"]))
    errors = [s[f"residual_msv_log_error_L{d}"] for d in depths]
    band = mean_field_tolerance(p["width"], p["seeds"])
    return Claim(
        id="residual-mean-field",
        statement=statement,
        expected=expected,
        measured=f"$L = {', '.join(map(str, depths))}$: measured "
                 + ", ".join(f"{s[f'residual_msv_L{d}']:.4g}" for d in depths)
                 + "; predicted "
                 + ", ".join(f"{s[f'residual_msv_theory_L{d}']:.4g}" for d in depths)
                 + rf"; largest $\lvert \log \text{{error}} \rvert$ {max(map(abs, errors)):.4f}",
        tolerance=f"|seed mean of log(measured / predicted)| <= {band:.3f} "
                  f"(({MEAN_FIELD_BIAS:g} + {MEAN_FIELD_Z:g} x {MEAN_FIELD_SPREAD:g} / "
                  f"sqrt(seeds)) / N: the bias plus {MEAN_FIELD_Z:g} standard errors)",
        passed=all(abs(e) <= band for e in errors),
    )
