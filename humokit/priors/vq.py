"""Residual VQ-VAE motion tokenizer (MoMask-style).

1D convolutions over normalised 263-d features ``(B, T, 263)`` with temporal
downsampling ``2 ** down`` (x4 by default), a residual vector quantizer of
``num_quantizers`` layers with EMA codebooks, dead-code reset and quantizer
dropout (training uses a random number of layers with probability
``quantizer_dropout``). ``root_weight`` / ``contact_weight`` weigh the root
channels (``0:4``: yaw rate, planar velocity, height) and foot contacts
(``259:263``) in the reconstruction and velocity losses: 4 + 4 of 263
channels decide whether a clip walks, runs, goes backward or leaves the ground.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from humokit.motion.features import FEATURE_DIM
from humokit.priors.layers import lengths_to_mask


@dataclass(frozen=True)
class VQConfig:
    width: int = 192
    depth: int = 2
    down: int = 2
    code_dim: int = 128
    codebook_size: int = 256
    num_quantizers: int = 4
    quantizer_dropout: float = 0.2
    ema_decay: float = 0.99
    commit_weight: float = 0.02
    vel_weight: float = 0.5
    dead_threshold: float = 1.0
    root_weight: float = 1.0  # loss weight of the root channels 0:4 (yaw rate, planar velocity, height)
    contact_weight: float = 1.0  # loss weight of the foot-contact channels 259:263

    def to_dict(self) -> dict:
        return asdict(self)


def _dist_on() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _Res(nn.Module):
    def __init__(self, w: int, dilation: int) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(w, w, 3, 1, dilation, dilation=dilation)
        self.c2 = nn.Conv1d(w, w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(F.relu(self.c1(F.relu(x))))


def _res_stack(w: int, depth: int) -> nn.Sequential:
    return nn.Sequential(*[_Res(w, 3**i) for i in range(depth)][::-1])


class EMAQuantizer(nn.Module):
    """One codebook ``(K, D)`` updated by exponential moving averages; unused codes are reset."""

    def __init__(self, K: int, D: int, decay: float, dead_threshold: float) -> None:
        super().__init__()
        self.K, self.decay, self.dead_threshold = K, decay, dead_threshold
        self.register_buffer("codebook", torch.randn(K, D) * 0.1)
        self.register_buffer("ema_count", torch.ones(K))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("initted", torch.zeros(()))

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, D)`` -> nearest code ids ``(N,)``."""
        d = x.pow(2).sum(-1, keepdim=True) - 2 * x @ self.codebook.t() + self.codebook.pow(2).sum(-1)[None]
        return d.argmin(-1)

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.codebook)

    @torch.no_grad()
    def _update(self, x: torch.Tensor, ids: torch.Tensor) -> None:
        if not bool(self.initted):
            idx = torch.randint(0, len(x), (self.K,), device=x.device) if len(x) < self.K else torch.randperm(len(x))[: self.K]
            init = x[idx].clone()
            if _dist_on():
                dist.broadcast(init, 0)
            self.codebook.copy_(init)
            self.ema_sum.copy_(init)
            self.ema_count.fill_(1.0)
            self.initted.fill_(1.0)
            return
        onehot = F.one_hot(ids, self.K).type(x.dtype)
        count, total = onehot.sum(0), onehot.t() @ x
        if _dist_on():
            dist.all_reduce(count)
            dist.all_reduce(total)
        self.ema_count.mul_(self.decay).add_(count, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(total, alpha=1 - self.decay)
        n = self.ema_count.sum()
        count_s = (self.ema_count + 1e-5) / (n + self.K * 1e-5) * n
        self.codebook.copy_(self.ema_sum / count_s[:, None])
        dead = self.ema_count < self.dead_threshold
        if dead.any():  # reset dead codes to random current inputs
            rand = x[torch.randint(0, len(x), (self.K,), device=x.device)]
            if _dist_on():
                dist.broadcast(rand, 0)
            self.codebook[dead] = rand[dead]
            self.ema_sum[dead] = rand[dead]
            self.ema_count[dead] = 1.0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, D)`` -> (quantised ``(N, D)`` without straight-through, ids ``(N,)``)."""
        ids = self.codes(x.detach())
        if self.training:
            self._update(x.detach(), ids)
            ids = self.codes(x.detach())
        return self.lookup(ids), ids


class RVQVAE(nn.Module):
    """Encoder -> residual VQ -> decoder over normalised features (frames a multiple of ``2**down``)."""

    kind = "vq"

    def __init__(self, cfg: VQConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        enc: list[nn.Module] = [nn.Conv1d(FEATURE_DIM, w, 3, 1, 1), nn.ReLU()]
        for _ in range(cfg.down):
            enc += [nn.Conv1d(w, w, 4, 2, 1), _res_stack(w, cfg.depth)]
        enc += [nn.Conv1d(w, cfg.code_dim, 3, 1, 1)]
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv1d(cfg.code_dim, w, 3, 1, 1), nn.ReLU()]
        for _ in range(cfg.down):
            dec += [_res_stack(w, cfg.depth), nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv1d(w, w, 3, 1, 1)]
        dec += [nn.Conv1d(w, w, 3, 1, 1), nn.ReLU(), nn.Conv1d(w, FEATURE_DIM, 3, 1, 1)]
        self.decoder = nn.Sequential(*dec)
        self.quantizers = nn.ModuleList(
            EMAQuantizer(cfg.codebook_size, cfg.code_dim, cfg.ema_decay, cfg.dead_threshold) for _ in range(cfg.num_quantizers)
        )  # fmt: skip
        w = torch.ones(FEATURE_DIM)
        w[0:4], w[259:263] = cfg.root_weight, cfg.contact_weight
        self.register_buffer("channel_weight", w, persistent=False)

    @property
    def unit(self) -> int:
        return 2**self.cfg.down

    def _latent(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.transpose(1, 2)).transpose(1, 2)  # (B, T', D)

    def quantize(self, z: torch.Tensor, n_layers: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(B, T', D)`` -> (sum of quantised layers, ids ``(B, T', Q)``, commitment loss)."""
        B, T, D = z.shape
        flat = z.reshape(-1, D)
        residual, total, ids, commit = flat, torch.zeros_like(flat), [], flat.new_zeros(())
        n = self.cfg.num_quantizers if n_layers is None else n_layers
        for q in self.quantizers[:n]:
            zq, i = q(residual)
            commit = commit + F.mse_loss(residual, zq.detach())
            residual = residual - zq.detach()
            total = total + zq
            ids.append(i)
        total = flat + (total - flat).detach()  # straight-through
        return total.reshape(B, T, D), torch.stack(ids, -1).reshape(B, T, n), commit

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised features ``(B, T, 263)`` -> token ids ``(B, T // unit, Q)``."""
        return self.quantize(self._latent(x))[1]

    def decode_codes(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, T', q)`` (the first ``q <= Q`` layers) -> normalised features ``(B, T' * unit, 263)``."""
        z = sum(self.quantizers[j].lookup(ids[..., j]) for j in range(ids.shape[-1]))
        return self.decoder(z.transpose(1, 2)).transpose(1, 2)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        z, _, _ = self.quantize(self._latent(x))
        return self.decoder(z.transpose(1, 2)).transpose(1, 2)

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        """Training loss on ``batch['x'] (B, T, 263)`` (T a multiple of ``unit``, windows without padding)."""
        x = batch["x"]
        z = self._latent(x)
        n = None
        if self.training and self.cfg.quantizer_dropout > 0 and torch.rand(()) < self.cfg.quantizer_dropout:
            n = int(torch.randint(1, self.cfg.num_quantizers + 1, ()))
        zq, _, commit = self.quantize(z, n)
        rec = self.decoder(zq.transpose(1, 2)).transpose(1, 2)
        valid = lengths_to_mask(batch["lengths"], x.shape[1]).unsqueeze(-1).float()
        n = valid.sum() * x.shape[-1]
        w = valid * self.channel_weight  # (B, T, 263): padding 0, root / contact channels weighted
        l_rec = (F.smooth_l1_loss(rec, x, reduction="none") * w).sum() / n
        dv_r, dv_x = rec[:, 1:] - rec[:, :-1], x[:, 1:] - x[:, :-1]
        l_vel = (F.smooth_l1_loss(dv_r, dv_x, reduction="none") * w[:, 1:]).sum() / n
        loss = l_rec + self.cfg.vel_weight * l_vel + self.cfg.commit_weight * commit
        return loss, {"rec": l_rec.item(), "commit": commit.item()}
