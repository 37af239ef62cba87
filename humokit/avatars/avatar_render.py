"""Driving a Gaussian avatar with a motion and rendering it with the control signals.

:func:`render_avatar_motion` writes the same folder layout as ``humokit
render`` (``view_XX/`` with per-signal PNGs and MP4s, ``cameras.json``,
``trajectory.json``; OpenCV cameras, world Y up, metres): depth, normal,
parts, mask and pose come from the avatar's posed body mesh
(:mod:`humokit.render.controls`), ``rgb`` from the Gaussians
(:func:`~humokit.avatars.gaussian_avatar.render_avatar`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from humokit._io import atomic_path
from humokit.avatars.gaussian_avatar import GaussianAvatar, check_motion, motion_root_scale, pose_on_mesh, render_avatar
from humokit.errors import FileFormatError, HumokitError, InputError


def load_driving_motion(path: str | Path) -> object:
    """Load the motion that drives an avatar (any file :func:`humokit.motion.importer.load_motion` reads)."""
    from humokit.motion.importer import load_motion

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    try:
        m = load_motion(p)
    except HumokitError:
        raise
    except Exception as exc:  # noqa: BLE001 - foreign npz layouts raise anything
        raise FileFormatError(p, f"not a canonical 22-joint motion ({type(exc).__name__}: {exc})") from None
    check_motion(m)
    return m


def avatar_clip(avatar: GaussianAvatar, motion: object, *, root_scale: float | str = "auto") -> object:
    """A :class:`~humokit.render.controls.PosedClip` of the avatar's body with ``gaussian_frames`` set."""
    from dataclasses import replace as dc_replace

    from humokit.body import pose_rest_body
    from humokit.render.controls import PosedClip
    from humokit.render.keypoints import face_landmark_vertices

    check_motion(motion)
    rest = avatar.rest
    s = motion_root_scale(avatar, motion) if root_scale == "auto" else float(root_scale)
    R = torch.from_numpy(motion.rotations).to(torch.float32)  # type: ignore[attr-defined]
    root = torch.from_numpy(motion.root_position).to(torch.float32) * s  # type: ignore[attr-defined]
    with torch.no_grad():
        out = pose_rest_body(rest, R, root)
    labels = rest.part_labels()
    try:
        lm = face_landmark_vertices(rest.vertices.detach().numpy(), labels, rest.joints.detach().numpy())
    except ValueError:
        lm = None
    clip = PosedClip(vertices=out.vertices.detach(), faces=rest.faces, joints=out.joints.detach(),
                     R_world=out.R_world.detach(), part_labels=labels, landmarks=lm,
                     fps=float(motion.fps))  # type: ignore[attr-defined]

    def frame(t: int) -> object:
        return pose_on_mesh(avatar, clip.vertices[t], R[t]).gaussians

    return dc_replace(clip, gaussian_frames=frame)


def render_avatar_motion(
    out_dir: str | Path,
    avatar: GaussianAvatar,
    motion: object,
    *,
    views: int = 4,
    layout: str = "ring",
    width: int = 512,
    height: int = 512,
    signals: tuple[str, ...] = ("rgb", "depth", "normal", "parts", "mask", "pose"),
    fov_y: float = 40.0,
    background: tuple[float, float, float] = (0.0, 0.0, 0.0),
    seed: int = 0,
    threads: int = 1,
    progress: object | None = None,
    device: str = "cpu",
) -> dict[str, object]:
    """Render ``avatar`` performing ``motion`` from ``views`` cameras into ``out_dir`` (see the module docstring).

    ``threads``: torch CPU threads while rendering. ``device``: ``"cuda"``
    splats the avatar there (gsplat when installed) and z-buffers the mesh
    signals there; ``"cpu"`` keeps everything on the CPU.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        return _render(out_dir, avatar, motion, views=views, layout=layout, width=width, height=height,
                       signals=signals, fov_y=fov_y, background=background, seed=seed, progress=progress,
                       device=device)
    finally:
        torch.set_num_threads(old)


def _render(
    out_dir: str | Path, avatar: GaussianAvatar, motion: object, *, views: int, layout: str, width: int, height: int,
    signals: tuple[str, ...], fov_y: float, background: tuple[float, float, float], seed: int,
    progress: object | None, device: str = "cpu",
) -> dict[str, object]:
    import imageio.v2 as imageio

    from humokit.render.controls import SIGNALS
    from humokit.render.multiview import render_multiview, view_cameras

    bad = [s for s in signals if s not in SIGNALS]
    if bad or not signals:
        raise InputError(f"signals: unknown {', '.join(bad) or '(empty)'}; choose from {', '.join(SIGNALS)}")
    clip = avatar_clip(avatar, motion)
    cams = view_cameras(layout, views, clip, width=width, height=height, fov_y=fov_y, seed=seed)  # type: ignore[arg-type]
    mesh_signals = tuple(s for s in signals if s != "rgb")
    out = Path(out_dir)
    res = render_multiview(out, clip, cams, signals=mesh_signals, fps=clip.fps, avatar="mesh", layout=layout,  # type: ignore[attr-defined]
                           progress=None, device=device)
    if "rgb" in signals:
        if device != "cpu":
            avatar = avatar.to(device)
        R = torch.from_numpy(motion.rotations).to(torch.float32).to(device)  # type: ignore[attr-defined]
        for i, traj in enumerate(cams):
            vdir = out / f"view_{i:02d}"
            frames = []
            with torch.no_grad():
                for t in range(clip.num_frames):  # type: ignore[attr-defined]
                    posed = pose_on_mesh(avatar, clip.vertices[t].to(device), R[t])  # type: ignore[attr-defined]
                    img = render_avatar(posed, traj[t], background=background).rgb.clamp(0, 1)
                    im = (img.cpu().numpy() * 255).round().astype(np.uint8)
                    frames.append(im)
                    with atomic_path(vdir / "rgb" / f"{t:05d}.png") as tmp:
                        imageio.imwrite(tmp, im, format="png")
                    if progress is not None:
                        progress.update(1)  # type: ignore[attr-defined]
            with atomic_path(vdir / "rgb.mp4") as tmp:
                imageio.mimwrite(tmp, frames, format="FFMPEG", fps=clip.fps, codec="libx264", quality=8,  # type: ignore[attr-defined]
                                 pixelformat="yuv420p", macro_block_size=16, ffmpeg_log_level="error")
            res[f"view_{i:02d}_rgb"] = vdir / "rgb.mp4"
    return res
