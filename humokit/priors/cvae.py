"""Transformer CVAE (ACTOR/TEMOS-style) with a text-conditioned Gaussian prior.

Motion encoder: two learned tokens (mu, logvar) prepended to the frames.
Text prior, ``text_input="tokens"`` (the first shipped model): a transformer
over the text's token embeddings with the same two tokens; the decoder sees
``z`` alone; training adds a reconstruction from a *sample* of the text prior,
which pulls the prior's variance to zero (its samples for one prompt barely
differ) and leaves the text only one narrow way in.

``text_input="sentence"``: the prior is an MLP of the sentence embedding and
the decoder also gets the sentence as a token (the text reaches the motion
directly, ``z`` carries what the text does not say). Training: motion
reconstruction from ``z ~ q(z|x)``, ``text_rec_weight`` times the
reconstruction from the prior's *mean*, KL(q(z|x) || p(z|text)) (the prior
learns the spread of motions per text, so samples differ), a small KL to
N(0, I). Decoder: frame queries (sinusoidal positions) attend to the
prepended ``z`` (and text) tokens through a transformer.

As a motion prior for fitting: :meth:`encode` ``(features) -> (mu,
logvar)``, :meth:`decode` ``(z, length) -> features`` and :meth:`log_prob`
(an ELBO-style log density of normalised features, differentiable).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from humokit.motion.features import FEATURE_DIM
from humokit.priors.layers import PositionalEncoding, SentenceWhitening, lengths_to_mask, sinusoid, transformer


@dataclass(frozen=True)
class CVAEConfig:
    text_dim: int = 384
    dim: int = 256
    latent: int = 64
    layers: int = 3
    heads: int = 4
    ff: int = 512
    dropout: float = 0.1
    max_frames: int = 200
    kl_weight: float = 1e-4
    kl_prior_weight: float = 1e-5
    align_weight: float = 1e-4
    recon_sigma: float = 0.5
    text_input: str = "tokens"
    text_rec_weight: float = 1.0
    cond_drop: float = 0.1  # sentence models: text dropped (zeros) this often in training (the unconditional mode)
    text_whiten: bool = False  # sentence models: whiten the sentence embedding with the training captions' statistics
    cond_every_frame: bool = False  # sentence models: also add z and the text to every frame query of the decoder
    temperature: float = 1.0  # sampling: the prior's std is scaled by this (default of :meth:`MotionCVAE.sample`)

    def to_dict(self) -> dict:
        return asdict(self)


class _DistEncoder(nn.Module):
    def __init__(self, cfg: CVAEConfig, in_dim: int) -> None:
        super().__init__()
        self.inp = nn.Linear(in_dim, cfg.dim)
        self.tokens = nn.Parameter(torch.randn(2, cfg.dim) * 0.02)
        self.pos = PositionalEncoding(cfg.dim, cfg.max_frames + 2)
        self.body = transformer(cfg.dim, cfg.layers, cfg.heads, cfg.ff, cfg.dropout)
        self.mu, self.logvar = nn.Linear(cfg.dim, cfg.latent), nn.Linear(cfg.dim, cfg.latent)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B = x.shape[0]
        h = torch.cat([self.tokens[None].expand(B, 2, -1), self.inp(x)], dim=1)
        pad = torch.cat([torch.zeros_like(valid[:, :2]), ~valid], dim=1)
        h = self.body(self.pos(h), src_key_padding_mask=pad)
        return self.mu(h[:, 0]), self.logvar(h[:, 1]).clamp(-10, 10)


def _kl(mu: torch.Tensor, lv: torch.Tensor, mu_p: torch.Tensor, lv_p: torch.Tensor) -> torch.Tensor:
    return 0.5 * (lv_p - lv + (lv.exp() + (mu - mu_p) ** 2) / lv_p.exp() - 1).sum(-1).mean()


class MotionCVAE(nn.Module):
    """Text-conditioned VAE over normalised features ``(B, T, 263)``."""

    kind = "cvae"

    def __init__(self, cfg: CVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.text_input not in ("tokens", "sentence"):
            raise ValueError(f"text_input must be 'tokens' or 'sentence', got {cfg.text_input!r}")
        self.motion_enc = _DistEncoder(cfg, FEATURE_DIM)
        if cfg.text_input == "tokens":
            self.text_enc = _DistEncoder(cfg, cfg.text_dim)
        else:
            self.text_mlp = nn.Sequential(nn.Linear(cfg.text_dim, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, cfg.dim), nn.GELU())
            self.prior_mu, self.prior_logvar = nn.Linear(cfg.dim, cfg.latent), nn.Linear(cfg.dim, cfg.latent)
            self.dec_text = nn.Linear(cfg.text_dim, cfg.dim)
        self.whiten = SentenceWhitening(cfg.text_dim) if cfg.text_input == "sentence" and cfg.text_whiten else None
        self.z_in = nn.Linear(cfg.latent, cfg.dim)
        self.dec = transformer(cfg.dim, cfg.layers, cfg.heads, cfg.ff, cfg.dropout)
        self.register_buffer("queries", sinusoid(cfg.max_frames + 1, cfg.dim), persistent=False)
        self.out = nn.Linear(cfg.dim, FEATURE_DIM)

    # ---------------------------------------------------------------- text input
    def set_text_stats(self, sentences: torch.Tensor, eps: float = 1.0) -> None:
        """Whitening of the sentence input from training caption embeddings ``(N, text_dim)`` (``text_whiten`` models).

        Left/right captions differ by ~0.02 in cosine (all-MiniLM-L6-v2); after
        whitening (ZCA, eigenvalues floored at ``eps`` times their mean) every
        direction the captions vary along has unit spread, so small wording
        differences reach the network as large input differences.
        """
        if self.whiten is not None:
            self.whiten.fit(sentences, eps)

    def _text(self, sentence: torch.Tensor) -> torch.Tensor:
        """The sentence as the network reads it (whitened when configured; all-zero rows, the unconditional mode, stay zero)."""
        return self.whiten(sentence) if self.whiten is not None else sentence

    # ---------------------------------------------------------------- prior API
    def encode(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised features ``(B, T, 263)`` -> ``(mu, logvar)`` each ``(B, latent)``."""
        B, T, _ = features.shape
        lengths = torch.full((B,), T) if lengths is None else lengths
        return self.motion_enc(features, lengths_to_mask(lengths, T))

    def decode(self, z: torch.Tensor, length: int | torch.Tensor, *, sentence: torch.Tensor | None = None) -> torch.Tensor:
        """``z (B, latent)`` -> normalised features ``(B, T, 263)`` (``T = length`` or ``max(length)``).

        ``sentence (B, text_dim)``: the text, for ``text_input="sentence"`` models (required there).
        """
        B = z.shape[0]
        lengths = torch.full((B,), int(length)) if not torch.is_tensor(length) else length
        T = int(lengths.max())
        valid = lengths_to_mask(lengths, T)
        pre = [self.z_in(z)[:, None]]
        if self.cfg.text_input == "sentence":
            if sentence is None:
                raise ValueError("this CVAE decodes with the sentence embedding: pass sentence=")
            pre.append(self.dec_text(self._text(sentence))[:, None])
        n = len(pre)
        q = self.queries[1 : T + 1][None].expand(B, T, -1)
        if self.cfg.cond_every_frame:
            q = q + sum(pre)
        h = torch.cat([*pre, q], dim=1)
        pad = torch.cat([torch.zeros_like(valid[:, :1]).expand(B, n), ~valid], dim=1)
        return self.out(self.dec(h, src_key_padding_mask=pad)[:, n:]) * valid[..., None]

    def text_prior(self, tokens: torch.Tensor | None, token_lengths: torch.Tensor | None, *,
                   sentence: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Token embeddings ``(B, L, text_dim)`` (or ``sentence (B, text_dim)``) -> prior ``(mu, logvar)`` of ``z``."""
        if self.cfg.text_input == "sentence":
            if sentence is None:
                raise ValueError("this CVAE's prior reads the sentence embedding: pass sentence=")
            h = self.text_mlp(self._text(sentence))
            return self.prior_mu(h), self.prior_logvar(h).clamp(-10, 10)
        return self.text_enc(tokens, lengths_to_mask(token_lengths, tokens.shape[1]))

    def log_prob(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """ELBO-style log density ``(B,)`` of normalised features under the N(0, I) latent prior.

        Gaussian reconstruction likelihood (sigma ``recon_sigma`` in normalised
        units) of ``decode(mu)`` minus KL(q(z|x) || N(0, I)); differentiable in
        ``features`` (use as a regulariser when fitting motions).
        """
        B, T, _ = features.shape
        lengths = torch.full((B,), T) if lengths is None else lengths
        mu, lv = self.encode(features, lengths)
        text = torch.zeros(B, self.cfg.text_dim) if self.cfg.text_input == "sentence" else None
        rec = self.decode(mu, lengths, sentence=text)  # sentence models: their unconditional mode
        valid = lengths_to_mask(lengths, T)[..., None].float()
        s = self.cfg.recon_sigma
        ll = -0.5 * (((rec - features) / s) ** 2 * valid).sum((1, 2)) - (valid.sum((1, 2)) * (math.log(s) + 0.5 * math.log(2 * math.pi)))
        kl = 0.5 * (lv.exp() + mu**2 - 1 - lv).sum(-1)
        return ll - kl

    # ---------------------------------------------------------------- training
    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        if self.cfg.text_input == "sentence":
            return self._forward_sentence(batch)
        x, lengths = batch["x"], batch["lengths"]
        valid = lengths_to_mask(lengths, x.shape[1])[..., None].float()
        mu_m, lv_m = self.encode(x, lengths)
        mu_t, lv_t = self.text_prior(batch["tokens"], batch["token_lengths"])
        z_m = mu_m + torch.randn_like(mu_m) * (0.5 * lv_m).exp()
        z_t = mu_t + torch.randn_like(mu_t) * (0.5 * lv_t).exp()
        both = self.decode(torch.cat([z_m, z_t]), torch.cat([lengths, lengths]))
        rec_m, rec_t = both.chunk(2)
        n = valid.sum() * FEATURE_DIM
        l_m = (F.smooth_l1_loss(rec_m, x, reduction="none") * valid).sum() / n
        l_t = (F.smooth_l1_loss(rec_t, x, reduction="none") * valid).sum() / n
        zero = torch.zeros_like(mu_m)
        kl = _kl(mu_m, lv_m, mu_t, lv_t) + _kl(mu_t, lv_t, mu_m, lv_m)
        kl_p = _kl(mu_m, lv_m, zero, zero) + _kl(mu_t, lv_t, zero, zero)
        align = F.smooth_l1_loss(z_t, z_m)
        c = self.cfg
        loss = l_m + l_t + c.kl_weight * kl + c.kl_prior_weight * kl_p + c.align_weight * align
        return loss, {"rec_m": l_m.item(), "rec_t": l_t.item(), "kl": kl.item()}

    def _forward_sentence(self, batch: dict) -> tuple[torch.Tensor, dict]:
        x, lengths, sent = batch["x"], batch["lengths"], batch["sentence"]
        if self.training and self.cfg.cond_drop > 0:
            sent = sent.masked_fill(torch.rand(len(sent), 1) < self.cfg.cond_drop, 0.0)
        valid = lengths_to_mask(lengths, x.shape[1])[..., None].float()
        mu_m, lv_m = self.encode(x, lengths)
        mu_t, lv_t = self.text_prior(None, None, sentence=sent)
        z_m = mu_m + torch.randn_like(mu_m) * (0.5 * lv_m).exp()
        both = self.decode(torch.cat([z_m, mu_t]), torch.cat([lengths, lengths]), sentence=torch.cat([sent, sent]))
        rec_m, rec_t = both.chunk(2)
        n = valid.sum() * FEATURE_DIM
        l_m = (F.smooth_l1_loss(rec_m, x, reduction="none") * valid).sum() / n
        l_t = (F.smooth_l1_loss(rec_t, x, reduction="none") * valid).sum() / n
        zero = torch.zeros_like(mu_m)
        kl = _kl(mu_m, lv_m, mu_t, lv_t)
        kl_p = _kl(mu_m, lv_m, zero, zero)
        c = self.cfg
        loss = l_m + c.text_rec_weight * l_t + c.kl_weight * kl + c.kl_prior_weight * kl_p
        return loss, {"rec_m": l_m.item(), "rec_t": l_t.item(), "kl": kl.item()}

    @torch.no_grad()
    def sample(self, tokens: torch.Tensor | None, token_lengths: torch.Tensor | None, lengths: torch.Tensor, *,
               temperature: float | None = None, generator: torch.Generator | None = None,
               sentence: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """Draw ``z ~ p(z|text)`` (std scaled by ``temperature``; None: the config's) and decode ``(B, max(lengths), 263)``."""
        temperature = self.cfg.temperature if temperature is None else float(temperature)
        mu, lv = self.text_prior(tokens, token_lengths, sentence=sentence)
        z = mu + temperature * torch.randn(mu.shape, generator=generator) * (0.5 * lv).exp()
        return self.decode(z, lengths, sentence=sentence)
