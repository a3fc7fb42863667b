"""Helpers several experiments share: dtypes, seeded draws, Haar matrices, Jacobians."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def generator(seed: int, device: str = "cpu") -> torch.Generator:
    """A private random stream, so a run never depends on (or disturbs) global RNG state."""
    return torch.Generator(device=device).manual_seed(seed)


def uniform(shape: tuple[int, ...], bound: float, gen: torch.Generator,
            dtype: torch.dtype, device: str) -> torch.Tensor:
    """U(-bound, bound): PyTorch's default init for recurrent cells uses bound = 1/sqrt(H)."""
    return (torch.rand(shape, generator=gen, dtype=dtype, device=device) * 2 - 1) * bound


def haar_orthogonal(n: int, gen: torch.Generator, dtype: torch.dtype, device: str) -> torch.Tensor:
    """A Haar-distributed orthogonal matrix.

    Plain QR of a Gaussian matrix is biased; multiplying each column of Q by sign(R_ii)
    makes the distribution uniform over the orthogonal group (Mezzadri 2007).
    """
    gaussian = torch.randn((n, n), generator=gen, dtype=dtype, device=device)
    q, r = torch.linalg.qr(gaussian)
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)


def measurable(values: torch.Tensor) -> torch.Tensor:
    """`values` with underflowed (below the smallest normal number) entries set to NaN."""
    return torch.where(values >= torch.finfo(values.dtype).tiny, values, math.nan)


def log_slope(values: torch.Tensor, start: int) -> torch.Tensor:
    """Per-row least-squares slope of log(values[:, start:]) against the column index.

    Underflowed entries (zero or subnormal, where precision is already lost) and overflowed
    ones are left out of the fit, so a gradient that underflowed never "confirms" vanishing:
    an exact 0 only says the float format ran out of range.
    """
    y = measurable(values[:, start:]).log()
    x = torch.arange(start, values.shape[1], dtype=values.dtype, device=values.device)
    x = x.expand_as(y)
    ok = torch.isfinite(y)
    n = ok.sum(dim=1).clamp(min=1)
    mean_x = torch.where(ok, x, 0).sum(1) / n
    mean_y = torch.where(ok, y, 0).sum(1) / n
    dx = torch.where(ok, x - mean_x[:, None], 0)
    dy = torch.where(ok, y - mean_y[:, None], 0)
    slope = (dx * dy).sum(1) / (dx * dx).sum(1)
    return torch.where(ok.sum(1) >= 2, slope, math.nan)

def batch_jacobian(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """df/dx for each seed, (S, N, N), where f maps a batch (S, B, N) to (S, B, N).

    One backward pass gives one row of the Jacobian per input, so N copies of x, copy i
    read out along axis i, give all N rows at once.
    """
    seeds, width = x.shape
    copies = x[:, None, :].repeat(1, width, 1).requires_grad_(True)  # (S, N copies, N)
    eye = torch.eye(width, dtype=x.dtype, device=x.device).expand(seeds, width, width)
    (rows,) = torch.autograd.grad(f(copies), copies, grad_outputs=eye)
    return rows  # rows[s, i] = d f(x)_i / dx


def resolved(sv: torch.Tensor) -> torch.Tensor:
    """Singular values (..., N) with those below J_L's rounding level (N eps s_max) set to NaN."""
    floor = sv[..., :1] * sv.shape[-1] * torch.finfo(sv.dtype).eps
    return torch.where(sv >= floor, sv, math.nan)


def spaced(values: list[int], factor: int) -> list[int]:
    """The sorted values thinned so that each kept one is >= factor times the previous."""
    kept: list[int] = []
    for value in sorted(values):
        if not kept or value >= factor * kept[-1]:
            kept.append(value)
    return kept
