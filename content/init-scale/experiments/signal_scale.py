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
fit the per-layer factor from the slope of log q against depth. All seeds run at once as one
batched matrix product per layer: weights carry a leading seed dimension S.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, param

SUMMARY = "Mean square of the signal against depth, for linear and ReLU layers at several gains."
ACTIVATIONS = ("linear", "relu")
# The fitted factor may miss theory by this fraction. The mean square of a batch of inputs
# through one random layer fluctuates by about sqrt(2 / (n * batch)); fitted over tens of
# layers and several seeds the factor lands within 1% at the quick profile's size.
FACTOR_TOLERANCE = 0.03


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


QUICK = {"depth": 20, "width": 128, "batch": 128, "seeds": 2}


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
            # Slope of log10 q against depth, fitted over all layers and seeds at once.
            depth = torch.tensor(layers, dtype=torch.float64, device=logs.device)
            centred = depth - depth.mean()
            slope = ((logs - logs.mean(1, keepdim=True)) * centred).sum(1) / centred.square().sum()
            scalars[f"factor_{key(activation, gain)}"] = 10 ** slope.mean().item()
    series = {"mean_square": Series(layers, "layer l", log_mean, "log10 mean(h_l^2)", log_std)}
    return Result("signal-scale", as_dict(params), series, scalars)


def claims(result: Result) -> list[Claim]:
    found = []
    for activation in result.params["activations"]:
        for gain in result.params["gains"]:
            measured = result.scalars[f"factor_{key(activation, gain)}"]
            expected = theory_factor(activation, gain)
            error = abs(measured / expected - 1)
            found.append(Claim(
                id=f"factor-{activation}-{gain:.3g}",
                statement=f"A {activation} layer with gain {gain:.3g} multiplies the mean "
                          "square of the signal by g^2" + (" / 2" if activation == "relu" else "")
                          + " (He et al. 2015, eq. 10).",
                expected=f"{expected:.4g} per layer",
                measured=f"{measured:.4g} per layer",
                tolerance=f"± {FACTOR_TOLERANCE:.0%}",
                passed=error <= FACTOR_TOLERANCE,
            ))
    return found
