"""Text-motion retrieval and distribution metrics on evaluator embeddings (Guo et al. 2022).

Embedding metrics take ``(N, D)`` arrays: :func:`r_precision`, :func:`fid`,
:func:`mm_dist`, :func:`diversity`, :func:`multimodality`. Physical
plausibility (Penetrate, Float, Skate, jerk) has one definition, in
:mod:`humokit.motion.plausibility`.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from humokit.errors import InputError



def _emb(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or len(a) == 0:
        raise InputError(f"{what}: expected (N, D) embeddings, got shape {a.shape}")
    return a


def _cdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None]
    return np.sqrt(np.maximum(d2, 0.0))


def r_precision(text: np.ndarray, motion: np.ndarray, *, top_k: int = 3, batch_size: int = 32) -> np.ndarray:
    """R-precision: in each batch of ``batch_size`` pairs, is the matching motion among the ``k`` nearest to its text?

    Args:
        text, motion: ``(N, D)`` paired embeddings (row i of each is a pair); the
            last incomplete batch is dropped.
    Returns:
        ``(top_k,)`` fraction of texts whose motion ranks within top-1..top_k.
    """
    rank = retrieval_ranks(text, motion, batch_size=batch_size)
    return np.array([(rank < k).mean() for k in range(1, top_k + 1)])


def retrieval_ranks(text: np.ndarray, motion: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """``(N',)`` per pair, how many motions of its batch are strictly closer to its text than its own motion.

    Batches of ``batch_size`` consecutive pairs; the last incomplete batch is
    dropped (``N' = N // batch_size * batch_size``). Rank 0 = a top-1 hit;
    comparing two models' ranks on the same texts gives paired tests.
    """
    t, m = _emb(text, "r_precision"), _emb(motion, "r_precision")
    if t.shape != m.shape:
        raise InputError(f"r_precision: text {t.shape} and motion {m.shape} differ")
    nb = len(t) // batch_size
    if nb == 0:
        raise InputError(f"r_precision: need at least {batch_size} pairs, got {len(t)}")
    ranks = []
    for b in range(nb):
        sl = slice(b * batch_size, (b + 1) * batch_size)
        d = _cdist(t[sl], m[sl])
        ranks.append((d < np.diag(d)[:, None]).sum(1))  # how many motions are strictly closer than the match
    return np.concatenate(ranks)


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to embeddings ``a (N, D)`` and ``b (M, D)``."""
    a, b = _emb(a, "fid"), _emb(b, "fid")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.all(np.isfinite(covmean)):
        eps = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)
    return float(max(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean), 0.0))


def mm_dist(text: np.ndarray, motion: np.ndarray) -> float:
    """Mean Euclidean distance between each text embedding and its paired motion embedding."""
    t, m = _emb(text, "mm_dist"), _emb(motion, "mm_dist")
    return float(np.linalg.norm(t - m, axis=1).mean())


def diversity(motion: np.ndarray, *, pairs: int = 300, seed: int = 0) -> float:
    """Mean distance between ``pairs`` random pairs of motion embeddings."""
    m = _emb(motion, "diversity")
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(m), pairs), rng.integers(0, len(m), pairs)
    return float(np.linalg.norm(m[i] - m[j], axis=1).mean())


def multimodality(motion: np.ndarray, *, pairs: int = 10, seed: int = 0) -> float:
    """Mean distance between random pairs of motions generated for the same text; ``motion (N_texts, R, D)``."""
    m = np.asarray(motion, dtype=np.float64)
    if m.ndim != 3 or m.shape[1] < 2:
        raise InputError(f"multimodality: expected (N, R>=2, D) embeddings, got {m.shape}")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, m.shape[1], (len(m), pairs))
    j = rng.integers(0, m.shape[1], (len(m), pairs))
    rows = np.arange(len(m))[:, None]
    return float(np.linalg.norm(m[rows, i] - m[rows, j], axis=-1).mean())
