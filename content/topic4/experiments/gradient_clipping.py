"""Exploding gradients on Pascanu's single-unit RNN, and what global-norm clipping does about it.

    topicgen run gradient-clipping -p threshold=1 -p lr=1 --json

The smallest recurrent net that explodes has one unit and no input (Pascanu et al. 2013,
§2.2-2.3, Fig. 6):

    x_t = w * sigmoid(x_{t-1}) + b,    x_0 = 0.5,    E_T = (sigmoid(x_T) - 0.7)^2

For w > 4 the map x -> w sigmoid(x) + b has two stable fixed points inside a band of biases.
The band ends where a fixed point touches the diagonal with slope 1, sigmoid' = 1/w, i.e.
s = (1 +- sqrt(1 - 4/w))/2, x = logit(s) and b = x - w s; for w = 5 the band is
(-2.6556, -2.3444) (Fig. 3, after Doya 1993). A tiny change of (w, b) across the band edge moves
x_T from one attractor to the other, so ||grad E|| is a thin, tall wall there: the "cliff".
In the linear case (identity instead of sigmoid, b = 0) x_t = x_0 w^t, and the derivatives
dx_T/dw = T x_0 w^(T-1) and d2x_T/dw2 = T(T-1) x_0 w^(T-2) explode together (eq. 8).

A gradient step taken on the wall is a catapult. Pascanu's Algorithm 1 (§3.2) rescales the
whole gradient when its norm exceeds a threshold c, keeping its direction:

    g <- g * min(1, c / ||g||)      PyTorch: coef = c / (||g|| + 1e-6), clamped at 1

so every step is at most lr * c long. That bound is the code's contract (a sanity check). The
evidence is what it prevents: a catapult lands plain descent on a flat plateau (E_T >= 0.08,
sigmoid(x_T) pinned near 1 or 0), where the gradient is ~0 and it stays. Of the random starts
whose unclipped descent is catapulted, all 146 end stranded; clipped, none of them do (measured
with this code, full profile). Clipping promises no better end point overall: 65% of the random
starts succeed unclipped, 63% clipped, and the scalars show it.

The same unit shows why memory and trainability pull apart (Bengio et al. 1994; Pascanu et
al. 2013, §2.2): at b = -2.5 it stores a bit in one of two attractors, where the map contracts,
so |dx_T/dx_0|^(1/T) -> w sigmoid'(x*) = 0.619 < 1 and the gradient of an old state vanishes;
only on the boundary between the basins, x = 0, does the slope w/4 = 1.25 exceed 1.

The run has seven parts: the exact contract of `clip_grad_norm_` on random gradients (and
`clip_grad_value_`, which turns the gradient), a few seeds of training started just below the
wall with and without clipping, the closed-form derivatives, the bistable band at w = 5, the
gradient surface on a (w, b) grid, gradient descent from many random starts, and the
per-step rate of the gradient at the attractors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, not_judged, param

from ._tensors import generator

SUMMARY = "Pascanu's single-unit cliff, and how global-norm clipping bounds every step."
X0, TARGET = 0.5, 0.7  # the start state and target of Pascanu's Fig. 6
W_RANGE, B_RANGE = (-2.0, 8.0), (-6.0, 2.0)  # the box that shows the whole wall
CLIP_EPS = 1e-6  # PyTorch adds it to ||g||, so a clipped norm is c ||g|| / (||g|| + 1e-6)
SUCCESS_LOSS = 1e-4  # "solved": sigmoid(x_T) within 0.01 of the target
CATAPULT = 5.0  # a step this many times the clipped bound lr * c counts as a catapult
# A run ending at E_T >= 0.08 is stranded on a plateau: sigmoid(x_T) pinned near 1 gives 0.09,
# near 0 gives 0.49, and the gradient there is ~0, so descent never leaves.
STRANDED = 0.08
MIN_CATAPULTED = 5  # catapulted starts needed to compare stranding rates at all
DOYA_W = 5.0  # the recurrent weight of Pascanu's Fig. 3
BAND_ITERATIONS = 5000  # convergence is slow near the tangency; 5000 steps resolve 1e-3
BAND_STEP = 1e-3  # b-grid step of the bistability scan
LINEAR_WS = (0.9, 1.0, 1.05)  # vanishing, neutral and exploding linear recurrences
SURFACE_BLOCK = 64  # w-rows per backward pass: ~100 MB of saved activations at most
FIGURE_CELL = 0.1  # the stored surface keeps the steepest point of each 0.1 x 0.1 cell
TEST_NORMS = (0.5, 1.0, 10.0, 1e6)  # ||g|| / c for the clip_grad_norm_ contract
# Bengio et al. 1994's trade-off on the same unit: b = -2.5, the middle of w = 5's band, has
# two attractors x* = +-1.776 (the map is odd about 0) and the fixed point x = 0 between them.
ATTRACTOR_B = -2.5
ATTRACTOR_STEPS = 200  # long enough that the start's offset costs the rate < 1e-4
ATTRACTOR_OFFSET = 1e-3  # a stored state, perturbed: started this far from its attractor
ATTRACTOR_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Params:
    # Pascanu's choice in §4 and the scale of a typical gradient on this surface's slopes.
    threshold: float = param(1.0, "global-norm clipping threshold c", min=1e-3, max=1e3)
    # lr = 1 lets the unclipped descent catapult (steps of 489 measured with this code).
    lr: float = param(1.0, "gradient-descent learning rate", min=1e-3, max=100.0)
    # E_50 is Pascanu's Fig. 6. Shorter unrolls put the wall visibly off the band edge; longer
    # ones make it thinner than the grid, so the range is where the band-edge claim holds.
    T: int = param(50, "steps the single unit is unrolled", min=50, max=80)
    # A few starts below the wall make the norm spikes visible without averaging them away.
    seeds: int = param(5, "training runs started just below the wall", min=1, max=100)
    # The starts below the wall reach it within ~40 steps; 100 show the aftermath too.
    train_steps: int = param(100, "training steps of the runs next to the wall",
                             min=1, max=5000)
    # 300 steps let every descent either cross the wall or settle.
    steps: int = param(300, "gradient-descent steps from each random start", min=1, max=5000)
    # 2000 random starts estimate a 7% catapult rate to about +-0.6%.
    starts: int = param(2000, "random (w, b) starts for the descent statistics",
                        min=10, max=100_000)
    # 40 points per unit: a 401 x 321 grid over the box; coarser grids miss the thin wall.
    grid_density: int = param(40, "grid points per unit of w and of b", min=20, max=60)


QUICK = {"steps": 100, "starts": 256, "grid_density": 20, "seeds": 3, "train_steps": 60}

# The unit, its start, target, T = 50 and c = 1 are Pascanu et al. 2013's (Fig. 6, §4).
DEVIATIONS: list[str] = []


def step(x: torch.Tensor, w: float | torch.Tensor, b: float | torch.Tensor) -> torch.Tensor:
    """One step of Pascanu's single unit: x -> w sigmoid(x) + b."""
    return w * torch.sigmoid(x) + b


def unroll(w: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """x_T of x_t = w sigmoid(x_{t-1}) + b from x_0 = 0.5, elementwise over any shape."""
    x = torch.full_like(w + b, X0)
    for _ in range(steps):
        x = step(x, w, b)
    return x


def error(w: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Pascanu's E_T = (sigmoid(x_T) - 0.7)^2, one value per (w, b) pair."""
    return (torch.sigmoid(unroll(w, b, steps)) - TARGET) ** 2


def band_edges(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(lower, upper) edge of the bistable band of x -> w sigmoid(x) + b, for w >= 4.

    At a tangency sigmoid' = s (1 - s) = 1/w; the upper fixed point s+ gives the lower b.
    """
    root = torch.sqrt(1 - 4 / w)
    edges = []
    for s in ((1 + root) / 2, (1 - root) / 2):
        edges.append(torch.logit(s) - w * s)
    return edges[0], edges[1]


def clip_rows(grad: torch.Tensor, threshold: float) -> torch.Tensor:
    """`clip_grad_norm_` applied to each row on its own: (N, P) gradients of N models."""
    norm = grad.norm(dim=1, keepdim=True)  # (N, 1)
    return grad * (threshold / (norm + CLIP_EPS)).clamp(max=1.0)


def clipping_contract(threshold: float, gen: torch.Generator, device: str) -> dict[str, float]:
    """`clip_grad_norm_` on random gradients of known norm, in float64 and float32."""
    scalars = {}
    for dtype in (torch.float64, torch.float32):
        worst_norm, worst_returned, worst_cos = 0.0, 0.0, 1.0
        for ratio in TEST_NORMS:
            # Two tensors, so the norm must be global: one coefficient for both.
            grads = [torch.randn(shape, generator=gen, dtype=torch.float64, device=device)
                     for shape in ((8, 8), (8,))]
            scale = ratio * threshold / torch.cat([g.flatten() for g in grads]).norm()
            tensors = [torch.zeros_like(g, dtype=dtype, requires_grad=True) for g in grads]
            for tensor, g in zip(tensors, grads, strict=True):
                tensor.grad = (g * scale).to(dtype)
            before = torch.cat([t.grad.flatten() for t in tensors]).double()  # (72,)
            returned = torch.nn.utils.clip_grad_norm_(tensors, threshold).item()
            after = torch.cat([t.grad.flatten() for t in tensors]).double()
            norm = before.norm().item()
            # The epsilon is part of the API: a norm just below c is already scaled a little.
            expected = norm * min(1.0, threshold / (norm + CLIP_EPS))
            worst_norm = max(worst_norm, abs(after.norm().item() - expected) / expected)
            worst_returned = max(worst_returned, abs(returned - norm) / norm)
            worst_cos = min(worst_cos, torch.cosine_similarity(before, after, dim=0).item())
        bits = str(dtype).removeprefix("torch.")
        scalars[f"clip_norm_rel_error_{bits}"] = worst_norm
        scalars[f"clip_returned_rel_error_{bits}"] = worst_returned
        scalars[f"clip_min_cosine_{bits}"] = worst_cos
    # Elementwise clipping of an anisotropic gradient caps the big entry only: it turns.
    big_and_small = torch.tensor([10.0, 0.1], dtype=torch.float64, device=device) * threshold
    tensor = torch.zeros(2, dtype=torch.float64, device=device, requires_grad=True)
    tensor.grad = big_and_small.clone()
    torch.nn.utils.clip_grad_value_([tensor], threshold)
    scalars["clip_value_cosine"] = torch.cosine_similarity(big_and_small, tensor.grad,
                                                           dim=0).item()
    return scalars


def train_near_wall(params: Params, ctx: Context) -> dict[str, torch.Tensor]:
    """SGD on E_T from starts just below the wall, with and without `clip_grad_norm_`.

    Each seed's (w, b) is its own model, so clipping is global over that model's two
    parameters, exactly as a user would call it. The unclipped and the clipped copy of every
    start train side by side in one batch. Returns (S, steps) tensors, paths (S, steps, 2).
    """
    starts = []
    for seed in range(ctx.seed, ctx.seed + params.seeds):
        gen = generator(seed, ctx.device)
        # w within 0.25 of Doya's 5; b 0.2 to 0.4 below the band's lower edge, in the low
        # attractor's basin, from where descent climbs straight into the wall.
        u = torch.rand(2, generator=gen, dtype=torch.float64, device=ctx.device)
        w = DOYA_W + 0.5 * (u[0] - 0.5)
        b = band_edges(w)[0] - 0.2 - 0.2 * u[1]
        starts.append((w, b))
    models = [[torch.nn.Parameter(w.clone()), torch.nn.Parameter(b.clone())]
              for _ in ("unclipped", "clipped") for w, b in starts]  # 2S models
    clipped = models[params.seeds:]
    raw, used, loss = [], [], []
    for _ in range(params.train_steps):
        w = torch.stack([model[0] for model in models])  # (2S,)
        b = torch.stack([model[1] for model in models])  # (2S,)
        losses = error(w, b, params.T)  # (2S,)
        losses.sum().backward()  # the models share no parameter: one backward serves all
        raw.append(_grad_norms(models))
        for model in clipped:
            torch.nn.utils.clip_grad_norm_(model, params.threshold)
        used.append(_grad_norms(models))
        loss.append(losses.detach())
        with torch.no_grad():  # plain SGD, as torch.optim.SGD(lr) would step
            for parameter in (p for model in models for p in model):
                parameter -= params.lr * parameter.grad
                parameter.grad = None
    columns = {"raw": torch.stack(raw, dim=1), "used": torch.stack(used, dim=1),
               "loss": torch.stack(loss, dim=1)}  # each (2S, train_steps)
    return {f"{name}_{key}": half for key, both in columns.items()
            for name, half in zip(("unclipped", "clipped"), both.split(params.seeds),
                                  strict=True)}


def _grad_norms(models: list[list[torch.Tensor]]) -> torch.Tensor:
    return torch.stack([torch.linalg.vector_norm(torch.stack([p.grad for p in model]))
                        for model in models])  # (S,)


def linear_derivatives(steps: int, device: str) -> float:
    """Largest relative error of autograd's dx_T/dw and d2x_T/dw2 against eq. (8)'s closed form."""
    w = torch.tensor(LINEAR_WS, dtype=torch.float64, device=device, requires_grad=True)
    x = torch.full_like(w, X0)
    for _ in range(steps):
        x = w * x  # sigma = identity, b = 0
    (first,) = torch.autograd.grad(x.sum(), w, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), w)
    w = w.detach()
    exact_first = steps * X0 * w ** (steps - 1)
    exact_second = steps * (steps - 1) * X0 * w ** (steps - 2)
    errors = torch.cat([(first.detach() - exact_first).abs() / exact_first,
                        (second - exact_second).abs() / exact_second])
    return errors.max().item()


def bistable_band(device: str) -> tuple[float, float]:
    """The b-interval where w = 5 keeps two attractors: start at -10 and +10, see if they meet."""
    b = torch.arange(-3.5, -1.5, BAND_STEP, dtype=torch.float64, device=device)  # (N,)
    low, high = torch.full_like(b, -10.0), torch.full_like(b, 10.0)
    for _ in range(BAND_ITERATIONS):
        low, high = step(low, DOYA_W, b), step(high, DOYA_W, b)
    two = b[(high - low) > 1e-3]
    return two.min().item(), two.max().item()


def attractor_rates(device: str) -> dict[str, float]:
    """|dx_T/dx_0|^(1/T) from a state perturbed off each attractor of w = 5, b = -2.5, and
    from the fixed point x = 0 on the boundary between their basins, with the slope
    w sigmoid'(x) of the map at each fixed point: the rate linearisation predicts."""
    fixed = torch.tensor([-10.0, 10.0], dtype=torch.float64, device=device)
    for _ in range(BAND_ITERATIONS):  # into the lower and the upper attractor
        fixed = step(fixed, DOYA_W, ATTRACTOR_B)
    fixed = torch.cat([fixed, fixed.new_zeros(1)])  # (3,): lower, upper, the boundary x = 0
    start = (fixed + ATTRACTOR_OFFSET * torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64,
                                                     device=device)).requires_grad_()
    x = start
    for _ in range(ATTRACTOR_STEPS):
        x = step(x, DOYA_W, ATTRACTOR_B)
    (grad,) = torch.autograd.grad(x.sum(), start)  # the three starts do not interact
    rates = grad.abs() ** (1 / ATTRACTOR_STEPS)
    s = torch.sigmoid(fixed)
    slopes = DOYA_W * s * (1 - s)
    found = {"attractor_w": DOYA_W, "attractor_b": ATTRACTOR_B,
             "attractor_steps": float(ATTRACTOR_STEPS)}
    for index, name in enumerate(("lower", "upper", "boundary")):
        found[f"attractor_{name}_x"] = fixed[index].item()
        found[f"attractor_{name}_rate"] = rates[index].item()
        found[f"attractor_{name}_slope"] = slopes[index].item()
    return found


def gradient_surface(params: Params, device: str) -> tuple[torch.Tensor, ...]:
    """||grad_(w,b) E_T|| on the grid. Grid points are independent, so the gradient of the
    summed error gives every point's own gradient; rows go in blocks to bound memory."""
    d = params.grid_density
    w = torch.linspace(*W_RANGE, round((W_RANGE[1] - W_RANGE[0]) * d) + 1,
                       dtype=torch.float64, device=device)  # (Nw,)
    b = torch.linspace(*B_RANGE, round((B_RANGE[1] - B_RANGE[0]) * d) + 1,
                       dtype=torch.float64, device=device)  # (Nb,)
    blocks = []
    for rows in w.split(SURFACE_BLOCK):
        grid_w, grid_b = (m.clone().requires_grad_() for m in torch.meshgrid(rows, b,
                                                                            indexing="ij"))
        d_w, d_b = torch.autograd.grad(error(grid_w, grid_b, params.T).sum(), (grid_w, grid_b))
        blocks.append(torch.hypot(d_w, d_b))  # (rows, Nb)
    return w, b, torch.cat(blocks)  # (Nw,), (Nb,), (Nw, Nb)


def cliff_scalars(w: torch.Tensor, b: torch.Tensor, norm: torch.Tensor) -> dict[str, float]:
    row, col = divmod(norm.argmax().item(), norm.shape[1])
    w_star, b_star = w[row], b[col]
    if w_star >= 4:
        distance = min(abs(b_star - edge).item() for edge in band_edges(w_star))
    else:  # no band below w = 4: the steepest point is off the bifurcation boundary
        distance = math.inf
    return {"surface_max_grad_norm": norm.max().item(),
            "surface_median_grad_norm": norm.median().item(),
            "surface_argmax_w": w_star.item(), "surface_argmax_b": b_star.item(),
            "surface_argmax_edge_distance": distance}


def descend(w: torch.Tensor, b: torch.Tensor, params: Params,
            threshold: float | None) -> dict[str, torch.Tensor]:
    """Plain gradient descent from every start at once: each run's longest step and end loss."""
    wb = torch.stack([w, b], dim=1)  # (N, 2)
    longest = torch.zeros_like(w)  # (N,)
    for _ in range(params.steps):
        wb = wb.detach().requires_grad_()
        (grad,) = torch.autograd.grad(error(wb[:, 0], wb[:, 1], params.T).sum(), wb)  # (N, 2)
        if threshold is not None:
            grad = clip_rows(grad, threshold)
        longest = torch.maximum(longest, params.lr * grad.norm(dim=1))
        wb = wb - params.lr * grad
    final = error(wb[:, 0].detach(), wb[:, 1].detach(), params.T)
    return {"longest": longest, "final": final}  # each (N,)


def descent_scalars(runs: dict[str, dict[str, torch.Tensor]],
                    params: Params) -> dict[str, float]:
    """Step and outcome statistics of both descents, and where the catapults leave them.

    A start is "catapulted" when its unclipped descent takes a step longer than CATAPULT
    times the clipped bound lr * c; a run is "stranded" when it ends on a plateau,
    E_T >= STRANDED. Both descents are split by the same (unclipped) catapult mask.
    """
    bound = params.lr * params.threshold
    catapulted = runs["unclipped"]["longest"] > CATAPULT * bound  # (N,)
    scalars = {"descent_catapulted_starts": float(catapulted.sum().item()),
               "descent_catapult_step": CATAPULT * bound}  # the length that counts, for prose
    for name, stats in runs.items():
        stranded = (stats["final"] >= STRANDED).double()  # (N,)
        scalars.update({
            f"descent_{name}_max_step": stats["longest"].max().item(),
            f"descent_{name}_catapult_fraction":
                (stats["longest"] > CATAPULT * bound).double().mean().item(),
            f"descent_{name}_success_fraction":
                (stats["final"] < SUCCESS_LOSS).double().mean().item(),
            # NaN where a group is empty: no start, no rate
            f"descent_{name}_stranded_catapulted": _mean(stranded[catapulted]),
            f"descent_{name}_stranded_other": _mean(stranded[~catapulted]),
        })
    return scalars


def _mean(values: torch.Tensor) -> float:
    return values.mean().item() if values.numel() else math.nan


def run(params: Params, ctx: Context) -> Result:
    gen = generator(ctx.seed, ctx.device)
    # Starts first, so seed 0 always draws the same 2000 starts (max step 489, 7% catapults).
    start_w = W_RANGE[0] + (W_RANGE[1] - W_RANGE[0]) * torch.rand(
        params.starts, generator=gen, dtype=torch.float64, device=ctx.device)  # (N,)
    start_b = B_RANGE[0] + (B_RANGE[1] - B_RANGE[0]) * torch.rand(
        params.starts, generator=gen, dtype=torch.float64, device=ctx.device)  # (N,)
    scalars = clipping_contract(params.threshold, gen, ctx.device)

    runs = train_near_wall(params, ctx)
    scalars["train_unclipped_max_norm"] = runs["unclipped_raw"].max().item()
    scalars["train_clipped_max_norm_before"] = runs["clipped_raw"].max().item()
    scalars["train_clipped_max_norm_after"] = runs["clipped_used"].max().item()
    for name in ("unclipped", "clipped"):
        scalars[f"train_{name}_final_loss"] = runs[f"{name}_loss"][:, -1].mean().item()

    scalars["linear_derivative_max_rel_error"] = linear_derivatives(params.T, ctx.device)
    lower, upper = bistable_band(ctx.device)
    edge_lo, edge_hi = band_edges(torch.tensor(DOYA_W, dtype=torch.float64))
    scalars.update(band_lower=lower, band_upper=upper, band_lower_theory=edge_lo.item(),
                   band_upper_theory=edge_hi.item())
    scalars.update(attractor_rates(ctx.device))

    w, b, norm = gradient_surface(params, ctx.device)
    scalars.update(cliff_scalars(w, b, norm))

    descents = {name: descend(start_w, start_b, params, threshold)
                for name, threshold in (("unclipped", None), ("clipped", params.threshold))}
    scalars.update(descent_scalars(descents, params))

    series = _training_series(runs)
    series["grad_norm_surface"] = _surface_series(w, b, norm, params.grid_density)
    series["band_edges"] = _edge_series()
    return Result("gradient-clipping", as_dict(params), series, scalars)


def _training_series(runs: dict[str, torch.Tensor]) -> dict[str, Series]:
    steps = list(range(runs["unclipped_raw"].shape[1]))
    norms = {"unclipped": runs["unclipped_raw"], "clipped": runs["clipped_used"],
             "before_clipping": runs["clipped_raw"]}
    losses = {name: runs[f"{name}_loss"] for name in ("unclipped", "clipped")}
    return {
        "grad_norm_during_training": Series(
            steps, "gradient-descent step", {k: v.mean(0).tolist() for k, v in norms.items()},
            "||grad E|| (clipped: after clipping)",
            {k: v.std(0, correction=0).tolist() for k, v in norms.items()}),
        "loss_during_training": Series(
            steps, "gradient-descent step", {k: v.mean(0).tolist() for k, v in losses.items()},
            "E_T", {k: v.std(0, correction=0).tolist() for k, v in losses.items()}),
    }


def _surface_series(w: torch.Tensor, b: torch.Tensor, norm: torch.Tensor,
                    density: int) -> Series:
    """log10 ||grad E|| keyed by w, one list over b per key, pooled to FIGURE_CELL cells.

    Max-pooling (not subsampling) keeps the wall, which is thinner than a figure pixel.
    """
    cell = max(1, round(FIGURE_CELL * density))
    pooled = torch.nn.functional.max_pool2d(norm[None, None], cell, ceil_mode=True)[0, 0]
    half = (cell - 1) / (2 * density)  # from a cell's first grid point to its centre
    w_kept, b_kept = w[::cell] + half, b[::cell] + half
    y = {f"w={wi:.4f}": row.log10().tolist() for wi, row in zip(w_kept.tolist(), pooled,
                                                                  strict=True)}
    return Series(b_kept.tolist(), "bias b", y, "log10 ||grad E_T|| (steepest in cell)")


def _edge_series() -> Series:
    w = torch.linspace(4.0, W_RANGE[1], 161, dtype=torch.float64)
    lower, upper = band_edges(w)
    return Series(w.tolist(), "recurrent weight w",
                  {"lower": lower.tolist(), "upper": upper.tolist()}, "bias b at the band edge")


def claims(result: Result) -> list[Claim]:
    p, s = result.params, result.scalars
    c, lr = p["threshold"], p["lr"]
    exact = max(s["clip_norm_rel_error_float64"], s["clip_returned_rel_error_float64"],
                1 - s["clip_min_cosine_float64"])
    exact32 = max(s["clip_norm_rel_error_float32"], s["clip_returned_rel_error_float32"],
                  1 - s["clip_min_cosine_float32"])
    # A flat median (a surface saturated nearly everywhere) makes any wall infinitely steep.
    steepest, median = s["surface_max_grad_norm"], s["surface_median_grad_norm"]
    ratio = steepest / median if median else math.inf if steepest > 0 else math.nan
    band_error = max(abs(s["band_lower"] - s["band_lower_theory"]),
                     abs(s["band_upper"] - s["band_upper_theory"]))
    return [
        Claim(
            id="norm-clipping-exact",
            statement="Clipping by global norm rescales the whole gradient to $c$ and keeps its "
                      "direction (Pascanu et al. 2013, §3.2, Algorithm 1); clip_grad_norm_ "
                      "returns the norm before clipping.",
            expected=r"$\lVert \hat g \rVert = \lVert g \rVert \min(1, c / (\lVert g \rVert + "
                     r"10^{-6}))$, $\cos(g, \hat g) = 1$",
            measured=f"worst relative error {exact:.1e} (float64), {exact32:.1e} (float32)",
            tolerance="<= 1e-6 (float64), <= 1e-5 (float32)",
            passed=exact <= 1e-6 and exact32 <= 1e-5,
            kind="sanity",  # PyTorch's function against its own documented formula
        ),
        Claim(
            id="value-clipping-turns",
            statement="Clipping each entry (clip_grad_value_) changes an anisotropic "
                      "gradient's direction, unlike Pascanu et al.'s norm clipping (§3.2).",
            expected=r"$\cos(g, \hat g) < 1$",
            measured=f"cosine {s['clip_value_cosine']:.4f}",
            tolerance="< 1 - 1e-3",
            passed=s["clip_value_cosine"] < 1 - 1e-3,
            kind="sanity",  # arithmetic on one fixed vector: (10c, 0.1c) -> (c, 0.1c)
        ),
        _unless_never_clipped(s["train_clipped_max_norm_before"], c, Claim(
            id="clipped-norm-bounded",
            statement="While training next to the cliff, the clipped gradient never exceeds "
                      "the threshold (Pascanu et al. 2013, §3.2).",
            expected=rf"$\lVert \hat g \rVert \le c = {c:g}$ at every step",
            measured=f"largest {s['train_clipped_max_norm_after']:.6g} (before clipping "
                     f"{s['train_clipped_max_norm_before']:.3g})",
            tolerance="relative 1e-12",
            passed=s["train_clipped_max_norm_after"] <= c * (1 + 1e-12),
            kind="sanity",  # clip_grad_norm_'s output checked against its bound
        )),
        Claim(
            id="linear-derivatives",
            statement="In the linear single unit $x_t = w x_{t-1}$ the first and second "
                      "derivatives explode together (Pascanu et al. 2013, §2.3, eq. 8).",
            expected=r"$\partial x_T / \partial w = T x_0 w^{T-1}$, $\partial^2 x_T / "
                     r"\partial w^2 = T(T-1) x_0 w^{T-2}$",
            measured=f"max relative error {s['linear_derivative_max_rel_error']:.1e}",
            tolerance="<= 1e-9",
            passed=s["linear_derivative_max_rel_error"] <= 1e-9,
            kind="sanity",  # autograd against calculus: an identity of the code
        ),
        Claim(
            id="bistable-band",
            statement=f"With $w = {DOYA_W:g}$ the single unit has two attractors only for "
                      "$b$ in a band (Pascanu et al. 2013, §2.2, Fig. 3, after Doya 1993).",
            expected=f"$b \\in ({s['band_lower_theory']:.4f}, {s['band_upper_theory']:.4f})$",
            measured=f"[{s['band_lower']:.4f}, {s['band_upper']:.4f}]",
            tolerance="+-2e-3 per edge",
            passed=band_error <= 2e-3,
        ),
        _attractor_claim(s),
        Claim(
            id="cliff-on-band-edge",
            statement="The error surface $E_T$ has a steep wall, and it lies on the bifurcation "
                      "boundary (Pascanu et al. 2013, §2.3, Fig. 6).",
            expected=r"max/median $\lVert \nabla E \rVert \ge 100$, arg-max within 0.05 "
                     "(in $b$) of the band edge",
            measured=f"max/median {ratio:.0f} at $(w, b) = ({s['surface_argmax_w']:.3f}, "
                     f"{s['surface_argmax_b']:.3f})$, {s['surface_argmax_edge_distance']:.3f} "
                     "from the edge",
            tolerance="ratio >= 100, distance <= 0.05",
            passed=ratio >= 100 and s["surface_argmax_edge_distance"] <= 0.05,
        ),
        _unless_never_clipped(s["descent_unclipped_max_step"], lr * c, Claim(
            id="no-catapult",
            statement=r"With clipping, no gradient-descent step is longer than $\eta c$, from "
                      "every start (Pascanu et al. 2013, §3.2); the final loss is not claimed.",
            expected=rf"every step $\le \eta c = {lr * c:g}$ ($\eta$ the learning rate)",
            measured=f"longest {s['descent_clipped_max_step']:.6g} clipped, "
                     f"{s['descent_unclipped_max_step']:.3g} unclipped",
            tolerance="relative 1e-12",
            passed=s["descent_clipped_max_step"] <= lr * c * (1 + 1e-12),
            kind="sanity",  # clip_rows' own bound; catapult-strands is the evidence
        )),
        _catapult_strands(p, s),
    ]


def _attractor_claim(s: dict[str, float]) -> Claim:
    """Bengio et al. 1994's trade-off, measured: storing contracts, and contracting vanishes."""
    errors = [abs(s[f"attractor_{name}_rate"] - s[f"attractor_{name}_slope"])
              for name in ("lower", "upper", "boundary")]
    contracting = max(s["attractor_lower_slope"], s["attractor_upper_slope"]) < 1
    return Claim(
        id="memory-vanishes",
        statement=f"A unit that stores a bit forgets how it got there: at $b = {ATTRACTOR_B:g}$ "
                  f"the unit has two attractors, $x^* = {s['attractor_lower_x']:.3f}$ and "
                  f"${s['attractor_upper_x']:.3f}$, where the map contracts, so the gradient "
                  r"of a state $T$ steps back shrinks by $w\sigma'(x^*) < 1$ per step; only on "
                  r"the boundary between the basins, $x = 0$, does it grow, by $w/4$ (Bengio et "
                  "al. 1994; Pascanu et al. 2013, §2.2).",
        expected=rf"$\lvert \partial x_T / \partial x_0 \rvert^{{1/T}} = w\sigma'(x^*)$: "
                 f"{s['attractor_lower_slope']:.6f} and {s['attractor_upper_slope']:.6f} "
                 f"from {ATTRACTOR_OFFSET:g} off each attractor, "
                 f"{s['attractor_boundary_slope']:.6f} at $x = 0$ ($T = {ATTRACTOR_STEPS}$)",
        measured=f"{s['attractor_lower_rate']:.6f}, {s['attractor_upper_rate']:.6f} and "
                 f"{s['attractor_boundary_rate']:.6f}",
        tolerance=f"absolute {ATTRACTOR_TOLERANCE:g}, and both attractors' slopes below 1",
        passed=contracting and max(errors) <= ATTRACTOR_TOLERANCE,
    )


def _unless_never_clipped(unclipped: float, bound: float, claim: Claim) -> Claim:
    """`claim`, a bound clipping enforces, not judged where nothing ever went past the bound:
    it would hold with clipping broken or gone."""
    if unclipped > bound:
        return claim
    return not_judged(claim.id, claim.statement, claim.expected,
                      f"clipping never acted: the largest value unclipped, {unclipped:.3g}, is "
                      f"within the bound {bound:g}", kind=claim.kind)


def _catapult_strands(p: dict, s: dict[str, float]) -> Claim:
    """The evidence that clipping does what Pascanu et al. built it for: no stranding."""
    c, lr, n = p["threshold"], p["lr"], s["descent_catapulted_starts"]
    statement = ("A step on the wall throws plain gradient descent onto a flat plateau where it "
                 r"stays; clipping, which acts only where $\lVert g \rVert > c$, keeps the same "
                 "descents off it and strands nothing else (Pascanu et al. 2013, §3.2, Fig. 6).")
    expected = (f"stranded ($E_T \\ge {STRANDED:g}$) among the starts unclipped descent catapults: "
                "unclipped more often than the other starts, clipped no more often; the other "
                "starts no more often clipped than unclipped")
    if not 0.3 <= lr * c <= 1:
        return not_judged(
            "catapult-strands", statement, expected,
            f"needs 0.3 <= lr * c <= 1 (here {lr * c:g}): a clipped step longer than 1 can "
            "itself clear the wall onto the plateau, and below 0.3 a step of 5 lr c is too "
            "short to be a catapult")
    if n < MIN_CATAPULTED:
        return not_judged(
            "catapult-strands", statement, expected,
            f"{n:.0f} of {p['starts']} unclipped descents were catapulted; the comparison "
            f"needs {MIN_CATAPULTED} (more starts or steps)")
    others = p["starts"] - n
    if others < MIN_CATAPULTED:  # the rates compared against would be of nothing: NaN
        return not_judged(
            "catapult-strands", statement, expected,
            f"{n:.0f} of {p['starts']} unclipped descents were catapulted; the comparison "
            f"needs {MIN_CATAPULTED} that were not (a smaller learning rate)")
    (u_cat, u_other), (c_cat, c_other) = ((s[f"descent_{name}_stranded_catapulted"],
                                           s[f"descent_{name}_stranded_other"])
                                          for name in ("unclipped", "clipped"))

    def margin(rate: float, count: float) -> float:
        # Two binomial standard errors of a rate measured on `count` starts that strand at
        # `rate`: sampling noise alone cannot pass or fail the comparison.
        return 2 * math.sqrt(rate * (1 - rate) / count)

    return Claim(
        id="catapult-strands",
        statement=statement,
        expected=expected,
        measured=f"of {n:.0f} catapulted starts {u_cat:.0%} stranded unclipped, {c_cat:.0%} "
                 f"clipped; of the other {others:.0f}, {u_other:.0%} unclipped, {c_other:.0%} "
                 "clipped",
        tolerance="two binomial standard errors of the rate compared against",
        passed=(u_cat > u_other + margin(u_other, n) and c_cat <= c_other + margin(c_other, n)
                and c_other <= u_other + margin(u_other, others)),
    )
