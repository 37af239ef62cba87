"""Cameras: conventions, layouts, projection and Plücker rays against hand-checkable truths."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.errors import InputError
from humokit.render.camera import (
    Camera,
    CameraTrajectory,
    add_handheld_noise,
    camera_to_world_blender,
    hemisphere_cameras,
    intrinsics,
    look_at,
    moving_trajectory,
    opencv_to_opengl,
    orbit,
    pixel_rays,
    plucker_rays,
    project,
    relative_to_reference,
    ring_cameras,
    unproject,
)


def test_look_at_opencv_axes():
    # camera behind a body facing +Z, looking along +Z: image right = world -X (the body's right)
    cam = look_at([0, 1, -3], [0, 1, 0], width=64, height=48)
    np.testing.assert_allclose(cam.center, [0, 1, -3], atol=1e-12)
    np.testing.assert_allclose(cam.R[0], [-1, 0, 0], atol=1e-12)  # x right
    np.testing.assert_allclose(cam.R[1], [0, -1, 0], atol=1e-12)  # y down
    np.testing.assert_allclose(cam.R[2], [0, 0, 1], atol=1e-12)   # z forward
    uv, z = project(cam, np.array([[0, 1, 0], [0, 2, 0], [-1, 1, 0]]))
    np.testing.assert_allclose(uv[0], [32, 24], atol=1e-9)
    assert z[0] == pytest.approx(3.0)
    assert uv[1, 1] < 24  # higher in the world = up in the image
    assert uv[2, 0] > 32  # world -X = image right for this camera


def test_project_unproject_roundtrip_and_behind():
    cam = look_at([1, 2, 3], [0, 1, 0], width=80, height=64, fov_y=50)
    X = np.random.default_rng(0).normal(size=(20, 3)) * 0.3 + [0, 1, 0]
    uv, z = project(cam, X)
    np.testing.assert_allclose(unproject(cam, uv, z), X, atol=1e-9)
    uv_b, z_b = project(cam, cam.center + (cam.center - np.array([0, 1, 0])))
    assert z_b < 0 and np.isnan(uv_b).all()


def test_plucker_rays_pass_through_camera_centre():
    cam = look_at([0.5, 1.5, 2.5], [0, 1, 0], width=32, height=24)
    P = plucker_rays(cam)
    assert P.shape == (6, 24, 32) and P.dtype == np.float32
    d, m = P[:3].reshape(3, -1).T.astype(np.float64), P[3:].reshape(3, -1).T.astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.cross(cam.center, d), m, atol=1e-5)  # the centre lies on every ray
    # a point along a ray projects back onto that ray's pixel centre
    d_hw, o = pixel_rays(cam)
    uv, _ = project(cam, o + 2.0 * d_hw[5, 7])
    np.testing.assert_allclose(uv, [7.5, 5.5], atol=1e-9)


def test_opengl_and_blender_conversions():
    cam = look_at([0, 1, 3], [0, 1, 0], width=64, height=64)
    view, proj = opencv_to_opengl(cam)
    p = view @ np.array([0, 1, 0, 1.0])
    assert p[2] == pytest.approx(-3.0)  # GL cameras look down -z
    clip = proj @ p
    np.testing.assert_allclose(clip[:2] / clip[3], [0, 0], atol=1e-12)
    up = proj @ view @ np.array([0, 1.5, 0, 1.0])
    assert up[1] / up[3] > 0  # GL y up
    M = camera_to_world_blender(cam)
    # humokit camera looks along world -Z = Blender +Y; Blender cameras look down their -Z
    np.testing.assert_allclose(-M[:3, 2], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(M[:3, 3], [0, -3, 1], atol=1e-12)


def test_layouts():
    tgt = np.array([0, 1, 0])
    ring = ring_cameras(4, tgt, radius=3.0, elevation=0.0)
    np.testing.assert_allclose(ring[0].center, [0, 1, 3], atol=1e-9)  # view 0 in front of the body
    np.testing.assert_allclose(ring[1].center, [3, 1, 0], atol=1e-9)  # then its left side
    a = hemisphere_cameras(6, tgt, radius=(2, 3), elevation=(10, 40), seed=3)
    b = hemisphere_cameras(6, tgt, radius=(2, 3), elevation=(10, 40), seed=3)
    for ca, cb in zip(a, b):
        np.testing.assert_array_equal(ca.R, cb.R)
        off = ca.center - tgt
        r = np.linalg.norm(off)
        assert 2 <= r <= 3
        assert 10 - 1e-9 <= np.degrees(np.arcsin(off[1] / r)) <= 40 + 1e-9
        uv, _ = project(ca, tgt)
        np.testing.assert_allclose(uv, [256, 256], atol=1e-6)
    o = orbit(10, tgt, radius=2.0, degrees=90)
    np.testing.assert_allclose(np.linalg.norm(o.centers - tgt, axis=1), 2.0)


def test_moving_and_relative():
    cam = look_at([0, 1, 3], [0, 1, 0])
    d = moving_trajectory("dolly", cam, 5, amount=1.0)
    np.testing.assert_allclose(d.centers[-1], [0, 1, 2], atol=1e-9)
    p = moving_trajectory("pan", cam, 3, amount=30.0)
    np.testing.assert_allclose(p.centers, np.repeat(cam.center[None], 3, 0), atol=1e-9)
    uv, _ = project(p[2], [0, 1, 0])
    assert uv[0] < 256  # panning right moves the scene left
    o = moving_trajectory("orbit", cam, 4, amount=90.0, target=[0, 1, 0])
    np.testing.assert_allclose(o.centers[-1], [3, 1, 0], atol=1e-9)
    h = add_handheld_noise(o, translation_std=0.01, seed=1)
    assert 0 < np.abs(h.centers - o.centers).max() < 0.1
    rel = relative_to_reference(o, 0)
    np.testing.assert_allclose(rel[0].R, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(rel[0].t, 0, atol=1e-12)
    # relative pose between two cameras is unchanged
    E = lambda c: c.world_to_camera  # noqa: E731
    np.testing.assert_allclose(E(rel[3]) @ np.linalg.inv(E(rel[1])), E(o[3]) @ np.linalg.inv(E(o[1])), atol=1e-9)
    n = relative_to_reference(o, 0, normalize_scale=True)
    assert np.linalg.norm(n.centers, axis=1).max() == pytest.approx(1.0)


def test_bad_inputs():
    with pytest.raises(InputError):
        intrinsics(45, 0, 10)
    with pytest.raises(InputError):
        Camera(np.eye(3), np.eye(3), np.zeros(3), 0, 0)
    with pytest.raises(InputError):
        Camera(np.eye(3), np.eye(3) * 2, np.zeros(3), 4, 4)
    with pytest.raises(InputError):
        look_at([0, 0, 0], [0, 0, 0])
    with pytest.raises(InputError):
        hemisphere_cameras(0, [0, 0, 0])
    with pytest.raises(InputError):
        CameraTrajectory.from_cameras([])


def test_trajectory_checks_like_a_camera():
    """A trajectory rejects what a single camera rejects (shared validation)."""
    import numpy as np
    import pytest

    from humokit.errors import InputError
    from humokit.render.camera import CameraTrajectory, look_at

    cam = look_at([0, 1, 3], [0, 1, 0], width=64, height=64)
    traj = CameraTrajectory.static(cam, 3)
    R = traj.R.copy()
    R[1, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        CameraTrajectory(traj.K, R, traj.t, 64, 64)
    R = traj.R.copy()
    R[2] *= 2.0
    with pytest.raises(InputError, match="rotation"):
        CameraTrajectory(traj.K, R, traj.t, 64, 64)
