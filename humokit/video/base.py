"""What every ``humokit drive`` backend shares: settings, results, loading and sampling helpers.

A backend (:mod:`~humokit.video.vace`, :mod:`~humokit.video.animate`,
:mod:`~humokit.video.animatediff`) is a module-level :class:`Backend` that
knows its diffusers pipeline, its control conventions (pose drawing, depth
style, frame rule) and how to turn one :class:`~humokit.video.controls_io.ViewControls`
into the pipeline's keyword arguments.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from humokit.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriveSettings:
    """Sampling settings shared by the backends.

    Attributes:
        prompt, negative_prompt: text.
        steps: denoising steps; seed: generator seed (CPU generator: same seed, same noise on any device).
        guidance: classifier-free guidance scale (None: the backend's default).
        scales: control strengths (VACE ``conditioning_scale``; one per ControlNet for AnimateDiff).
        mode: Wan-Animate ``"animate"`` or ``"replace"``.
        device: ``"cuda"`` or ``"cpu"``; dtype: ``"bfloat16"`` or ``"float32"``.
        cpu_offload, vae_tiling: memory savers (CUDA).
        motion_adapter, controlnets: AnimateDiff component folders for an SD1.5 base folder.
        background: ``(T, H, W, 3)`` uint8 frames to keep outside the body (VACE) / to replace into (Wan-Animate).
    """

    prompt: str = ""
    negative_prompt: str = ""
    steps: int = 30
    seed: int = 0
    guidance: float | None = None
    scales: tuple[float, ...] = (1.0,)
    mode: str = "animate"
    device: str = "cpu"
    dtype: str = "float32"
    cpu_offload: bool = False
    vae_tiling: bool = False
    motion_adapter: Path | None = None
    controlnets: tuple[Path, ...] = ()
    background: np.ndarray | None = None


@dataclass(frozen=True)
class Generation:
    """One generated view.

    Attributes:
        frames: ``(T, H, W, 3)`` uint8 generated video.
        inputs: name -> uint8 array of exactly what the pipeline was given
            (``"control"`` / ``"control_<signal>"`` ``(T, H, W, 3)``, ``"face"``,
            ``"mask"``, ``"reference"`` ``(H, W, 3)``).
        seconds: wall time of the pipeline call.
        step_seconds: wall time of each denoising step.
        kwargs: the scalar settings passed to the pipeline (for drive.json).
    """

    frames: np.ndarray
    inputs: dict[str, np.ndarray]
    seconds: float
    step_seconds: list[float]
    kwargs: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Backend:
    """A diffusers pipeline family and its control conventions.

    Attributes:
        name: ``"vace"``, ``"animate"`` or ``"animatediff"``.
        pipeline: diffusers pipeline class name.
        signals: signals the model was trained on; default_signals: used when ``--signal`` is not given.
        rule: frame rule ``"4k+1"`` or ``"any"``; max_frames: default longest clip.
        fps: frame rate the model was trained at (motions are resampled to it).
        size: default ``(width, height)`` when rendering a motion.
        pose_style, depth_style: conventions of the pose and depth controls.
        load: ``(ModelFolder, DriveSettings, signals) -> pipeline``.
        generate: ``(pipeline, ViewControls, DriveSettings, reference, step_callback) -> Generation``.
    """

    name: str
    pipeline: str
    signals: tuple[str, ...]
    default_signals: tuple[str, ...]
    rule: str
    max_frames: int
    fps: float
    size: tuple[int, int]
    pose_style: str
    depth_style: str
    load: Callable[..., object]
    generate: Callable[..., Generation]


def quiet_libraries() -> None:
    """Silence diffusers/transformers progress bars and info logs (humokit shows its own progress)."""
    import warnings

    import diffusers
    import transformers

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(diffusers|transformers)\.")
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def torch_dtype(name: str) -> object:
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def load_pipeline(cls: type, path: Path, settings: DriveSettings, **components: object) -> object:
    """``cls.from_pretrained(path)`` in the settings' dtype, on its device (or CPU offload), one-line errors."""
    quiet_libraries()
    try:
        pipe = cls.from_pretrained(str(path), dtype=torch_dtype(settings.dtype), **components)  # type: ignore[attr-defined]
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise InputError(f"--model {path}: cannot load {cls.__name__}: {first[:300]}") from None
    finish_pipeline(pipe, settings)
    return pipe


def wan_vae_fp32(path: Path, settings: DriveSettings) -> dict[str, object]:
    """``{"vae": AutoencoderKLWan in float32}`` when the pipeline runs in a half dtype (Wan's VAE is unstable in bf16)."""
    if settings.dtype == "float32":
        return {}
    import torch
    from diffusers import AutoencoderKLWan

    try:
        return {"vae": AutoencoderKLWan.from_pretrained(str(path / "vae"), dtype=torch.float32)}
    except (OSError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise InputError(f"--model {path}: cannot load vae: {first[:300]}") from None


def finish_pipeline(pipe: object, settings: DriveSettings) -> None:
    """Device placement, offload and VAE tiling."""
    if settings.device == "cuda" and settings.cpu_offload:
        pipe.enable_model_cpu_offload()  # type: ignore[attr-defined]
    else:
        pipe.to(settings.device)  # type: ignore[attr-defined]
    if settings.vae_tiling:
        pipe.vae.enable_tiling()  # type: ignore[attr-defined]
    pipe.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]


def run_pipeline(pipe: object, kwargs: dict[str, object], step_callback: Callable[[], None] | None
                 ) -> tuple[np.ndarray, float, list[float]]:
    """Call the pipeline with a seeded generator; ``(frames (T, H, W, 3) uint8, seconds, per-step seconds)``."""
    import torch

    ticks: list[float] = []

    def on_step(_pipe: object, _i: int, _t: object, cb_kwargs: dict[str, object]) -> dict[str, object]:
        ticks.append(time.perf_counter())
        if step_callback is not None:
            step_callback()
        return cb_kwargs

    t0 = time.perf_counter()
    with torch.inference_mode():
        out = pipe(**kwargs, callback_on_step_end=on_step, output_type="np")  # type: ignore[operator]
    seconds = time.perf_counter() - t0
    video = np.asarray(out.frames[0], dtype=np.float32)
    if not np.isfinite(video).all():
        raise InputError("the model produced NaN or inf values (try float32, or check the weights)")
    frames = np.round(np.clip(video, 0.0, 1.0) * 255.0).astype(np.uint8)
    # per-step times between step ends (the first interval also holds prompt encoding and setup)
    steps = np.diff(ticks).tolist() if len(ticks) > 1 else [seconds]
    return frames, seconds, steps


def generator(seed: int) -> object:
    import torch

    return torch.Generator(device="cpu").manual_seed(int(seed))


def pil_frames(frames: np.ndarray, mode: str = "RGB") -> list[object]:
    from PIL import Image

    return [Image.fromarray(np.ascontiguousarray(f)).convert(mode) for f in frames]
