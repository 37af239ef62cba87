"""Wan-VACE backend (``WanVACEPipeline``: Wan2.1-VACE 1.3B/14B, Wan2.2-VACE-Fun through ``transformer_2``).

Inputs handed to the pipeline:

- ``video``: the control frames (one signal: ``pose`` drawn in the
  ``"vace"`` style, nose blue, body + 68 face dots; or ``depth`` as per-frame
  relative inverse depth, near bright, 3 channels).
- ``mask``: none (every pixel is generated), or with a background video the
  dilated body silhouette (white = generate) and ``video`` = the background
  outside the body, the control inside it.
- ``reference_images``: one image of the person composited on white (the
  user's ``--reference``, else humokit's RGB render of the first frame on
  white), as VACE's reference-to-video task expects.
- ``conditioning_scale``: the control strength (``--scale``).

Frames ``1 + 4k`` (16 fps), sizes multiples of 16.
"""

from __future__ import annotations

import numpy as np

from humokit.errors import InputError
from humokit.video.base import (
    Backend,
    DriveSettings,
    Generation,
    generator,
    load_pipeline,
    pil_frames,
    quiet_libraries,
    run_pipeline,
    wan_vae_fp32,
)


def _load(folder: object, settings: DriveSettings, signals: tuple[str, ...]) -> object:
    from diffusers import WanVACEPipeline

    quiet_libraries()
    return load_pipeline(WanVACEPipeline, folder.path, settings, **wan_vae_fp32(folder.path, settings))  # type: ignore[attr-defined]


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of ``(T, H, W)`` masks by a square of ``2 radius + 1`` pixels."""
    from scipy.ndimage import binary_dilation

    if radius <= 0:
        return mask.astype(bool)
    st = np.zeros((1, 2 * radius + 1, 2 * radius + 1), dtype=bool)
    st[0] = True
    return binary_dilation(mask.astype(bool), structure=st)


def _generate(pipe: object, view: object, settings: DriveSettings, reference: np.ndarray | None,
              step_callback: object = None) -> Generation:
    signals = list(view.signals)  # type: ignore[attr-defined]
    if len(signals) != 1:
        raise InputError(f"--signal: VACE takes one control video, got {', '.join(signals)}")
    control = view.signals[signals[0]]  # type: ignore[attr-defined]
    T, H, W = control.shape[:3]
    video = control
    inputs: dict[str, np.ndarray] = {"control": control}
    mask_frames = None
    if settings.background is not None:
        if view.mask is None:  # type: ignore[attr-defined]
            raise InputError("--background needs the body mask (mask/ frames in the controls)")
        m = dilate(view.mask, max(2, min(W, H) // 64))  # type: ignore[attr-defined]
        video = np.where(m[..., None], control, settings.background[:T])
        mask_frames = np.where(m, 255, 0).astype(np.uint8)
        inputs["control"] = video
        inputs["mask"] = mask_frames
    n_layers = len(pipe.transformer.config.vace_layers if pipe.transformer is not None  # type: ignore[attr-defined]
                   else pipe.transformer_2.config.vace_layers)  # type: ignore[attr-defined]
    scale = settings.scales[0] if len(settings.scales) == 1 else list(settings.scales)
    if isinstance(scale, list) and len(scale) != n_layers:
        raise InputError(f"--scale: give one value or {n_layers} (one per VACE layer), got {len(scale)}")
    guidance = 5.0 if settings.guidance is None else settings.guidance
    kwargs: dict[str, object] = dict(
        prompt=settings.prompt, negative_prompt=settings.negative_prompt, video=pil_frames(video),
        mask=None if mask_frames is None else pil_frames(mask_frames, "L"),
        reference_images=None if reference is None else pil_frames(reference[None])[:1],
        conditioning_scale=scale, height=H, width=W, num_frames=T, num_inference_steps=settings.steps,
        guidance_scale=guidance, generator=generator(settings.seed))
    if reference is not None:
        inputs["reference"] = reference
    frames, seconds, steps = run_pipeline(pipe, kwargs, step_callback)  # type: ignore[arg-type]
    return Generation(frames=frames, inputs=inputs, seconds=seconds, step_seconds=steps,
                      kwargs={"guidance_scale": guidance, "conditioning_scale": scale,
                              "mask": "background" if mask_frames is not None else "all generate",
                              "reference": reference is not None})


BACKEND = Backend(
    name="vace", pipeline="WanVACEPipeline", signals=("pose", "depth"), default_signals=("pose",), rule="4k+1",
    max_frames=81, fps=16.0, size=(832, 480), pose_style="vace", depth_style="inverse", load=_load,
    generate=_generate)
