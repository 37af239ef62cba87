"""Text-motion evaluator (Guo et al. 2022 style) trained contrastively on the train split.

Motion side: a movement conv encoder (x4 temporal downsampling) over the
normalised features without the 4 contact channels, then a bidirectional
GRU. Text side: a bidirectional GRU over MiniLM token embeddings. Both end
in unit-norm embeddings; training uses a symmetric InfoNCE loss in which
pairs sharing the same caption count as positives. Euclidean distances
between these embeddings feed R-precision, FID, MM-Dist, Diversity and
MultiModality (:mod:`humokit.motion.metrics`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from humokit.motion.features import FEATURE_DIM


@dataclass(frozen=True)
class EvaluatorConfig:
    text_dim: int = 384
    hidden: int = 256
    embed: int = 256
    temperature: float = 0.07
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


def _gru_last(gru: nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
    _, h = gru(packed)  # (2, B, H)
    return torch.cat([h[0], h[1]], dim=-1)


class MotionTextEvaluator(nn.Module):
    """``embed_motion(x, lengths)`` and ``embed_text(tokens, token_lengths)`` -> unit vectors ``(B, embed)``."""

    kind = "evaluator"

    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        H = cfg.hidden
        self.movement = nn.Sequential(
            nn.Conv1d(FEATURE_DIM - 4, H, 4, 2, 1), nn.Dropout(cfg.dropout), nn.LeakyReLU(0.2),
            nn.Conv1d(H, H, 4, 2, 1), nn.Dropout(cfg.dropout), nn.LeakyReLU(0.2),
        )  # fmt: skip
        self.motion_gru = nn.GRU(H, H, batch_first=True, bidirectional=True)
        self.motion_out = nn.Sequential(nn.Linear(2 * H, H), nn.LeakyReLU(0.2), nn.Linear(H, cfg.embed))
        self.text_in = nn.Linear(cfg.text_dim, H)
        self.text_gru = nn.GRU(H, H, batch_first=True, bidirectional=True)
        self.text_out = nn.Sequential(nn.Linear(2 * H, H), nn.LeakyReLU(0.2), nn.Linear(H, cfg.embed))

    def embed_motion(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Normalised features ``(B, T, 263)`` (zero-padded) -> ``(B, embed)`` unit vectors."""
        m = self.movement(x[..., : FEATURE_DIM - 4].transpose(1, 2)).transpose(1, 2)
        h = _gru_last(self.motion_gru, m, torch.div(lengths, 4, rounding_mode="floor").clamp(max=m.shape[1]))
        return F.normalize(self.motion_out(h), dim=-1)

    def embed_text(self, tokens: torch.Tensor, token_lengths: torch.Tensor) -> torch.Tensor:
        """Token embeddings ``(B, L, text_dim)`` -> ``(B, embed)`` unit vectors."""
        return F.normalize(self.text_out(_gru_last(self.text_gru, self.text_in(tokens), token_lengths)), dim=-1)

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        m = self.embed_motion(batch["x"], batch["lengths"])
        t = self.embed_text(batch["tokens"], batch["token_lengths"])
        logits = t @ m.t() / self.cfg.temperature
        caps = batch["captions"]
        same = torch.tensor([[a == b for b in caps] for a in caps], dtype=torch.float32)
        target = same / same.sum(-1, keepdim=True)
        loss = 0.5 * (-(target * logits.log_softmax(-1)).sum(-1).mean() - (target * logits.t().log_softmax(-1)).sum(-1).mean())
        acc = (logits.argmax(-1) == torch.arange(len(caps))).float().mean()
        return loss, {"acc": acc.item()}
