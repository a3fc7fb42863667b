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
