"""The singular values of a product of step Jacobians: why orthogonal weights keep a highway open.

    topicgen run jacobian-spectrum -p depths=1,2,4,8 -p width=128 --json

Backpropagation through L layers (or L time steps) multiplies L step Jacobians,

    J_L = D_L W_L ... D_2 W_2 D_1 W_1,     D_l = diag(phi'(W_l x_(l-1))),

and the gradient reaching the input is J_L^T times the gradient at the output. How far J_L is
from an isometry (every singular value 1) decides whether some directions of the gradient
vanish while others explode. We draw a fresh N x N matrix per factor, as in a deep network
(an RNN reuses one W; for orthogonal W its powers are orthogonal too):

  gaussian    entries N(0, 1/N), the critical scaling: the mean squared singular value of J_L
              stays 1 at every depth, but their variance grows like L (Pennington et al.
              2017, who derive the whole spectrum by free probability). A few directions
              carry huge gradients and most carry tiny ones.
  orthogonal  Haar-distributed Q: every singular value of a product of orthogonal matrices
              is exactly 1, at any depth ("dynamical isometry"; Saxe et al. 2013 on
              orthogonal initialisation).

with phi = identity ("linear") or tanh. Since |tanh'| <= 1, each ||D_l|| <= 1, so with
orthogonal W every singular value of the tanh product is at most 1 (a theorem), and it
shrinks wherever the pre-activations reach tanh's curved part. By how much is mean-field
theory (Poole et al. 2016; Pennington et al. 2017, §2.2): an orthogonal W keeps ||x||^2/N,
so layer l's pre-activations are N(0, q_l) with q_1 = input_std^2 and the length map
q_(l+1) = E[tanh(sqrt(q_l) z)^2], and the mean squared singular value of J_L is the product
of chi_l = E[tanh'(sqrt(q_l) z)^2] over the L layers (chi^L at a fixed point q*).

Width matters for the Gaussian law. Its exact finite-N mean follows from Wick's theorem: with
a_l = E[(tr J J^T / N)^2] and b_l = E[tr (J J^T)^2 / N], one more factor gives
a_(l+1) = a_l + 2 b_l / N^2 and b_(l+1) = a_l + (1 + 1/N) b_l, from a_0 = b_0 = 1, and
E[Var(s^2)] = b_L - a_L, which tends to L as N grows (1.2% above L at N = 384, L = 8).
The measured variance also scatters from draw to draw, by about 3.5 L / N relative to L
(measured over 200 seeds). So the law is judged at L <= 8 (and L <= N / 14, where that
scatter is not yet too heavy-tailed) within +-15%, widened where the finite-N excess plus
five standard errors of the seed mean exceed that. The full profile (N = 384, 8 seeds) is
judged at +-15% throughout; the quick one (N = 128, 24 seeds) at +-15% for L <= 4 and +-26%
at L = 8 (with 5 seeds it would need +-53% there).

The Gaussian law and the tanh network's mean-field product are the evidence: a measurement
could contradict them. The orthogonal identities and the tanh bound hold for every single
draw, so they are sanity claims: only wrong code can break them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, not_judged, param

from ._tensors import generator, haar_orthogonal, resolved

SUMMARY = "Singular values of products of L step Jacobians: Gaussian vs orthogonal, linear vs tanh."
WEIGHTS = ("gaussian", "orthogonal")
ACTIVATIONS = ("linear", "tanh")
DTYPE = torch.float64  # the orthogonal claims are exact to 1e-10, far below float32's 1e-7
# Pennington et al.'s variance = L is a large-N statement. Judged up to L = 8: beyond,
# the seed-to-seed spread at CPU-sized widths is wide and heavy-tailed (19% per seed at
# L = 16, N = 256), although the finite-N bias itself stays small (3.5% there).
LAW_MAX_DEPTH = 8
LAW_TOLERANCE = 0.15
# The seed-to-seed spread of Var(s^2) is about SPREAD * L / N relative to L (measured over
# 200 seeds at N = 32, 128 and 256 and L <= 8). Its upper tail is heavier than a Gaussian's:
# single draws reach 4.2 spreads at the 99.9% quantile and 7 in 20,000 at N = 16 to 128, so
# the law is judged at Z standard errors.
SPREAD = 3.5
Z = 5.0
# Where one draw scatters by more than a quarter of L (SPREAD * L / N > 0.25), the upper tail
# grows heavier still, so those depths are shown but not judged.
MAX_SPREAD = 0.25
THEORY_LIMIT = "theory: L (infinite width)"
THEORY_EXACT = "theory: exact Gaussian mean at width N"
ROUNDING_SLACK = 1e-12  # an SVD of an orthogonal product is exact to a few ulps per factor
# The tanh network's mean squared singular value against mean-field theory. Per seed it
# scatters by MEAN_FIELD_SPREAD / sqrt(N) relative to the theory (1.41 to 1.57 measured over
# 200 seeds at N = 128 and 40 at N = 384, L = 1 to 16; most of it is the input's
# ||x_0||^2 / N, which varies by sqrt(2 / N)), with a Gaussian tail (extremes -2.4 and +3.2
# spreads in 200 draws). Mean-field theory is exact as N grows; its finite-N excess measured
# +1.8% +- 1.0% at N = 128, L = 16 (+0.6% at N = 384), so MEAN_FIELD_EXCESS / N is allowed.
MEAN_FIELD_SPREAD = 1.6
MEAN_FIELD_EXCESS = 3.0
MEAN_FIELD_MAX_DEPTH = 16  # the depths at which the spread above was measured
# E[f(z)], z ~ N(0, 1), by quadrature on a uniform grid over [-12, 12] with Gaussian weights:
# for tanh's smooth integrands it is exact to float64 rounding.
QUADRATURE_POINTS = 4801
# The singular values the figures follow, by rank from the top (0 = largest). The smallest is
# left out: for a deep Gaussian product it lies far below float64's resolution of J_L.
RANKS = {"sv_largest": 0.0, "sv_upper_quartile": 0.25, "sv_median": 0.5,
         "sv_lower_quartile": 0.75}


@dataclass(frozen=True)
class Params:
    # 1 to 8 test the variance = L law; 16 shows the spread still widening beyond it.
    depths: tuple[int, ...] = param((1, 2, 4, 8, 16), "numbers of factors L to measure",
                                    min=1, max=1000)
    # With 8 seeds, the narrowest width at which the finite-N bias (+1.2% at L = 8) plus Z
    # standard errors fit inside +-15%; its SVDs keep the full profile near 10 s.
    width: int = param(384, "size N of each square factor", min=16, max=2048)
    # Var(s^2) at L = 8 varies by ~3.5 L / N = 7% from one draw to the next at N = 384.
    seeds: int = param(8, "independent draws of every matrix", min=1, max=1000)
    weights: tuple[str, ...] = param(WEIGHTS, "weight distributions", choices=WEIGHTS)
    activations: tuple[str, ...] = param(ACTIVATIONS, "step nonlinearities", choices=ACTIVATIONS)
    # Unit-scale inputs put tanh's pre-activations where its slope visibly drops below 1.
    input_std: float = param(1.0, "standard deviation of the tanh network's input entries",
                             min=0.0, max=10.0)


# 24 seeds at N = 128 cost about a second and judge the law at L = 8 within +-26% (Z
# standard errors of a 24-seed mean, plus the finite-N excess of 3.7%).
QUICK = {"depths": (1, 2, 4, 8), "width": 128, "seeds": 24}

# Against Pennington et al. 2017 and Saxe et al. 2013, whose theory is for infinite width:
# a finite N, whose corrections the claims' tolerances state. A fresh matrix per factor, as in
# a deep network (an RNN reuses one W; for orthogonal W its powers are orthogonal too).
DEVIATIONS: list[str] = []


def label(weights: str, activation: str) -> str:
    return weights if activation == "linear" else f"{weights} + tanh"


def draw_layer(weights: str, gens: list[torch.Generator], width: int,
               device: str) -> torch.Tensor:
    """One factor per seed, (S, N, N): N(0, 1/N) entries, or Haar-orthogonal."""
    if weights == "gaussian":
        draws = [torch.randn((width, width), generator=g, dtype=DTYPE, device=device)
                 for g in gens]
        return torch.stack(draws) / math.sqrt(width)
    return torch.stack([haar_orthogonal(width, g, DTYPE, device) for g in gens])


def singular_values(weights: str, params: Params,
                    ctx: Context) -> dict[str, dict[int, torch.Tensor]]:
    """Singular values of J_L for every L in depths and every activation: label -> L -> (S, N).

    Each weight distribution gets its own seeded streams, so a case's numbers do not depend on
    which other cases run; linear and tanh share the same matrices and the same input.
    """
    n, depths = params.width, set(params.depths)
    gens = [generator(seed, ctx.device) for seed in range(ctx.seed, ctx.seed + params.seeds)]
    # Drawn before any matrix, so the input is independent of the first factor.
    x0 = params.input_std * torch.stack(
        [torch.randn(n, generator=g, dtype=DTYPE, device=ctx.device) for g in gens])  # (S, N)
    eye = torch.eye(n, dtype=DTYPE, device=ctx.device).expand(params.seeds, n, n)
    jac = {act: eye for act in params.activations}  # (S, N, N) each
    x = {act: x0 for act in params.activations}  # the forward pass the tanh slopes come from
    found: dict[str, dict[int, torch.Tensor]] = {label(weights, a): {} for a in params.activations}
    for depth in range(1, max(depths) + 1):
        w = draw_layer(weights, gens, n, ctx.device)  # (S, N, N)
        for act in params.activations:
            if act == "linear":
                jac[act] = w @ jac[act]
            else:
                x[act] = torch.tanh(torch.einsum("sij,sj->si", w, x[act]))  # (S, N)
                slope = 1 - x[act] ** 2  # tanh' at the pre-activation, (S, N)
                jac[act] = slope[:, :, None] * (w @ jac[act])
            if depth in depths:
                found[label(weights, act)][depth] = torch.linalg.svdvals(jac[act])  # (S, N)
    return found




def gaussian_mean(f) -> float:
    """E[f(z)] for z ~ N(0, 1), by quadrature in float64."""
    z = torch.linspace(-12.0, 12.0, QUADRATURE_POINTS, dtype=DTYPE)
    weight = torch.exp(-z**2 / 2)
    return float((weight * f(z)).sum() / weight.sum())


def mean_field_mean_square(input_std: float, depths: list[int]) -> list[float]:
    """Mean-field E[s^2] of the orthogonal tanh network's J_L at each depth: prod of chi_l."""
    q, product, found = input_std**2, 1.0, {}
    for depth in range(1, max(depths) + 1):
        scale = math.sqrt(q)
        product *= gaussian_mean(lambda z, a=scale: (1 - torch.tanh(a * z) ** 2) ** 2)
        found[depth] = product
        q = gaussian_mean(lambda z, a=scale: torch.tanh(a * z) ** 2)  # the length map
    return [found[d] for d in depths]


def expected_variance(width: int, depth: int) -> float:
    """Exact E[Var(s^2)] of a product of `depth` N(0, 1/N) matrices (Wick's theorem)."""
    a, b = 1.0, 1.0
    for _ in range(depth):
        a, b = a + 2 * b / width**2, a + (1 + 1 / width) * b
    return b - a


def run(params: Params, ctx: Context) -> Result:
    spectra: dict[str, dict[int, torch.Tensor]] = {}
    for weights in params.weights:
        spectra.update(singular_values(weights, params, ctx))

    depths = sorted(set(params.depths))
    spread, spread_std, scalars = {}, {}, {}
    ranks = {name: {} for name in RANKS}
    ranks_std = {name: {} for name in RANKS}
    for case, by_depth in spectra.items():
        sv = torch.stack([by_depth[d] for d in depths])  # (D, S, N), sorted largest first
        variance = (sv**2).var(dim=2, correction=0)  # (D, S): spread of the squared values
        spread[case] = variance.mean(1).tolist()
        spread_std[case] = variance.std(1, correction=0).tolist()
        # Orders of magnitude apart, so seeds are averaged in log10 (a geometric mean).
        logs = resolved(sv).log10()  # (D, S, N)
        for name, fraction in RANKS.items():
            column = logs[:, :, round(fraction * (params.width - 1))]  # (D, S)
            ranks[name][case] = column.mean(1).tolist()
            ranks_std[name][case] = column.std(1, correction=0).tolist()
        scalars.update(_case_scalars(case, depths, sv, variance))

    # The Gaussian law's two theory curves travel with the data, so figures need no theory code.
    spread[THEORY_LIMIT] = [float(d) for d in depths]
    spread[THEORY_EXACT] = [expected_variance(params.width, d) for d in depths]
    x_label = "number of factors L"
    series = {
        "sv_spread": Series(depths, x_label, spread, "variance of the squared singular values",
                            spread_std),
        **{name: Series(depths, x_label, ranks[name],
                        f"log10 {name[3:].replace('_', ' ')} singular value", ranks_std[name])
           for name in RANKS},
    }
    return Result("jacobian-spectrum", as_dict(params), series, scalars)


def _case_scalars(case: str, depths: list[int], sv: torch.Tensor,
                  variance: torch.Tensor) -> dict[str, float]:
    """The numbers each case's theory is checked against; sv (D, S, N), variance (D, S)."""
    if case == "gaussian":
        found = {}
        for index, depth in enumerate(depths):
            found[f"gaussian_variance_L{depth}"] = variance[index].mean().item()
            found[f"gaussian_variance_L{depth}_std"] = variance[index].std(correction=0).item()
        found["gaussian_largest_sv_deepest"] = sv[-1, :, 0].mean().item()
        return found
    if case == "orthogonal":
        return {"orthogonal_variance_max": variance.max().item(),
                "orthogonal_sv_max_error": (sv - 1).abs().max().item()}
    if case == "orthogonal + tanh":
        mean_square = (sv**2).mean(2)  # (D, S): tr(J J^T) / N per seed
        return {"orthogonal_tanh_sv_max": sv.max().item(),
                "orthogonal_tanh_sv_median_deepest": sv[-1, :, sv.shape[2] // 2].mean().item(),
                **{f"orthogonal_tanh_mean_square_L{depth}": mean_square[index].mean().item()
                   for index, depth in enumerate(depths)}}
    return {}


def law_tolerance(width: int, seeds: int, depth: int) -> float:
    """+-15%, widened where finite-N bias plus Z standard errors of the seed mean exceed it."""
    bias = expected_variance(width, depth) / depth - 1
    return max(LAW_TOLERANCE, bias + Z * SPREAD * depth / (width * math.sqrt(seeds)))


def mean_field_tolerance(width: int, seeds: int) -> float:
    """Relative band of the seed-mean E[s^2]: the finite-N excess plus Z standard errors."""
    return MEAN_FIELD_EXCESS / width + Z * MEAN_FIELD_SPREAD / math.sqrt(width * seeds)


def claims(result: Result) -> list[Claim]:
    p, s = result.params, result.scalars
    linear = "linear" in p["activations"]
    tanh = "tanh" in p["activations"]
    gaussian = "gaussian" in p["weights"]
    orthogonal = "orthogonal" in p["weights"]
    found = _gaussian_law(p, s) if linear and gaussian else [not_judged(
        "gaussian-variance", GAUSSIAN_STATEMENT, r"$\operatorname{Var}(s^2) = L$",
        "needs weights gaussian and activations linear")]
    found += _orthogonal_claims(s) if linear and orthogonal else [
        not_judged(id, statement, expected, "needs weights orthogonal and activations linear",
                   kind="sanity")
        for id, statement, expected in ORTHOGONAL_CLAIMS]
    found += _tanh_claims(p, s) if tanh and orthogonal else [
        not_judged("tanh-contraction", CONTRACTION_STATEMENT, r"$s_{\max} \le 1$",
                   "needs weights orthogonal and activations tanh", kind="sanity"),
        not_judged("tanh-mean-field", MEAN_FIELD_STATEMENT,
                   r"$\mathbb{E}[s^2] = \prod_l \chi_l$",
                   "needs weights orthogonal and activations tanh")]
    return found


GAUSSIAN_STATEMENT = (r"For Gaussian $\mathcal{N}(0, 1/N)$ factors the variance of the squared "
                      "singular values of the product grows like the depth $L$ (Pennington et "
                      "al. 2017).")
ORTHOGONAL_CLAIMS = [
    ("orthogonal-variance",
     "A product of orthogonal matrices has no singular-value spread at any depth (dynamical "
     "isometry, Saxe et al. 2013; Pennington et al. 2017).", r"$\operatorname{Var}(s^2) = 0$"),
    ("orthogonal-isometry",
     "Every singular value of a product of orthogonal matrices equals 1 (Saxe et al. 2013).",
     "$s_i = 1$ for every $i$ and $L$"),
]
CONTRACTION_STATEMENT = (r"With orthogonal $W$ and $\lvert \tanh' \rvert \le 1$, no singular value "
                         r"of the tanh network's Jacobian exceeds 1: $\lVert D_l W_l \rVert \le "
                         r"\gamma \lambda_1 = 1$ (Pascanu et al. 2013, eq. 6).")
MEAN_FIELD_STATEMENT = (r"With orthogonal $W$ the tanh network's mean squared singular value is "
                        r"the product over layers of $\chi_l = \mathbb{E}[\tanh'(h_l)^2]$, "
                        r"$h_l \sim \mathcal{N}(0, q_l)$ with $q_l$ from the length map "
                        r"(Pennington et al. 2017, §2.2, $\chi^L$ at a fixed point; Poole et al. "
                        "2016): tanh shrinks every direction by its average slope, not just some.")


def _orthogonal_claims(s: dict[str, float]) -> list[Claim]:
    """Identities of orthogonal products: they hold for every draw, to rounding."""
    variance, error = s["orthogonal_variance_max"], s["orthogonal_sv_max_error"]
    (variance_id, variance_statement, variance_expected), (isometry_id, isometry_statement,
                                                           isometry_expected) = ORTHOGONAL_CLAIMS
    return [
        Claim(id=variance_id, statement=variance_statement, expected=variance_expected,
              measured=f"largest variance {variance:.1e}", tolerance="< 1e-20",
              passed=variance < 1e-20, kind="sanity"),
        Claim(id=isometry_id, statement=isometry_statement, expected=isometry_expected,
              measured=rf"$\max_i \lvert s_i - 1 \rvert$ = {error:.1e}", tolerance="<= 1e-10",
              passed=error <= 1e-10, kind="sanity"),
    ]


def _tanh_claims(p: dict, s: dict[str, float]) -> list[Claim]:
    largest = s["orthogonal_tanh_sv_max"]
    found = [Claim(
        id="tanh-contraction",
        statement=CONTRACTION_STATEMENT,
        expected=r"$s_{\max} \le 1$",
        measured=rf"$s_{{\max}} = {largest:.12f}$",
        tolerance=f"rounding, {ROUNDING_SLACK:g}",
        passed=largest <= 1 + ROUNDING_SLACK,
        kind="sanity",  # a theorem for every draw: only the code can break it
    )]
    depths = sorted(d for d in set(p["depths"]) if d <= MEAN_FIELD_MAX_DEPTH)
    if not depths:
        found.append(not_judged("tanh-mean-field", MEAN_FIELD_STATEMENT,
                                r"$\mathbb{E}[s^2] = \prod_l \chi_l$",
                                f"needs a depth L <= {MEAN_FIELD_MAX_DEPTH}, where the seed "
                                "spread was measured"))
        return found
    theory = mean_field_mean_square(p["input_std"], depths)
    measured = [s[f"orthogonal_tanh_mean_square_L{d}"] for d in depths]
    tolerance = mean_field_tolerance(p["width"], p["seeds"])
    found.append(Claim(
        id="tanh-mean-field",
        statement=MEAN_FIELD_STATEMENT,
        expected=r"$\mathbb{E}[s^2]$ = " + ", ".join(f"{t:.3g}" for t in theory)
        + " at $L = " + ", ".join(str(d) for d in depths) + "$",
        measured=", ".join(f"{m:.3g}" for m in measured),
        tolerance=f"+-{tolerance:.0%} relative ({MEAN_FIELD_EXCESS:g}/N finite-width excess "
                  f"plus {Z:g} standard errors of the {p['seeds']}-seed mean, "
                  f"SE = {MEAN_FIELD_SPREAD:g} / sqrt(N seeds))",
        passed=all(abs(m / t - 1) <= tolerance for m, t in zip(measured, theory, strict=True)),
    ))
    return found


def _gaussian_law(p: dict, s: dict[str, float]) -> list[Claim]:
    """Var(s^2) = L at every measured depth up to LAW_MAX_DEPTH that the width can judge."""
    depths = sorted(d for d in set(p["depths"])
                    if d <= LAW_MAX_DEPTH and SPREAD * d / p["width"] <= MAX_SPREAD)
    if not depths:
        return [not_judged("gaussian-variance", GAUSSIAN_STATEMENT,
                           r"$\operatorname{Var}(s^2) = L$",
                           f"needs a depth L <= {LAW_MAX_DEPTH} with {SPREAD:g} L / N <= "
                           f"{MAX_SPREAD:g} (N = {p['width']})")]
    errors = [s[f"gaussian_variance_L{d}"] / d - 1 for d in depths]
    tolerances = [law_tolerance(p["width"], p["seeds"], d) for d in depths]
    return [Claim(
        id="gaussian-variance",
        statement=GAUSSIAN_STATEMENT,
        expected=r"$\operatorname{Var}(s^2) = L$ at $L = "
        + ", ".join(str(d) for d in depths) + "$",
        measured=", ".join(f"{s[f'gaussian_variance_L{d}']:.3g}" for d in depths),
        tolerance=", ".join(f"+-{t:.0%}" for t in tolerances)
        + f" (N = {p['width']}, {p['seeds']} seeds)",
        passed=all(abs(e) <= t for e, t in zip(errors, tolerances, strict=True)),
    )]
