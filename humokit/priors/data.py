"""Batches of normalised feature windows with cached caption embeddings, for training and evaluation.

Reads a HumanML3D-format folder through :class:`humokit.motion.dataset.MotionDataset`
(its ``entries``, ``mean``, ``std``) and draws batches with its own seeded
generator so every rank of a distributed run, and every evaluation, is
reproducible.

Training-only options: :func:`enrich_captions` adds generated captions
(:func:`humokit.motion.captions.rich_texts`) to every entry of a dataset
built by ``humokit data build`` (labels from ``takes/*.json``);
:class:`BatchSampler` can draw entries balanced by content label
(``balance``) and play windows faster or slower (``speed_range``);
:func:`drop_floating` removes windows whose feet stay off the floor (``max_foot_height``).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.captions import motion_stats, rich_texts
from humokit.motion.dataset import MotionDataset
from humokit.motion.features import FEATURE_DIM, RIC
from humokit.motion.skeleton import FOOT_JOINTS
from humokit.motion.texts import ClipLabels, tokens
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


def window_labels(root: str | Path) -> dict[str, ClipLabels]:
    """Window name -> labels (mirrored windows get mirrored labels), from ``root/takes/*.json`` (empty if none)."""
    out: dict[str, ClipLabels] = {}
    for f in sorted(Path(root).glob("takes/*.json")):
        rec = json.loads(f.read_text(encoding="utf-8"))
        if "labels" not in rec:
            continue
        lab = ClipLabels(**rec["labels"])
        for w in rec.get("windows", []):
            out[w["name"]] = lab.mirrored_labels() if w.get("mirrored") else lab
    return out


def foot_height(x: np.ndarray) -> float:
    """Median over frames of the lowest foot joint's height (metres) from un-normalised features ``(T, 263)``.

    Reads the joints' heights above the floor stored in the RIC channels (the
    dataset puts each clip's floor at 0); a walk on the floor gives ~0.01.
    """
    ric = np.asarray(x)[:, RIC].reshape(len(x), -1, 3)
    return float(np.median(ric[:, [j - 1 for j in FOOT_JOINTS], 1].min(axis=1)))


def drop_floating(ds: MotionDataset, max_height: float) -> list[str]:
    """Remove (in place) the entries whose :func:`foot_height` exceeds ``max_height`` metres; returns their names.

    Some archives' clips (in ours, CMU walks and runs) keep both feet 5-15 cm
    above the floor in most frames; a model trained on them learns to hover.
    """
    gone = [name for name, motion, _ in ds.entries if foot_height(motion) > max_height]
    drop = set(gone)
    ds.entries[:] = [e for e in ds.entries if e[0] not in drop]
    return gone


def enrich_captions(ds: MotionDataset, labels: dict[str, ClipLabels], n: int, *, seed: int = 0) -> int:
    """Add ``n`` generated captions to every entry with labels (in place); returns the entries enriched.

    Speed words follow each window's measured pelvis speed (:func:`~humokit.motion.captions.motion_stats`).
    """
    done = 0
    for name, motion, texts in ds.entries:
        lab = labels.get(name.split("#")[0])
        if lab is None:
            continue
        have = {c for c, _ in texts}
        texts += [(t, tokens(t)) for t in rich_texts(lab, motion_stats(motion), n, seed=seed) if t not in have]
        done += 1
    return done


def entry_contents(ds: MotionDataset, labels: dict[str, ClipLabels]) -> list[str]:
    """Content label of each entry (``""`` when unknown)."""
    return [labels[n.split("#")[0]].content if n.split("#")[0] in labels else "" for n, _, _ in ds.entries]


def resample_speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Un-normalised features ``(T, 263)`` played ``factor`` times faster (linear resampling).

    Per-frame velocity channels (root angular and linear velocity, joint
    velocities) are scaled by ``factor``; contacts stay 0/1.
    """
    T = len(x)
    n = max(2, int(round((T - 1) / factor)) + 1)
    t = np.minimum(np.arange(n) * factor, T - 1)
    i0 = np.floor(t).astype(int)
    i1 = np.minimum(i0 + 1, T - 1)
    w = (t - i0)[:, None]
    y = (1 - w) * x[i0] + w * x[i1]
    y[:, 0:3] *= factor
    y[:, 193:259] *= factor
    y[:, 259:263] = (y[:, 259:263] > 0.5).astype(y.dtype)
    return y.astype(np.float32)


class BatchSampler:
    """Draws batches ``dict(x, lengths, sentence, tokens, token_lengths, captions)`` from a dataset.

    Each item: one entry, one of its captions, a random crop of ``window``
    frames (``None``: up to ``max_frames``, a multiple of ``unit``),
    normalised and zero-padded to the longest item of the batch.

    ``contents`` + ``balance``: entries are drawn so that a content label
    with ``n`` entries is drawn with probability proportional to
    ``n ** balance`` (0: every label equally often; 1: plain uniform over
    entries). ``speed_range``: each training item is played a random factor
    in that range faster (:func:`resample_speed`; ``None``: off).
    """

    def __init__(self, ds: MotionDataset, bank: CaptionBank, batch_size: int, *, window: int | None = None,
                 max_frames: int = 196, unit: int = 4, seed: int = 0, contents: Sequence[str] | None = None,
                 balance: float = 1.0, speed_range: tuple[float, float] | None = None) -> None:  # fmt: skip
        self.ds, self.bank, self.batch_size = ds, bank, batch_size
        self.window, self.max_frames, self.unit = window, max_frames, unit
        self.rng = random.Random(seed)
        self.speed_range = tuple(speed_range) if speed_range else None
        self.weights: list[float] | None = None
        if contents is not None and balance != 1.0:
            if len(contents) != len(ds.entries):
                raise InputError(f"contents has {len(contents)} labels for {len(ds.entries)} entries")
            count = Counter(contents)
            self.weights = [count[c] ** balance / count[c] for c in contents]

    def draw(self, rng: random.Random, k: int) -> list[int]:
        """``k`` entry indices (balanced by content when configured)."""
        if self.weights is None:
            return [rng.randrange(len(self.ds)) for _ in range(k)]
        return rng.choices(range(len(self.ds)), weights=self.weights, k=k)

    def item(self, i: int, rng: random.Random, caption_index: int | None = None, augment: bool = False) -> tuple[np.ndarray, str]:
        _, motion, texts = self.ds.entries[i]
        cap = texts[caption_index % len(texts)][0] if caption_index is not None else rng.choice(texts)[0]
        if augment and self.speed_range is not None:
            motion = resample_speed(motion, rng.uniform(*self.speed_range))
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
        idx = self.draw(self.rng, self.batch_size)
        return self.collate([self.item(i, self.rng, augment=True) for i in idx])

    def fixed(self, n_batches: int, seed: int = 0) -> list[dict]:
        """``n_batches`` deterministic batches (for validation)."""
        rng = random.Random(seed)
        out = []
        for _ in range(n_batches):
            idx = [rng.randrange(len(self.ds)) for _ in range(self.batch_size)]
            out.append(self.collate([self.item(i, rng) for i in idx]))
        return out
