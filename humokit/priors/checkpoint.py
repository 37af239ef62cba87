"""Checkpoints: ``model.safetensors`` (weights + dataset ``normalizer.mean/std``) and ``config.json``.

``config.json`` holds ``kind`` (vq, mask, res, diffusion, cvae, evaluator),
``format_version``, the model hyper-parameters under ``model``, the text
encoder name, the frame rate and free extras (e.g. the training command).
:func:`export_checkpoint` writes a float16 copy for shipping.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from humokit._io import atomic_path
from humokit._paths import checkpoints_dir
from humokit.errors import InputError
from humokit.priors.cvae import CVAEConfig, MotionCVAE
from humokit.priors.diffusion import DiffusionConfig, MotionDiffusion
from humokit.priors.evaluator import EvaluatorConfig, MotionTextEvaluator
from humokit.priors.mask import MaskConfig, MaskTransformer, ResidualTransformer
from humokit.priors.vq import RVQVAE, VQConfig

FORMAT_VERSION = 1
KINDS: dict[str, tuple[type, type[nn.Module]]] = {
    "vq": (VQConfig, RVQVAE),
    "mask": (MaskConfig, MaskTransformer),
    "res": (MaskConfig, ResidualTransformer),
    "diffusion": (DiffusionConfig, MotionDiffusion),
    "cvae": (CVAEConfig, MotionCVAE),
    "evaluator": (EvaluatorConfig, MotionTextEvaluator),
}


@dataclass(frozen=True)
class Checkpoint:
    """A loaded model with its normaliser (``mean``/``std`` ``(263,)``) and ``config.json`` contents."""

    model: nn.Module
    mean: np.ndarray
    std: np.ndarray
    config: dict
    path: Path


def build_model(kind: str, params: dict) -> nn.Module:
    """A fresh model of ``kind`` with hyper-parameters ``params`` (unknown keys are an ``InputError``)."""
    if kind not in KINDS:
        raise InputError(f"unknown model kind {kind!r}; known: {', '.join(KINDS)}")
    cfg_cls, model_cls = KINDS[kind]
    try:
        cfg = cfg_cls(**params)
    except (TypeError, ValueError) as e:  # unknown keys, values out of range
        raise InputError(f"{kind} model config: {e}") from None
    return model_cls(cfg)


def save_checkpoint(folder: str | Path, model: nn.Module, mean: np.ndarray, std: np.ndarray, *,
                    extra: dict | None = None, half: bool = False, name: str = "model") -> Path:  # fmt: skip
    """Write ``folder/<name>.safetensors`` and ``folder/config.json`` (atomically)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    sd["normalizer.mean"] = torch.as_tensor(mean, dtype=torch.float32)
    sd["normalizer.std"] = torch.as_tensor(std, dtype=torch.float32)
    path = folder / f"{name}.safetensors"
    with atomic_path(path) as tmp:
        save_file(sd, str(tmp))
    cfg = {"kind": model.kind, "format_version": FORMAT_VERSION, "model": model.cfg.to_dict(), "fps": 20.0,
           **(extra or {})}  # fmt: skip
    with atomic_path(folder / _config_name(name)) as tmp:
        tmp.write_text(json.dumps(cfg, indent=2) + "\n")
    return path


def _config_name(name: str) -> str:
    return "config.json" if name == "model" else f"{name}_config.json"


def resolve(where: str | Path) -> Path:
    """A checkpoint folder: a path, or the name of a shipped one in ``humokit/checkpoints``."""
    p = Path(where)
    if not p.exists() and (checkpoints_dir() / str(where)).is_dir():
        return checkpoints_dir() / str(where)
    return p


# whitening buffers of diffusion and CVAE checkpoints written before they used SentenceWhitening
_RENAMED_KEYS = {"text_mean": "whiten.mean", "text_proj": "whiten.proj"}


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A ``.safetensors`` weights file as a float32 state dict (older key names renamed)."""
    from safetensors.torch import load_file

    return {_RENAMED_KEYS.get(k, k): v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}


def load_checkpoint(where: str | Path, kind: str | None = None, *, name: str = "model") -> Checkpoint:
    """Load a checkpoint folder (or shipped name) as float32, in eval mode; checks ``kind``."""
    folder = resolve(where)
    cfg_path, w_path = folder / _config_name(name), folder / f"{name}.safetensors"
    if not cfg_path.is_file() or not w_path.is_file():
        raise InputError(f"{folder}: no checkpoint here (need {cfg_path.name} and {name}.safetensors)")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{cfg_path}: invalid JSON ({e.msg})") from None
    got = cfg.get("kind")
    if kind is not None and got != kind:
        raise InputError(f"{folder}: checkpoint is a {got!r} model, expected {kind!r}")
    model = build_model(got, cfg.get("model", {}))
    sd = read_state_dict(w_path)
    mean, std = sd.pop("normalizer.mean").numpy(), sd.pop("normalizer.std").numpy()
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if unexpected or missing:
        raise InputError(f"{w_path}: weights do not match the {got!r} config ({len(missing)} missing, {len(unexpected)} unexpected)")
    return Checkpoint(model.eval(), mean, std, cfg, folder)


def export_checkpoint(src: str | Path, dst: str | Path, *, half: bool = True) -> Path:
    """Copy the checkpoint at ``src`` to ``dst`` (float16 weights by default), keeping its config extras."""
    ck = load_checkpoint(src)
    extra = {k: v for k, v in ck.config.items() if k not in ("kind", "format_version", "model", "fps")}
    return save_checkpoint(dst, ck.model, ck.mean, ck.std, extra=extra, half=half)


if __name__ == "__main__":  # python -m humokit.priors.checkpoint SRC DST
    print(export_checkpoint(sys.argv[1], sys.argv[2]))
