"""Batches of normalised feature windows with cached caption embeddings, for training and evaluation.

Reads a HumanML3D-format folder through :class:`humokit.motion.dataset.MotionDataset`
(its ``entries``, ``mean``, ``std``) and draws batches with its own seeded
generator so every rank of a distributed run, and every evaluation, is
reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.dataset import MotionDataset
from humokit.motion.features import FEATURE_DIM
from humokit.priors.text import CaptionBank


def open_split(root: str | Path, split: str, *, max_frames: int = 196, min_frames: int = 40) -> MotionDataset:
    """The ``split`` of the dataset at ``root`` (raises ``InputError`` when it has no entries)."""
    ds = MotionDataset(root, split, max_frames=max_frames, min_frames=min_frames, unit_length=4)
    if len(ds) == 0:
        raise InputError(f"{root}: split {split!r} has no usable motions")
    return ds


def all_captions(*datasets: MotionDataset) -> list[str]:
    """Every caption of the given datasets (unique, sorted)."""
    return sorted({cap for ds in datasets for _, _, texts in ds.entries for cap, _ in texts})


class BatchSampler:
    """Draws batches ``dict(x, lengths, sentence, tokens, token_lengths, captions)`` from a dataset.

    Each item: one entry, one of its captions, a random crop of ``window``
    frames (``None``: up to ``max_frames``, a multiple of ``unit``),
    normalised and zero-padded to the longest item of the batch.
    """

    def __init__(self, ds: MotionDataset, bank: CaptionBank, batch_size: int, *, window: int | None = None,
                 max_frames: int = 196, unit: int = 4, seed: int = 0) -> None:  # fmt: skip
        self.ds, self.bank, self.batch_size = ds, bank, batch_size
        self.window, self.max_frames, self.unit = window, max_frames, unit
        self.rng = random.Random(seed)

    def item(self, i: int, rng: random.Random, caption_index: int | None = None) -> tuple[np.ndarray, str]:
        _, motion, texts = self.ds.entries[i]
        cap = texts[caption_index % len(texts)][0] if caption_index is not None else rng.choice(texts)[0]
        n = min(len(motion), self.window or self.max_frames)
        n = max(self.unit, (n // self.unit) * self.unit)
        s = rng.randint(0, max(0, len(motion) - n))
        x = motion[s : s + n].astype(np.float32)
        if self.ds.mean is not None:
            x = (x - self.ds.mean) / self.ds.std
        return x, cap

    def collate(self, items: Sequence[tuple[np.ndarray, str]]) -> dict:
        lengths = torch.tensor([len(x) for x, _ in items])
        T = int(lengths.max())
        x = torch.zeros(len(items), T, FEATURE_DIM)
        for k, (m, _) in enumerate(items):
            x[k, : len(m)] = torch.from_numpy(m)
        caps = [c for _, c in items]
        e = self.bank.lookup(caps)
        return {"x": x, "lengths": lengths, "sentence": e.sentence, "tokens": e.tokens,
                "token_lengths": e.lengths, "captions": caps}  # fmt: skip

    def sample(self) -> dict:
        idx = [self.rng.randrange(len(self.ds)) for _ in range(self.batch_size)]
        return self.collate([self.item(i, self.rng) for i in idx])

    def fixed(self, n_batches: int, seed: int = 0) -> list[dict]:
        """``n_batches`` deterministic batches (for validation)."""
        rng = random.Random(seed)
        out = []
        for _ in range(n_batches):
            idx = [rng.randrange(len(self.ds)) for _ in range(self.batch_size)]
            out.append(self.collate([self.item(i, rng) for i in idx]))
        return out
