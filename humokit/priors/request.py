"""Checking a generation request before anything is loaded (no torch, no weights).

:func:`check_request` validates every option of :func:`~humokit.priors.generate`
(text, model family, length against the checkpoints' ``max_frames``, steps,
guidance, keyframes file, edit mask) by reading only the checkpoints'
``config.json`` files, so a bad option fails in milliseconds instead of after
the models load. The CLI, the viewer's Generate panel and ``generate`` itself
call it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from humokit._paths import checkpoints_dir
from humokit.errors import InputError

MODELS = ("mask", "diffusion", "cvae")
FAMILY_PARTS: dict[str, tuple[str, ...]] = {"mask": ("vq", "mask", "res"), "diffusion": ("diffusion",), "cvae": ("cvae",)}
MIN_SECONDS = 0.4
FPS = 20.0  # frame rate of every shipped prior (HumanML3D)


@dataclass(frozen=True)
class GenerateRequest:
    """A checked request.

    Attributes:
        num_frames: frames to generate (``round(seconds * 20)``).
        max_frames: the checkpoints' longest motion.
        checkpoints: folder holding the family's checkpoint sub-folders.
    """

    num_frames: int
    max_frames: int
    checkpoints: Path


def family_max_frames(model: str, checkpoints: str | Path | None = None) -> tuple[int, Path]:
    """``(max_frames, folder)`` of a family, read from its first part's ``config.json`` (no weights loaded)."""
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    base = Path(checkpoints) if checkpoints else checkpoints_dir()
    if not base.is_dir():
        raise InputError(f"{base}: no checkpoint folder here")
    max_frames = None
    for part in FAMILY_PARTS[model]:
        folder = base / part
        cfg_path = folder / "config.json"
        if not cfg_path.is_file() or not (folder / "model.safetensors").is_file():
            raise InputError(f"{folder}: no {part} checkpoint here (need config.json and model.safetensors)")
        if max_frames is None:
            try:
                cfg = json.loads(cfg_path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise InputError(f"{cfg_path}: invalid JSON ({e})") from None
            max_frames = int(cfg.get("max_frames", 196))
    return int(max_frames or 196), base


def check_seconds(text: str, seconds: float, max_frames: int) -> int:
    """Frames for ``seconds`` after checking the prompt and the length (``MIN_SECONDS .. max_frames / 20``)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("generate: the text prompt is empty")
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        raise InputError(f"generate: seconds must be a number, got {seconds!r}") from None
    hi = max_frames / FPS
    if not math.isfinite(s) or not MIN_SECONDS <= s <= hi:
        raise InputError(f"generate: seconds must be between {MIN_SECONDS} and {hi:g}, got {seconds}")
    return int(round(s * FPS))


def check_request(
    text: str,
    model: str = "mask",
    seconds: float = 4.0,
    *,
    checkpoints: str | Path | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    keyframes: object | None = None,
    edit_mask: str | np.ndarray | None = None,
    seed: int | None = None,
) -> GenerateRequest:
    """Validate a generation request; raise :class:`InputError` naming the first bad option.

    Reads only ``config.json`` files and, when given as a path, the keyframes
    ``.npz`` header (its keys), never model weights.
    """
    max_frames, base = family_max_frames(model, checkpoints)
    T = check_seconds(text, seconds, max_frames)
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= 10000):
        raise InputError(f"generate: steps must be an integer in 1..10000, got {steps!r}")
    if guidance is not None:
        try:
            g = float(guidance)
        except (TypeError, ValueError):
            raise InputError(f"generate: guidance must be a number, got {guidance!r}") from None
        if not (math.isfinite(g) and 0 <= g <= 100):
            raise InputError(f"generate: guidance must be in [0, 100], got {guidance!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63):
        raise InputError(f"generate: seed must be a non-negative integer, got {seed!r}")
    if keyframes is None:
        if edit_mask is not None:
            raise InputError("generate: an edit mask needs keyframes (the motion to edit)")
    elif isinstance(keyframes, (str, Path)):
        _check_keyframes_file(Path(keyframes))
    if edit_mask is not None:
        from humokit.priors.edit import parse_edit_mask

        parse_edit_mask(edit_mask, T)
    return GenerateRequest(T, max_frames, base)


def _check_keyframes_file(path: Path) -> None:
    if not path.is_file():
        raise InputError(f"{path}: keyframe file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
    except Exception as e:  # zip/npy parse errors
        raise InputError(f"{path}: not a readable .npz file ({type(e).__name__})") from None
    if not ({"frames", "joints"} <= keys or "rotations" in keys or "poses" in keys):
        raise InputError(f"{path}: neither keyframes (frames, joints) nor a motion (rotations or poses)")
