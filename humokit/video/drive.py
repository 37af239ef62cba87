"""``humokit drive``: generate videos from humokit's control signals with a local diffusers model.

:func:`drive` picks the backend from the model folder's ``model_index.json``
(:mod:`~humokit.video.model_folder`), gets the controls (a ``humokit render``
folder read as-is, or a motion rendered here in the backend's conventions),
generates every view separately and writes, atomically (a temporary folder
beside the output, renamed at the end):

- ``view_XX.mp4``: the generated video (H.264).
- ``control_view_XX.mp4``: exactly the control frames the model got
  (lossless RGB H.264, ``libx264rgb -qp 0``; more signals:
  ``control_view_XX_<signal>.mp4``), plus ``face_view_XX.mp4`` (Wan-Animate's
  face crops), ``mask_view_XX.mp4`` and ``reference_view_XX.png`` when used.
- ``compare.mp4``: per view a row ``control(s) | generated``, views stacked.
- ``drive.json``: backend, model, signals, prompt, seed, steps, scales,
  sizes, frame count, timings, humokit version, and the notes printed.

Each view is generated on its own: nothing ties the views of one clip
together except the shared seed, prompt and reference.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from humokit.errors import InputError
from humokit.video.base import Backend, DriveSettings, Generation
from humokit.video.controls_io import ViewControls, fit_controls, load_control_dir, render_motion_controls
from humokit.video.model_folder import ModelFolder, inspect_model

log = logging.getLogger(__name__)


def backends() -> dict[str, Backend]:
    """Backend name -> :class:`Backend`."""
    from humokit.video import animate, animatediff, vace

    return {b.name: b for b in (vace.BACKEND, animate.BACKEND, animatediff.BACKEND)}


@dataclass(frozen=True)
class DriveResult:
    """What :func:`drive` wrote.

    Attributes:
        out_dir: the output folder.
        backend: backend name; model: the checked model folder.
        views: view name -> :class:`~humokit.video.base.Generation`.
        notes: the ``note:``/``warning:`` lines about rounding and devices.
        record: the contents of ``drive.json``.
    """

    out_dir: Path
    backend: str
    model: ModelFolder
    views: dict[str, Generation]
    notes: list[str]
    record: dict[str, object]


def pick_device(requested: str = "auto") -> tuple[str, str, list[str]]:
    """``(device, dtype, notes)``: CUDA in bfloat16 when present, else CPU float32 with a warning."""
    import torch

    if requested not in ("auto", "cuda", "cpu"):
        raise InputError(f"--device {requested!r}: choose auto, cuda or cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available")
    if requested in ("auto", "cuda") and torch.cuda.is_available():
        return "cuda", "bfloat16", []
    return "cpu", "float32", ["warning: no CUDA device, running on the CPU in float32: a full-size model "
                              "takes hours per clip"]


def load_image(path: str | Path) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8, transparent parts composited on white."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"--reference {p}: no such file")
    try:
        im = Image.open(p)
        im.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"--reference {p}: not an image ({exc.__class__.__name__})") from None
    rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
    a = rgba[..., 3:] / 255.0
    return np.round(rgba[..., :3] * a + 255.0 * (1 - a)).astype(np.uint8)


def rendered_reference(view: ViewControls) -> np.ndarray | None:
    """The view's first RGB frame with the background made white (None without an RGB render)."""
    if view.rgb is None:
        return None
    rgb = view.rgb[0]
    if view.mask is None:
        return rgb.copy()
    return np.where(view.mask[0][..., None], rgb, 255).astype(np.uint8)


def load_background(path: str | Path, num_frames: int, width: int, height: int) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 background frames from a folder of PNGs or a video, resized to the clip."""
    from humokit.video.controls_io import _read_frames, _resize

    p = Path(path)
    if p.is_dir():
        fr = _read_frames(p, p / "__none__.mp4", "background")
    elif p.is_file():
        fr = _read_frames(p.parent / "__none__", p, "background")
    else:
        raise InputError(f"--background {p}: no such file or folder")
    if fr is None or len(fr) < num_frames:
        raise InputError(f"--background {p}: needs at least {num_frames} frames, has {0 if fr is None else len(fr)}")
    fr = fr[:num_frames]
    return fr if fr.shape[1:3] == (height, width) else _resize(fr, width, height)


def _parse_views(views: str | int | None) -> tuple[int, ...] | None:
    if views is None or isinstance(views, int):
        return None
    try:
        return tuple(int(v) for v in str(views).split(",") if v.strip())
    except ValueError:
        raise InputError(f"--view {views!r}: expected view numbers, e.g. 0 or 0,2") from None


def drive(
    inp: str | Path,
    model: str | Path,
    out_dir: str | Path,
    *,
    signals: tuple[str, ...] | None = None,
    settings: DriveSettings | None = None,
    reference: str | Path | None = None,
    background: str | Path | None = None,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    view: str | None = None,
    num_views: int = 1,
    layout: str = "ring",
    fps: float | None = None,
    avatar: str | Path | None = None,
    body: str = "anny",
    device: str = "auto",
    echo: object = None,
    progress: object | None = None,
) -> DriveResult:
    """Generate one video per view of ``inp`` (a controls folder or a motion ``.npz``) with the model at ``model``.

    Args:
        signals: control signals (default: the backend's); settings: sampling settings (device fields are set here).
        reference: person image (VACE reference / Wan-Animate character); default humokit's RGB render.
        background: frames kept outside the body (VACE) or replaced into (Wan-Animate ``mode="replace"``).
        frames, size: clip length and ``(width, height)`` (module :mod:`~humokit.video.controls_io` rules).
        view: controls folder only: comma list of view numbers (default all).
        num_views, layout, fps, avatar, body: motion only: how to render it (fps default: the model's).
        device: ``"auto"``, ``"cuda"`` or ``"cpu"``.
        echo: callable for the ``note:`` lines (default: logged).
        progress: tqdm-like object, updated once per rendered frame and per denoising step.
    """
    t_start = time.perf_counter()
    say = echo if callable(echo) else log.warning
    folder = inspect_model(model)
    be = backends()[folder.backend]
    sig = tuple(signals) if signals else be.default_signals
    bad = [s for s in sig if s not in be.signals]
    if bad or len(set(sig)) != len(sig):
        raise InputError(f"--signal {','.join(sig)}: {be.pipeline} takes {' or '.join(be.signals)}"
                         + (" (one or more, comma-separated)" if be.name == "animatediff" else ""))
    if be.name != "animatediff" and len(sig) != 1:
        raise InputError(f"--signal {','.join(sig)}: {be.pipeline} takes one control signal")
    settings = settings or DriveSettings()
    if settings.steps < 1:
        raise InputError(f"--steps must be at least 1, got {settings.steps}")
    if be.name == "animatediff":
        from humokit.video.animatediff import check_args

        check_args(folder, settings, sig)
    elif settings.controlnets or settings.motion_adapter is not None:
        raise InputError(f"--controlnet/--motion-adapter apply to AnimateDiff, not to {be.pipeline}")
    if be.name == "animate" and settings.mode not in ("animate", "replace"):
        raise InputError(f"--mode {settings.mode!r}: choose animate or replace")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out}: exists and is not a folder")
    notes: list[str] = []
    p = Path(inp)
    t0 = time.perf_counter()
    if p.is_dir():
        if avatar is not None:
            raise InputError("--avatar applies to a motion (.npz), not to a controls folder")
        views = load_control_dir(p, sig, views=_parse_views(view))
        fitted = []
        for v in views:
            fv, n = fit_controls(v, rule=be.rule, frames=frames, size=size)
            fitted.append(fv)
            notes += [x for x in n if x not in notes]
        views = fitted
        notes += _style_warnings(p, be, sig, _parse_views(view))
    elif p.is_file():
        if p.suffix.lower() != ".npz":
            raise InputError(f"{p}: expected a controls folder (humokit render) or a motion .npz")
        w, h = size or be.size
        views, n = render_motion_controls(
            p, sig, width=w, height=h, fps=float(fps or be.fps), frames=frames, rule=be.rule,
            max_frames=be.max_frames, pose_style=be.pose_style, depth_style=be.depth_style, avatar_dir=avatar,
            body=body, views=num_views, layout=layout, progress=progress)
        notes += n
    else:
        raise InputError(f"{p}: no such file or folder")
    render_s = time.perf_counter() - t0
    T = views[0].num_frames
    W, H = views[0].size
    ref_img = load_image(reference) if reference is not None else None
    bg = None
    if background is not None:
        if be.name == "animatediff":
            raise InputError("--background: AnimateDiff-ControlNet has no background input")
        bg = load_background(background, T, W, H)
    if be.name == "animate" and settings.mode == "replace" and bg is None:
        raise InputError("--mode replace needs --background (the video the person is replaced into)")
    dev, dtype, dn = pick_device(device)
    notes += dn
    settings = replace(settings, device=dev, dtype=dtype, background=bg)
    for line in notes:
        say(line)
    if progress is not None and hasattr(progress, "total"):
        progress.total = int(getattr(progress, "n", 0) or 0) + len(views) * settings.steps  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    pipe = be.load(folder, settings, sig)
    load_s = time.perf_counter() - t0
    gens: dict[str, Generation] = {}
    for v in views:
        ref = ref_img if ref_img is not None else rendered_reference(v)
        if ref is None and be.name == "animate":
            raise InputError(f"{v.name}: Wan-Animate needs a character image: give --reference or rgb/ frames")
        tick = (lambda: progress.update(1)) if progress is not None else None  # type: ignore[attr-defined]
        gens[v.name] = be.generate(pipe, v, settings, ref, tick)
    record = _record(be, folder, inp, sig, settings, views, gens, notes, reference,
                     {"render_s": round(render_s, 3), "load_s": round(load_s, 3),
                      "generate_s": round(sum(g.seconds for g in gens.values()), 3),
                      "total_s": round(time.perf_counter() - t_start, 3)})
    _write_outputs(out, views, gens, record)
    return DriveResult(out_dir=out, backend=be.name, model=folder, views=gens, notes=notes, record=record)


def _style_warnings(root: Path, be: Backend, sig: tuple[str, ...], chosen: tuple[int, ...] | None) -> list[str]:
    """``warning:`` lines for controls drawn in another convention than the backend's (from ``control_styles.json``)."""
    from humokit.video.controls_io import view_folders

    want = {"pose": be.pose_style, "depth": be.depth_style}
    folders = view_folders(root)
    out = []
    for i, vf in enumerate(folders):
        if chosen is not None and i not in chosen:
            continue
        try:
            styles = json.loads((vf / "control_styles.json").read_text())
        except (OSError, ValueError):
            continue
        for s in sig:
            if s in want and isinstance(styles, dict) and styles.get(s, want[s]) != want[s]:
                line = (f"warning: {vf.name} {s} was drawn in the {styles[s]!r} style; {be.pipeline} was trained on "
                        f"{want[s]!r} (humokit render --{s}-style {want[s]})")
                if line not in out:
                    out.append(line)
    return out


def _record(be: Backend, folder: ModelFolder, inp: str | Path, sig: tuple[str, ...], s: DriveSettings,
            views: list[ViewControls], gens: dict[str, Generation], notes: list[str], reference: object,
            timings: dict[str, float]) -> dict[str, object]:
    import humokit

    v0 = views[0]
    first = next(iter(gens.values()))
    return {
        "humokit_version": humokit.__version__,
        "backend": be.name, "pipeline": folder.class_name, "model": str(folder.path.resolve()),
        "input": str(Path(inp).resolve()), "signals": list(sig),
        "control_conventions": {"pose_style": be.pose_style, "depth_style": be.depth_style, "frame_rule": be.rule},
        "prompt": s.prompt, "negative_prompt": s.negative_prompt, "seed": s.seed, "steps": s.steps,
        "scales": list(s.scales), "mode": s.mode if be.name == "animate" else None,
        "pipeline_settings": first.kwargs,
        "device": s.device, "dtype": s.dtype, "cpu_offload": s.cpu_offload, "vae_tiling": s.vae_tiling,
        "width": v0.size[0], "height": v0.size[1], "num_frames": v0.num_frames, "fps": v0.fps,
        "reference": str(reference) if reference is not None else ("rendered" if "reference" in first.inputs else None),
        "views": {name: {"seconds": round(g.seconds, 3),
                         "seconds_per_step": round(float(np.mean(g.step_seconds)), 4) if g.step_seconds else None,
                         "output_shape": list(g.frames.shape)} for name, g in gens.items()},
        "timings": timings, "notes": notes,
        "synchronised_views": False,
    }


def write_mp4(path: Path, frames: np.ndarray, fps: float, *, lossless: bool = False) -> None:
    """Write ``(T, H, W, 3)`` uint8 frames as H.264 (``lossless``: RGB ``libx264rgb -qp 0``, bit-exact)."""
    import imageio.v2 as imageio

    if lossless:
        kw = dict(codec="libx264rgb", pixelformat="rgb24", output_params=["-qp", "0"])
    else:
        kw = dict(codec="libx264", quality=8, pixelformat="yuv420p")
    w = imageio.get_writer(str(path), format="FFMPEG", fps=fps, macro_block_size=1, ffmpeg_log_level="error", **kw)
    try:
        for f in frames:
            w.append_data(np.ascontiguousarray(f))
    finally:
        w.close()


def read_mp4(path: str | Path) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 frames of a video file."""
    import imageio.v2 as imageio

    return np.stack([np.asarray(f)[..., :3] for f in imageio.mimread(str(path), format="FFMPEG", memtest=False)])


def _write_outputs(out: Path, views: list[ViewControls], gens: dict[str, Generation], record: dict[str, object]) -> None:
    from PIL import Image

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        rows = []
        for v in views:
            g = gens[v.name]
            idx = v.name.removeprefix("view_")
            write_mp4(tmp / f"view_{idx}.mp4", g.frames, v.fps)
            controls = []
            for key, arr in g.inputs.items():
                if key == "reference":
                    Image.fromarray(arr).save(tmp / f"reference_view_{idx}.png")
                elif key == "control":
                    write_mp4(tmp / f"control_view_{idx}.mp4", arr, v.fps, lossless=True)
                    controls.append(arr)
                elif key.startswith("control_"):
                    sig = key.removeprefix("control_")
                    name = f"control_view_{idx}.mp4" if not controls else f"control_view_{idx}_{sig}.mp4"
                    write_mp4(tmp / name, arr, v.fps, lossless=True)
                    controls.append(arr)
                else:
                    a = arr if arr.ndim == 4 else np.repeat(arr[..., None], 3, -1)
                    write_mp4(tmp / f"{key}_view_{idx}.mp4", a, v.fps, lossless=True)
            rows.append(np.concatenate([*controls, g.frames], axis=2))
        width = max(r.shape[2] for r in rows)
        rows = [np.pad(r, ((0, 0), (0, 0), (0, width - r.shape[2]), (0, 0))) for r in rows]
        write_mp4(tmp / "compare.mp4", np.concatenate(rows, axis=1), views[0].fps)
        (tmp / "drive.json").write_text(json.dumps(record, indent=1))
        os.chmod(tmp, 0o777 & ~_umask())
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m
