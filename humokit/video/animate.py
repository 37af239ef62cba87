"""Wan-Animate backend (``WanAnimatePipeline``: Wan2.2-Animate-14B).

Inputs handed to the pipeline:

- ``image``: the character (``--reference``, else humokit's RGB render of
  the first frame on white).
- ``pose_video``: the ``"wan_animate"`` drawing: OpenPose-18 + left/right toe
  (20 points, 19 limbs), nose red, limbs at 0.6 x colour, stick half-width
  ``max(min(H, W) // 200 - 1, 1)``.
- ``face_video``: 512 x 512 face crops of humokit's own RGB render of the
  body/avatar (:func:`face_crops`), which drive the expression encoder.
- ``mode="replace"``: ``background_video`` (``--background``) and
  ``mask_video`` = the body silhouette (white = generate).

Clips are generated in segments of up to 77 frames (one segment when the clip
is shorter), at 30 fps by default.
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

FACE_SIZE = 512


def face_box(points: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Crop box ``(x0, y0, x1, y1)`` (pixels, exclusive end) around visible face points, or None.

    68 points: their bounding box grown to 1.3 x its area, widened evenly and
    raised three times more above than below (as Wan-Animate's preprocessing
    crops its detector's face landmarks). Fewer points (OpenPose's nose, eyes,
    ears): a square of 1.6 x their extent centred a little below them.
    """
    p = np.asarray(points, dtype=np.float64)
    vis = p[p[:, 2] > 0, :2]
    if len(vis) < 2:
        return None
    lo, hi = vis.min(0), vis.max(0)
    w0, h0 = max(hi[0] - lo[0], 1.0), max(hi[1] - lo[1], 1.0)
    if len(p) >= 68:
        s = np.sqrt(1.3)
        dw, dh = (w0 * s - w0) / 2, (h0 * s - h0) / 4
        x0, x1, y0, y1 = lo[0] - dw, hi[0] + dw, lo[1] - 3 * dh, hi[1] + dh
    else:
        side = 1.6 * max(w0, h0, 4.0)
        cx, cy = 0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1]) + 0.15 * side
        x0, x1, y0, y1 = cx - side / 2, cx + side / 2, cy - side / 2, cy + side / 2
    x0, y0 = int(np.clip(np.floor(x0), 0, width - 1)), int(np.clip(np.floor(y0), 0, height - 1))
    x1, y1 = int(np.clip(np.ceil(x1), x0 + 1, width)), int(np.clip(np.ceil(y1), y0 + 1, height))
    return x0, y0, x1, y1


def face_crops(rgb: np.ndarray, face_points: np.ndarray | None, size: int = FACE_SIZE) -> np.ndarray:
    """``(T, size, size, 3)`` uint8 face crops; frames without a visible face reuse the nearest frame's box."""
    from PIL import Image

    T, H, W = rgb.shape[:3]
    boxes = [face_box(face_points[t], W, H) if face_points is not None else None for t in range(T)]
    known = [t for t, b in enumerate(boxes) if b is not None]
    if not known:
        side = min(W, H) // 3
        boxes = [((W - side) // 2, 0, (W + side) // 2, side)] * T
    else:
        boxes = [boxes[min(known, key=lambda k: abs(k - t))] for t in range(T)]
    return np.stack([np.asarray(Image.fromarray(rgb[t]).crop(boxes[t]).resize((size, size), Image.Resampling.BICUBIC))
                     for t in range(T)])


def _load(folder: object, settings: DriveSettings, signals: tuple[str, ...]) -> object:
    from diffusers import WanAnimatePipeline

    quiet_libraries()
    return load_pipeline(WanAnimatePipeline, folder.path, settings, **wan_vae_fp32(folder.path, settings))  # type: ignore[attr-defined]


def _generate(pipe: object, view: object, settings: DriveSettings, reference: np.ndarray | None,
              step_callback: object = None) -> Generation:
    if reference is None:
        raise InputError("Wan-Animate needs a character image (--reference)")
    if view.rgb is None:  # type: ignore[attr-defined]
        raise InputError(f"{view.name}: Wan-Animate's face video is cropped from rgb/ frames; the controls have none")  # type: ignore[attr-defined]
    pose = view.signals["pose"]  # type: ignore[attr-defined]
    T, H, W = pose.shape[:3]
    face = face_crops(view.rgb, view.face_points)  # type: ignore[attr-defined]
    inputs: dict[str, np.ndarray] = {"control": pose, "face": face, "reference": reference}
    guidance = 1.0 if settings.guidance is None else settings.guidance
    kwargs: dict[str, object] = dict(
        image=pil_frames(reference[None])[0], pose_video=pil_frames(pose), face_video=pil_frames(face),
        prompt=settings.prompt, negative_prompt=settings.negative_prompt, height=H, width=W,
        segment_frame_length=min(77, T), num_inference_steps=settings.steps, mode=settings.mode,
        prev_segment_conditioning_frames=1, guidance_scale=guidance, generator=generator(settings.seed))
    if settings.mode == "replace":
        if view.mask is None or settings.background is None:  # type: ignore[attr-defined]
            raise InputError("--mode replace needs --background and the body mask (mask/ frames)")
        mask = np.where(view.mask, 255, 0).astype(np.uint8)  # type: ignore[attr-defined]
        kwargs["background_video"] = pil_frames(settings.background[:T])
        kwargs["mask_video"] = pil_frames(mask, "L")
        inputs["mask"] = mask
        inputs["background"] = settings.background[:T]
    frames, seconds, steps = run_pipeline(pipe, kwargs, step_callback)  # type: ignore[arg-type]
    return Generation(frames=frames, inputs=inputs, seconds=seconds, step_seconds=steps,
                      kwargs={"guidance_scale": guidance, "mode": settings.mode,
                              "segment_frame_length": min(77, T), "face_size": FACE_SIZE})


BACKEND = Backend(
    name="animate", pipeline="WanAnimatePipeline", signals=("pose",), default_signals=("pose",), rule="4k+1",
    max_frames=77, fps=30.0, size=(832, 480), pose_style="wan_animate", depth_style="inverse", load=_load,
    generate=_generate)
