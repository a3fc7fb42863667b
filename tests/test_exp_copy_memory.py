"""copy-memory: the copying task's exact levels, and an LSTM that settles on the memoryless one."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import run_experiment, topic4_module

cm = topic4_module("copy_memory")
IDS = ["exact-levels", "stays-on-baseline"]


def run(profile: str = "quick", **overrides):
    return run_experiment("copy-memory", profile, **overrides)


@pytest.fixture(scope="module")
def quick():
    return run()


def test_quick_profile_judges_and_holds_every_claim_but_the_control(quick):
    assert [(c.id, c.kind, c.verdict) for c in quick.claims] == [
        ("exact-levels", "sanity", "holds"), ("stays-on-baseline", "evidence", "holds"),
        ("copies-at-short-delay", "evidence", "not judged")]
    assert "control delay 0" in quick.claims[2].not_judged


@pytest.mark.parametrize(("T", "printed"), [(100, 0.1733), (200, 0.0945), (300, 0.0650),
                                            (500, 0.0400)])
def test_the_memoryless_baseline_is_arjovskys(T, printed):
    """10 ln 8 / (T + 20), as Arjovsky et al. print it for their delays."""
    assert cm.memoryless_loss(T, 8, 10) == pytest.approx(printed, abs=5e-5)


def test_the_blind_level_is_the_entropy_of_the_output_mix():
    # T = 100, N = 10: blank 110 of 120 outputs, each of 8 symbols 10/960 of them.
    mix = [110 / 120] + [10 / 960] * 8
    assert cm.blind_loss(100, 8, 10) == pytest.approx(-sum(p * math.log(p) for p in mix),
                                                      rel=1e-12)


def test_a_sequence_is_laid_out_as_the_task_says():
    """N symbols, T - 1 blanks, the delimiter, N blanks; the target is blank but for the
    symbols, in order, on the last N steps."""
    inputs, targets = cm.copy_batch(torch.Generator().manual_seed(0), 7, 50, 8, 10, "cpu")
    assert inputs.shape == targets.shape == (50, 27)
    symbols = inputs[:, :10]
    assert torch.all((symbols >= 1) & (symbols <= 8))
    assert torch.all(inputs[:, 10:16] == cm.BLANK) and torch.all(inputs[:, 16] == 9)
    assert torch.all(inputs[:, 17:] == cm.BLANK)
    assert torch.all(targets[:, :17] == cm.BLANK) and torch.equal(targets[:, 17:], symbols)


def test_the_seed_batched_model_is_nn_lstm_with_a_linear_readout():
    params = cm.Params(hidden=8)
    gens = [torch.Generator().manual_seed(s) for s in (3, 4)]
    weights = cm.stack_seeds([cm.init_weights(params, g, "cpu") for g in gens])
    drawn = [cm.copy_batch(g, 5, 6, 8, 10, "cpu") for g in gens]
    inputs, targets = (torch.stack([d[i] for d in drawn]) for i in (0, 1))
    lstm = torch.nn.LSTM(10, 8, batch_first=True)
    with torch.no_grad():
        ours = cm.seed_losses(weights, inputs, targets, 8)
        for seed in range(2):
            for name in cm.RECURRENT:
                getattr(lstm, name).copy_(weights[name][seed])
            states, _ = lstm(torch.nn.functional.one_hot(inputs[seed], 10).float())
            logits = states @ weights["w_out"][seed].T + weights["b_out"][seed]
            reference = torch.nn.functional.cross_entropy(logits.reshape(-1, 9),
                                                          targets[seed].reshape(-1))
            assert ours[seed] == pytest.approx(reference.item(), rel=1e-6)


def test_the_forget_bias_is_one_in_bias_ih_only():
    w = cm.init_weights(cm.Params(hidden=4), torch.Generator().manual_seed(0), "cpu")
    assert torch.all(w["bias_ih_l0"][4:8] == 1.0)
    assert torch.all(w["bias_hh_l0"][4:8].abs() <= 0.5)  # U(-1/sqrt(4), 1/sqrt(4)) as drawn


def test_a_seed_trains_alike_whatever_other_delays_or_seeds_run_beside_it(quick):
    both = run(delays="20,30")
    assert both.scalars["test_loss_T20_seed1"] == quick.scalars["test_loss_T20_seed1"]
    more = run(seeds=5)  # the global-norm clipping sums each seed's squares on their own
    assert [more.scalars[f"test_loss_T20_seed{i}"] for i in range(3)] == [
        quick.scalars[f"test_loss_T20_seed{i}"] for i in range(3)]


def test_the_predictor_that_reads_the_symbols_back_scores_zero(quick):
    """The oracle level: a data layout that is not the task's would make it infinite."""
    assert quick.scalars["oracle_scored_T20"] == 0
    inputs, targets = cm.copy_batch(torch.Generator().manual_seed(1), 4, 3, 8, 10, "cpu")
    log_probs = cm.level_predictions("oracle", inputs, 8, 10)
    assert torch.equal(log_probs.argmax(-1), targets)
    wrong = cm.level_predictions("oracle", inputs.flip(1), 8, 10)  # no delimiter where due
    assert cm.mean_cross_entropy(wrong, targets).item() == math.inf


def test_other_alphabets_and_lengths_have_their_own_exact_levels():
    result = run(symbols=3, length=4, steps=2)
    assert result.claims[0].passed, result.claims[0]
    assert result.scalars["memoryless_T20"] == pytest.approx(4 * math.log(3) / 28)
    assert result.claims[1].verdict == "not judged"  # another task than the one measured


@pytest.mark.parametrize("overrides", [{"steps": 200}, {"steps": 301}, {"delays": "10"},
                                       {"hidden": 32}, {"seeds": 2, "steps": 2}])
def test_outside_the_measured_window_the_plateau_is_not_judged(overrides):
    """Too few steps to reach the line, enough to start copying, a delay short enough to
    copy across, another model or too few seeds."""
    claim = run(**({"steps": 2} | overrides)).claims[1]
    assert claim.verdict == "not judged" and "200 + 2T to 100 + 10T steps" in claim.not_judged


@pytest.mark.slow
def test_full_profile_holds_every_claim():
    result = run("full")
    assert all(c.passed for c in result.claims), result.claims
    assert "$T = 50$" in result.claims[1].measured and "$T = 100$" in result.claims[1].measured
    assert result.claims[2].verdict == "holds" and "$T = 5$" in result.claims[2].measured
