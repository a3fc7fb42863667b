"""Pascanu's bound on the backpropagated gradient, tested where it can fail.

    topicgen run pascanu-bound -p rhos=0.8,1,3 --json

For the recurrence x_t = W sigma(x_{t-1}) + U u_t each backward step multiplies the gradient
by a Jacobian W diag(sigma'(x_{t-1})) of norm at most lambda_1 gamma, where lambda_1 is W's
largest singular value and gamma bounds |sigma'| (1 for tanh, 1/4 for the logistic sigmoid).
So, for the loss L = v . x_T on the last step only,

    ||dL/dx_{T-k}|| <= (gamma lambda_1)^k ||dL/dx_T||          (Pascanu et al. 2013, eqs. 6-7)

With PyTorch's default initialisation lambda_1 is above 1, so the bound grows while the
gradient shrinks and checking it proves nothing. Here W = rho Q with Q Haar-orthogonal, so
every singular value is exactly rho and the bound is (gamma rho)^k: for the sigmoid, whose
slope is close to 1/4 near zero, it is nearly attained, and a wrong derivative anywhere in
the backward pass breaks it. Two more cases make the converse concrete (§2.1): lambda_1 > 1/gamma
is necessary for explosion, not sufficient.

  explosion   tanh, rho = 1.1, a tiny h_0 and no input: tanh' ~ 1, so the gradient grows by
              exactly 1.1 per step, 1.1^60 = 304.48 at lag 60.
  saturation  tanh, rho = 1.5 > 1 with unit-scale states and input noise: the units sit in
              tanh's flat tails and the gradient still vanishes.

All seeds run at once: matrices carry a leading seed dimension S.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, not_judged, param

from ._tensors import generator, haar_orthogonal

SUMMARY = "Pascanu's bound (gamma rho)^k with W = rho Q, for tanh and sigmoid; 1.1^60; saturation."
CELLS = {"tanh": (torch.tanh, 1.0), "sigmoid": (torch.sigmoid, 0.25)}  # sigma, gamma
INPUTS = 8  # input features; U's entries have variance 1/8, so U u_t has unit variance
H0_SCALE = 0.01  # "small random h_0": the bound must hold from any start
SLACK = 1e-12  # relative rounding allowance in float64 over 60 products
# A lag is judged where the bound and the gradient are normal float64 numbers: past 10^308
# the bound is inf, which nothing exceeds, and below 10^-308 a gradient that underflowed to 0
# is below anything; neither would be a finding.
FLOAT64_TINY = torch.finfo(torch.float64).tiny
EXPLOSION_RHO = 1.1
EXPLOSION_H0 = 1e-8  # keeps every state far inside tanh's linear regime for 60 steps
EXPLOSION_DIGITS = 5e-5  # "to 4 digits": tanh'(x) = 1 - x^2 with |x| < 1e-5 moves it by ~1e-10
# The states grow like h_0 1.1^t; the product of tanh' stays within EXPLOSION_DIGITS of 1 while
# they stay below 1e-3 (the sum of x_t^2 over the steps is ~5 x_T^2). Past that T the claim
# leaves the regime it states: measured, it held up to T = 130 and failed from 140.
EXPLOSION_MAX_STATE = 1e-3
EXPLOSION_MAX_T = math.floor(math.log(EXPLOSION_MAX_STATE / EXPLOSION_H0) / math.log(EXPLOSION_RHO))
SATURATION_RHO = 1.5
# Standard deviation of the input noise that keeps units saturated. At 0.5 the units leave the
# tails too often: over 80 draws at n = 32 and 64 the ratio at lag 60 reached 1.9 (median 0.2);
# at 1.0 it stayed below 0.004 (median 1e-4).
SATURATION_NOISE = 1.0
# Vanishing needs steps to show: at lags 3 to 10 the ratio reached 1.3 to 4.2 in some draws;
# at lag 20 it stayed below 0.37 in all 400 (20 first seeds of 5 draws at n = 2, 4, 8, 32).
SATURATION_MIN_T = 20


@dataclass(frozen=True)
class Params:
    # Below one, at one, and above 1/gamma for the sigmoid (4): the bound must hold at all.
    rhos: tuple[float, ...] = param((0.8, 1.0, 3.0, 4.5), "scales rho of W = rho Q",
                                    min=0.01, max=10.0)
    # 60 steps: long enough that (gamma rho)^k spans tens of decades, still float64-safe.
    T: int = param(60, "sequence length", min=2, max=1000)
    hidden: int = param(64, "units n", min=2, max=1024)
    # Five seeds: the bound must hold for every draw of Q, U, inputs and h_0.
    seeds: int = param(5, "independent draws", min=1, max=100)


QUICK = {"hidden": 32, "seeds": 2}

# Pascanu et al. 2013's bound holds at any width and length: nothing to scale.
DEVIATIONS: list[str] = []


def gradient_ratios(cell: str, rho: float, params: Params, ctx: Context, *,
                    h0_scale: float = H0_SCALE, input_std: float | None = None) -> torch.Tensor:
    """||dL/dx_{T-k}|| / ||dL/dx_T|| for k = 0..T, per seed: (S, T + 1).

    input_std None: inputs U u_t; 0: none; otherwise Gaussian noise of that deviation.
    """
    sigma, _ = CELLS[cell]
    S, n, T = params.seeds, params.hidden, params.T
    gen = generator(ctx.seed, ctx.device)
    dtype = torch.float64
    w = rho * torch.stack([haar_orthogonal(n, gen, dtype, ctx.device) for _ in range(S)])
    if input_std is None:  # (S, T, n): U u_t with U ~ N(0, 1/INPUTS)
        u = torch.randn((S, n, INPUTS), generator=gen, dtype=dtype, device=ctx.device)
        u = u / math.sqrt(INPUTS)
        drive = torch.einsum("sni,sti->stn", u, torch.randn(
            (S, T, INPUTS), generator=gen, dtype=dtype, device=ctx.device))
    else:
        drive = input_std * torch.randn((S, T, n), generator=gen, dtype=dtype, device=ctx.device)
    x0 = h0_scale * torch.randn((S, n), generator=gen, dtype=dtype, device=ctx.device)
    readout = torch.randn((S, n), generator=gen, dtype=dtype, device=ctx.device)
    readout = readout / readout.norm(dim=1, keepdim=True)  # ||dL/dx_T|| = 1
    x = x0.requires_grad_(True)
    states = [x]
    for t in range(T):
        x = torch.einsum("snm,sm->sn", w, sigma(x)) + drive[:, t]  # (S, n)
        states.append(x)
    grads = torch.autograd.grad((readout * states[-1]).sum(), states)
    norms = torch.stack([g.norm(dim=1) for g in grads], dim=1)  # (S, T + 1), column t is x_t
    return norms.flip(1)  # column k is x_{T-k}


def run(params: Params, ctx: Context) -> Result:
    lags = list(range(params.T + 1))
    measured, bounds, scalars = {}, {}, {}
    violations, judged, slack = 0, 0, math.inf
    for cell, (_, gamma) in CELLS.items():
        for rho in params.rhos:
            ratios = gradient_ratios(cell, rho, params, ctx)  # (S, T + 1)
            bound = (gamma * rho) ** torch.arange(params.T + 1, dtype=ratios.dtype)
            normal = (bound >= FLOAT64_TINY) & bound.isfinite() & (ratios >= FLOAT64_TINY)
            normal[:, 0] = False  # lag 0: both are 1 by definition
            # Written so that a NaN gradient counts as above the bound.
            violations += int((normal & ~(ratios <= bound * (1 + SLACK))).sum())
            judged += int(normal.sum())
            # How close the bound comes: the smallest bound/measured over every judged lag.
            if normal.any():
                slack = min(slack, (bound / ratios)[normal].min().item())
            label = f"{cell}, rho = {rho:g}"
            measured[label] = ratios.log10().mean(0).tolist()
            bounds[label] = bound.log10().tolist()
    scalars["bound_violations"] = float(violations)
    scalars["bound_judged_lags"] = float(judged)
    scalars["bound_tightest_factor"] = slack
    explosion = gradient_ratios("tanh", EXPLOSION_RHO, params, ctx, h0_scale=EXPLOSION_H0,
                                input_std=0.0)[:, -1]
    saturation = gradient_ratios("tanh", SATURATION_RHO, params, ctx, h0_scale=1.0,
                                 input_std=SATURATION_NOISE)[:, -1]
    scalars["explosion_rho"] = EXPLOSION_RHO
    scalars["explosion_ratio"] = explosion.mean().item()
    scalars["explosion_theory"] = EXPLOSION_RHO ** params.T
    scalars["saturation_rho"] = SATURATION_RHO
    scalars["saturation_ratio_max"] = saturation.max().item()
    series = {
        "ratio": Series(lags, "steps back k", measured, "log10 ||dL/dx_(T-k)|| / ||dL/dx_T||"),
        "bound": Series(lags, "steps back k", bounds, "log10 (gamma rho)^k"),
    }
    return Result("pascanu-bound", as_dict(params), series, scalars)


def claims(result: Result) -> list[Claim]:
    p, s = result.params, result.scalars
    return [_bound_claim(p, s), _explosion_claim(p, s), _saturation_claim(p, s)]


def _bound_claim(p: dict, s: dict) -> Claim:
    statement = (r"No backpropagated gradient exceeds $(\gamma\rho)^k$, the bound of "
                 r"Pascanu et al. 2013, eqs. (6)-(7), for $W = \rho Q$ with tanh "
                 r"($\gamma = 1$) and the sigmoid ($\gamma = 1/4$).")
    expected = "0 lags above the bound"
    lags = len(CELLS) * len(p["rhos"]) * p["seeds"] * p["T"]
    judged = s["bound_judged_lags"]
    if not judged:
        return not_judged("bound", statement, expected,
                          "at every lag the bound or the gradient left float64's range")
    left_out = lags - judged
    return Claim(id="bound", statement=statement, expected=expected,
                 measured=f"{s['bound_violations']:.0f} of {judged:.0f} lags above; closest "
                          f"approach {s['bound_tightest_factor']:.3g}x below"
                          + (f"; {left_out:.0f} lags where the bound or the gradient left "
                             "float64's range not judged" if left_out else ""),
                 tolerance=f"relative rounding {SLACK:g}",
                 passed=s["bound_violations"] == 0)


def _explosion_claim(p: dict, s: dict) -> Claim:
    statement = (f"In tanh's linear regime $W = {EXPLOSION_RHO}\\,Q$ multiplies the gradient "
                 f"by exactly {EXPLOSION_RHO} per step (Pascanu et al. 2013, §2.1).")
    expected = f"${EXPLOSION_RHO}^{{{p['T']}}}$ = {s['explosion_theory']:.2f}"
    if p["T"] > EXPLOSION_MAX_T:
        return not_judged("linear-explosion", statement, expected,
                          f"judged at T <= {EXPLOSION_MAX_T}: longer, the states outgrow "
                          f"{EXPLOSION_MAX_STATE:g} and leave tanh's linear regime")
    error = abs(s["explosion_ratio"] / s["explosion_theory"] - 1)
    return Claim(id="linear-explosion", statement=statement, expected=expected,
                 measured=f"{s['explosion_ratio']:.2f}",
                 tolerance=f"relative {EXPLOSION_DIGITS:g}",
                 passed=error <= EXPLOSION_DIGITS)


def _saturation_claim(p: dict, s: dict) -> Claim:
    statement = (f"$\\lambda_1 = {SATURATION_RHO} > 1/\\gamma$ is necessary for explosion, "
                 "not sufficient: with saturated units the gradient still vanishes (Pascanu "
                 "et al. 2013, §2.1).")
    expected = (r"$\lVert \partial L / \partial x_0 \rVert / \lVert \partial L / "
                rf"\partial x_T \rVert < 1$ in every seed at lag {p['T']}")
    if p["T"] < SATURATION_MIN_T:
        return not_judged("necessary-not-sufficient", statement, expected,
                          f"judged at T >= {SATURATION_MIN_T}: over fewer steps the "
                          "vanishing has not shown yet")
    return Claim(id="necessary-not-sufficient", statement=statement, expected=expected,
                 measured=f"largest {s['saturation_ratio_max']:.3g}",
                 tolerance="strictly below 1",
                 passed=s["saturation_ratio_max"] < 1)
