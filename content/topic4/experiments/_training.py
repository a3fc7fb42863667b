"""Helpers for the experiments that train many seeds at once: each weight carries a leading
seed dimension S, so one optimiser step trains S independent models."""

from __future__ import annotations

import torch

LOSS_POINTS = 60  # a training curve is averaged into this many windows


def clip_per_seed(weights: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """`clip_grad_norm_` for each seed's model on its own: one global norm per seed.

    Returns the norms before clipping, (S,), as PyTorch does.
    """
    squares = [w.grad.reshape(w.shape[0], -1).pow(2).sum(1) for w in weights]  # (S,)
    norms = torch.stack(squares).sum(0).sqrt()  # (S,)
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for w in weights:
        w.grad.mul_(scale.view(-1, *[1] * (w.dim() - 1)))
    return norms


def lstm_sequence(weights: list[torch.Tensor], x: torch.Tensor,
                  state: tuple[torch.Tensor, torch.Tensor] | None = None
                  ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One layer of nn.LSTM (batch first) on `weights` (weight_ih, weight_hh, bias_ih,
    bias_hh): outputs (B, T, H) and the final (h, c), each (1, B, H).

    The kernel call nn.LSTM.forward makes, with its zero initial state, so the numbers are
    nn.LSTM's; calling it directly skips torch.func.functional_call's swapping of a module's
    parameters, which cost truncated-bptt 14% of its time (measured at T = 20).
    """
    if state is None:
        zeros = x.new_zeros((1, x.shape[0], weights[1].shape[1]))
        state = (zeros, zeros)
    # (has_biases, num_layers, dropout, train, bidirectional, batch_first)
    out, h, c = torch.lstm(x, state, weights, True, 1, 0.0, True, False, True)
    return out, (h, c)


def stack_seeds(per_seed: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Seed-batched trainable weights: each (S, ...)."""
    return {name: torch.stack([w[name] for w in per_seed]).requires_grad_()
            for name in per_seed[0]}


def window_means(losses: torch.Tensor) -> tuple[list[float], torch.Tensor]:
    """Average a (steps, S) curve over consecutive windows: window centres, (windows, S)."""
    steps = losses.shape[0]
    width = max(1, steps // LOSS_POINTS)
    usable = steps - steps % width
    means = losses[:usable].reshape(-1, width, losses.shape[1]).mean(1)
    centres = [width * k + (width + 1) / 2 for k in range(means.shape[0])]
    return centres, means
