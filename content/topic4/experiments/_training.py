"""Helpers for the experiments that train many seeds at once: each weight carries a leading
seed dimension S, so one optimiser step trains S independent models."""

from __future__ import annotations

import torch

LOSS_POINTS = 60  # a training curve is averaged into this many windows


class Adam:
    """torch.optim.Adam at its defaults (Kingma & Ba, 2015, Algorithm 1), written out.

    The same operations in the same order as PyTorch's, so the numbers are the same bit for
    bit (tests/test_exp_long_range_memory.py checks it). Not torch.optim itself: its first
    use in a process imports torch._dynamo (about 800 modules, 1.7 s on a 2-core machine)
    for nothing these experiments need, and every process that trains would pay it.
    """

    BETAS = (0.9, 0.999)  # the decay rates of the two moving averages
    EPS = 1e-8

    def __init__(self, weights, lr: float):
        self.weights = list(weights)
        self.lr = lr
        self.steps = [0] * len(self.weights)
        self.means = [torch.zeros_like(w) for w in self.weights]  # of the gradient
        self.squares = [torch.zeros_like(w) for w in self.weights]  # of its square

    def zero_grad(self) -> None:
        for w in self.weights:
            w.grad = None

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.BETAS
        for i, (w, mean, square) in enumerate(zip(self.weights, self.means, self.squares,
                                                  strict=True)):
            if w.grad is None:  # as in torch.optim: a weight with no gradient stays put
                continue
            self.steps[i] += 1
            step_size = self.lr / (1 - beta1 ** self.steps[i])
            bias2_sqrt = (1 - beta2 ** self.steps[i]) ** 0.5
            mean.lerp_(w.grad, 1 - beta1)
            square.mul_(beta2).addcmul_(w.grad, w.grad, value=1 - beta2)
            w.addcdiv_(mean, (square.sqrt() / bias2_sqrt).add_(self.EPS), value=-step_size)


def clip_per_seed(weights: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """`clip_grad_norm_` for each seed's model on its own: one global norm per seed.

    Returns the norms before clipping, (S,), as PyTorch does.
    """
    squares = [w.grad.reshape(w.shape[0], -1).pow(2).sum(1) for w in weights]  # (S,)
    # Added one weight at a time, in order: a reduction over stacked rows (torch.stack(...)
    # .sum(0)) groups float32 additions by how many seeds there are, so a seed's norm, and its
    # whole training, would change with the number of seeds trained beside it.
    total = squares[0].clone()
    for square in squares[1:]:
        total += square
    norms = total.sqrt()  # (S,)
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
