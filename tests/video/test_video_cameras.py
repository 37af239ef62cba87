"""Camera conventions for video models: round trips against analytic cameras."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from humokit.errors import InputError
from humokit.render.camera import CameraTrajectory, look_at, orbit, ring_cameras
from humokit.video.cameras import (
    absolute_from_relative,
    adapter_cameras,
    cameras_from_rays,
    load_views,
    plucker_cameractrl,
    raymap_sana,
    relative_extrinsics,
    scene_scale,
)


def _ring(n=3, frames=5, w=32, h=24):
    return [CameraTrajectory.static(c, frames) for c in ring_cameras(n, [0.0, 1.0, 0.0], radius=3.0, width=w, height=h)]


def test_reference_is_identity_and_c2w_is_camera_pose_in_reference_frame():
    views = _ring()
    rel = relative_extrinsics(views)
    assert rel.shape == (3, 5, 12)
    np.testing.assert_allclose(rel[0, 0].reshape(3, 4), np.eye(3, 4), atol=1e-12)
    # analytic: ring of 3 at radius 3, elevation 10 deg -> centres 120 deg apart; baseline = 2 r cos(el) sin(60)
    base = 2 * 3.0 * math.cos(math.radians(10)) * math.sin(math.radians(60))
    assert scene_scale(views) == pytest.approx(base)
    c2w = rel[1, 0].reshape(3, 4)
    # the c2w translation is view 1's centre in view 0's camera frame, / scale -> unit length
    C1_in_0 = views[0][0].R @ views[1][0].center + views[0][0].t
    np.testing.assert_allclose(c2w[:, 3], C1_in_0 / base, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(c2w[:, 3]), 1.0, atol=1e-12)
    # its rotation maps view-1 camera axes into view-0 camera axes
    np.testing.assert_allclose(c2w[:, :3], views[0][0].R @ views[1][0].R.T, atol=1e-12)
    # w2c is the inverse
    w2c = relative_extrinsics(views, convention="w2c", scale=base)[1, 0].reshape(3, 4)
    M = np.eye(4)
    M[:3] = c2w
    Mi = np.eye(4)
    Mi[:3] = w2c
    np.testing.assert_allclose(M @ Mi, np.eye(4), atol=1e-12)


def test_relative_round_trip_for_a_moving_camera():
    tr = orbit(9, [0.0, 1.0, 0.0], radius=2.5, degrees=90.0, width=32, height=32)
    for conv in ("c2w", "w2c"):
        rel = relative_extrinsics(tr, convention=conv, scale=2.0)
        np.testing.assert_allclose(rel[0].reshape(3, 4), np.eye(3, 4), atol=1e-12)
        back = absolute_from_relative(rel, tr[0], convention=conv, scale=2.0)
        np.testing.assert_allclose(back.R, tr.R, atol=1e-10)
        np.testing.assert_allclose(back.t, tr.t, atol=1e-10)


@pytest.mark.parametrize("layout", ["cameractrl", "sana"])
def test_plucker_and_raymap_round_trip(layout):
    tr = orbit(4, [0.0, 1.0, 0.0], radius=3.0, degrees=60.0, width=40, height=24, fov_y=50.0)
    rays = plucker_cameractrl(tr) if layout == "cameractrl" else raymap_sana(tr).rays
    assert rays.shape == (4, 6, 24, 40)
    d = rays[:, 3:] if layout == "cameractrl" else rays[:, :3]
    m = rays[:, :3] if layout == "cameractrl" else rays[:, 3:]
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(m[0], 0.0, atol=1e-6)  # first camera is the origin
    # the pixel centre (+0.5) of the principal point looks straight down the first camera's +z
    K = tr.K[0]
    col, row = int(K[0, 2] - 0.5), int(K[1, 2] - 0.5)
    if abs(col + 0.5 - K[0, 2]) < 1e-9 and abs(row + 0.5 - K[1, 2]) < 1e-9:
        np.testing.assert_allclose(d[0, :, row, col], [0, 0, 1], atol=1e-6)
    rec = cameras_from_rays(rays, layout=layout)
    np.testing.assert_allclose(rec.K, tr.K, atol=1e-3)
    want = relative_extrinsics(tr, reference=tr[0], scale=1.0)
    got = relative_extrinsics(rec, reference=rec[0], scale=1.0)
    np.testing.assert_allclose(got, want, atol=1e-5)
    if layout == "sana":
        intr = raymap_sana(tr).intrinsics
        np.testing.assert_allclose(intr[0], [K[0, 0] / 40, K[1, 1] / 24, K[0, 2] / 40, K[1, 2] / 24], rtol=1e-6)


def test_plucker_moment_is_o_cross_d():
    cam = look_at([1.0, 1.5, 3.0], [0.0, 1.0, 0.0], width=16, height=16)
    tr = CameraTrajectory.from_cameras([look_at([0.0, 1.0, 3.0], [0.0, 1.0, 0.0], width=16, height=16), cam])
    P = plucker_cameractrl(tr)
    o = relative_extrinsics(tr, scale=1.0)[1].reshape(3, 4)[:, 3]
    d = P[1, 3:].reshape(3, -1).T
    np.testing.assert_allclose(P[1, :3].reshape(3, -1).T, np.cross(o, d), atol=1e-5)


def test_adapter_cameras_sample_latent_frames_and_load_cameras_json(tmp_path):
    tr = orbit(9, [0.0, 1.0, 0.0], degrees=40.0, width=32, height=32)
    static = CameraTrajectory.static(look_at([3.0, 1.0, 0.0], [0.0, 1.0, 0.0], width=32, height=32), 1)
    cams = adapter_cameras([tr, static], 9)
    assert cams.shape == (2, 3, 12) and cams.dtype == np.float32
    full = relative_extrinsics([tr, CameraTrajectory.static(static[0], 9)])
    np.testing.assert_allclose(cams[0], full[0, [0, 4, 8]], atol=1e-6)
    np.testing.assert_allclose(cams[1], full[1, [0, 4, 8]], atol=1e-6)
    with pytest.raises(InputError, match="1 \\+ 4k"):
        adapter_cameras([tr], 8)
    p = tmp_path / "cameras.json"
    p.write_text(json.dumps({"views": {"view_00": [{**c.to_dict()} for c in tr],
                                       "view_01": [static[0].to_dict()]}}))
    views = load_views(p)
    assert [len(v) for v in views] == [9, 1]
    np.testing.assert_allclose(views[0].R, tr.R)
    bad = tmp_path / "bad.json"
    bad.write_text("{\"views\": {\"a\": [{\"K\": 1}]}}")
    with pytest.raises(InputError, match="bad.json"):
        load_views(bad)
