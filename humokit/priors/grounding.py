"""Prompt grounding: condition a model on what its training captions say, not only on the prompt.

A :class:`CaptionIndex` holds the training captions of the shipped models
with their content labels and sentence embeddings (int8, one scale per row).
:func:`ground` embeds nothing itself: given a prompt's sentence embedding it
finds the ``k`` nearest training captions (cosine similarity), drops the
captions whose side words (left, right, both) differ from the prompt's when it has any ("left" asked: only captions saying "left"),
and returns a blend ``normalize((1 - w) * prompt + w * sum_i softmax(sim_i /
tau) * caption_i)`` that the models are conditioned on, with the neighbours
for ``--explain`` and a flag when the best similarity is low (the prompt is
far from anything the model learned).

Build an index for a dataset with ``python -m humokit.priors.grounding
DATA OUT.npz`` (train split captions, as the trainer enriches them).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from humokit._io import atomic_path
from humokit.errors import FileFormatError

LOW_SIMILARITY = 0.45
_SIDE_RE = re.compile(r"\b(left|right|both)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Neighbour:
    """One training caption near a prompt."""

    caption: str
    content: str
    similarity: float


@dataclass(frozen=True)
class Grounding:
    """Result of :func:`ground`.

    Attributes:
        embedding: ``(D,)`` unit vector the model is conditioned on.
        neighbours: nearest kept training captions, most similar first.
        best: similarity of the nearest caption (before side filtering).
        low: True when ``best < LOW_SIMILARITY``.
    """

    embedding: np.ndarray
    neighbours: tuple[Neighbour, ...]
    best: float
    low: bool


class CaptionIndex:
    """Training captions, their content labels and unit sentence embeddings ``(N, D)``."""

    def __init__(self, captions: list[str], contents: list[str], sentence: np.ndarray, encoder: str = "minilm") -> None:
        if len(captions) != len(contents) or len(captions) != len(sentence):
            raise ValueError("captions, contents and embeddings differ in length")
        s = np.asarray(sentence, dtype=np.float32)
        self.sentence = s / np.linalg.norm(s, axis=-1, keepdims=True).clip(1e-8)
        self.captions, self.contents, self.encoder = list(captions), list(contents), encoder
        self._sides = [frozenset(w.lower() for w in _SIDE_RE.findall(c)) for c in self.captions]

    def __len__(self) -> int:
        return len(self.captions)

    def save(self, path: str | Path) -> Path:
        """Write ``.npz`` (int8 embeddings with per-row scales; strings as fixed-width unicode)."""
        scale = np.abs(self.sentence).max(-1).clip(1e-8) / 127.0
        q = np.round(self.sentence / scale[:, None]).astype(np.int8)
        path = Path(path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, captions=np.array(self.captions), contents=np.array(self.contents),
                                    sentence=q, scale=scale.astype(np.float32), encoder=np.array(self.encoder))  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | Path) -> "CaptionIndex":
        try:
            with np.load(path, allow_pickle=False) as z:
                sent = z["sentence"].astype(np.float32) * z["scale"][:, None]
                return cls([str(c) for c in z["captions"]], [str(c) for c in z["contents"]], sent, str(z["encoder"]))
        except (OSError, KeyError, ValueError) as e:
            raise FileFormatError(path, f"not a caption index ({e})") from None


def _sides(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _SIDE_RE.findall(text))


def ground(index: CaptionIndex, prompt: str, embedding: np.ndarray, *, weight: float = 0.7, k: int = 8,
           tau: float = 0.05) -> Grounding:  # fmt: skip
    """Blend a prompt's sentence embedding ``(D,)`` with its nearest training captions.

    Args:
        index: training captions.
        prompt: the prompt text (its left/right words filter the neighbours).
        embedding: the prompt's sentence embedding (same encoder as the index).
        weight: share of the neighbour blend (0: the prompt alone; 1: the neighbours alone).
        k: neighbours blended.
        tau: softmax temperature over similarities.
    """
    e = np.asarray(embedding, dtype=np.float32)
    e = e / max(float(np.linalg.norm(e)), 1e-8)
    sim = index.sentence @ e
    best = float(sim.max()) if len(sim) else 0.0
    want = _sides(prompt)
    order = np.argsort(-sim)
    keep = [int(i) for i in order if index._sides[i] == want][:k] if want else []
    if not keep:  # no side words asked (or no caption has exactly them): nearest captions as they are
        keep = [int(i) for i in order[:k]]
    if not keep or weight <= 0:
        return Grounding(e, tuple(Neighbour(index.captions[i], index.contents[i], float(sim[i])) for i in keep), best,
                         best < LOW_SIMILARITY)  # fmt: skip
    s = sim[keep]
    w = np.exp((s - s.max()) / tau)
    w /= w.sum()
    blend = (w[:, None] * index.sentence[keep]).sum(0)
    out = (1.0 - weight) * e + weight * blend / max(float(np.linalg.norm(blend)), 1e-8)
    out /= max(float(np.linalg.norm(out)), 1e-8)
    nb = tuple(Neighbour(index.captions[i], index.contents[i], float(sim[i])) for i in keep)
    return Grounding(out.astype(np.float32), nb, best, best < LOW_SIMILARITY)


def build_index(root: str | Path, *, rich_captions: int = 24, seed: int = 0, encoder: str = "minilm",
                progress: bool = True) -> CaptionIndex:  # fmt: skip
    """Caption index of a dataset's train split, captions enriched as the trainer does."""
    from humokit.priors.data import all_captions, enrich_captions, open_split, window_labels
    from humokit.priors.text import CaptionBank, get_text_encoder

    ds = open_split(root, "train")
    val = open_split(root, "val")
    labels = window_labels(root)
    if rich_captions:
        enrich_captions(ds, labels, rich_captions, seed=seed)
    content: dict[str, str] = {}
    for name, _, texts in ds.entries:
        lab = labels.get(name.split("#")[0])
        for cap, _ in texts:
            content.setdefault(cap, lab.content if lab else "")
    caps = sorted(content)
    # the trainer's bank (train + val captions): its cache is reused; only train captions enter the index
    bank = CaptionBank(get_text_encoder(encoder), all_captions(ds, val), progress=progress, tokens=False)
    sent = bank.sentence[[bank.index[c] for c in caps]].numpy()
    return CaptionIndex(caps, [content[c] for c in caps], sent, encoder)


if __name__ == "__main__":  # python -m humokit.priors.grounding DATA OUT.npz [RICH]
    import os

    idx = build_index(os.path.expanduser(sys.argv[1]), rich_captions=int(sys.argv[3]) if len(sys.argv) > 3 else 24)
    print(idx.save(sys.argv[2]), len(idx), "captions")
