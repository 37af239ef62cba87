"""Helpers: tiny synthetic HumanML3D-format dataset and tiny model configs for the priors tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from humokit.motion.builtin import builtin_motion
from humokit.motion.features import joints_to_features, mean_std, save_mean_std
from humokit.motion.texts import humanml3d_lines

CAPTIONS = {
    "walk": ["a person walks forward.", "someone walks straight ahead."],
    "wave": ["a person waves the right hand.", "someone waves with the right hand."],
    "squat": ["a person squats down.", "someone does a squat."],
}


def make_dataset(folder: Path, per_class: int = 8) -> Path:
    """Write a HumanML3D-format folder with walk/wave/squat clips (20 fps, 3-4.5 s)."""
    (folder / "new_joint_vecs").mkdir(parents=True, exist_ok=True)
    (folder / "texts").mkdir(exist_ok=True)
    names: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    feats = []
    for c, caps in CAPTIONS.items():
        for k in range(per_class):
            m = builtin_motion(c, seconds=3.0 + 0.2 * k, fps=20.0)
            f = joints_to_features(m.joints())
            name = f"{c}_{k:02d}"
            np.save(folder / "new_joint_vecs" / f"{name}.npy", f)
            (folder / "texts" / f"{name}.txt").write_text(humanml3d_lines(caps))
            split = "train" if k < per_class - 2 else ("val" if k == per_class - 2 else "test")
            names[split].append(name)
            if split == "train":
                feats.append(f)
    mean, std = mean_std(feats)
    save_mean_std(folder, mean, std)
    for s, ns in names.items():
        (folder / f"{s}.txt").write_text("\n".join(ns) + "\n")
    return folder


TINY_MODELS = {
    "vq": {"width": 32, "depth": 1, "code_dim": 16, "codebook_size": 32, "num_quantizers": 3},
    "mask": {"dim": 32, "layers": 1, "heads": 2, "ff": 64, "dropout": 0.0},
    "res": {"dim": 32, "layers": 1, "heads": 2, "ff": 64, "dropout": 0.0},
    "diffusion": {"dim": 32, "layers": 1, "heads": 2, "ff": 64, "dropout": 0.0, "train_steps": 100},
    "cvae": {"dim": 32, "latent": 8, "layers": 1, "heads": 2, "ff": 64, "dropout": 0.0},
    "evaluator": {"hidden": 32, "embed": 16, "dropout": 0.0},
}


def tiny_config(kind: str, root: Path, steps: int = 20, **train: object) -> dict:
    """A tiny training config for ``kind`` on the dataset at ``root`` (hash text encoder)."""
    return {"kind": kind, "text_encoder": "hash", "data": {"root": str(root), "max_frames": 96,
            "window": 32 if kind == "vq" else None, "cache_in_output": True},
            "model": dict(TINY_MODELS[kind]),
            "train": {"batch_size": 8, "lr": 2e-3, "steps": steps, "warmup": 1, "eval_every": 10, "val_batches": 1,
                      "seed": 0, **train}}  # fmt: skip
