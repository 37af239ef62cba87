"""Time-synchronised multi-view renders for multi-view / camera-controlled video models.

:func:`view_cameras` places N cameras (one :class:`CameraTrajectory` each,
one camera per frame) around the whole clip's bounding sphere;
:func:`render_multiview` renders every view with
:func:`humokit.render.controls.render_view` into ``DIR/view_XX/`` and writes
``DIR/cameras.json`` (all views, shared timestamps, plus extrinsics relative to
view 0's first camera) and ``DIR/trajectory.json`` (the person's root 6-DoF).

Layouts:

- ``ring``: static cameras evenly spaced in azimuth at 10° elevation, view 0 in front of the body.
- ``hemisphere``: static cameras sampled on a hemisphere shell (seeded,
  stratified azimuth, elevation 0-45°, radius 1-1.3x the fitting distance).
- ``moving``: each view starts on the ring and moves: orbit, dolly in, pan,
  orbit with handheld shake (cycled).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np

from humokit.errors import InputError
from humokit.render.camera import (
    CameraTrajectory,
    add_handheld_noise,
    hemisphere_cameras,
    look_at,
    moving_trajectory,
    relative_to_reference,
    ring_cameras,
    spherical_eye,
)
from humokit.render.controls import (
    DEFAULT_SIGNALS,
    PosedClip,
    _write_json,
    camera_records,
    check_size,
    render_view,
    root_trajectory,
)

Layout = Literal["ring", "hemisphere", "moving"]
LAYOUTS = ("ring", "hemisphere", "moving")


def clip_bounds(clip: PosedClip) -> tuple[np.ndarray, float, float]:
    """Box centre (3,), vertical half-extent and horizontal radius (metres) of every vertex of every frame."""
    V = clip.vertices.reshape(-1, 3).numpy().astype(np.float64)
    V = V[np.isfinite(V).all(axis=1)]
    if V.size == 0:
        raise InputError("render: the body has no finite vertices")
    lo, hi = V.min(axis=0), V.max(axis=0)
    c = 0.5 * (lo + hi)
    half_h = 0.5 * float(hi[1] - lo[1])
    r_xz = float(np.linalg.norm((V - c)[:, [0, 2]], axis=1).max())
    return c, half_h, r_xz


def fit_clip_distance(half_h: float, r_xz: float, elevations: tuple[float, ...], fov_y: float,
                      width: int, height: int, margin: float = 1.1) -> float:
    """Camera distance (metres) at which a body box (vertical half-extent, horizontal radius) fills the frame."""
    ty = math.tan(math.radians(fov_y) / 2)
    tx = ty * width / height
    d = 0.0
    for el in elevations:
        e = math.radians(el)
        v = half_h * math.cos(e) + r_xz * abs(math.sin(e))
        d = max(d, margin * max(v / ty, r_xz / tx) + r_xz)
    return d


def view_cameras(
    layout: Layout,
    num_views: int,
    clip: PosedClip,
    *,
    width: int = 512,
    height: int = 512,
    fov_y: float = 40.0,
    seed: int = 0,
) -> list[CameraTrajectory]:
    """One camera trajectory (``clip.num_frames`` cameras) per view, framing the whole clip."""
    if num_views < 1:
        raise InputError(f"--views must be at least 1, got {num_views}")
    check_size(width, height)
    T = clip.num_frames
    c, half_h, r = clip_bounds(clip)
    els = {"ring": (10.0,), "hemisphere": (0.0, 45.0), "moving": (10.0,)}.get(layout, (10.0,))
    dist = fit_clip_distance(half_h, r, els, fov_y, width, height)
    kw = dict(fov_y=fov_y, width=width, height=height)
    if layout == "ring":
        return [CameraTrajectory.static(cam, T) for cam in ring_cameras(num_views, c, radius=dist, elevation=10.0, **kw)]
    if layout == "hemisphere":
        cams = hemisphere_cameras(num_views, c, radius=(dist, 1.3 * dist), elevation=(0.0, 45.0), seed=seed, **kw)
        return [CameraTrajectory.static(cam, T) for cam in cams]
    if layout == "moving":
        trajs = []
        for i in range(num_views):
            az = 360.0 * i / num_views
            kind = ("orbit", "dolly", "pan", "handheld")[i % 4]
            # start further away so moves keep the body in frame
            start = look_at(spherical_eye(c, 1.25 * dist, 10.0, az), c, **kw)
            if kind == "orbit":
                tr = moving_trajectory("orbit", start, T, amount=60.0, target=c)
            elif kind == "dolly":
                tr = moving_trajectory("dolly", start, T, amount=0.25 * dist)
            elif kind == "pan":
                tr = moving_trajectory("pan", start, T, amount=math.degrees(0.25 * math.atan(r / dist)))
            else:
                tr = add_handheld_noise(moving_trajectory("orbit", start, T, amount=-30.0, target=c),
                                        translation_std=0.01 * dist, rotation_std_deg=0.4, seed=seed + i)
            trajs.append(tr)
        return trajs
    raise InputError(f"unknown layout {layout!r}; choose ring, hemisphere or moving")


def render_multiview(
    out_dir: str | Path,
    clip: PosedClip,
    views: list[CameraTrajectory],
    *,
    signals: tuple[str, ...] = DEFAULT_SIGNALS,
    fps: float | None = None,
    avatar: Literal["mesh", "gaussians"] = "mesh",
    layout: str = "custom",
    progress: object | None = None,
    pose_style: str | object = "humokit",
    depth_style: str = "clip",
    parts_style: str = "humokit",
    threads: int = 1,
    **view_options: object,
) -> dict[str, object]:
    """Render every view into ``out_dir/view_XX`` and write ``cameras.json`` and ``trajectory.json``.

    ``pose_style``, ``depth_style``, ``parts_style``: drawing conventions of
    :func:`~humokit.render.controls.render_view`. ``threads`` views render at
    once (the rasterizers, PNG compression and the video encoders release the
    GIL); ``view_options`` go to :func:`~humokit.render.controls.render_view`
    (``png``, ``plucker``, ``metric_depth``, ``depth_range``, ``batch``, ``device``, ...).
    """
    out = Path(out_dir)
    fps = float(fps or clip.fps)
    ts = np.arange(clip.num_frames) / fps
    results: dict[str, object] = {}
    ref = views[0][0]
    record: dict[str, object] = {
        "convention": "OpenCV camera (x right, y down, z forward); world Y up, +Z forward, metres; "
                      "pixel centres at +0.5; world_to_camera = [R|t], X_cam = R X_world + t; "
                      "relative_world_to_camera = extrinsics relative to view_00 frame 0",
        "layout": layout, "fps": fps, "num_frames": clip.num_frames,
        "width": views[0].width, "height": views[0].height,
        "timestamps": [round(float(x), 6) for x in ts], "views": {},
    }
    def one(i: int) -> object:
        return render_view(out / f"view_{i:02d}", clip, views[i], signals=signals, fps=fps, avatar=avatar,
                           progress=progress, pose_style=pose_style, depth_style=depth_style,
                           parts_style=parts_style, **view_options)  # type: ignore[arg-type]

    workers = max(1, min(int(threads), len(views)))
    if workers == 1:
        rendered = [one(i) for i in range(len(views))]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            rendered = list(pool.map(one, range(len(views))))
    for i, traj in enumerate(views):
        name = f"view_{i:02d}"
        results[name] = rendered[i]
        recs = camera_records(traj, ts)
        rel = relative_to_reference(traj, ref)
        for rec, E in zip(recs, rel):
            rec["relative_world_to_camera"] = E.extrinsics.tolist()
        record["views"][name] = recs  # type: ignore[index]
    _write_json(out / "cameras.json", record)
    _write_json(out / "trajectory.json", {"people": [root_trajectory(clip)]})
    results["cameras"] = out / "cameras.json"
    results["trajectory"] = out / "trajectory.json"
    return results
