"""Small building blocks shared by the text-to-motion models (pure torch)."""

from __future__ import annotations

import math

import torch
from torch import nn


def lengths_to_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """``(B,)`` int lengths -> ``(B, T)`` bool, True on valid (non-padded) steps."""
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def sinusoid(n: int, dim: int) -> torch.Tensor:
    """``(n, dim)`` sinusoidal position table (Vaswani et al.)."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(n, dim)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class PositionalEncoding(nn.Module):
    """Adds a fixed sinusoidal table to ``(B, T, D)`` inputs (``T <= max_len``)."""

    def __init__(self, dim: int, max_len: int = 1024) -> None:
        super().__init__()
        self.register_buffer("pe", sinusoid(max_len, dim), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[: x.shape[1]][None]


def transformer(dim: int, layers: int, heads: int, ff: int, dropout: float) -> nn.TransformerEncoder:
    """Pre-norm GELU transformer encoder, batch first."""
    layer = nn.TransformerEncoderLayer(dim, heads, ff, dropout, activation="gelu", batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """``(B,)`` diffusion steps -> ``(B, dim)`` sinusoidal features."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def whitening(x: torch.Tensor, eps: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """ZCA whitening of embeddings ``(N, D)`` -> ``(mean (D,), proj (D, D))``, float32.

    ``(x - mean) @ proj`` has unit spread along every direction the rows vary
    along; eigenvalues are floored at ``eps`` times their mean so directions
    of (almost) no variation are not blown up. Sentence embeddings of
    captions that differ in one word (left / right, cosine ~0.98) become
    far apart after it.
    """
    xd = x.double()
    mean = xd.mean(0)
    cov = torch.cov((xd - mean).T)
    ev, U = torch.linalg.eigh(cov)
    ev = ev.clamp(min=0) + eps * ev.clamp(min=0).mean()
    return mean.float(), (U @ torch.diag(ev.rsqrt()) @ U.T).float()


def whiten(sentence: torch.Tensor, mean: torch.Tensor, proj: torch.Tensor) -> torch.Tensor:
    """``(B, D)`` sentence embeddings whitened by :func:`whitening`'s ``mean, proj``; all-zero rows (no text) stay zero."""
    keep = (sentence.abs().sum(-1, keepdim=True) > 0).to(sentence.dtype)
    return ((sentence - mean) @ proj) * keep


class SentenceWhitening(nn.Module):
    """:func:`whitening` as a module: statistics of the training captions kept as buffers.

    Until :meth:`fit` runs it is the identity. All-zero rows (the
    unconditional mode of classifier-free guidance) stay zero.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("proj", torch.eye(dim))

    @torch.no_grad()
    def fit(self, sentences: torch.Tensor, eps: float = 1.0) -> None:
        """Statistics from training caption embeddings ``(N, D)``."""
        mean, proj = whitening(sentences, eps)
        self.mean.copy_(mean)
        self.proj.copy_(proj)

    def forward(self, sentence: torch.Tensor) -> torch.Tensor:
        return whiten(sentence, self.mean.to(sentence.dtype), self.proj.to(sentence.dtype))
