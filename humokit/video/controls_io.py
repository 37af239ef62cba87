"""Control clips for ``humokit drive``: read a ``humokit render`` folder or render a motion in memory.

A :class:`ViewControls` holds one view's control frames, exactly as they will
be handed to a video model (uint8 RGB), plus what the backends derive their
other inputs from: the RGB render (reference image, face crops), the body
mask (replace/inpaint modes) and face keypoints (face crops).

Clip rules (:func:`fit_controls`): Wan models take ``1 + 4k`` frames and
every backend sizes that are multiples of 16. Without ``--frames``, the
longest valid clip is used; without ``--size``, controls whose size is not a
multiple of 16 are centre-cropped down to one. Each such change is reported
in one ``note:`` line. An explicit ``--frames``/``--size`` that breaks a rule
is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from humokit.errors import InputError

#: OpenPose-18 indices of nose, right eye, left eye, right ear, left ear.
FACE5 = (0, 14, 15, 16, 17)


@dataclass(frozen=True)
class ViewControls:
    """One view's controls.

    Attributes:
        name: ``"view_00"``, ...
        signals: signal name -> ``(T, H, W, 3)`` uint8 frames.
        rgb: ``(T, H, W, 3)`` uint8 render of the body/avatar, or None.
        mask: ``(T, H, W)`` bool body silhouette, or None.
        face_points: ``(T, K, 3)`` ``(u, v, visible)`` face keypoints (pixels), or None.
        fps: frame rate of the clip.
    """

    name: str
    signals: dict[str, np.ndarray]
    rgb: np.ndarray | None
    mask: np.ndarray | None
    face_points: np.ndarray | None
    fps: float

    @property
    def num_frames(self) -> int:
        return int(next(iter(self.signals.values())).shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        f = next(iter(self.signals.values()))
        return int(f.shape[2]), int(f.shape[1])


def _read_frames(folder: Path, mp4: Path, what: str) -> np.ndarray | None:
    import imageio.v2 as imageio

    files = sorted(folder.glob("*.png")) if folder.is_dir() else []
    try:
        if files:
            frames = [np.asarray(imageio.imread(f)) for f in files]
        elif mp4.is_file():
            frames = [np.asarray(f) for f in imageio.mimread(mp4, format="FFMPEG", memtest=False)]
        else:
            return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder}: cannot read {what} frames ({exc.__class__.__name__})") from None
    out = []
    for f in frames:
        if f.ndim == 2:
            f = np.repeat(f[..., None], 3, axis=-1)
        out.append(f[..., :3].astype(np.uint8))
    if len({f.shape for f in out}) != 1:
        raise InputError(f"{folder}: {what} frames differ in size")
    return np.stack(out)


def _face_from_json(folder: Path, T: int) -> np.ndarray | None:
    files = sorted(folder.glob("*_keypoints.json")) if folder.is_dir() else []
    if len(files) < T:
        return None
    out = np.zeros((T, len(FACE5), 3))
    for t, f in enumerate(files[:T]):
        try:
            people = json.loads(f.read_text()).get("people", [])
            kp = np.asarray(people[0]["pose_keypoints_2d"], dtype=np.float64).reshape(-1, 3) if people else None
        except (ValueError, KeyError, IndexError, AttributeError):
            raise InputError(f"{f}: not an OpenPose keypoints file") from None
        if kp is not None and len(kp) >= 18:
            out[t] = kp[list(FACE5)]
    return out


def view_folders(ctrl_dir: Path) -> list[Path]:
    """``ctrl_dir/view_XX`` folders in order, or ``[ctrl_dir]`` when it is a single view's folder."""
    views = sorted(p for p in ctrl_dir.glob("view_*") if p.is_dir())
    return views or [ctrl_dir]


def load_control_dir(ctrl_dir: str | Path, signals: tuple[str, ...], *, views: tuple[int, ...] | None = None
                     ) -> list[ViewControls]:
    """Read the controls of every view (or the chosen ``views``) of a ``humokit render`` folder."""
    root = Path(ctrl_dir)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder")
    folders = view_folders(root)
    if views is not None:
        bad = [v for v in views if not 0 <= v < len(folders)]
        if bad:
            raise InputError(f"--view {bad[0]}: {root} has {len(folders)} view(s)")
        folders = [folders[v] for v in views]
    fps = 16.0
    cams = root / "cameras.json"
    if cams.is_file():
        try:
            fps = float(json.loads(cams.read_text()).get("fps", fps))
        except (ValueError, AttributeError):
            pass
    out = []
    for vf in folders:
        sig: dict[str, np.ndarray] = {}
        for s in signals:
            fr = _read_frames(vf / s, vf / f"{s}.mp4", s)
            if fr is None:
                found = sorted(p.name for p in vf.iterdir())
                raise InputError(f"{vf}: no {s}/ frames or {s}.mp4 (found: {', '.join(found[:12]) or 'nothing'})")
            sig[s] = fr
        shapes = {a.shape for a in sig.values()}
        if len(shapes) != 1:
            raise InputError(f"{vf}: signals {', '.join(sig)} differ in frame count or size ({sorted(shapes)})")
        T = next(iter(sig.values())).shape[0]
        rgb = _read_frames(vf / "rgb", vf / "rgb.mp4", "rgb")
        m = _read_frames(vf / "mask", vf / "mask.mp4", "mask")
        mask = None if m is None else m[..., 0] > 127
        if rgb is not None and rgb.shape[:3] != sig[signals[0]].shape[:3]:
            rgb = None
        if mask is not None and mask.shape != sig[signals[0]].shape[:3]:
            mask = None
        name = vf.name if vf.name.startswith("view_") else "view_00"
        out.append(ViewControls(name, sig, rgb, mask, _face_from_json(vf / "pose_json", T), fps))
    return out


def clip_frames(T: int, frames: int | None, rule: str, *, have: str, why: str,
                cap: int | None = None) -> tuple[int, list[str]]:
    """Clip length for ``T`` available frames: the requested ``frames`` (checked against ``rule``,
    ``"4k+1"`` or ``"any"``; ``have`` says what is available when it is too long) or the longest valid
    clip up to ``cap``, with a ``note:`` line (ending in ``why``) when frames are dropped."""
    if frames is not None:
        if frames < 1 or (rule == "4k+1" and (frames - 1) % 4):
            raise InputError(f"--frames {frames}: this model takes 1 + 4k frames (1, 5, ..., 81)")
        if frames > T:
            raise InputError(f"--frames {frames}: {have}")
        return frames, []
    avail = T if cap is None else min(T, cap)
    n = 1 + 4 * ((avail - 1) // 4) if rule == "4k+1" else avail
    return n, ([f"note: using the first {n} of {T} frames{why}"] if n < T else [])


def fit_controls(view: ViewControls, *, rule: str, frames: int | None, size: tuple[int, int] | None
                 ) -> tuple[ViewControls, list[str]]:
    """Apply the clip rules (module docstring); returns the fitted view and its ``note:`` lines.

    Args:
        rule: ``"4k+1"`` (Wan) or ``"any"`` (AnimateDiff).
        frames: requested clip length or None.
        size: requested ``(width, height)`` (multiples of 16) or None.
    """
    T = view.num_frames
    n, notes = clip_frames(T, frames, rule, have=f"the controls have only {T} frames",
                           why=" (Wan models take 1 + 4k frames)")
    W, H = view.size
    cut = lambda a: None if a is None else a[:n]  # noqa: E731
    sig = {k: v[:n] for k, v in view.signals.items()}
    rgb, mask, face = cut(view.rgb), cut(view.mask), cut(view.face_points)
    if size is not None:
        w, h = size
        if w % 16 or h % 16 or w < 16 or h < 16:
            raise InputError(f"--size {w}x{h}: width and height must be positive multiples of 16")
        if (w, h) != (W, H):
            notes.append(f"note: resizing {W}x{H} controls to {w}x{h}")
            sig = {k: _resize(v, w, h) for k, v in sig.items()}
            rgb = None if rgb is None else _resize(rgb, w, h)
            mask = None if mask is None else _resize(mask.astype(np.uint8)[..., None].repeat(3, -1) * 255, w, h)[..., 0] > 127
            if face is not None:
                face = face.copy()
                face[..., 0] *= w / W
                face[..., 1] *= h / H
    else:
        w, h = (W // 16) * 16, (H // 16) * 16
        if w < 16 or h < 16:
            raise InputError(f"controls of {W}x{H}: video models need at least 16x16 pixels")
        if (w, h) != (W, H):
            x0, y0 = (W - w) // 2, (H - h) // 2
            notes.append(f"note: centre-cropping {W}x{H} controls to {w}x{h} (sizes must be multiples of 16)")
            sig = {k: v[:, y0:y0 + h, x0:x0 + w] for k, v in sig.items()}
            rgb = None if rgb is None else rgb[:, y0:y0 + h, x0:x0 + w]
            mask = None if mask is None else mask[:, y0:y0 + h, x0:x0 + w]
            if face is not None:
                face = face.copy()
                face[..., 0] -= x0
                face[..., 1] -= y0
    return replace(view, signals=sig, rgb=rgb, mask=mask, face_points=face), notes


def _resize(frames: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.Resampling.LANCZOS)) for f in frames])


def render_motion_controls(
    motion_path: str | Path,
    signals: tuple[str, ...],
    *,
    width: int,
    height: int,
    fps: float,
    frames: int | None,
    rule: str,
    max_frames: int,
    pose_style: str,
    depth_style: str,
    avatar_dir: str | Path | None = None,
    body: str = "anny",
    views: int = 1,
    layout: str = "ring",
    fov: float = 40.0,
    seed: int = 0,
    progress: object | None = None,
) -> tuple[list[ViewControls], list[str]]:
    """Render ``signals`` (+ RGB, mask, face points) of a motion in memory, in a backend's conventions.

    The motion is resampled to ``fps``; the clip is ``frames`` long (checked
    against ``rule``) or the longest valid clip up to ``max_frames``.
    ``avatar_dir``: a Gaussian avatar (``humokit avatar train``) whose render
    is the RGB; else the shaded ``body`` mesh.
    """
    from humokit.render.controls import check_size, inverse_depth_to_image, render_frame
    from humokit.render.multiview import view_cameras

    check_size(width, height)
    if views < 1:
        raise InputError(f"--views must be at least 1, got {views}")
    from humokit.avatars.avatar_render import avatar_clip, load_driving_motion

    if avatar_dir is not None:
        from humokit.avatars.gaussian_avatar import load_avatar

        av = load_avatar(avatar_dir)
    motion = load_driving_motion(motion_path)
    if abs(float(motion.fps) - fps) > 1e-6:  # type: ignore[attr-defined]
        motion = motion.resample(fps)  # type: ignore[attr-defined]
    T = int(motion.num_frames)  # type: ignore[attr-defined]
    n, notes = clip_frames(T, frames, rule, have=f"the motion has only {T} frames at {fps:g} fps",
                           cap=max_frames, why=f" at {fps:g} fps")
    motion = motion.slice(0, n)  # type: ignore[attr-defined]
    if avatar_dir is not None:
        clip = avatar_clip(av, motion)
        rgb_from = "gaussians"
    else:
        from humokit.body import create_body
        from humokit.render.controls import pose_clip

        clip = pose_clip(motion, create_body(body))
        rgb_from = "mesh"
    cams = view_cameras(layout, views, clip, width=width, height=height, fov_y=fov, seed=seed)  # type: ignore[arg-type]
    need = tuple(dict.fromkeys((*signals, "rgb", "mask", "pose")))
    out = []
    for i, traj in enumerate(cams):
        acc: dict[str, list[np.ndarray]] = {k: [] for k in (*need, "_face")}
        for t in range(n):
            fr = render_frame(clip, t, traj[t], need, avatar=rgb_from, pose_style=pose_style)  # type: ignore[arg-type]
            for s in need:
                if s == "depth":
                    img = inverse_depth_to_image(fr["depth"], fr["_mask"]) if depth_style == "inverse" else None
                    if img is None:
                        from humokit.render.controls import depth_to_image

                        img = np.repeat(depth_to_image(fr["depth"], fr["_mask"])[..., None], 3, -1)
                    acc[s].append(img)
                elif s == "mask":
                    acc[s].append(fr["mask"] > 0)
                else:
                    acc[s].append(fr[s])
            acc["_face"].append(fr["_face68"] if "_face68" in fr else fr["_pose_kp"][list(FACE5)])
            if progress is not None:
                progress.update(1)  # type: ignore[attr-defined]
        sig = {s: np.stack(acc[s]) for s in signals}
        out.append(ViewControls(f"view_{i:02d}", sig, np.stack(acc["rgb"]), np.stack(acc["mask"]),
                                np.stack(acc["_face"]), fps))
    return out, notes
