"""depth-jacobian: chapter 7's product (I + B_{L-1})...(I + B_0) at initialisation."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import evidence_failed, run_experiment, topic4_module

dj = topic4_module("depth_jacobian")


def run(profile: str = "quick", **overrides):
    return run_experiment("depth-jacobian", profile, **overrides)


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_every_claim_holds(profile):
    result = run(profile)
    assert [c.id for c in result.claims] == ["pre-ln-identity-floor", "pre-ln-grows",
                                             "post-ln-wanders"]
    assert all(c.passed for c in result.claims), result.claims


def test_one_block_jacobian_matches_finite_differences():
    """The batched Jacobian is the real derivative of the stack: check one column."""
    gen = torch.Generator().manual_seed(0)
    d = 8
    weights = [tuple(torch.randn((1, d, d), generator=gen, dtype=torch.float64) / math.sqrt(d)
                     for _ in range(2)) for _ in range(3)]
    x0 = dj.layer_norm(torch.randn((1, d), generator=gen, dtype=torch.float64))
    for placement in dj.PLACEMENTS:
        jacobian = dj.batch_jacobian(lambda x, p=placement: dj.stack(x, weights, p), x0)[0]
        step = torch.zeros(1, d, dtype=torch.float64)
        step[0, 3] = 1e-6
        column = (dj.stack(x0 + step, weights, placement)
                  - dj.stack(x0 - step, weights, placement))[0] / 2e-6
        assert torch.allclose(jacobian[:, 3], column, atol=1e-7)



def placements_swapped(monkeypatch):
    stack = dj.stack
    monkeypatch.setattr(dj, "stack", lambda x, weights, placement: stack(
        x, weights, "post" if placement == "pre" else "pre"))


def residual_dropped_in_pre_ln(monkeypatch):
    def stack(x, weights, placement):
        for w1, w2 in weights:
            x = (torch.relu(dj.layer_norm(x) @ w1) @ w2 if placement == "pre"
                 else dj.layer_norm(x + torch.relu(x @ w1) @ w2))
        return x
    monkeypatch.setattr(dj, "stack", stack)


MUTATIONS = {"Pre-LN and Post-LN swapped": placements_swapped,
             "residual connection dropped in Pre-LN": residual_dropped_in_pre_ln}


@pytest.mark.planted_bug("topic4", "depth-jacobian", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_planted_bug_fails_an_evidence_claim(plant, monkeypatch):
    plant(monkeypatch)
    assert evidence_failed(run())


def test_the_order_of_the_depths_changes_nothing():
    shuffled, ordered = run(depths="16,2,8"), run(depths="2,8,16")
    assert shuffled.scalars == ordered.scalars
    assert shuffled.series["rms"].x == [2, 8, 16]
    assert [(c.id, c.passed, c.measured) for c in shuffled.claims] == \
        [(c.id, c.passed, c.measured) for c in ordered.claims]


def test_one_depth_cannot_grow():
    (grows,) = [c for c in run(depths="4").claims if c.id == "pre-ln-grows"]
    assert grows.passed is None and "two depths" in grows.not_judged


@pytest.mark.parametrize("overrides", [{"width": 16}, {"seeds": 8}])
def test_too_few_or_too_narrow_draws_are_not_judged(overrides):
    """Measured: pre-ln-grows failed in up to 11 of 20 first seeds there."""
    result = run(**overrides)
    assert all(c.passed is None and "width >= 32" in c.not_judged for c in result.claims)
