"""Text-to-motion evaluation on a dataset split (Guo et al. protocol, plus physical metrics).

For every entry of the split: one caption (seeded choice) and the real
motion (up to ``max_frames``, a multiple of 4). Generated motions use the
same captions and lengths. Metrics: R-precision top-1/2/3 (batches of 32),
FID, MM-Dist, Diversity, MultiModality (``mm_texts`` captions x
``mm_repeats`` samples) from the evaluator embeddings, and foot skating,
penetration, floating, jerk from joints recovered from the features.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from humokit.motion import metrics as M
from humokit.motion.features import features_to_joints
from humokit.priors.checkpoint import Checkpoint
from humokit.priors.data import open_split
from humokit.priors.text import get_text_encoder


@dataclass(frozen=True)
class EvalSet:
    """Captions, lengths and un-normalised real features of a split, with text embeddings."""

    captions: list[str]
    lengths: list[int]
    features: list[np.ndarray]
    sentence: torch.Tensor
    tokens: torch.Tensor
    token_lengths: torch.Tensor


def load_eval_set(root: str | Path, split: str = "test", *, max_frames: int = 196, seed: int = 0,
                  text_encoder: str = "minilm", limit: int | None = None) -> EvalSet:  # fmt: skip
    ds = open_split(root, split, max_frames=max_frames)
    rng = random.Random(seed)
    order = list(range(len(ds)))
    rng.shuffle(order)
    if limit:
        order = order[:limit]
    caps, lens, feats = [], [], []
    for i in order:
        _, motion, texts = ds.entries[i]
        n = min(len(motion), max_frames) // 4 * 4
        s = rng.randint(0, len(motion) - n)
        caps.append(rng.choice(texts)[0])
        lens.append(n)
        feats.append(motion[s : s + n].astype(np.float32))
    e = get_text_encoder(text_encoder).encode(caps)
    return EvalSet(caps, lens, feats, e.sentence, e.tokens, e.lengths)


def _pad(feats: list[np.ndarray], mean: np.ndarray, std: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    L = torch.tensor([len(f) for f in feats])
    x = torch.zeros(len(feats), int(L.max()), feats[0].shape[1])
    for i, f in enumerate(feats):
        x[i, : len(f)] = torch.from_numpy((f - mean) / std)
    return x, L


@torch.no_grad()
def embed_motions(ev: Checkpoint, feats: list[np.ndarray], batch: int = 128) -> np.ndarray:
    """Evaluator motion embeddings ``(N, D)`` of un-normalised features."""
    out = []
    for s in range(0, len(feats), batch):
        x, L = _pad(feats[s : s + batch], ev.mean, ev.std)
        out.append(ev.model.embed_motion(x, L).numpy())
    return np.concatenate(out)


@torch.no_grad()
def embed_texts(ev: Checkpoint, es: EvalSet, idx: list[int] | None = None) -> np.ndarray:
    idx = list(range(len(es.captions))) if idx is None else idx
    tl = es.token_lengths[idx]
    return ev.model.embed_text(es.tokens[idx][:, : int(tl.max())], tl).numpy()


def physical(feats: list[np.ndarray], fps: float = 20.0) -> dict[str, float]:
    """Mean PhysDiff metrics (:func:`~humokit.motion.plausibility.joint_plausibility`) of feature clips.

    Each clip is grounded by its lowest foot sole first, as generated motions are.
    """
    from humokit.motion.plausibility import joint_plausibility

    rs = [joint_plausibility(features_to_joints(f, full=True), fps, ground=None) for f in feats]
    return {
        "skate_mm": float(np.mean([r.skate for r in rs])),
        "penetrate_mm": float(np.mean([r.penetrate for r in rs])),
        "float_mm": float(np.mean([r.float for r in rs])),
        "phys_err_mm": float(np.mean([r.phys_err for r in rs])),
        "jerk": float(np.mean([r.jerk_peak for r in rs])),
    }


def score(ev: Checkpoint, es: EvalSet, feats: list[np.ndarray], text_emb: np.ndarray,
          real_emb: np.ndarray, mm_emb: np.ndarray | None) -> dict[str, float]:  # fmt: skip
    m = embed_motions(ev, feats)
    r = M.r_precision(text_emb, m)
    out = {"R@1": r[0], "R@2": r[1], "R@3": r[2], "FID": M.fid(real_emb, m), "MM-Dist": M.mm_dist(text_emb, m),
           "Diversity": M.diversity(m), "MModality": M.multimodality(mm_emb) if mm_emb is not None else float("nan")}  # fmt: skip
    out.update(physical(feats))
    return {k: float(v) for k, v in out.items()}


def generate_set(gen, es: EvalSet, idx: list[int], *, seed: int, batch: int = 64, **kw) -> list[np.ndarray]:
    from humokit.priors.sampling import sample_features

    out: list[np.ndarray] = []
    for s in range(0, len(idx), batch):
        b = idx[s : s + batch]
        tl = es.token_lengths[b]
        emb = (es.sentence[b], es.tokens[b][:, : int(tl.max())], tl)
        out += sample_features(gen, [es.captions[i] for i in b], [es.lengths[i] for i in b], seed=seed + s,
                               text_emb=emb, **kw)  # fmt: skip
    return out


def time_one(gen, es: EvalSet, *, seconds: float = 4.0, repeats: int = 10, batch: int = 1, **kw) -> float:
    """CPU milliseconds per ``seconds`` motion, sampled ``batch`` at a time (text embedding precomputed; median of ``repeats``)."""
    from humokit.priors.sampling import sample_features

    k = min(batch, len(es.captions))
    L = int(es.token_lengths[:k].max())
    emb = (es.sentence[:k], es.tokens[:k][:, :L], es.token_lengths[:k])
    n = int(seconds * 20)
    sample_features(gen, es.captions[:k], [n] * k, seed=0, text_emb=emb, **kw)  # warm-up
    ts = []
    for r in range(repeats):
        t = time.perf_counter()
        sample_features(gen, es.captions[:k], [n] * k, seed=r, text_emb=emb, **kw)
        ts.append((time.perf_counter() - t) / k)
    return float(np.median(ts) * 1000)


@torch.no_grad()
def vq_reconstruction_mm(vq: Checkpoint, es: EvalSet, batch: int = 64) -> dict[str, float]:
    """RVQ-VAE reconstruction error on the set: mean joint-position error in mm (global and root-relative)."""
    errs, rel = [], []
    for s in range(0, len(es.features), batch):
        fs = es.features[s : s + batch]
        x, L = _pad(fs, vq.mean, vq.std)
        T = x.shape[1] // vq.model.unit * vq.model.unit
        rec = vq.model.reconstruct(x[:, :T]).numpy() * vq.std + vq.mean
        for i, f in enumerate(fs):
            a, b = features_to_joints(f), features_to_joints(rec[i, : len(f)])
            errs.append(np.linalg.norm(a - b, axis=-1).mean())
            rel.append(np.linalg.norm((a - a[:, :1]) - (b - b[:, :1]), axis=-1).mean())
    return {"mpjpe_mm": float(np.mean(errs) * 1000), "root_relative_mm": float(np.mean(rel) * 1000)}
