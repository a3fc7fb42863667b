"""How the scale of a signal changes layer by layer, and the initialisation that keeps it.

    topicgen run signal-scale --topic init-scale -p gains=1,1.4142 -p depth=30 --json

A layer h' = phi(W h) with weights drawn N(0, g^2 / n) (n inputs per unit) multiplies the
mean square of the signal, q = mean(h^2), by a fixed factor in expectation (He et al. 2015,
§2.2, eq. 10; Glorot and Bengio 2010 for the linear case):

    linear phi:  q' = g^2 q           ReLU phi:  q' = (g^2 / 2) q

because each pre-activation sums n products of variance (g^2 / n) q, and a ReLU keeps half of
a symmetric pre-activation's square. Over L layers the factor compounds to (g^2 / 2)^L: with
g = 1 a 30-layer ReLU net shrinks its signal by 2^30 ~ 1e9, while He's g = sqrt(2) keeps it.

We push a batch of random inputs through `depth` layers for every (activation, gain) pair and
measure the per-layer factor as the mean of q_(l+1) / q_l over layers and seeds: the law is
about that expectation, and each ratio estimates it without bias. The slope of log q against
depth would not: it estimates E[log(q'/q)], which at finite width n lies below log E[q'/q]
by about half the ratio's variance, 5/(2n) per ReLU layer (Hanin and Rolnick 2018), 2% at
n = 128. All seeds run at once as one batched matrix product per layer: weights carry a
leading seed dimension S.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, param

SUMMARY = "Mean square of the signal against depth, for linear and ReLU layers at several gains."
ACTIVATIONS = ("linear", "relu")
# The measured factor may miss theory by this fraction, or by FACTOR_Z standard errors of the
# mean ratio where those are wider. A ReLU net soon sends every input of the batch in about
# one direction, so one layer's ratio q_(l+1) / q_l fluctuates like a single input's, by
# about sqrt(5 / n) (20% at n = 128); the layers' ratios are independent given the signal,
# so their spread gives the standard error. (With 3% alone, and the log slope before it, 34
# of 100 first seeds failed at the quick profile.)
FACTOR_TOLERANCE = 0.03
FACTOR_Z = 4.0


@dataclass(frozen=True)
class Params:
    # g = 1 (LeCun/Glorot's variance-preserving choice for linear layers) and g = sqrt(2)
    # (He's for ReLU): each keeps one of the two activations at unit scale and not the other.
    gains: tuple[float, ...] = param((1.0, math.sqrt(2)), "weight gains g (std = g/sqrt(n))",
                                     min=0.1, max=4.0)
    activations: tuple[str, ...] = param(ACTIVATIONS, "layer nonlinearities",
                                         choices=ACTIVATIONS)
    # 30 layers turn a factor of 1/2 into 1e-9: the failure is unmistakable on a log axis.
    depth: int = param(30, "layers", min=2, max=200)
    # A width where the per-layer factor is already close to its mean, as in a real MLP.
    width: int = param(256, "units per layer n", min=8, max=4096)
    # 256 random inputs average the fluctuation of one draw of W over many directions.
    batch: int = param(256, "inputs pushed through together", min=1, max=8192)
    # Four independent weight draws give a spread; the band shows it.
    seeds: int = param(4, "independent weight draws", min=1, max=64)


QUICK = {"depth": 20, "width": 128, "batch": 128, "seeds": 4}


def mean_squares(activation: str, gain: float, params: Params, ctx: Context) -> torch.Tensor:
    """mean(h_l^2) after each of `depth` layers, per seed: (S, depth + 1), column 0 the input."""
    gen = torch.Generator(device=ctx.device).manual_seed(ctx.seed)
    h = torch.randn((params.seeds, params.batch, params.width), generator=gen,
                    dtype=torch.float64, device=ctx.device)  # (S, B, n), mean square ~1
    squares = [h.square().mean(dim=(1, 2))]
    for _ in range(params.depth):
        w = torch.randn((params.seeds, params.width, params.width), generator=gen,
                        dtype=torch.float64, device=ctx.device) * (gain / math.sqrt(params.width))
        h = h @ w.transpose(1, 2)  # (S, B, n): each unit sums n weighted inputs
        if activation == "relu":
            h = torch.relu(h)
        squares.append(h.square().mean(dim=(1, 2)))  # (S,)
    return torch.stack(squares, dim=1)  # (S, depth + 1)


def theory_factor(activation: str, gain: float) -> float:
    """He et al. 2015, eq. 10: a ReLU keeps half of a symmetric pre-activation's square."""
    return gain**2 / (2 if activation == "relu" else 1)


def key(activation: str, gain: float) -> str:
    """`relu_g1p41`: a scalar's name that prose can quote as result(...).scalars.<name>."""
    return f"{activation}_g{gain:.3g}".replace(".", "p")


def run(params: Params, ctx: Context) -> Result:
    layers = list(range(params.depth + 1))
    log_mean, log_std, scalars = {}, {}, {}
    for activation in params.activations:
        for gain in params.gains:
            label = f"{activation}, g = {gain:.3g}"
            logs = mean_squares(activation, gain, params, ctx).log10()  # (S, depth + 1)
            log_mean[label] = logs.mean(0).tolist()
            log_std[label] = logs.std(0, correction=0).tolist()
            ratios = (logs[:, 1:] - logs[:, :-1]).mul(math.log(10)).exp()  # q_(l+1) / q_l
            scalars[f"factor_{key(activation, gain)}"] = ratios.mean().item()
            scalars[f"factor_{key(activation, gain)}_se"] = (
                ratios.std() / math.sqrt(ratios.numel())).item()
    series = {"mean_square": Series(layers, "layer l", log_mean, "log10 mean(h_l^2)", log_std)}
    return Result("signal-scale", as_dict(params), series, scalars)


def claims(result: Result) -> list[Claim]:
    found = []
    for activation in result.params["activations"]:
        for gain in result.params["gains"]:
            measured = result.scalars[f"factor_{key(activation, gain)}"]
            expected = theory_factor(activation, gain)
            error = abs(measured / expected - 1)
            relative_se = result.scalars[f"factor_{key(activation, gain)}_se"] / expected
            tolerance = max(FACTOR_TOLERANCE, FACTOR_Z * relative_se)
            found.append(Claim(
                id=f"factor-{activation}-{gain:.3g}",
                statement=f"A {activation} layer with gain {gain:.3g} multiplies the mean "
                          "square of the signal by g^2" + (" / 2" if activation == "relu" else "")
                          + " (He et al. 2015, eq. 10).",
                expected=f"{expected:.4g} per layer",
                measured=f"{measured:.4g} per layer",
                tolerance=f"± {tolerance:.1%} ({FACTOR_TOLERANCE:.0%}, or {FACTOR_Z:g} "
                          "standard errors of the mean ratio where wider)",
                passed=error <= tolerance,
            ))
    return found
