"""Small tensor helpers several experiments share: dtypes, seeded draws, Haar matrices."""

from __future__ import annotations

import math

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
    """A Haar-distributed orthogonal matrix (SCIENCE.md P5).

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
    ones are left out of the fit, so a gradient that underflowed never "confirms" vanishing
    (SCIENCE.md P2).
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
