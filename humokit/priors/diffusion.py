"""MDM-style diffusion: a transformer denoiser that predicts clean features ``x0``.

The text (sentence embedding, optionally whitened with the training captions'
statistics: ``text_whiten``) and the time step enter as one prefix token,
and with ``text_every_frame`` also added to every frame's input (a small
denoiser trained briefly otherwise learns to lean on the noisy frames and
all but ignore the single text token). Cosine noise schedule with ``train_steps`` steps; DDIM sampling
with a settable number of steps, stochasticity ``eta`` (0: deterministic DDIM, 1: DDPM-like) and
classifier-free guidance, optionally only on part of the schedule (``guidance_interval``). Losses: x0
MSE on normalised features plus geometric terms on joint positions,
joint velocities and foot contact (feet that the ground truth marks in
contact should not move), all in metres via
:func:`~humokit.priors.geometry.features_to_joints_torch`.
Inpainting replaces the known part of each step's ``x0`` estimate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import torch
from torch import nn

from humokit.motion.features import CONTACTS, FEATURE_DIM
from humokit.priors.geometry import FOOT_JOINTS, features_to_joints_torch
from humokit.priors.layers import PositionalEncoding, SentenceWhitening, lengths_to_mask, timestep_embedding, transformer


@dataclass(frozen=True)
class DiffusionConfig:
    text_dim: int = 384
    dim: int = 256
    layers: int = 4
    heads: int = 4
    ff: int = 512
    dropout: float = 0.1
    cond_drop: float = 0.1
    train_steps: int = 1000
    max_frames: int = 200
    pos_weight: float = 1.0
    vel_weight: float = 1.0
    foot_weight: float = 1.0
    text_every_frame: bool = False  # also add the text (and time) embedding to every frame's input
    text_whiten: bool = False  # whiten the sentence embedding with the training captions' statistics
    sample_steps: int = 20  # DDIM steps when sampling (default of :meth:`MotionDiffusion.sample`)
    guidance: float = 2.5  # classifier-free guidance scale when sampling (default)
    eta: float = 0.0  # DDIM stochasticity when sampling: 0 deterministic, 1 ancestral (DDPM-like) noise
    guidance_interval: tuple[float, float] = (0.0, 1.0)  # guidance only at steps with lo <= t / train_steps <= hi

    def __post_init__(self) -> None:
        lo, hi = (float(v) for v in self.guidance_interval)  # JSON gives a list
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"guidance_interval must be 0 <= lo <= hi <= 1, got {self.guidance_interval}")
        if not 0.0 <= self.eta <= 1.0:
            raise ValueError(f"eta must be in [0, 1], got {self.eta}")
        object.__setattr__(self, "guidance_interval", (lo, hi))

    def to_dict(self) -> dict:
        return asdict(self)


def cosine_alphas_cumprod(n: int, s: float = 0.008) -> torch.Tensor:
    """``(n,)`` cumulative alphas of the cosine schedule (Nichol & Dhariwal)."""
    t = torch.linspace(0, n, n + 1, dtype=torch.float64) / n
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    ab = f / f[0]
    betas = (1 - ab[1:] / ab[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, 0).float()


class MotionDiffusion(nn.Module):
    """Denoiser ``(x_t, t, text) -> x0`` over normalised features ``(B, T, 263)``."""

    kind = "diffusion"

    def __init__(self, cfg: DiffusionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Linear(FEATURE_DIM, cfg.dim)
        self.time = nn.Sequential(nn.Linear(cfg.dim, cfg.dim), nn.SiLU(), nn.Linear(cfg.dim, cfg.dim))
        self.cond = nn.Linear(cfg.text_dim, cfg.dim)
        self.pos = PositionalEncoding(cfg.dim, cfg.max_frames + 1)
        self.body = transformer(cfg.dim, cfg.layers, cfg.heads, cfg.ff, cfg.dropout)
        self.out = nn.Linear(cfg.dim, FEATURE_DIM)
        self.register_buffer("alphas_cumprod", cosine_alphas_cumprod(cfg.train_steps), persistent=False)
        self.register_buffer("mean", torch.zeros(FEATURE_DIM))
        self.register_buffer("std", torch.ones(FEATURE_DIM))
        self.whiten = SentenceWhitening(cfg.text_dim) if cfg.text_whiten else None

    def set_text_stats(self, sentences: torch.Tensor, eps: float = 1.0) -> None:
        """Whitening of the text input from training caption embeddings ``(N, text_dim)`` (``text_whiten`` models).

        The same ZCA whitening as the CVAE's (:func:`~humokit.priors.layers.whitening`):
        captions that differ in one word reach the network as different inputs.
        """
        if self.whiten is not None:
            self.whiten.fit(sentences, eps)

    def denoise(self, x: torch.Tensor, t: torch.Tensor, valid: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``x_t (B, T, 263)``, steps ``t (B,)``, valid ``(B, T)``, sentence ``(B, text_dim)`` (zeros: no text) -> ``x0``."""
        if self.whiten is not None:
            text = self.whiten(text)
        c = self.time(timestep_embedding(t, self.cfg.dim)) + self.cond(text)
        frames = self.inp(x) + c[:, None] if self.cfg.text_every_frame else self.inp(x)
        h = torch.cat([c[:, None], frames], dim=1)
        pad = torch.cat([torch.zeros_like(valid[:, :1]), ~valid], dim=1)
        return self.out(self.body(self.pos(h), src_key_padding_mask=pad)[:, 1:])

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        x0, lengths, text = batch["x"], batch["lengths"], batch["sentence"]
        B, T, _ = x0.shape
        valid = lengths_to_mask(lengths, T)
        vm = valid[..., None].float()
        t = torch.randint(0, self.cfg.train_steps, (B,))
        ab = self.alphas_cumprod[t][:, None, None]
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * torch.randn_like(x0)
        if self.training:
            text = text.masked_fill(torch.rand(B, 1) < self.cfg.cond_drop, 0.0)
        pred = self.denoise(xt, t, valid, text)
        n = vm.sum()
        l_x0 = ((pred - x0) ** 2 * vm).sum() / (n * FEATURE_DIM)
        jp = features_to_joints_torch(pred * self.std + self.mean)
        jg = features_to_joints_torch(x0 * self.std + self.mean)
        l_pos = (((jp - jg) ** 2).sum(-1) * valid[..., None]).sum() / (n * 22)
        vp, vg = jp[:, 1:] - jp[:, :-1], jg[:, 1:] - jg[:, :-1]
        v2 = valid[:, 1:] & valid[:, :-1]
        l_vel = (((vp - vg) ** 2).sum(-1) * v2[..., None]).sum() / (v2.sum() * 22).clamp(min=1)
        contact = (x0[:, :-1, CONTACTS] * self.std[CONTACTS] + self.mean[CONTACTS] > 0.5) & v2[..., None]
        foot_v = vp[:, :, list(FOOT_JOINTS)].pow(2).sum(-1)
        l_foot = (foot_v * contact).sum() / contact.sum().clamp(min=1)
        # geometric terms are in m^2 (velocities per frame at 20 fps, scaled by 100 to compare with x0)
        c = self.cfg
        loss = l_x0 + c.pos_weight * l_pos + 100.0 * (c.vel_weight * l_vel + c.foot_weight * l_foot)
        return loss, {"x0": l_x0.item(), "pos": l_pos.item(), "foot": l_foot.item()}

    @torch.no_grad()
    def sample(
        self,
        text: torch.Tensor,
        lengths: torch.Tensor,
        *,
        steps: int | None = None,
        guidance: float | None = None,
        eta: float | None = None,
        known: torch.Tensor | None = None,
        known_mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        x0_hook: Callable[[torch.Tensor], torch.Tensor] | None = None,
        hook_steps: tuple[int, ...] = (),
    ) -> torch.Tensor:
        """DDIM -> normalised features ``(B, max(lengths), 263)``.

        ``steps``/``guidance``/``eta``: None = the config's ``sample_steps``/``guidance``/``eta``.
        Both guidance branches run as one batch of ``2B``, at the steps whose
        ``t / train_steps`` lies in the config's ``guidance_interval`` (other
        steps use the text branch alone). ``eta`` > 0 draws fresh noise from
        ``generator`` at every step but the last (DDIM's sigma_t scaled by ``eta``).

        ``known``/``known_mask`` ``(B, T, 263)``: normalised values and bool mask
        imposed on every step's ``x0`` estimate (inpainting).
        ``x0_hook``: replaces the ``x0`` estimate at the steps in ``hook_steps``
        (counted from the end, 1 = the last step), e.g. a physics projection
        (PhysDiff); the following steps continue from the replaced estimate.
        """
        steps = self.cfg.sample_steps if steps is None else int(steps)
        guidance = self.cfg.guidance if guidance is None else float(guidance)
        eta = self.cfg.eta if eta is None else float(eta)
        lo, hi = self.cfg.guidance_interval
        B, T = len(lengths), int(lengths.max())
        valid = lengths_to_mask(lengths, T)
        x = torch.randn(B, T, FEATURE_DIM, generator=generator)
        ts = torch.linspace(self.cfg.train_steps - 1, 0, steps).round().long()
        for i, t in enumerate(ts):
            tt = t.repeat(B)
            if guidance != 1.0 and lo <= float(t) / self.cfg.train_steps <= hi:
                both = self.denoise(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([valid, valid]),
                                    torch.cat([text, torch.zeros_like(text)]))  # fmt: skip
                x0 = both[B:] + guidance * (both[:B] - both[B:])
            else:
                x0 = self.denoise(x, tt, valid, text)
            if known is not None and known_mask is not None:
                x0 = torch.where(known_mask, known, x0)
            if x0_hook is not None and len(ts) - i in hook_steps:
                x0 = x0_hook(x0)
                if known is not None and known_mask is not None:
                    x0 = torch.where(known_mask, known, x0)
            ab = self.alphas_cumprod[t]
            if i + 1 == len(ts):
                x = x0
                break
            ab_prev = self.alphas_cumprod[ts[i + 1]]
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt().clamp(min=1e-8)
            sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp(min=0).sqrt()
            x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma**2).clamp(min=0).sqrt() * eps
            if eta > 0:
                x = x + sigma * torch.randn(x.shape, generator=generator, device=x.device)
        return x * valid[..., None]
