"""Flow-matching training of a SynCam / ReCam adapter on a frozen Wan transformer.

The loss is the base scheduler's rectified flow (Wan2.1/2.2, diffusers'
``FlowMatchEulerDiscreteScheduler`` / ``UniPCMultistepScheduler`` with flow
sigmas): for clean latents ``x0`` and noise ``e``, ``sigma ~ shift(U(0,1))``
(``shift`` = the scheduler's ``flow_shift``/``shift``), ``x_t = (1 - sigma) x0
+ sigma e``; the transformer at timestep ``sigma * num_train_timesteps``
predicts the velocity ``e - x0``; MSE. All views of a scene share ``sigma``
(they are denoised together at inference). ReCam: the clean source latents
are concatenated after the noisy target along frames and only the target
frames enter the loss.

One process, or DDP under ``torchrun`` (``WORLD_SIZE`` > 1; gloo on CPU, NCCL
on GPU) or ``accelerate launch`` (same environment variables): only the
adapter's parameters are trainable, so only they are all-reduced. Resumable:
``OUT/checkpoint/`` holds the adapter, the optimiser and the step.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from humokit._dist import setup_distributed  # noqa: F401  (re-exported for the CLI and user scripts)
from humokit._io import atomic_path
from humokit.video.syncam.adapter import SynCamAdapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    """One training batch (``B`` scenes x ``V`` views, view-minor).

    Attributes:
        latents: ``(B*V, C, F, h, w)`` clean (normalised) target latents.
        text: ``(B*V, L, D)`` text-encoder embeddings.
        cameras: ``(B*V, F_cam, 12)`` relative cameras, ``F_cam`` = latent frames (recam: target + source).
        num_views: ``V``.
        source: recam only: ``(B*V, C, F_src, h, w)`` clean source latents.
    """

    latents: torch.Tensor
    text: torch.Tensor
    cameras: torch.Tensor
    num_views: int
    source: torch.Tensor | None = None

    def to(self, device: torch.device) -> "Batch":
        return Batch(self.latents.to(device), self.text.to(device), self.cameras.to(device), self.num_views,
                     None if self.source is None else self.source.to(device))


@dataclass(frozen=True)
class FlowSchedule:
    """The base scheduler's training parametrisation: ``sigma = shift u / (1 + (shift - 1) u)``, ``t = sigma * T``."""

    shift: float = 1.0
    num_train_timesteps: int = 1000

    @classmethod
    def from_scheduler_config(cls, cfg: dict) -> "FlowSchedule":
        shift = cfg.get("flow_shift") or cfg.get("shift") or 1.0
        return cls(float(shift), int(cfg.get("num_train_timesteps", 1000)))

    def sample_sigmas(self, n: int, generator: torch.Generator | None = None, device: str | torch.device = "cpu") -> torch.Tensor:
        u = torch.rand(n, generator=generator).clamp(1e-3, 1 - 1e-3)
        return (self.shift * u / (1 + (self.shift - 1) * u)).to(device)


class SynCamModel(nn.Module):
    """Frozen base transformer + adapter in one module (what DDP wraps); ``forward`` returns the loss."""

    def __init__(self, transformer: nn.Module, adapter: SynCamAdapter, schedule: FlowSchedule) -> None:
        super().__init__()
        self.transformer = transformer
        self.adapter = adapter
        self.schedule = schedule

    def forward(self, latents: torch.Tensor, text: torch.Tensor, cameras: torch.Tensor, sigmas: torch.Tensor,
                noise: torch.Tensor, source: torch.Tensor | None, num_views: int) -> torch.Tensor:
        s = sigmas.repeat_interleave(num_views).to(latents.dtype)
        x_t = (1 - s[:, None, None, None, None]) * latents + s[:, None, None, None, None] * noise
        inp = x_t if source is None else torch.cat([x_t, source.to(x_t.dtype)], dim=2)
        self.adapter.set_cameras(cameras, num_views)
        pred = self.transformer(inp, timestep=s * self.schedule.num_train_timesteps, encoder_hidden_states=text,
                                return_dict=False)[0]
        pred = pred[:, :, : latents.shape[2]]
        return torch.mean((pred.float() - (noise - latents).float()) ** 2)


@dataclass(frozen=True)
class TrainResult:
    """Losses per step (this run), final step, steps per second, output folder."""

    losses: list[float] = field(default_factory=list)
    step: int = 0
    steps_per_second: float = 0.0
    output: Path | None = None


def train_adapter(
    transformer: nn.Module,
    adapter: SynCamAdapter,
    batches: Callable[[int], Batch],
    *,
    steps: int,
    schedule: FlowSchedule = FlowSchedule(),
    lr: float = 1e-4,
    weight_decay: float = 0.0,
    grad_clip: float = 1.0,
    output: str | Path | None = None,
    resume: bool = True,
    save_every: int = 500,
    seed: int = 0,
    progress: bool = True,
    autocast_dtype: torch.dtype | None = None,
    device: torch.device | None = None,
    rank: int = 0,
    world: int = 1,
) -> TrainResult:
    """Train ``adapter`` (only its parameters) for ``steps`` optimiser steps.

    Args:
        batches: ``step -> Batch`` (this rank's batch for that step).
        schedule: flow-matching parametrisation of the base scheduler.
        output: folder for ``adapter.safetensors`` + ``config.json`` (the
            result) and ``checkpoint/`` (resume state); ``None`` = in memory.
        autocast_dtype: e.g. ``torch.bfloat16`` on GPU (mixed precision).
    Returns:
        :class:`TrainResult` with this run's per-step losses.
    """
    from tqdm import tqdm

    dev = device or next(adapter.parameters()).device
    model = SynCamModel(transformer, adapter, schedule)
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, find_unused_parameters=False)
    params = [p for p in adapter.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    step = 0
    out = Path(output) if output is not None else None
    ck = out / "checkpoint" if out is not None else None
    if ck is not None and resume and (ck / "state.json").exists():
        state = json.loads((ck / "state.json").read_text())
        adapter.load_weights(ck)
        opt.load_state_dict(torch.load(ck / "optimizer.pt", map_location=dev, weights_only=True))
        step = int(state["step"])
        if rank == 0:
            log.info("resumed %s at step %d", out, step)

    gen = torch.Generator().manual_seed(seed * 1000003 + rank * 7919 + step)

    def save(final: bool) -> None:
        if out is None or rank != 0:
            return
        adapter.save(ck)
        with atomic_path(ck / "optimizer.pt") as tmp:
            torch.save(opt.state_dict(), tmp)
        with atomic_path(ck / "state.json") as tmp:
            tmp.write_text(json.dumps({"step": step}))
        if final:
            adapter.save(out)

    losses: list[float] = []
    bar = tqdm(total=steps, initial=step, desc="train syncam", unit="step", disable=not progress or rank != 0,
               leave=False)
    t0, n0 = time.perf_counter(), step
    transformer.eval()  # no dropout in the base; the adapter has none either
    log_path = out / "train_log.jsonl" if out is not None and rank == 0 else None
    while step < steps:
        b = batches(step).to(dev)
        sig = schedule.sample_sigmas(b.latents.shape[0] // b.num_views, gen, dev)
        noise = torch.randn(b.latents.shape, generator=gen).to(dev, b.latents.dtype)
        with torch.autocast(dev.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            loss = net(b.latents, b.text, b.cameras, sig, noise, b.source, b.num_views)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"syncam training: loss is {loss.item()} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        step += 1
        losses.append(float(loss.item()))
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
        if log_path is not None:
            with open(log_path, "a") as fh:
                fh.write(json.dumps({"step": step, "loss": losses[-1]}) + "\n")
        if save_every and step % save_every == 0 and step < steps:
            save(False)
    bar.close()
    sps = (step - n0) / max(time.perf_counter() - t0, 1e-9)
    save(True)
    return TrainResult(losses, step, sps, out)
