"""LayerNorm: what it removes, what it keeps, and how it pins the activation scale across depth.

    topicgen run layernorm -p width=64 -p depth=50 -p gain=1.1 --json

LayerNorm standardises each example over its H features (Ba et al. 2016, §3):

    LN(x) = (x - mu) / sigma,   mu = mean_i x_i,   sigma^2 = mean_i (x_i - mu)^2,

with the biased variance, as `nn.LayerNorm` uses (eps = 0 here, so every
identity below is exact). Differentiating,

    dLN/dx = (1/sigma) (I - 1 1^T / H - y y^T / H),   y = LN(x),

which is 1/sigma times the projection that removes the all-ones direction and the direction
of x - mu. So the Jacobian has H - 2 singular values equal to 1/sigma and two zeros, and
||dLN/dx||_2 = 1/sigma = sqrt(H) / ||x - mu||: Xiong et al. 2020's Lemma 3, O(sqrt(d)/||x||).

What LN ignores follows from the same formula (Ba et al. 2016, §5.1, Table 1):
  * scaling and shifting the whole incoming weight matrix, W -> delta W + 1 gamma^T,
    changes Wx by delta and adds the same gamma.x to every feature: LN(W'x) = LN(Wx);
  * rescaling one example, x -> 5x, changes nothing either;
  * rescaling a single row of W does change the output: LN is not a per-unit normaliser.
Since LN(delta W x) = LN(W x), the chain rule gives dL/dW at delta W = (1/delta) dL/dW at W:
larger weights learn more slowly, the implicit learning-rate reduction of Ba et al. §5.2.2.

Depth sweep. A stack x_(l+1) = ReLU(gain W_l x_l) with He-initialised W_l ~ N(0, 2/N) keeps
E||x||^2 fixed at gain 1; at gain 1.1, E||x_l||^2 grows like 1.1^(2l) (the RMS 117x over 50
layers). One run's log RMS drifts 1.25/N per layer below that, by Jensen's inequality, since
||ReLU(Wx)||^2 / ||x||^2 has variance 5/N: a typical run grows by gain e^(-1.25/N) per layer.
With LayerNorm after every layer, x_(l+1) = LN(ReLU(gain W_l x_l)), the RMS is exactly 1 at
every depth: the summed inputs can no longer grow or shrink from layer to layer (Ba et al.
2016, §3.1, where the same argument is made for an RNN's steps).

That RMS = 1 is an identity of LN, true of any code that divides by the right number; what
the sweep can get wrong shows in the gradient. One LN layer's Jacobian at x_l (mean 0, RMS 1)
is (1/sigma) P D W with D the ReLU mask and P LN's projection. W's entries have variance
2 g^2 / N and the ReLU keeps half the units, so ||D W||_F^2 / N ~ g^2 (He et al. 2015, §2.2);
the pre-activation is N(0, 2 g^2), so ReLU's output has sigma^2 = g^2 (1 - 1/pi), and LN
divides by sigma (Xiong et al. 2020, Lemma 3). Each layer therefore multiplies the mean
squared gradient by 1/(1 - 1/pi) = 1.467, whatever the gain. An LN that does not centre
(sigma -> RMS = g: a factor ~1) or divides by the variance (no fixed scale) misses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, param

from ._tensors import batch_jacobian, generator

SUMMARY = "LayerNorm's exact Jacobian and invariances, and the activation scale across depth."
DTYPE = torch.float64  # the identities are checked to 1e-12
# An offset and a scale far from (0, 1), so that LN visibly removes both (1/sigma ~ 1/3).
INPUT_MEAN, INPUT_STD = 1.0, 3.0
EXAMPLE_SCALE = 5.0  # the rescaled example x -> 5x above; any factor > 0 would do
EXACT = 1e-12
ROW_SCALE = 2.0  # the factor on one row of W: LN is not invariant to it (Ba et al. 2016, Table 1)
ROW_CHANGE_MIN = 1e-6  # far above rounding, far below the O(0.1) change a rescaled row makes
# Without LN, log RMS takes a random step per layer of std ~1.12/sqrt(N) (1.2 covers the
# excess measured at N = 32 over 400 seeds) and drifts by -1.25/N (Jensen:
# Var ||ReLU(Wx)||^2 / ||x||^2 = 5/N); the growth factor is judged at Z standard errors plus
# that drift. Z = 5 because the lower tail is heavy: 6.3 standard errors in 20,000 single
# layers at N = 64.
STEP_STD, DRIFT, Z = 1.2, 1.25, 5.0
# One LN layer's mean squared gradient factor ||J_l||_F^2 / N, theory 1/(1 - 1/pi) at large N.
# Measured with this code over 400 seeds x 20 layers at N = 32, 64, 128 (200 x 20 at 256,
# 40 x 10 at 512, 20 x 10 at 1024): a single layer scatters by 2.0/sqrt(N) to 2.7/sqrt(N)
# relative, layers and seeds independently (a 20-layer mean by 1.9 to 2.6/sqrt(20 N)), and
# the mean sits (1.2 to 1.7 +- 0.3)/N above the large-N value (the projection P and
# E[1/sigma^2] > 1/E[sigma^2], not modelled). The mean over all layers and seeds is judged
# at that bias plus Z standard errors; seed means reached 4.1 standard deviations in 400.
LAYER_GAIN = 1 / (1 - 1 / math.pi)
LAYER_SPREAD, LAYER_BIAS = 2.8, 2.0


@dataclass(frozen=True)
class Params:
    # A typical small H; also the width of the depth sweep. 32 or more: a whole ReLU layer
    # dying (probability 2^-N) would leave LN nothing to normalise.
    width: int = param(64, "features H per layer", min=32, max=1024)
    # Five seeds give a mean and a spread: one random draw can mislead.
    seeds: int = param(5, "independent draws of inputs and weights", min=1, max=1000)
    # Any delta > 0 leaves LN unchanged; 3 makes the 1/delta gradient ratio easy to read.
    # Within [0.1, 10], rounding in delta W + 1 gamma^T stays far below the 1e-12 checked.
    weight_scale: float = param(3.0, "delta in W -> delta W + 1 gamma^T", min=0.1, max=10.0)
    # Fifty layers turn a 10% init error into two orders of magnitude.
    depth: int = param(50, "layers in the depth sweep", min=1, max=200)
    # 1.1: a slightly-too-large init, as a wrong fan-in or gain would give.
    gain: float = param(1.1, "multiplier on He-initialised weights in the sweep",
                        min=0.5, max=2.0)


QUICK = {"depth": 20, "seeds": 3}

DEVIATIONS = ["eps = 0, where nn.LayerNorm adds 1e-5 to the variance, so the identities are "
              "exact",
              "LayerNorm across the layers of a ReLU stack, where Ba et al. 2016 (§3.1) make "
              "the same argument across an RNN's time steps"]


def layer_norm(x: torch.Tensor) -> torch.Tensor:
    """(x - mu) / sigma over the last dimension, biased variance, eps = 0."""
    centered = x - x.mean(-1, keepdim=True)
    return centered / centered.pow(2).mean(-1, keepdim=True).sqrt()


def rms(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).mean(-1).sqrt()


def ln_jacobian(x: torch.Tensor) -> torch.Tensor:
    """dLN/dx at each row of x (S, H), by autograd in one backward pass: (S, H, H)."""
    return batch_jacobian(layer_norm, x)


def invariances(w: torch.Tensor, x: torch.Tensor, gamma: torch.Tensor,
                delta: float) -> dict[str, float]:
    """Largest output change of LN(Wx) under each transformation; w (S, H, D), x (S, D)."""
    def ln_of(weights: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return layer_norm(torch.einsum("shd,sd->sh", weights, inputs))  # (S, H)

    base = ln_of(w, x)
    shifted = delta * w + gamma[:, None, :]  # W' = delta W + 1 gamma^T, gamma (S, D)
    one_row = w.clone()
    one_row[:, 0] *= ROW_SCALE
    return {
        "invariance_weight_error": (ln_of(shifted, x) - base).abs().max().item(),
        "invariance_example_error": (ln_of(w, EXAMPLE_SCALE * x) - base).abs().max().item(),
        "row_rescale_change": (ln_of(one_row, x) - base).abs().amax(1).min().item(),
    }


def weight_gradient_ratio(w: torch.Tensor, x: torch.Tensor, readout: torch.Tensor,
                          delta: float) -> torch.Tensor:
    """||dL/dW at W|| / ||dL/dW at delta W|| per seed (S,), for L = v . LN(Wx)."""
    norms = []
    for weights in (w, delta * w):
        weights = weights.detach().requires_grad_(True)
        loss = (readout * layer_norm(torch.einsum("shd,sd->sh", weights, x))).sum()
        (grad,) = torch.autograd.grad(loss, weights)
        norms.append(grad.flatten(1).norm(dim=1))  # Frobenius norm per seed
    return norms[0] / norms[1]


def sweep_weights(n: int, gain: float, gens: list[torch.Generator],
                  device: str) -> torch.Tensor:
    """One layer's W per seed (S, N, N): gain times He's N(0, 2/N), which keeps
    E||ReLU(Wx)||^2 = ||x||^2 at gain 1 (He et al. 2015, §2.2)."""
    he = math.sqrt(2 / n)
    return gain * he * torch.stack(
        [torch.randn((n, n), generator=g, dtype=DTYPE, device=device) for g in gens])


def sweep_layer(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """ReLU(W x) for each seed: w (S, N, N), x (S, ..., N) -> (S, ..., N)."""
    return torch.relu(torch.einsum("sij,s...j->s...i", w, x))


def ln_layer(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """One layer of the LN stack, LN(ReLU(W x))."""
    return layer_norm(sweep_layer(w, x))


def depth_sweep(params: Params, gens: list[torch.Generator],
                device: str) -> dict[str, torch.Tensor]:
    """RMS of x_l for l = 0..depth, without and with LN, each (S, depth + 1), and under
    "layer gain" each LN layer's ||dx_(l+1)/dx_l||_F^2 / N, (S, depth)."""
    n = params.width
    x0 = torch.stack([torch.randn(n, generator=g, dtype=DTYPE, device=device) for g in gens])
    x0 = x0 / rms(x0)[:, None]  # both stacks start at RMS exactly 1
    x = {"no norm": x0, "layernorm": x0}
    scales = {name: [rms(x0)] for name in x}
    layer_gains = []
    for _ in range(params.depth):
        w = sweep_weights(n, params.gain, gens, device)
        jac = batch_jacobian(partial(ln_layer, w), x["layernorm"])  # (S, N, N) at x_l
        layer_gains.append(jac.square().sum((1, 2)) / n)
        # The same W_l for both stacks, so LN is the only difference.
        x = {"no norm": sweep_layer(w, x["no norm"]), "layernorm": ln_layer(w, x["layernorm"])}
        for name in x:
            scales[name].append(rms(x[name]))
    return {**{name: torch.stack(values, dim=1) for name, values in scales.items()},
            "layer gain": torch.stack(layer_gains, dim=1)}


def run(params: Params, ctx: Context) -> Result:
    n, seeds = params.width, params.seeds
    gens = [generator(seed, ctx.device) for seed in range(ctx.seed, ctx.seed + seeds)]

    def draw(*shape: int) -> torch.Tensor:  # (S, *shape), one stream per seed
        return torch.stack([torch.randn(shape, generator=g, dtype=DTYPE, device=ctx.device)
                            for g in gens])

    x = INPUT_MEAN + INPUT_STD * draw(n)  # (S, H)
    sv = torch.linalg.svdvals(ln_jacobian(x))  # (S, H), largest first
    sigma = rms(x - x.mean(-1, keepdim=True))  # (S,): the biased standard deviation
    scaled = sv * sigma[:, None]  # in units of 1/sigma: H - 2 ones, then two zeros
    w, inputs, gamma, readout = draw(n, n), draw(n), draw(n), draw(n)
    ratio = weight_gradient_ratio(w, inputs, readout, params.weight_scale)  # (S,)
    scales = depth_sweep(params, gens, ctx.device)  # name -> (S, depth + 1)
    layer_gain = scales.pop("layer gain")  # (S, depth)

    growth = (scales["no norm"][:, -1].log() / params.depth).exp()  # (S,) per-layer factor
    scalars = {
        "ln_sv_max_rel_error": (scaled[:, : n - 2] - 1).abs().max().item(),
        "ln_null_sv_max": scaled[:, n - 2:].max().item(),
        "ln_inverse_sigma": (1 / sigma).mean().item(),
        **invariances(w, inputs, gamma, params.weight_scale),
        "grad_ratio": ratio.mean().item(),
        "grad_ratio_max_rel_error": (ratio / params.weight_scale - 1).abs().max().item(),
        "no_norm_growth_factor": growth.log().mean().exp().item(),
        "no_norm_final_rms": scales["no norm"][:, -1].mean().item(),
        "layernorm_rms_max_error": (scales["layernorm"][:, 1:] - 1).abs().max().item(),
        "ln_layer_gradient_gain": layer_gain.mean().item(),
    }
    series = {
        "activation_scale": Series(
            list(range(params.depth + 1)), "layer l",
            {name: s.mean(0).tolist() for name, s in scales.items()}, "RMS of x_l",
            {name: s.std(0, correction=0).tolist() for name, s in scales.items()}),
        "ln_singular_values": Series(
            list(range(1, n + 1)), "index i (largest first)", {"measured": scaled.mean(0).tolist()},
            "sigma x singular value of dLN/dx", {"measured": scaled.std(0, correction=0).tolist()}),
    }
    return Result("layernorm", as_dict(params), series, scalars)


def growth_tolerance(width: int, depth: int, seeds: int) -> float:
    """Relative band for the no-norm growth factor: the Jensen drift plus Z standard errors."""
    return DRIFT / width + Z * STEP_STD / math.sqrt(width * depth * seeds)


def layer_gain_tolerance(width: int, depth: int, seeds: int) -> float:
    """Relative band for the mean LN layer gain: the finite-N bias plus Z standard errors."""
    return LAYER_BIAS / width + Z * LAYER_SPREAD / math.sqrt(width * depth * seeds)


def claims(result: Result) -> list[Claim]:
    # The first four claims are identities of LN (exact to rounding for any input), so they
    # are sanity checks of the code; the two sweep claims are statistical and evidence.
    p, s = result.params, result.scalars
    spectrum_error = max(s["ln_sv_max_rel_error"], s["ln_null_sv_max"])
    invariance = max(s["invariance_weight_error"], s["invariance_example_error"])
    band = growth_tolerance(p["width"], p["depth"], p["seeds"])
    growth = s["no_norm_growth_factor"]
    layer_band = layer_gain_tolerance(p["width"], p["depth"], p["seeds"])
    layer_gain = s["ln_layer_gradient_gain"]
    return [
        Claim(
            id="ln-jacobian-spectrum",
            statement=r"LayerNorm's Jacobian is $1/\sigma$ times a projection: $H - 2$ "
                      r"singular values equal $1/\sigma$ and two are zero (Xiong et al. 2020, "
                      "Lemma 3).",
            expected=rf"$\sigma s_i = 1$ for $i \le {p['width'] - 2}$, 0 for the last two",
            measured=rf"$\max_i \lvert \sigma s_i - 1 \rvert$ = {s['ln_sv_max_rel_error']:.1e}, "
                     rf"zeros $\le$ {s['ln_null_sv_max']:.1e}",
            tolerance=f"<= {EXACT:g}",
            passed=spectrum_error <= EXACT,
            kind="sanity",
        ),
        Claim(
            id="ln-invariance",
            statement=r"$\operatorname{LN}(Wx)$ is unchanged by $W \to \delta W + \mathbf{1} "
                      r"\gamma^\top$ and by rescaling the example, but not by rescaling one row "
                      "of $W$ (Ba et al. 2016, §5.1, Table 1).",
            expected="0 change for the whole matrix and the example; > 0 for one row",
            measured=f"{invariance:.1e}; one row: {s['row_rescale_change']:.2g}",
            tolerance=f"<= {EXACT:g}; one row >= {ROW_CHANGE_MIN:g}",
            passed=invariance <= EXACT and s["row_rescale_change"] >= ROW_CHANGE_MIN,
            kind="sanity",
        ),
        Claim(
            id="ln-gradient-scale",
            statement=r"Scaling the weights by $\delta$ scales their gradient by $1/\delta$: "
                      "LN's implicit learning-rate reduction (Ba et al. 2016, §5.2.2).",
            expected=r"$\lVert \partial L / \partial W \,|_{W} \rVert / \lVert \partial L / "
                     rf"\partial W \,|_{{{p['weight_scale']:g} W}} \rVert = "
                     f"{p['weight_scale']:g}$",
            measured=f"{s['grad_ratio']:.12g}",
            tolerance=f"relative {EXACT:g}",
            passed=s["grad_ratio_max_rel_error"] <= EXACT,
            kind="sanity",
        ),
        Claim(
            id="ln-depth-scale",
            statement="With LayerNorm after every layer the activations keep RMS 1 at every "
                      "depth (Ba et al. 2016, §3.1).",
            expected=r"$\operatorname{RMS}(x_l) = 1$ for every $l \ge 1$",
            measured=rf"$\max_l \lvert \operatorname{{RMS}}(x_l) - 1 \rvert$ = "
                     f"{s['layernorm_rms_max_error']:.1e}",
            tolerance=f"<= {EXACT:g}",
            passed=s["layernorm_rms_max_error"] <= EXACT,
            kind="sanity",
        ),
        Claim(
            id="no-norm-drift",
            statement="Without normalisation the activation scale drifts geometrically, by "
                      "the init gain per layer: the growth LayerNorm removes (Ba et al. 2016, "
                      "§3.1).",
            expected=f"per-layer factor {p['gain']:g}",
            measured=f"{growth:.4g} (RMS {s['no_norm_final_rms']:.3g} after {p['depth']} "
                     "layers)",
            tolerance=f"+-{band:.1%} (drift -1.25/N plus {Z:g} standard errors)",
            passed=abs(growth / p["gain"] - 1) <= band,
        ),
        Claim(
            id="ln-layer-gradient",
            statement=r"Through $\operatorname{LN}(\operatorname{ReLU}(g W x))$ each layer "
                      r"multiplies the mean squared gradient by $1/(1 - 1/\pi)$, whatever the "
                      r"gain $g$: $W$ and the ReLU give $g^2$ (He et al. 2015, §2.2), LN divides "
                      r"by $\sigma^2 = g^2 (1 - 1/\pi)$ (Xiong et al. 2020, Lemma 3).",
            expected=r"mean over layers and seeds of $\lVert \partial x_{l+1} / \partial x_l "
                     rf"\rVert_F^2 / N = {LAYER_GAIN:.4f}$",
            measured=rf"{layer_gain:.4f} ({p['depth']} layers $\times$ {p['seeds']} seeds)",
            tolerance=f"+-{layer_band:.1%} (finite-N bias {LAYER_BIAS:g}/N plus {Z:g} standard "
                      f"errors, {LAYER_SPREAD:g}/sqrt(N) per layer)",
            passed=abs(layer_gain / LAYER_GAIN - 1) <= layer_band,
        ),
    ]
