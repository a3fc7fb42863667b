"""Truncated backpropagation through time: the gradient stops at the window, learning may not.

    topicgen run truncated-bptt -p T=60 -p window=20 --json

Truncated BPTT (Williams and Peng 1990; the usual way to train on long streams) runs the
forward pass over the whole sequence but stops the gradient every `window` steps: the state
handed from one chunk to the next is a constant for the backward pass. With the loss read at
the last step only, the gradient reaches the inputs of the last `window` steps and nothing
before them (exactly zero, not small).

The task is the adding problem (Le et al. 2015; Arjovsky et al. 2016, §4.2): T values
u_t ~ U[0, 1], one marked in the first half of the sequence (position a < T/2) and one in the
second (b >= T/2); the target is u_a + u_b. With window <= T/2 the first marked value is never
inside the window, so no gradient ever says "store u_a". What can the model still learn?

  distinct markers   the first marker has an input channel of its own, whose weights start
                     at zero. Their gradient is exactly zero (inside the window the channel
                     is always 0), so they stay zero and the model never sees which value
                     was marked first. Given everything it does see, the best estimate of
                     u_a is the mean of the n = T/2 values of the first half, off by
                     Var(u_a) (1 - 1/n) = (1/12)(1 - 2/T) in mean square (the values are
                     independent, the position uniform). So the trained MSE stays at or
                     above (1/12)(1 - 2/T), a bound; u_b + 1/2 would score 1/12.
  full BPTT          the same task and model, with the gradient through all T steps: the
                     LSTM learns it, far below 1/12.
  shared marker      both markers on one channel (the usual variant). Truncation still hides
                     u_a from the gradient, yet the weights are shared across time: the "add
                     the marked value to the cell" mechanism learned inside the window also
                     stores u_a outside it, and the readout learns to use the carried cell.
                     The trained MSE goes below 1/12: truncation limits what the gradient
                     sees, not what a shared-weight model can end up doing.

The model is PyTorch's nn.LSTM with forget bias 1 (Gers et al. 2000; Jozefowicz et al. 2015),
read out linearly from h_T; training is Adam with global-norm clipping at 1 (Pascanu et al.
2013, Algorithm 1), all seeds in one loop as in long-range-memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, not_judged, param

from ._tensors import generator, uniform
from ._training import Adam, clip_per_seed, lstm_sequence, stack_seeds, window_means

SUMMARY = "Adding problem, truncated BPTT: blind to an unreachable marker, stuck at (1/12)(1-2/T)."
ARMS = {  # arm -> (markers, truncated)
    "own channel, truncated": ("distinct", True),
    "own channel, full BPTT": ("distinct", False),
    "one channel, truncated": ("shared", True),
}
CHANNELS = 3  # value, the second (or shared) marker, the first marker when distinct
FIRST_MARKER = 2  # the channel no truncated gradient reaches
RECURRENT = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
FORGET_BIAS = 1.0
CLIP_NORM = 1.0
DTYPE = torch.float32
REACHABLE_ONLY_MSE = 1 / 12  # Var(u_a): predicting u_b + 1/2
BASELINE_MSE = 1 / 6  # Var(u_a + u_b): predicting the constant 1
# Var((u - 1/2)^2) = E[(u - 1/2)^4] - (1/12)^2 = 1/80 - 1/144 = 1/180 for u ~ U[0, 1]: the
# spread of one squared error of a predictor that misses u_a (the first-half mean misses it
# by a little less, so this errs on the wide side).
SQUARED_ERROR_VAR = 1 / 180
Z = 5.0  # standard errors the test MSE may fall below the bound by chance
# Learning claims (full BPTT and the shared marker go below 1/12): judged in the recipe they
# were measured in, H = 16, batch 64, Adam 2e-2, window T/2, 12 seeds (0 to 11):
#   T = 40, 1000 steps: both arms below 0.017 in all 12 (at 500 steps, 3 of 12 seeds were
#     still on the 1/6 plateau in every arm: the seed's initialisation, not the arm);
#   T = 20, 600 steps: both arms below 0.018 in all 12 (at 400 steps two seeds of the full
#     BPTT arm were still on the plateau).
# The truncated distinct-marker arm stayed between 0.0808 and 0.0864 at T = 40 (bound
# 0.0792), 0.0799 and 0.0921 at T = 20 (bound 0.0750), 0.0806 and 0.0983 at T = 16 with a
# window of 4 (bound 0.0729). With the first marker's weights drawn at random instead of zero
# it reached 0.0746 at T = 16: the trained weights read u_a through the untrained ones.
LEARNED_MAX_MSE = 0.05
CLAIM_RECIPE = {"hidden": 16, "batch": 64, "lr": 2e-2}
LEARNED_BY = {20: 600, 40: 1000}  # longest T -> the steps after which it was measured learned
CLAIM_MIN_SEEDS = 3


@dataclass(frozen=True)
class Params:
    # 40 steps: long enough that half the sequence lies outside a window of 20, short enough
    # that full BPTT learns within a few hundred steps.
    T: int = param(40, "sequence length", min=4, max=1000)
    # T/2: the first marker (a < T/2) is always outside, the second (b >= T/2) always inside.
    window: int = param(20, "truncation window k: steps the gradient reaches back", min=1,
                        max=1000)
    hidden: int = param(16, "LSTM hidden units", min=1, max=512)
    steps: int = param(1000, "Adam steps", min=1, max=100_000)
    batch: int = param(64, "training sequences per step", min=1, max=4096)
    lr: float = param(2e-2, "Adam learning rate", min=1e-6, max=1.0)
    seeds: int = param(3, "independently trained models per arm", min=1, max=100)
    # 2000 fresh sequences: the MSE near 1/12 is known to +-0.0017 (one standard error).
    test_size: int = param(2000, "fresh test sequences per seed", min=100, max=100_000)


# The shortest measured recipe: every claim is judged at the quick profile too.
QUICK = {"T": 20, "window": 10, "steps": LEARNED_BY[20]}

DEVIATIONS = ["an LSTM of 16 units trained for 1000 Adam steps, far smaller and shorter "
              "than the adding-problem papers' runs",
              "the distinct-marker arm gives the first marker its own input channel, a "
              "variant of the task made to isolate what the gradient cannot reach"]


def adding_batch(gens: list[torch.Generator], T: int, batch: int, markers: str,
                 device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch per seed: inputs (S, B, T, 3), targets (S, B). Channel 0 holds the values,
    channel 1 the second marker (and, with shared markers, the first), channel 2 the first
    marker when the markers are distinct."""
    xs, ys = [], []
    for gen in gens:
        values = torch.rand((batch, T), generator=gen, dtype=DTYPE, device=device)
        first = torch.randint(0, T // 2, (batch, 1), generator=gen, device=device)
        second = torch.randint(T // 2, T, (batch, 1), generator=gen, device=device)
        first_marker = torch.zeros_like(values).scatter_(1, first, 1.0)
        second_marker = torch.zeros_like(values).scatter_(1, second, 1.0)
        x = torch.zeros((batch, T, CHANNELS), dtype=DTYPE, device=device)
        x[..., 0] = values
        if markers == "shared":
            x[..., 1] = first_marker + second_marker
        else:
            x[..., 1], x[..., FIRST_MARKER] = second_marker, first_marker
        xs.append(x)
        ys.append((values * (first_marker + second_marker)).sum(1))
    return torch.stack(xs), torch.stack(ys)


def init_weights(hidden: int, gen: torch.Generator, device: str) -> dict[str, torch.Tensor]:
    """One seed's LSTM and readout, drawn like PyTorch's modules: U(-1/sqrt(H), 1/sqrt(H)),
    then forget bias 1 in bias_ih only (PyTorch adds bias_hh)."""
    bound = 1.0 / math.sqrt(hidden)
    rows = 4 * hidden
    w = {"weight_ih_l0": uniform((rows, CHANNELS), bound, gen, DTYPE, device),
         "weight_hh_l0": uniform((rows, hidden), bound, gen, DTYPE, device),
         "bias_ih_l0": uniform((rows,), bound, gen, DTYPE, device),
         "bias_hh_l0": uniform((rows,), bound, gen, DTYPE, device),
         "w_out": uniform((hidden,), bound, gen, DTYPE, device),
         "b_out": uniform((), bound, gen, DTYPE, device)}
    w["bias_ih_l0"][hidden:2 * hidden] = FORGET_BIAS  # gate order (i, f, g, o)
    # The first marker's own weights start at zero. Truncated, they receive no gradient and
    # stay zero, so the model cannot see which value was marked first; drawn at random, they
    # would let the trained weights read u_a through a fixed random projection.
    w["weight_ih_l0"][:, FIRST_MARKER] = 0.0
    return w


def predict(w: dict[str, torch.Tensor], x: torch.Tensor, window: int | None) -> torch.Tensor:
    """Predictions (S, B) from inputs (S, B, T, 3), with the gradient stopped `window` steps
    before the end (None: full BPTT).

    Only the last chunk's gradient can reach the loss at T, so the steps before it run once
    without a graph and hand over (h, c) as constants: the same numbers as chunking every
    `window` steps, at the cost of one forward pass.
    """
    cut = 0 if window is None else max(0, x.shape[2] - window)
    last = []
    for s in range(x.shape[0]):
        weights = [w[k][s] for k in RECURRENT]
        state = None
        if cut:
            with torch.no_grad():
                _, state = lstm_sequence(weights, x[s, :, :cut])
        out, _ = lstm_sequence(weights, x[s, :, cut:], state)
        last.append(out[:, -1])  # (B, H)
    return torch.einsum("sbh,sh->sb", torch.stack(last), w["w_out"]) + w["b_out"][:, None]


def train_arm(params: Params, arm: str, ctx: Context) -> dict[str, torch.Tensor]:
    """Train one arm's seeds; test MSEs (S,), loss curve (steps, S), and how far the first
    marker's input weights moved (S,)."""
    markers, truncated = ARMS[arm]
    window = params.window if truncated else None
    gens = [generator(seed, ctx.device) for seed in range(ctx.seed, ctx.seed + params.seeds)]
    weights = stack_seeds([init_weights(params.hidden, g, ctx.device) for g in gens])
    start = weights["weight_ih_l0"].detach()[..., FIRST_MARKER].clone()
    test_x, test_y = adding_batch(gens, params.T, params.test_size, markers, ctx.device)
    optimizer = Adam(weights.values(), lr=params.lr)
    losses = torch.empty(params.steps, params.seeds)
    for step in range(params.steps):
        x, y = adding_batch(gens, params.T, params.batch, markers, ctx.device)
        loss = (predict(weights, x, window) - y).pow(2).mean(1)  # (S,)
        optimizer.zero_grad()
        loss.sum().backward()
        clip_per_seed(list(weights.values()), CLIP_NORM)
        optimizer.step()
        losses[step] = loss.detach().cpu()
    with torch.no_grad():
        test = (predict(weights, test_x, None) - test_y).pow(2).mean(1).cpu()
        moved = (weights["weight_ih_l0"][..., FIRST_MARKER] - start).abs().amax(1).cpu()
    return {"test": test, "losses": losses, "moved": moved}


def gradient_reach(params: Params, ctx: Context) -> tuple[float, float]:
    """At initialisation, the largest |dL/dx_t| before the window and the smallest RMS over
    the batch inside it: the first must be exactly 0, the second not."""
    gens = [generator(seed, ctx.device) for seed in range(ctx.seed, ctx.seed + params.seeds)]
    weights = stack_seeds([init_weights(params.hidden, g, ctx.device) for g in gens])
    x, y = adding_batch(gens, params.T, params.batch, "shared", ctx.device)
    x.requires_grad_(True)
    loss = (predict(weights, x, params.window) - y).pow(2).mean(1).sum()
    (grad,) = torch.autograd.grad(loss, x)  # (S, B, T, 3)
    cut = max(0, params.T - params.window)
    outside = grad[:, :, :cut].abs().max().item() if cut else 0.0
    inside = grad[:, :, cut:, 0].square().mean(1).sqrt().min().item()
    return outside, inside


def parts(params: Params) -> list[str]:
    """One part per arm: independent trainings the runner may spread over processes."""
    return list(ARMS)


def run_part(params: Params, ctx: Context, arm: str) -> dict[str, torch.Tensor]:
    return train_arm(params, arm, ctx)


def run(params: Params, ctx: Context) -> Result:
    return combine(params, ctx, {arm: run_part(params, ctx, arm) for arm in parts(params)})


def combine(params: Params, ctx: Context, outputs: dict[str, dict]) -> Result:
    scalars = {}
    curves, spreads, x_steps = {}, {}, []
    for index, arm in enumerate(ARMS):
        found = outputs[arm]
        for seed, value in enumerate(found["test"].tolist()):
            scalars[f"test_mse_{index}_seed{seed}"] = value
        scalars[f"test_mse_{index}"] = found["test"].mean().item()
        scalars[f"first_marker_moved_{index}"] = found["moved"].max().item()
        x_steps, means = window_means(found["losses"])
        curves[arm], spreads[arm] = means.mean(1).tolist(), means.std(1, correction=0).tolist()
    outside, inside = gradient_reach(params, ctx)
    scalars["gradient_outside_window"] = outside
    scalars["gradient_inside_window_min_rms"] = inside
    scalars["unreachable_bound"] = unreachable_bound(params.T)
    scalars["baseline_mse"] = BASELINE_MSE
    series = {"training_loss": Series(x_steps, "Adam step", curves, "training mean squared error",
                                      spreads)}
    return Result("truncated-bptt", as_dict(params), series, scalars)


def claims(result: Result) -> list[Claim]:
    p, s = result.params, result.scalars
    return [_window_claim(p, s), _unreachable_claim(p, s),
            _learned_claim(1, "full-bptt-learns", p, s), _learned_claim(2, "shared-carries", p, s)]


def _window_claim(p: dict, s: dict) -> Claim:
    statement = (f"The loss at step $T$ sends no gradient to inputs more than {p['window']} "
                 "steps back: exactly zero, not small; inside the window it does.")
    expected = r"$\max \lvert \partial L / \partial x_t \rvert = 0$ for $t < T - k$, nonzero inside"
    if p["window"] >= p["T"]:
        return not_judged("window-stops-gradient", statement, expected,
                          f"needs window < T = {p['T']}: no input lies outside the window",
                          kind="sanity")
    return Claim(
        id="window-stops-gradient",
        statement=statement,
        expected=expected,
        measured=f"{s['gradient_outside_window']:.3g} outside; smallest RMS inside "
                 f"{s['gradient_inside_window_min_rms']:.3g}",
        tolerance="exact",
        passed=s["gradient_outside_window"] == 0 and s["gradient_inside_window_min_rms"] > 0,
        kind="sanity",
    )


STATEMENT = ("With the first marker on its own channel and outside every window, no gradient "
             "reaches that channel's weights: they stay at zero, the model never sees which "
             "value was marked first, and the trained LSTM does no better than $u_b$ plus the "
             r"mean of the first half: test MSE at least $\frac{1}{12}(1 - 2/T)$ (the bound "
             "of truncated BPTT here).")


def unreachable_bound(T: int) -> float:
    """E Var(u_a | every value): the first marker sits at one of n = T // 2 positions."""
    return REACHABLE_ONLY_MSE * (1 - 1 / (T // 2))


def _unreachable_claim(p: dict, s: dict) -> Claim:
    bound = unreachable_bound(p["T"])
    expected = rf"test MSE $\ge$ {bound:.4f} in every seed"
    if p["window"] > p["T"] // 2:
        return not_judged("unreachable-not-learned", STATEMENT, expected,
                          f"needs window <= T/2 = {p['T'] // 2}: a longer window reaches "
                          "some first markers")
    if s["test_mse_1"] >= bound:  # the same model with the full gradient: did it learn?
        return not_judged("unreachable-not-learned", STATEMENT, expected,
                          f"the full-BPTT arm did not go below the bound either (test MSE "
                          f"{s['test_mse_1']:.3f}): too little training to tell what "
                          "truncation hides from what was not learned yet")
    tolerance = Z * math.sqrt(SQUARED_ERROR_VAR / p["test_size"])
    per_seed = [s[f"test_mse_0_seed{i}"] for i in range(p["seeds"])]
    return Claim(
        id="unreachable-not-learned", statement=STATEMENT, expected=expected,
        measured="test MSE " + ", ".join(f"{v:.4f}" for v in per_seed)
                 + f"; the first marker's weights moved {s['first_marker_moved_0']:.2g}",
        tolerance=f"-{tolerance:.4f} ({Z:g} standard errors of the MSE on "
                  f"{p['test_size']} sequences)",
        passed=all(v >= bound - tolerance for v in per_seed),
    )


LEARNED = {
    "full-bptt-learns": "With the gradient through all $T$ steps, the same LSTM on the same "
                        "task learns both values: test MSE far below $1/12$.",
    "shared-carries": "With one marker channel for both values, truncation hides $u_a$ from "
                      "the gradient but not from the shared weights: the add-the-marked-value "
                      "mechanism learned inside the window stores $u_a$ outside it, and the "
                      "test MSE goes far below $1/12$.",
}


def _learned_claim(arm: int, id: str, p: dict, s: dict) -> Claim:
    statement, expected = LEARNED[id], f"test MSE < {LEARNED_MAX_MSE:g} (1/12 = 0.083)"
    measured_by = [steps for longest, steps in LEARNED_BY.items() if p["T"] <= longest]
    if not (measured_by and p["steps"] >= min(measured_by) and 2 * p["window"] <= p["T"]
            and p["seeds"] >= CLAIM_MIN_SEEDS
            and all(p[k] == v for k, v in CLAIM_RECIPE.items())):
        recipes = " or ".join(f"T <= {T} after >= {steps} steps"
                              for T, steps in LEARNED_BY.items())
        return not_judged(id, statement, expected,
                          f"judged in the recipe it was measured in: {recipes}, "
                          f"window <= T/2, H = "
                          f"{CLAIM_RECIPE['hidden']}, batch {CLAIM_RECIPE['batch']}, lr "
                          f"{CLAIM_RECIPE['lr']:g}, >= {CLAIM_MIN_SEEDS} seeds")
    per_seed = [s[f"test_mse_{arm}_seed{i}"] for i in range(p["seeds"])]
    passing = sum(v < LEARNED_MAX_MSE for v in per_seed)
    needed = math.ceil(2 * p["seeds"] / 3)
    return Claim(
        id=id, statement=statement, expected=expected,
        measured=f"{passing} of {p['seeds']} seeds; test MSE "
                 + ", ".join(f"{v:.4f}" for v in per_seed),
        tolerance=f"at least {needed} of {p['seeds']} seeds (two thirds)",
        passed=passing >= needed,
    )
