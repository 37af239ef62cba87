"""Masked token transformer (base RVQ layer) and residual transformer (other layers), MoMask-style.

Training masks a cosine-scheduled fraction of base tokens and predicts them
from the rest and the sentence embedding (dropped with probability
``cond_drop`` for classifier-free guidance). Sampling starts fully masked
and, over ``steps`` iterations, keeps the most confident predictions and
re-masks the rest following the same cosine schedule. Tokens given as
``known`` (inpainting) are never re-masked.

``text_whiten``: the sentence embedding is whitened with the training
captions' statistics (:class:`~humokit.priors.layers.SentenceWhitening`,
fitted by the trainer through ``set_text_stats`` and stored in the
checkpoint) and enters through a two-layer MLP instead of one linear map, so
captions that differ only in a side word condition the network differently.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from humokit.priors.layers import PositionalEncoding, SentenceWhitening, lengths_to_mask, transformer


@dataclass(frozen=True)
class MaskConfig:
    codebook_size: int = 256
    num_quantizers: int = 4
    text_dim: int = 384
    dim: int = 256
    layers: int = 4
    heads: int = 4
    ff: int = 512
    dropout: float = 0.1
    cond_drop: float = 0.1
    max_tokens: int = 64
    text_whiten: bool = False  # whitened sentence through an MLP (see the module docstring)

    def to_dict(self) -> dict:
        return asdict(self)


def _text_input(cfg: MaskConfig) -> tuple[nn.Module | None, nn.Module]:
    """(whitening or None, sentence -> ``(B, dim)`` map) for ``cfg``."""
    if not cfg.text_whiten:
        return None, nn.Linear(cfg.text_dim, cfg.dim)
    return SentenceWhitening(cfg.text_dim), nn.Sequential(nn.Linear(cfg.text_dim, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, cfg.dim))


class _TextConditioned(nn.Module):
    """Shared text input of the mask and residual transformers."""

    cfg: MaskConfig
    whiten: nn.Module | None
    cond: nn.Module

    def set_text_stats(self, sentences: torch.Tensor, eps: float = 1.0) -> None:
        """Fit the whitening on training caption embeddings ``(N, text_dim)`` (a no-op unless ``text_whiten``)."""
        if self.whiten is not None:
            self.whiten.fit(sentences, eps)

    def text_condition(self, text: torch.Tensor) -> torch.Tensor:
        """``(B, text_dim)`` sentence (zeros = unconditional) -> ``(B, dim)``."""
        return self.cond(self.whiten(text) if self.whiten is not None else text)


class MaskTransformer(_TextConditioned):
    """Predicts base-layer token ids ``(B, N)`` from partially masked ones and text."""

    kind = "mask"

    def __init__(self, cfg: MaskConfig) -> None:
        super().__init__()
        self.cfg = cfg
        K = cfg.codebook_size
        self.mask_id, self.pad_id = K, K + 1
        self.tok = nn.Embedding(K + 2, cfg.dim)
        self.whiten, self.cond = _text_input(cfg)
        self.pos = PositionalEncoding(cfg.dim, cfg.max_tokens + 1)
        self.body = transformer(cfg.dim, cfg.layers, cfg.heads, cfg.ff, cfg.dropout)
        self.head = nn.Linear(cfg.dim, K)

    def logits(self, ids: torch.Tensor, valid: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``ids (B, N)``, ``valid (B, N)`` bool, ``text (B, text_dim)`` (zeros = unconditional) -> ``(B, N, K)``."""
        h = torch.cat([self.text_condition(text)[:, None], self.tok(ids)], dim=1)
        pad = torch.cat([torch.zeros_like(valid[:, :1]), ~valid], dim=1)
        return self.head(self.body(self.pos(h), src_key_padding_mask=pad)[:, 1:])

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        ids, lengths, text = batch["codes"][..., 0], batch["token_lengths"], batch["sentence"]
        B, N = ids.shape
        valid = lengths_to_mask(lengths, N)
        ratio = torch.cos(torch.rand(B, device=ids.device) * math.pi / 2)
        n_mask = (ratio * lengths).ceil().clamp(min=1)
        rank = torch.rand(B, N, device=ids.device).masked_fill(~valid, 2.0).argsort(-1).argsort(-1)
        masked = (rank < n_mask[:, None]) & valid
        inp = ids.masked_fill(~valid, self.pad_id)
        # BERT-style: 10% of masked positions get a random token, 10% keep theirs
        r = torch.rand(B, N, device=ids.device)
        rand_tok = torch.randint_like(ids, self.cfg.codebook_size)
        inp = torch.where(masked & (r < 0.8), torch.full_like(ids, self.mask_id), inp)
        inp = torch.where(masked & (r >= 0.8) & (r < 0.9), rand_tok, inp)
        drop = torch.rand(B, 1, device=ids.device) < self.cfg.cond_drop
        text = text.masked_fill(drop, 0.0) if self.training else text
        lg = self.logits(inp, valid, text)
        loss = F.cross_entropy(lg[masked], ids[masked])
        acc = (lg[masked].argmax(-1) == ids[masked]).float().mean()
        return loss, {"acc": acc.item()}

    @torch.no_grad()
    def generate(
        self,
        text: torch.Tensor,
        lengths: torch.Tensor,
        *,
        steps: int = 10,
        guidance: float = 4.0,
        temperature: float = 1.0,
        topk_ratio: float = 0.9,
        known: torch.Tensor | None = None,
        known_mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Iterative confidence-based decoding -> base ids ``(B, N)`` (``N = max(lengths)``).

        Args:
            text: ``(B, text_dim)`` sentence embeddings.
            lengths: ``(B,)`` token counts.
            known, known_mask: ``(B, N)`` ids and bool mask of tokens to keep fixed.
        """
        B, N = len(lengths), int(lengths.max())
        valid = lengths_to_mask(lengths, N)
        ids = torch.full((B, N), self.mask_id, dtype=torch.long)
        fixed = torch.zeros(B, N, dtype=torch.bool) if known_mask is None else known_mask & valid
        if known is not None:
            ids = torch.where(fixed, known, ids)
        free = (valid & ~fixed).sum(-1).float()
        ids = ids.masked_fill(~valid, self.pad_id)
        scores = torch.zeros(B, N)
        for s in range(steps):
            inp = torch.cat([ids, ids]) if guidance != 1.0 else ids
            cond = torch.cat([text, torch.zeros_like(text)]) if guidance != 1.0 else text
            lg = self.logits(inp, torch.cat([valid, valid]) if guidance != 1.0 else valid, cond)
            if guidance != 1.0:
                lg = lg[B:] + guidance * (lg[:B] - lg[B:])
            if topk_ratio > 0:
                k = max(1, int(math.ceil((1 - topk_ratio) * lg.shape[-1])))
                kth = lg.topk(k, dim=-1).values[..., -1:]
                lg = lg.masked_fill(lg < kth, float("-inf"))
            probs = F.softmax(lg / max(temperature, 1e-6), dim=-1)
            if temperature > 0:
                pred = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator).reshape(B, N)
            else:
                pred = probs.argmax(-1)
            conf = probs.gather(-1, pred[..., None])[..., 0]
            is_masked = ids == self.mask_id
            ids = torch.where(is_masked, pred, ids)
            scores = torch.where(is_masked, conf, scores)
            ratio = math.cos(math.pi / 2 * (s + 1) / steps)
            n_remask = (free * ratio).floor().long()
            if int(n_remask.max()) <= 0:
                break
            sc = scores.masked_fill(fixed | ~valid, float("inf"))
            rank = sc.argsort(-1).argsort(-1)
            remask = rank < n_remask[:, None]
            ids = ids.masked_fill(remask, self.mask_id)
        return ids.masked_fill(~valid, 0)


class ResidualTransformer(_TextConditioned):
    """Predicts the ids of RVQ layer ``j >= 1`` from the sum of embeddings of layers ``< j`` and text."""

    kind = "res"

    def __init__(self, cfg: MaskConfig) -> None:
        super().__init__()
        self.cfg = cfg
        K, Q = cfg.codebook_size, cfg.num_quantizers
        self.tok = nn.ModuleList(nn.Embedding(K, cfg.dim) for _ in range(Q - 1))
        self.layer_emb = nn.Embedding(Q, cfg.dim)
        self.whiten, self.cond = _text_input(cfg)
        self.pos = PositionalEncoding(cfg.dim, cfg.max_tokens + 1)
        self.body = transformer(cfg.dim, cfg.layers, cfg.heads, cfg.ff, cfg.dropout)
        self.heads = nn.ModuleList(nn.Linear(cfg.dim, K) for _ in range(Q - 1))

    def logits(self, prev: torch.Tensor, j: int, valid: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``prev (B, N, j)`` ids of layers ``< j`` -> logits ``(B, N, K)`` for layer ``j``."""
        h = sum(self.tok[i](prev[..., i]) for i in range(j))
        cond = self.text_condition(text) + self.layer_emb.weight[j][None]
        h = torch.cat([cond[:, None], h], dim=1)
        pad = torch.cat([torch.zeros_like(valid[:, :1]), ~valid], dim=1)
        return self.heads[j - 1](self.body(self.pos(h), src_key_padding_mask=pad)[:, 1:])

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        codes, lengths, text = batch["codes"], batch["token_lengths"], batch["sentence"]
        B, N, Q = codes.shape
        valid = lengths_to_mask(lengths, N)
        j = int(torch.randint(1, Q, ()))
        drop = torch.rand(B, 1) < self.cfg.cond_drop
        text = text.masked_fill(drop, 0.0) if self.training else text
        lg = self.logits(codes[..., :j], j, valid, text)
        loss = F.cross_entropy(lg[valid], codes[..., j][valid])
        # touch every head/embedding so DDP sees all parameters used
        loss = loss + 0.0 * sum(p.sum() for p in self.heads.parameters()) + 0.0 * sum(e.weight.sum() for e in self.tok)
        return loss, {"acc": (lg[valid].argmax(-1) == codes[..., j][valid]).float().mean().item()}

    @torch.no_grad()
    def generate(self, base: torch.Tensor, text: torch.Tensor, lengths: torch.Tensor, *, guidance: float = 2.0,
                 known: torch.Tensor | None = None, known_mask: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """Base ids ``(B, N)`` -> all layers ``(B, N, Q)`` (greedy per layer, classifier-free guided)."""
        B, N = base.shape
        valid = lengths_to_mask(lengths, N)
        codes = [base]
        for j in range(1, self.cfg.num_quantizers):
            prev = torch.stack(codes, -1)
            if guidance != 1.0:
                lg = self.logits(torch.cat([prev, prev]), j, torch.cat([valid, valid]), torch.cat([text, torch.zeros_like(text)]))
                lg = lg[B:] + guidance * (lg[:B] - lg[B:])
            else:
                lg = self.logits(prev, j, valid, text)
            nxt = lg.argmax(-1)
            if known is not None and known_mask is not None:
                nxt = torch.where(known_mask, known[..., j], nxt)
            codes.append(nxt.masked_fill(~valid, 0))
        return torch.stack(codes, -1)
