"""The LSTM's cell state as a gradient highway, and how the forget-gate bias sets its speed limit.

    topicgen run cell-highway -p forget_biases=0,1,2 -p T=60 --json

The LSTM adds to its cell state instead of rewriting it,

    c_t = f_t * c_{t-1} + i_t * g_t,

so along the direct cell path one step back multiplies the gradient by diag(f_t). Hochreiter &
Schmidhuber's original cell (1997, §3) had no forget gate, f = 1, and carried the error unchanged
(the "constant error carousel"). Gers et al. (2000) added f = sigmoid(W_f x + U_f h + b_f). With
small weights f ~ sigmoid(b_f), so dc_T/dc_{T-k} shrinks like sigmoid(b_f)^k: 0.5 per step at
b_f = 0, 0.73 at b_f = 1, 0.88 at b_f = 2. Jozefowicz et al. (2015) found a forget bias of 1
closes the LSTM's gap to the GRU. With every weight zero the cell path is the only path and

    dc_T/dc_0 = sigmoid(b_f)^T I    exactly.

The same holds for the GRU's update gate z (Cho et al. 2014, §2.3, PyTorch's convention
h_t = (1 - z) n + z h_{t-1}): with zero weights and update bias b, dh_T/dh_0 = sigmoid(b)^T I,
while the flipped convention of Chung et al. (2014) would give (1 - sigmoid(b))^T.

PyTorch keeps two bias vectors, bias_ih and bias_hh, and adds them; the forget slice of either
is [H:2H] (gate order (i, f, g, o)). Writing b_f into both gives 2 b_f: the
double-bias trap. `set_forget_bias` writes bias_ih only.

Three measurements, all through torch.nn modules in float64:
  exact      zero weights: nn.LSTM and nn.GRU against sigmoid(b)^T, and the double-bias trap
             (identities of PyTorch's cells: sanity claims);
  small      the default draws times 0.05, b_f kept: the per-step decay against sigmoid(b_f),
             within the first-order correction the candidate path adds (see
             `small_weight_decay`), through the same Jacobian measurement as below;
  default    PyTorch's default init, U(-1/sqrt(H), 1/sqrt(H)), forget bias b_f written into
             bias_ih: ||dc_T/dc_(T-k)|| for every distance k, with a vanilla tanh nn.RNNCell
             beside it. The per-step decay is read between k = T/3 and k = T. T warm-up
             steps come first: from a zero state tanh'(c) = 1 inflates the paths through h.
Jacobians are full H x H matrices (spectral norm), read off in one backward pass: H identical
copies of the sequence form the batch, copy j backpropagates its own unit j, and a zero
"nudge" leaf added to the cell state at every step collects dc_T/dc_t for all t at once (the
state c_t moved with h_t held, just as c_0 moves with h_0 given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from topicgen.api import Claim, Context, Result, Series, as_dict, not_judged, param

from ._tensors import generator

SUMMARY = "dc_T/dc_t along the LSTM cell path versus forget-gate bias, against sigmoid(b_f)^k."
DTYPE = torch.float64  # sigmoid(b)^T must be exact to 1e-12, beyond float32's 1e-7
INPUT_SIZE = 8  # input features of the default-init runs
TRAP_BIAS = 1.0  # the value people write when they follow Jozefowicz et al.
FIT_START_FRACTION = 1 / 3  # fits distances 20..60 for T = 60, past the short-range start
MIN_GAP = 0.1  # decay(b_f = 1) - decay(b_f = 0) must be at least this (measured here: ~0.23)
# The order is claimed among these only: neighbours closer than 1 can swap in some seed, and
# b_f = 0 sits within a seed's spread of the tanh RNN.
REFERENCE_BIASES = (0.0, 1.0, 2.0)
# The small-weight limit: PyTorch's default draws times SMALL (the forget bias b_f itself kept).
# Small enough that second-order terms (~ SMALL^2) are below 1% of the gate, large enough that
# the first-order correction (~0.2 SMALL per step, measured) is still visible.
SMALL = 0.05


@dataclass(frozen=True)
class Params:
    # No bias, Jozefowicz's 1 and the recommended upper end 2 (Jozefowicz et al. 2015).
    forget_biases: tuple[float, ...] = param((0.0, 1.0, 2.0), "forget-gate biases b_f to compare",
                                             min=-2.0, max=5.0)
    # 60 steps: sigmoid(0)^60 ~ 1e-18 is still far above float64's 1e-308 floor.
    T: int = param(60, "sequence length", min=30, max=200)
    # A typical width; the per-step decay barely depends on it.
    hidden: int = param(64, "hidden units", min=32, max=256)
    # Five seeds give a median and a spread, and "in every seed" something to mean.
    seeds: int = param(5, "independent weight and input draws", min=1, max=50)


QUICK = {"hidden": 32, "seeds": 3}

# PyTorch's own cells at its default initialisation, with Jozefowicz et al. 2015's forget
# biases; the exact zero-weight checks are the papers' equations at any size.
DEVIATIONS: list[str] = []


def set_forget_bias(bias_ih: torch.Tensor, value: float) -> None:
    """Write b_f into bias_ih's forget slice [H:2H] only; bias_hh keeps its own value."""
    hidden = bias_ih.shape[0] // 4
    with torch.no_grad():
        bias_ih[hidden:2 * hidden] = value


def build(kind: type, hidden: int, device: str) -> torch.nn.Module:
    """An uninitialised torch.nn recurrent module: its own init would draw from the global RNG."""
    return kind(INPUT_SIZE, hidden, dtype=DTYPE, device="meta").to_empty(device=device)


def zero_weight_gain(cell: str, hidden: int, steps: int, bias: float, device: str,
                     also_bias_hh: bool = False) -> torch.Tensor:
    """Entries of d(state_T)/d(state_0) . 1 for an all-zero nn.LSTM / nn.GRU with gate bias b.

    LSTM: the forget gate (state = c); GRU: the update gate z (state = h). Both sit at [H:2H].
    """
    module = build({"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell], hidden, device)
    with torch.no_grad():
        for weight in module.parameters():
            weight.zero_()
        module.bias_ih_l0[hidden:2 * hidden] = bias
        if also_bias_hh:
            module.bias_hh_l0[hidden:2 * hidden] = bias
    inputs = torch.ones(steps, 1, INPUT_SIZE, dtype=DTYPE, device=device)  # W_ih = 0: unused
    state = torch.ones(1, 1, hidden, dtype=DTYPE, device=device, requires_grad=True)
    if cell == "lstm":
        _, (_, final) = module(inputs, (torch.zeros_like(state), state))  # h_0 = 0, c_0 = state
    else:
        _, final = module(inputs, state)
    (grad,) = torch.autograd.grad(final.sum(), state)
    return grad.flatten()  # (H,), every entry d(final_j)/d(state_j)


def exact_scalars(params: Params, device: str) -> dict[str, float]:
    """Relative errors of the zero-weight gains against sigmoid(b)^T, and the double bias."""
    def sigmoid_power(bias: float) -> float:
        return torch.sigmoid(torch.tensor(bias, dtype=DTYPE)).item() ** params.T

    scalars = {}
    for cell in ("lstm", "gru"):
        worst = 0.0
        for bias in params.forget_biases:
            gain = zero_weight_gain(cell, params.hidden, params.T, bias, device)
            expected = sigmoid_power(bias)
            worst = max(worst, ((gain - expected).abs() / expected).max().item())
        scalars[f"{cell}_zero_weight_max_rel_error"] = worst
    single = zero_weight_gain("lstm", params.hidden, params.T, TRAP_BIAS, device)
    double = zero_weight_gain("lstm", params.hidden, params.T, TRAP_BIAS, device,
                              also_bias_hh=True)
    scalars["single_bias_gain"] = single.mean().item()
    scalars["double_bias_gain"] = double.mean().item()
    scalars["double_bias_rel_error"] = (
        (double - sigmoid_power(2 * TRAP_BIAS)).abs().max().item() / sigmoid_power(2 * TRAP_BIAS))
    # The flipped GRU convention h = (1 - z) h + z n would carry (1 - sigmoid(b))^T instead.
    scalars["gru_flipped_gain_at_trap_bias"] = (
        1 - torch.sigmoid(torch.tensor(TRAP_BIAS, dtype=DTYPE)).item()) ** params.T
    scalars["gru_gain_at_trap_bias"] = zero_weight_gain(
        "gru", params.hidden, params.T, TRAP_BIAS, device).mean().item()
    return scalars


def default_cell(cell: str, hidden: int, gen: torch.Generator, device: str) -> torch.nn.Module:
    """nn.LSTMCell or nn.RNNCell with PyTorch's default distribution, drawn from `gen`."""
    module = build({"lstm": torch.nn.LSTMCell, "rnn": torch.nn.RNNCell}[cell], hidden, device)
    bound = 1.0 / math.sqrt(hidden)
    with torch.no_grad():
        for weight in module.parameters():
            weight.uniform_(-bound, bound, generator=gen)
    return module


def distance_jacobian_norms(module: torch.nn.Module, inputs: torch.Tensor,
                            warmup: int) -> torch.Tensor:
    """||d state_T / d state_(T-k)||_2 for k = 0..T, state = c (LSTMCell) or h (RNNCell).

    inputs (warmup + T, I) -> (T + 1,). The first `warmup` steps are not measured: they bring
    the state from zero to its typical size. The batch holds H copies of the sequence; copy j
    backpropagates unit j of state_T, so row j of each gradient is row j of the Jacobian. A
    zero leaf added to the state at every measured step is where d/d state_t lands.
    """
    hidden = module.hidden_size
    steps = inputs.shape[0]
    copies = inputs[:, None, :].expand(steps, hidden, INPUT_SIZE)  # (steps, H copies, I)
    lstm = isinstance(module, torch.nn.LSTMCell)
    h = torch.zeros(hidden, hidden, dtype=DTYPE, device=inputs.device)  # (copies, H)
    c = torch.zeros_like(h)
    nudges = []
    for t in range(steps):
        nudge = torch.zeros_like(h, requires_grad=t >= warmup)  # d/d nudge_t = d/d state_t
        if t >= warmup:
            nudges.append(nudge)
        if lstm:
            h, c = module(copies[t], (h, c + nudge))
        else:
            h = module(copies[t], h + nudge)
    final = c if lstm else h
    last = torch.zeros_like(h, requires_grad=True)  # distance 0: the identity
    grads = torch.autograd.grad((final + last).diagonal().sum(), [*nudges, last])
    jacobians = torch.stack(grads[::-1])  # (T + 1, H, H), index k = distance back from T
    return torch.linalg.matrix_norm(jacobians, ord=2)


def default_init_norms(params: Params, ctx: Context) -> dict[str, torch.Tensor]:
    """Jacobian norms by distance for each forget bias and the tanh RNN: each (S, T + 1)."""
    biases = list(dict.fromkeys(params.forget_biases))  # a repeated bias is measured once
    norms: dict[str, list[torch.Tensor]] = {label(b): [] for b in biases}
    norms["rnn"] = []
    for seed in range(ctx.seed, ctx.seed + params.seeds):
        gen = generator(seed, ctx.device)
        # T warm-up steps, then the T measured ones; shared by every model of this seed.
        inputs = torch.randn((2 * params.T, INPUT_SIZE), generator=gen, dtype=DTYPE,
                             device=ctx.device)  # (2T, I)
        lstm = default_cell("lstm", params.hidden, gen, ctx.device)
        for bias in biases:  # the same weights, only b_f differs
            set_forget_bias(lstm.bias_ih, bias)
            norms[label(bias)].append(distance_jacobian_norms(lstm, inputs, params.T))
        rnn = default_cell("rnn", params.hidden, gen, ctx.device)
        norms["rnn"].append(distance_jacobian_norms(rnn, inputs, params.T))
    return {name: torch.stack(values) for name, values in norms.items()}


def small_weight_decay(params: Params, ctx: Context) -> dict[str, torch.Tensor]:
    """Per-step decay with each seed's default-init draws scaled by SMALL, b_f kept, and its
    first-order distance bound from sigmoid(b_f): {label: (S,) decay}, {label + " bound": (S,)}.

    To first order in SMALL = e, one step back along the cell is
        J_t = diag(f_t) + diag(i_t g'_t) U_g diag(o_(t-1) tanh'(c_(t-1))) + O(e^2)
    (the paths through U_f and U_i carry c_(t-1) or g_t, themselves O(e)), where i, o = 1/2 +
    O(e) and g' = 1 - O(e^2); and f_t = sigmoid(b_f + e (b_hh + w_f . x_t)) + O(e^2). The
    spectral norm of a product of such steps, per step, then lies within
        e (||U_g||_2 / 4 + sigmoid'(b_f) m) + 2 m e^2,   m = max_(j,t) |b_hh,j + w_f,j . x_t|,
    of sigmoid(b_f) (||J|| <= max f + ||J - diag f||, and likewise sigma_min from below), with
    U_g, b_hh and w_f the unscaled draws; 2 m e^2 allows for the second-order terms. (A large
    b_f lets c add up ~1 / (1 - f) candidates, which the O(e^2) hides; measured with this code,
    the distance is at most 0.57 of the bound over b_f in [-2, 5], H in [32, 256], T in
    [30, 200], so the bound is not tuned to the defaults.)
    """
    hidden, steps = params.hidden, params.T
    biases = list(dict.fromkeys(params.forget_biases))
    out: dict[str, list[torch.Tensor]] = {}
    for seed in range(ctx.seed, ctx.seed + params.seeds):
        gen = generator(seed, ctx.device)  # the same draws as the default-init run of this seed
        inputs = torch.randn((2 * steps, INPUT_SIZE), generator=gen, dtype=DTYPE,
                             device=ctx.device)  # (2T, I)
        lstm = default_cell("lstm", hidden, gen, ctx.device)
        forget = slice(hidden, 2 * hidden)  # (i, f, g, o)
        with torch.no_grad():
            drive = (inputs @ lstm.weight_ih[forget].T + lstm.bias_hh[forget]).abs().max()
            u_g = torch.linalg.matrix_norm(lstm.weight_hh[2 * hidden:3 * hidden], ord=2)
            for weight in lstm.parameters():
                weight.mul_(SMALL)
        for bias in biases:
            set_forget_bias(lstm.bias_ih, bias)
            norms = distance_jacobian_norms(lstm, inputs, steps)[None]  # (1, T + 1)
            gate = torch.sigmoid(torch.tensor(bias, dtype=DTYPE, device=ctx.device))
            bound = SMALL * (u_g / 4 + gate * (1 - gate) * drive) + 2 * drive * SMALL**2
            out.setdefault(label(bias), []).append(per_step_decay(norms, steps)[0])
            out.setdefault(f"{label(bias)} bound", []).append(bound)
    return {name: torch.stack(values) for name, values in out.items()}


def label(bias: float) -> str:
    return f"b_f={bias + 0.0:g}"  # + 0.0 turns -0.0 into 0.0


def per_step_decay(norms: torch.Tensor, steps: int) -> torch.Tensor:
    """(||J_T|| / ||J_(T/3)||)^(1 / (T - T/3)) per seed: norms (S, T + 1) -> (S,)."""
    start = round(FIT_START_FRACTION * steps)
    return (norms[:, steps] / norms[:, start]) ** (1 / (steps - start))


def run(params: Params, ctx: Context) -> Result:
    scalars = exact_scalars(params, ctx.device)
    norms = default_init_norms(params, ctx)
    decay = {name: per_step_decay(values, params.T) for name, values in norms.items()}  # (S,)
    for name, values in decay.items():
        key = name.replace("b_f=", "lstm_bf_")
        scalars[f"decay_{key}"] = values.mean().item()
        scalars[f"decay_{key}_std"] = values.std(correction=0).item()
    scalars["seeds_out_of_order"] = _seeds_out_of_order(params, decay)
    biases = sorted(set(params.forget_biases))
    small = small_weight_decay(params, ctx)
    scalars.update(_small_weight_scalars(small, biases))

    distance = list(range(params.T + 1))
    logs = {name: values.log10() for name, values in norms.items()}
    series = {
        "cell_gradient": Series(
            distance, "distance back in time k = T - t",
            {name: v.mean(0).tolist() for name, v in norms.items()},
            "||dc_T/dc_(T-k)|| (RNN: ||dh_T/dh_(T-k)||)",
            {name: v.std(0, correction=0).tolist() for name, v in norms.items()}),
        "log10_cell_gradient": Series(
            distance, "distance back in time k = T - t",
            {name: v.mean(0).tolist() for name, v in logs.items()},
            "log10 ||dc_T/dc_(T-k)||",
            {name: v.std(0, correction=0).tolist() for name, v in logs.items()}),
        "decay_per_step": Series(
            biases, "forget-gate bias b_f",
            {"lstm": [decay[label(b)].mean().item() for b in biases],
             "sigmoid": [1 / (1 + math.exp(-b)) for b in biases],
             "small_weights": [small[label(b)].mean().item() for b in biases]},
            "per-step decay of ||dc_T/dc_(T-k)||",
            {"lstm": [decay[label(b)].std(correction=0).item() for b in biases],
             "sigmoid": [0.0] * len(biases),
             "small_weights": [small[label(b)].std(correction=0).item() for b in biases]}),
    }
    return Result("cell-highway", as_dict(params), series, scalars)


def _small_weight_scalars(small: dict[str, torch.Tensor], biases: list[float]
                          ) -> dict[str, float]:
    """The small-weight decays and the worst distance from sigmoid(b_f), in bounds."""
    scalars, worst = {}, (-1.0, 0.0, 0.0, 0.0)
    for bias in biases:
        decay, bound = small[label(bias)], small[f"{label(bias)} bound"]  # (S,) each
        name = label(bias).replace('b_f=', 'lstm_bf_')
        scalars[f"small_weight_decay_{name}"] = decay.mean().item()
        scalars[f"sigmoid_{name}"] = 1 / (1 + math.exp(-bias))  # the limit, for the prose
        ratio = (decay - 1 / (1 + math.exp(-bias))).abs() / bound  # (S,)
        seed = ratio.argmax()
        if ratio[seed].item() > worst[0]:
            worst = (ratio[seed].item(), bias, decay[seed].item(), bound[seed].item())
    return dict(scalars, small_weight_error_ratio=worst[0], small_weight_worst_bias=worst[1],
                small_weight_worst_decay=worst[2], small_weight_worst_bound=worst[3])


def _seeds_out_of_order(params: Params, decay: dict[str, torch.Tensor]) -> float:
    """Seed-level breaks of the order decay(0) < decay(1) < decay(2) among the biases run, and
    of the LSTM with b_f = 1 against the tanh RNN (0 expected)."""
    chain = [label(b) for b in REFERENCE_BIASES if b in params.forget_biases]
    pairs = list(zip(chain, chain[1:], strict=False))
    if label(1.0) in chain:
        pairs.append(("rnn", label(1.0)))
    return float(sum(int((decay[high] <= decay[low]).sum()) for low, high in pairs))


def claims(result: Result) -> list[Claim]:
    p, s = result.params, result.scalars
    found = [
        Claim(
            id="lstm-zero-weights-exact",
            statement=r"With every weight zero the cell path is the only path: $\partial c_T / "
                      r"\partial c_0 = \sigma(b_f)^T$ (Hochreiter & Schmidhuber 1997, §3; Gers "
                      "et al. 2000).",
            expected=rf"$\sigma(b_f)^{{{p['T']}}}$ for $b_f$ in {p['forget_biases']}",
            measured=f"max relative error {s['lstm_zero_weight_max_rel_error']:.1e}",
            tolerance="<= 1e-12",
            passed=s["lstm_zero_weight_max_rel_error"] <= 1e-12,
            kind="sanity",  # an identity of the LSTM's equations, checked on nn.LSTM
        ),
        Claim(
            id="double-bias-trap",
            statement=r"PyTorch adds bias_ih and bias_hh: writing $b_f = 1$ into both gives "
                      r"$\sigma(2)^T$, not the $\sigma(1)^T$ of Jozefowicz et al. (2015).",
            expected=rf"both: $\sigma(2)^{{{p['T']}}}$; bias_ih only: "
                     rf"$\sigma(1)^{{{p['T']}}}$",
            measured=f"both {s['double_bias_gain']:.6e} (relative error "
                     f"{s['double_bias_rel_error']:.1e}); bias_ih only "
                     f"{s['single_bias_gain']:.6e}",
            tolerance="<= 1e-12",
            passed=s["double_bias_rel_error"] <= 1e-12
            and s["double_bias_gain"] > 2 * s["single_bias_gain"],
            kind="sanity",  # PyTorch's parametrisation, exact
        ),
        Claim(
            id="gru-zero-weights-exact",
            statement=r"PyTorch's GRU keeps Cho et al.'s convention $h = (1 - z) n + z h$ "
                      r"(§2.3): with zero weights $\partial h_T / \partial h_0 = \sigma(b_z)^T$, "
                      r"not $(1 - \sigma(b_z))^T$.",
            expected=rf"$\sigma(b_z)^{{{p['T']}}}$ for $b_z$ in {p['forget_biases']}",
            measured=f"max relative error {s['gru_zero_weight_max_rel_error']:.1e}; at $b_z = 1$ "
                     f"{s['gru_gain_at_trap_bias']:.3e} vs flipped "
                     f"{s['gru_flipped_gain_at_trap_bias']:.3e}",
            tolerance="<= 1e-12",
            passed=s["gru_zero_weight_max_rel_error"] <= 1e-12,
            kind="sanity",  # PyTorch's convention, exact
        ),
        Claim(
            id="small-weight-limit",
            statement=r"With small weights the forget gate is $\sigma(b_f)$ and the cell path "
                      r"keeps $\sigma(b_f)$ of the gradient per step, up to the first-order "
                      "correction through the candidate (Gers et al. 2000; Jozefowicz et al. "
                      f"2015): PyTorch's default draws times {SMALL:g}, b_f written into "
                      "bias_ih.",
            expected=r"$\lvert \text{decay} - \sigma(b_f) \rvert \le e (\lVert U_g \rVert / 4 "
                     r"+ \sigma'(b_f) m) + 2 m e^2$, " + f"$e = {SMALL:g}$, in every seed",
            measured=f"worst at $b_f = {s['small_weight_worst_bias']:g}$: decay "
                     f"{s['small_weight_worst_decay']:.4f} against sigmoid "
                     f"{1 / (1 + math.exp(-s['small_weight_worst_bias'])):.4f}, "
                     f"{s['small_weight_error_ratio']:.2f} of the bound "
                     f"{s['small_weight_worst_bound']:.4f}",
            tolerance="the first-order bound itself",
            passed=s["small_weight_error_ratio"] <= 1,
        ),
        _orders_decay(p, s),
    ]
    return found


def _orders_decay(p: dict, s: dict[str, float]) -> Claim:
    statement = ("At PyTorch's default init a larger forget bias makes the cell path decay more "
                 "slowly, $b_f = 1$ clearly slower than $b_f = 0$ and than a tanh RNN (Jozefowicz "
                 "et al. 2015; Gers et al. 2000).")
    expected = ("in every seed: RNN $<$ ($b_f = 1$) and $0 < 1 < 2$ among the biases run; "
                f"decay(1) $-$ decay(0) $\\ge {MIN_GAP:g}$")
    if not {0.0, 1.0} <= set(p["forget_biases"]):
        return not_judged("forget-bias-orders-decay", statement, expected,
                          "needs b_f = 0 and b_f = 1 among the forget biases: the gap and the "
                          "comparison with the tanh RNN are measured there")
    gap = s["decay_lstm_bf_1"] - s["decay_lstm_bf_0"]
    return Claim(
        id="forget-bias-orders-decay",
        statement=statement,
        expected=expected,
        measured="per-step decay " + ", ".join(
            f"{s['decay_lstm_bf_' + f'{b:g}']:.2f} ($b_f = {b:g}$)"
            for b in REFERENCE_BIASES if b in p["forget_biases"])
        + f", tanh RNN {s['decay_rnn']:.2f}; {s['seeds_out_of_order']:.0f} seed pairs "
        "out of order",
        tolerance=f"0 out of order, gap >= {MIN_GAP}",
        passed=s["seeds_out_of_order"] == 0 and gap >= MIN_GAP,
    )
