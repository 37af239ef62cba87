"""AnimateDiff + ControlNet backend (``AnimateDiffControlNetPipeline``, SD1.5).

The one diffusers video pipeline that takes several control signals at once:
one SD1.5 ControlNet per signal, in ``--signal`` order. The model folder is
either a saved ``AnimateDiffControlNetPipeline`` (ControlNets inside), or an
SD1.5 base (``StableDiffusionPipeline`` folder) plus ``--motion-adapter DIR``
(e.g. ``guoyww/animatediff-motion-adapter-v1-5-3``) and one ``--controlnet DIR``
per signal (``lllyasviel/control_v11p_sd15_openpose``,
``control_v11f1p_sd15_depth``, ``control_v11p_sd15_normalbae``).

Control conventions (those of the ControlNet 1.1 annotators):

- ``pose``: the ``"openpose"`` drawing (controlnet_aux): nose red, limbs at
  0.6 x colour, drawn at 512 px short side.
- ``depth``: per-frame relative inverse depth (MiDaS-style), near bright.
- ``normal``: ControlNet 1.1 normal map (:func:`humokit.render.controls.normals_to_image`).

``conditioning_frames`` are the control frames (a list per ControlNet when
there are several); ``controlnet_conditioning_scale`` = ``--scale`` (one value,
or one per signal). Any frame count; clips longer than the motion adapter's
window (32 frames for v1.5 adapters) use FreeNoise sliding windows of 16.
Default 8 fps, 512 x 512.
"""

from __future__ import annotations

import numpy as np

from humokit.errors import InputError
from humokit.video.base import (
    Backend,
    DriveSettings,
    Generation,
    finish_pipeline,
    generator,
    pil_frames,
    quiet_libraries,
    run_pipeline,
    torch_dtype,
)


def _from_pretrained(cls: type, path: object, what: str, dtype: object) -> object:
    from pathlib import Path

    p = Path(str(path))
    if not (p / "config.json").is_file():
        raise InputError(f"{what} {p}: no config.json, not a diffusers {cls.__name__} folder")
    try:
        return cls.from_pretrained(str(p), dtype=dtype)  # type: ignore[attr-defined]
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise InputError(f"{what} {p}: cannot load {cls.__name__}: {first[:300]}") from None


def check_args(folder: object, settings: DriveSettings, signals: tuple[str, ...]) -> None:
    """One-line errors for component folders that do not fit the model folder (before any loading)."""
    if folder.class_name == "StableDiffusionPipeline":  # type: ignore[attr-defined]
        if settings.motion_adapter is None:
            raise InputError(f"--model {folder.path}: an SD1.5 base needs --motion-adapter DIR")  # type: ignore[attr-defined]
        if len(settings.controlnets) != len(signals):
            raise InputError(f"--controlnet: give one ControlNet folder per signal ({len(signals)}: "
                             f"{', '.join(signals)}), got {len(settings.controlnets)}")
    elif settings.controlnets or settings.motion_adapter is not None:
        raise InputError("--controlnet/--motion-adapter apply to an SD1.5 base folder; "
                         f"{folder.path} already has them")  # type: ignore[attr-defined]


def _load(folder: object, settings: DriveSettings, signals: tuple[str, ...]) -> object:
    from diffusers import AnimateDiffControlNetPipeline, ControlNetModel, MotionAdapter

    check_args(folder, settings, signals)
    quiet_libraries()
    dtype = torch_dtype(settings.dtype)
    extra: dict[str, object] = {}
    if folder.class_name == "StableDiffusionPipeline":  # type: ignore[attr-defined]
        extra["motion_adapter"] = _from_pretrained(MotionAdapter, settings.motion_adapter, "--motion-adapter", dtype)
        nets = [_from_pretrained(ControlNetModel, c, "--controlnet", dtype) for c in settings.controlnets]
        extra["controlnet"] = nets[0] if len(nets) == 1 else nets
    try:
        pipe = AnimateDiffControlNetPipeline.from_pretrained(str(folder.path), dtype=dtype, **extra)  # type: ignore[attr-defined]
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise InputError(f"--model {folder.path}: cannot load AnimateDiffControlNetPipeline: {first[:300]}") from None  # type: ignore[attr-defined]
    n = len(getattr(pipe.controlnet, "nets", [pipe.controlnet]))
    if n != len(signals):
        raise InputError(f"--signal {','.join(signals)}: the model has {n} ControlNet(s); give {n} signal(s) "
                         "in the order of its ControlNets")
    finish_pipeline(pipe, settings)
    return pipe


def _generate(pipe: object, view: object, settings: DriveSettings, reference: np.ndarray | None,
              step_callback: object = None) -> Generation:
    signals = list(view.signals)  # type: ignore[attr-defined]
    controls = [view.signals[s] for s in signals]  # type: ignore[attr-defined]
    T, H, W = controls[0].shape[:3]
    if H % 8 or W % 8:
        raise InputError(f"size {W}x{H}: AnimateDiff needs multiples of 8")
    scales = list(settings.scales)
    if len(scales) not in (1, len(signals)):
        raise InputError(f"--scale: give one value or one per signal ({len(signals)}), got {len(scales)}")
    scale: object = scales[0] if len(signals) == 1 else (scales * len(signals) if len(scales) == 1 else scales)
    window = int(pipe.unet.config.get("motion_max_seq_length", 32) or 32)  # type: ignore[attr-defined]
    if T > window:
        pipe.enable_free_noise(context_length=min(16, window), context_stride=4)  # type: ignore[attr-defined]
    elif getattr(pipe, "free_noise_enabled", False):
        pipe.disable_free_noise()  # type: ignore[attr-defined]
    cond = pil_frames(controls[0]) if len(controls) == 1 else [pil_frames(c) for c in controls]
    guidance = 7.5 if settings.guidance is None else settings.guidance
    kwargs: dict[str, object] = dict(
        prompt=settings.prompt, negative_prompt=settings.negative_prompt or None, num_frames=T, height=H, width=W,
        num_inference_steps=settings.steps, guidance_scale=guidance, conditioning_frames=cond,
        controlnet_conditioning_scale=scale, generator=generator(settings.seed))
    inputs = {"control" if i == 0 else f"control_{s}": c for i, (s, c) in enumerate(zip(signals, controls))}
    frames, seconds, steps = run_pipeline(pipe, kwargs, step_callback)  # type: ignore[arg-type]
    return Generation(frames=frames, inputs=inputs, seconds=seconds, step_seconds=steps,
                      kwargs={"guidance_scale": guidance, "controlnet_conditioning_scale": scale,
                              "free_noise": T > window})


BACKEND = Backend(
    name="animatediff", pipeline="AnimateDiffControlNetPipeline", signals=("pose", "depth", "normal"),
    default_signals=("pose",), rule="any", max_frames=16, fps=8.0, size=(512, 512), pose_style="openpose",
    depth_style="inverse", load=_load, generate=_generate)
