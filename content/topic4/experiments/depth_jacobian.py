"""The depth Jacobian dx_L/dx_0 of Pre-LN and Post-LN stacks at initialisation.

    topicgen run depth-jacobian -p depths=1,4,16 --json

Chapter 7's product (I + B_{L-1}) ... (I + B_0) measured. Each block is Xiong et al.'s
simplified Transformer layer (2020, §3: a ReLU feed-forward sublayer, weights N(0, 1/d)):

    Pre-LN   x_{l+1} = x_l + FFN(LN(x_l))          an identity path runs through every block
    Post-LN  x_{l+1} = LN(x_l + FFN(x_l))          every block ends in a LayerNorm

We report the root-mean-square singular value of J_L = dx_L/dx_0, ||J_L||_F / sqrt(d).

What the theory supports, and the claims it makes checkable:
  * Pre-LN: J_L = prod (I + B_l). With independent random branches the cross terms average to
    zero, so E||J_L||_F^2 = E||J_{L-1}||_F^2 + E||B J_{L-1}||_F^2: the mean square is at least
    the identity's (d) and grows with every block. Xiong's Lemma 2 (E||x_l||^2 grows linearly
    in l) and LayerNorm's Jacobian scale sqrt(d)/||x|| make each B_l shrink like 1/sqrt(l), so
    the growth is slow, but no closed form follows: the claims are the bound and the ordering.
  * Post-LN: the last LayerNorm of every block projects out a direction and rescales by
    sqrt(d)/||x + F(x)||; there is no identity path, so nothing anchors the product at the
    identity's scale and it wanders from seed to seed. Claim: across seeds its log-scale
    spread at the deepest depth exceeds Pre-LN's.

All seeds run at once: weights carry a leading seed dimension S, and one backward pass per
depth gives every row of every seed's Jacobian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, not_judged, param

from ._tensors import batch_jacobian, generator

SUMMARY = "RMS singular value of dx_L/dx_0 against depth for Pre-LN and Post-LN stacks at init."
PLACEMENTS = ("pre", "post")
LN_EPS = 1e-5  # PyTorch's LayerNorm default
# The claims compare seed means and spreads, so they need enough draws of wide enough stacks.
# Over twenty first seeds (0, 20, ..., 380) each held in all twenty at width 32 (depths 1 to
# 128) and 64 (1 to 32) with 16 seeds; with 8 seeds, or at width 16 or less, pre-ln-grows
# failed in up to 11 of 20 (the growth per block is small next to the seeds' scatter), and
# with 4 seeds post-ln-wanders and the identity floor failed too.
CLAIM_MIN_WIDTH, CLAIM_MIN_SEEDS = 32, 16


@dataclass(frozen=True)
class Params:
    # Doubling depths up to 32, the depth range where Xiong et al. compare the two placements.
    depths: tuple[int, ...] = param((1, 2, 4, 8, 16, 32), "stack depths L", min=1, max=256)
    # d = 64: the width of one attention head; the picture does not depend on it.
    width: int = param(64, "model width d", min=4, max=1024)
    # Sixteen seeds: the claims compare means and spreads across weight draws.
    seeds: int = param(16, "independent weight draws", min=4, max=256)


QUICK = {"depths": (1, 2, 4, 8, 16), "width": 32}

DEVIATIONS = ["feed-forward sublayers only, as in Xiong et al. 2020's analysis (§3): no "
              "attention"]


def layer_norm(x: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the last axis without gain and bias (their init values 1 and 0)."""
    centred = x - x.mean(-1, keepdim=True)
    return centred / torch.sqrt(centred.square().mean(-1, keepdim=True) + LN_EPS)


def stack(x: torch.Tensor, weights: list[tuple[torch.Tensor, torch.Tensor]],
          placement: str) -> torch.Tensor:
    """x (S, B, d) through the blocks; weights[l] = (W1, W2), each (S, d, d)."""
    for w1, w2 in weights:
        if placement == "pre":
            x = x + torch.relu(layer_norm(x) @ w1) @ w2
        else:
            x = layer_norm(x + torch.relu(x @ w1) @ w2)
    return x


def rms_singular_values(placement: str, depth: int, params: Params, ctx: Context
                        ) -> torch.Tensor:
    """||dx_L/dx_0||_F / sqrt(d) per seed: (S,). The input is a LayerNormed Gaussian token."""
    S, d = params.seeds, params.width
    gen = generator(ctx.seed, ctx.device)
    weights = [tuple(torch.randn((S, d, d), generator=gen, dtype=torch.float64,
                                 device=ctx.device) / math.sqrt(d) for _ in range(2))
               for _ in range(depth)]
    x0 = layer_norm(torch.randn((S, d), generator=gen, dtype=torch.float64, device=ctx.device))
    jacobian = batch_jacobian(lambda x: stack(x, weights, placement), x0)  # (S, d, d)
    return jacobian.flatten(1).norm(dim=1) / math.sqrt(d)


def run(params: Params, ctx: Context) -> Result:
    depths = sorted(params.depths)  # the claims read "deeper" and "deepest" along the list
    log_mean, log_std, scalars = {}, {}, {}
    for placement in PLACEMENTS:
        rms = torch.stack([rms_singular_values(placement, depth, params, ctx)
                           for depth in depths], dim=1)  # (S, depths)
        logs = rms.log10()
        label = f"{placement.capitalize()}-LN"
        log_mean[label] = logs.mean(0).tolist()
        log_std[label] = logs.std(0, correction=0).tolist()
        mean_square = rms.square().mean(0)  # (depths,) the seed mean of ||J||_F^2 / d
        scalars[f"{placement}_mean_square_min"] = mean_square.min().item()
        scalars[f"{placement}_increasing_steps"] = float((mean_square.diff() > 0).sum())
        scalars[f"{placement}_log_spread_deepest"] = logs[:, -1].std(correction=0).item()
        scalars[f"{placement}_rms_deepest"] = 10 ** logs[:, -1].mean().item()
    series = {"rms": Series(depths, "depth L", log_mean, "log10 RMS singular value of dx_L/dx_0",
                            log_std)}
    return Result("depth-jacobian", as_dict(params), series, scalars)


CLAIMS = {
    "pre-ln-identity-floor": (
        r"Through Pre-LN's identity paths the mean square of $\partial x_L / \partial x_0$ "
        "never falls below the identity's: the random branches' cross terms average out.",
        r"seed mean of $\lVert J_L \rVert_F^2 / d \ge 1$ at every depth"),
    "pre-ln-grows": (
        "Each Pre-LN block adds its branch's square to the product's, so the mean square grows "
        "with depth (Xiong et al. 2020, Lemma 2, sets the branches' shrinking size).",
        "larger at each deeper depth"),
    "post-ln-wanders": (
        "Post-LN ends every block in a LayerNorm, with no identity path to anchor the product, "
        "so at the deepest depth its size varies more from seed to seed than Pre-LN's.",
        "log10 spread across seeds: Post-LN > Pre-LN"),
}


def claims(result: Result) -> list[Claim]:
    p, s = result.params, result.scalars
    steps = len(p["depths"]) - 1
    if p["width"] < CLAIM_MIN_WIDTH or p["seeds"] < CLAIM_MIN_SEEDS:
        reason = (f"judged at width >= {CLAIM_MIN_WIDTH} with >= {CLAIM_MIN_SEEDS} seeds, "
                  "where it was measured to hold: fewer or narrower draws scatter more than "
                  "the effect")
        return [not_judged(id, statement, expected, reason)
                for id, (statement, expected) in CLAIMS.items()]

    def claim(id: str, **measured) -> Claim:
        return Claim(id, *CLAIMS[id], **measured)

    grows = claim("pre-ln-grows", measured=f"{s['pre_increasing_steps']:.0f} of {steps} steps up",
                  tolerance="every step", passed=s["pre_increasing_steps"] == steps)
    if not steps:
        grows = not_judged("pre-ln-grows", *CLAIMS["pre-ln-grows"], "needs two depths or more")
    return [
        claim("pre-ln-identity-floor", measured=f"smallest {s['pre_mean_square_min']:.3g}",
              tolerance="none", passed=s["pre_mean_square_min"] >= 1),
        grows,
        claim("post-ln-wanders",
              measured=f"Post-LN {s['post_log_spread_deepest']:.3f}, Pre-LN "
                       f"{s['pre_log_spread_deepest']:.3f} at L = {max(p['depths'])}",
              tolerance="strict",
              passed=s["post_log_spread_deepest"] > s["pre_log_spread_deepest"]),
    ]
