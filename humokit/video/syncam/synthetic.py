"""Synthetic multi-view latent scenes with a known cross-view structure (tests and benchmarks).

Each scene is one random latent video ``c`` ``(C, F, h, w)``; view ``v`` sees
``c`` shifted by ``shift * v`` latent pixels along width (a camera turned by a
fixed step about the vertical axis) plus a little view-specific noise; its
camera is the matching rotation about y. A model that looks across views can pool the
views' evidence of ``c``; a per-view model cannot, so the flow-matching loss
with view attention ends below the loss without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from humokit.video.syncam.train import Batch


def view_cameras(num_views: int, num_frames: int, step_deg: float = 20.0) -> torch.Tensor:
    """``(V, F, 12)`` relative c2w cameras: view ``v`` turned by ``v * step_deg`` about y, unit distance apart."""
    out = torch.zeros(num_views, num_frames, 3, 4)
    for v in range(num_views):
        a = math.radians(v * step_deg)
        R = torch.tensor([[math.cos(a), 0.0, math.sin(a)], [0.0, 1.0, 0.0], [-math.sin(a), 0.0, math.cos(a)]])
        out[v, :, :, :3] = R
        out[v, :, 0, 3] = math.sin(a)
        out[v, :, 2, 3] = 1.0 - math.cos(a)
    return out.reshape(num_views, num_frames, 12)


def synthetic_batches(
    *,
    num_views: int = 3,
    batch_size: int = 2,
    channels: int = 4,
    frames: int = 3,
    height: int = 8,
    width: int = 8,
    text_len: int = 4,
    text_dim: int = 16,
    view_noise: float = 0.05,
    shift: int = 0,
    seed: int = 0,
) -> Callable[[int], Batch]:
    """``step -> Batch`` of fresh random scenes (deterministic per step and seed)."""
    cams = view_cameras(num_views, frames)

    def make(step: int) -> Batch:
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        c = torch.randn(batch_size, channels, frames, height, width, generator=g)
        views = [torch.roll(c, shifts=shift * v, dims=4) for v in range(num_views)]
        x = torch.stack(views, dim=1) + view_noise * torch.randn(batch_size, num_views, channels, frames, height,
                                                                 width, generator=g)
        text = torch.randn(batch_size, 1, text_len, text_dim, generator=g).expand(-1, num_views, -1, -1)
        return Batch(x.reshape(batch_size * num_views, channels, frames, height, width),
                     text.reshape(batch_size * num_views, text_len, text_dim),
                     cams.repeat(batch_size, 1, 1), num_views)

    return make


def pretrain_base(transformer: torch.nn.Module, *, steps: int = 300, lr: float = 3e-3, shift: float = 3.0,
                  seed: int = 0, **data: int) -> list[float]:
    """Train every parameter of a (tiny) transformer as a single-view denoiser of these scenes, in place.

    Stands in for a pretrained text-to-video base: afterwards it predicts each
    view's flow velocity from that view alone. ``data`` goes to
    :func:`synthetic_batches` (``num_views`` is forced to 1). Returns the losses.
    """
    make = synthetic_batches(**{**data, "num_views": 1, "seed": seed + 17})
    opt = torch.optim.AdamW(transformer.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    losses = []
    transformer.train()
    for s in range(steps):
        b = make(s)
        u = torch.rand(b.latents.shape[0], generator=g).clamp(1e-3, 1 - 1e-3)
        sig = shift * u / (1 + (shift - 1) * u)
        noise = torch.randn(b.latents.shape, generator=g)
        sv = sig[:, None, None, None, None]
        pred = transformer((1 - sv) * b.latents + sv * noise, sig * 1000, b.text, return_dict=False)[0]
        loss = ((pred - (noise - b.latents)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    transformer.eval()
    return losses
