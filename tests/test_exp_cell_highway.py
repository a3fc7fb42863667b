"""cell-highway: dc_T/dc_t along the LSTM cell path, PyTorch's bias and GRU conventions."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import topic4, topic4_module
from topicgen import experiments as E
from topicgen.errors import ParamError

ch = topic4_module("cell_highway")
figures = topic4_module("cell_highway_figures")

NAME = topic4("cell-highway")


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@pytest.fixture(scope="module")
def quick():
    return E.run(NAME, E.resolve_params(NAME, "quick"), E.Context())


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_claims_pass(profile):
    result = E.run(NAME, E.resolve_params(NAME, profile), E.Context())
    assert [c.id for c in result.claims if c.passed is not True] == []
    kinds = {c.id: c.kind for c in result.claims}
    assert kinds == {"lstm-zero-weights-exact": "sanity", "double-bias-trap": "sanity",
                     "gru-zero-weights-exact": "sanity", "small-weight-limit": "evidence",
                     "forget-bias-orders-decay": "evidence"}


@pytest.mark.parametrize(("bias", "expected"), [(0.0, 9.094947e-13), (1.0, 3.614824e-6)])
def test_lstm_zero_weights_match_sigmoid_of_the_bias_to_the_T(bias, expected):
    gain = ch.zero_weight_gain("lstm", 16, 40, bias, "cpu")  # sigmoid(b)^40 to 1e-12
    assert torch.allclose(gain, torch.full_like(gain, sigmoid(bias) ** 40), rtol=1e-12, atol=0)
    assert gain[0].item() == pytest.approx(expected, rel=1e-6)


def test_double_bias_trap():
    single = ch.zero_weight_gain("lstm", 16, 40, 1.0, "cpu")
    double = ch.zero_weight_gain("lstm", 16, 40, 1.0, "cpu", also_bias_hh=True)
    assert double[0].item() == pytest.approx(6.237845e-3, rel=1e-6)  # sigmoid(2)^40
    assert torch.allclose(double, torch.full_like(double, sigmoid(2.0) ** 40), rtol=1e-12)
    assert single[0].item() == pytest.approx(sigmoid(1.0) ** 40, rel=1e-12)


def test_set_forget_bias_writes_bias_ih_forget_slice_only():
    cell = torch.nn.LSTMCell(ch.INPUT_SIZE, 8, dtype=torch.float64)
    before_ih, before_hh = cell.bias_ih.detach().clone(), cell.bias_hh.detach().clone()
    ch.set_forget_bias(cell.bias_ih, 1.0)
    after = cell.bias_ih.detach()
    assert torch.equal(after[8:16], torch.ones(8, dtype=torch.float64))  # (i, f, g, o): f
    assert torch.equal(after[:8], before_ih[:8]) and torch.equal(after[16:], before_ih[16:])
    assert torch.equal(cell.bias_hh.detach(), before_hh)


@pytest.mark.parametrize(("bias", "expected"), [(0.0, 8.673617e-19), (1.0, 6.872752e-9),
                                                (2.0, 4.926652e-4)])
def test_gru_update_gate_convention(bias, expected):
    gain = ch.zero_weight_gain("gru", 16, 60, bias, "cpu")  # sigmoid(b)^60 in Cho's z convention
    assert torch.allclose(gain, torch.full_like(gain, sigmoid(bias) ** 60), rtol=1e-12, atol=0)
    assert gain[0].item() == pytest.approx(expected, rel=1e-6)
    if bias != 0:  # Chung et al.'s flipped z would carry (1 - sigmoid(b))^T instead
        assert gain[0].item() != pytest.approx((1 - sigmoid(bias)) ** 60, rel=1e-3)


def test_nudge_trick_gives_the_full_jacobian():
    gen = torch.Generator().manual_seed(5)
    cell = ch.default_cell("lstm", 8, gen, "cpu")
    ch.set_forget_bias(cell.bias_ih, 1.0)
    inputs = torch.randn(12, ch.INPUT_SIZE, generator=gen, dtype=torch.float64)
    norms = ch.distance_jacobian_norms(cell, inputs, warmup=4)  # measured window t = 4..12

    def state_after(c_t: torch.Tensor, start: int) -> torch.Tensor:
        h, c = h_at[start], c_t
        for t in range(start, 12):
            h, c = cell(inputs[t:t + 1], (h, c))
        return c[0]

    h, c = torch.zeros(1, 8, dtype=torch.float64), torch.zeros(1, 8, dtype=torch.float64)
    h_at, c_at = {}, {}
    for t in range(12):
        h_at[t], c_at[t] = h, c
        h, c = cell(inputs[t:t + 1], (h, c))
    for k in (1, 3, 8):
        start = 12 - k
        jacobian = torch.autograd.functional.jacobian(lambda c0, s=start: state_after(c0, s),
                                                      c_at[start])[:, 0, :]  # (H, H)
        reference = torch.linalg.matrix_norm(jacobian, ord=2)
        assert norms[k].item() == pytest.approx(reference.item(), rel=1e-12)
    assert norms[0].item() == pytest.approx(1.0, rel=1e-12)  # distance 0: the identity


def test_zero_weight_cell_decays_exactly_along_the_distance():
    cell = torch.nn.LSTMCell(ch.INPUT_SIZE, 8, dtype=torch.float64)
    with torch.no_grad():
        for weight in cell.parameters():
            weight.zero_()
    ch.set_forget_bias(cell.bias_ih, 2.0)
    inputs = torch.randn(20, ch.INPUT_SIZE, dtype=torch.float64)
    norms = ch.distance_jacobian_norms(cell, inputs, warmup=10)
    exact = torch.tensor([sigmoid(2.0) ** k for k in range(11)], dtype=torch.float64)
    assert torch.allclose(norms, exact, rtol=1e-12, atol=0)


def test_default_init_decay_matches_the_reference_run(quick):
    s = quick.scalars
    # An independent reference run measured 0.63, 0.85, 0.97 and a tanh RNN at 0.57.
    assert 0.58 < s["decay_lstm_bf_0"] < 0.70
    assert 0.80 < s["decay_lstm_bf_1"] < 0.92
    assert 0.92 < s["decay_lstm_bf_2"] < 1.02
    assert 0.48 < s["decay_rnn"] < 0.65
    assert s["decay_lstm_bf_1"] - s["decay_lstm_bf_0"] >= 0.1
    assert s["seeds_out_of_order"] == 0
    curve = quick.series["cell_gradient"]
    assert set(curve.y) == {"b_f=0", "b_f=1", "b_f=2", "rnn"}
    assert len(curve.x) == quick.params["T"] + 1


def test_ordering_claim_is_not_judged_without_the_reference_biases():
    params = E.resolve_params(NAME, "quick", {"forget_biases": "1,2", "seeds": "1"})
    result = E.run(NAME, params, E.Context())
    claims = {c.id: c for c in result.claims}
    assert claims["forget-bias-orders-decay"].passed is None
    assert "needs b_f = 0 and b_f = 1" in claims["forget-bias-orders-decay"].not_judged
    assert all(c.passed for c in result.claims if c.id != "forget-bias-orders-decay")


@pytest.mark.parametrize("bias", [-2.0, 0.0, 1.0, 5.0])
def test_small_weights_keep_sigmoid_of_the_bias_per_step(bias):
    params = ch.Params(forget_biases=(bias,), T=40, hidden=32, seeds=2)
    small = ch.small_weight_decay(params, E.Context())
    decay, bound = small[ch.label(bias)], small[f"{ch.label(bias)} bound"]
    # Measured with this code: within 0.6 of the first-order bound, 0.01 to 0.02 wide.
    assert ((decay - sigmoid(bias)).abs() <= 0.6 * bound).all()
    assert (bound < 0.04).all()
    assert (decay > sigmoid(bias)).all()  # the candidate path adds to the cell path


def test_deterministic_and_seed_dependent():
    params = E.resolve_params(NAME, "quick", {"seeds": "2"})
    first = E.run(NAME, params, E.Context(seed=0)).scalars
    assert first == E.run(NAME, params, E.Context(seed=0)).scalars
    other = E.run(NAME, params, E.Context(seed=7)).scalars
    assert first["decay_lstm_bf_1"] != other["decay_lstm_bf_1"]
    assert first["lstm_zero_weight_max_rel_error"] <= 1e-12  # the exact part has no seed


@pytest.mark.parametrize(("key", "value"), [("forget_biases", "0,-3"), ("T", "10"),
                                            ("hidden", "8"), ("seeds", "0")])
def test_bad_parameter_is_named(key, value):
    with pytest.raises(ParamError, match=f'"{key}"'):
        E.resolve_params(NAME, "quick", {key: value})


def test_figures_draw(quick):
    for draw in figures.FIGURES.values():
        assert draw(quick).axes
