"""Camera motion from the background: rotation recovery, static cameras with moving people, compensation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from humokit.errors import InputError
from humokit.render.camera import Camera, CameraTrajectory, add_handheld_noise, look_at, moving_trajectory, project

cv2 = pytest.importorskip("cv2")

from humokit.optim.camera_motion import (  # noqa: E402
    CameraMotion,
    CameraMotionConfig,
    bearings,
    camera_centers,
    camera_trajectory,
    camera_warning,
    compensate_track,
    fit_rotation,
    pair_motion,
    rotation_angle_deg,
    track_camera,
)
from humokit.render.backdrop import render_backdrop, room  # noqa: E402

W, H = 320, 240


def _camera() -> Camera:
    return look_at([0.5, 1.6, -4.0], [0.0, 1.0, 0.0], fov_y=50.0, width=W, height=H)


def _relative_error_deg(est: np.ndarray, truth: CameraTrajectory) -> np.ndarray:
    """Per-frame angle between estimated and true camera rotations, both relative to frame 0."""
    Rt = np.einsum("tij,kj->tik", truth.R, truth.R[0])
    Re = np.einsum("tij,kj->tik", est, est[0])
    return rotation_angle_deg(np.einsum("tij,tkj->tik", Re, Rt))


def _scene_points(cam: Camera, n: int, rng: np.random.Generator) -> np.ndarray:
    """World points 3-12 m in front of ``cam``, spread over its view."""
    uv = rng.uniform([0, 0], [W, H], size=(n, 2))
    d = rng.uniform(3.0, 12.0, n)
    from humokit.render.camera import unproject

    return unproject(cam, uv, d)


def test_fit_rotation_recovers_a_turn_despite_outliers():
    rng = np.random.default_rng(0)
    cam = _camera()
    X = _scene_points(cam, 200, rng)
    turned = moving_trajectory("pan", cam, 2, amount=7.0)
    uv1, _ = project(turned[0], X)
    uv2, _ = project(turned[1], X)
    uv2[:60] += rng.uniform(-30, 30, (60, 2))  # 30 % of the tracks on something that moves
    R, inl = fit_rotation(bearings(uv1, cam.K), bearings(uv2, cam.K), threshold=1.0 / cam.K[0, 0], rng=rng)
    truth = turned.R[1] @ turned.R[0].T
    assert rotation_angle_deg(R @ truth.T) < 0.05
    assert inl[60:].mean() > 0.95 and inl[:60].mean() < 0.2


def test_pair_motion_sees_translation_as_parallax():
    rng = np.random.default_rng(1)
    cam = _camera()
    X = _scene_points(cam, 300, rng)
    moved = moving_trajectory("dolly", cam, 2, amount=0.5)
    uv1, _ = project(moved[0], X)
    uv2, _ = project(moved[1], X)
    pm = pair_motion(uv1, uv2, cam.K, CameraMotionConfig())
    assert pm.essential and pm.parallax > 1.5
    assert rotation_angle_deg(pm.R) < 0.3
    # the camera moved along its own optical axis (+z of the first camera)
    assert pm.direction[2] > 0.98
    # a camera that only turns shows no parallax and gets no direction
    turned = moving_trajectory("pan", cam, 2, amount=5.0)
    pm = pair_motion(project(turned[0], X)[0], project(turned[1], X)[0], cam.K, CameraMotionConfig())
    assert pm.parallax < 0.1 and not pm.essential and np.allclose(pm.direction, 0.0)


@pytest.fixture(scope="module")
def scene():
    return room((0.0, 0.0, 0.0), size=14.0, seed=3, texels_per_metre=40.0)


@pytest.mark.parametrize("kind", ["pan", "shake", "orbit"])
def test_rotating_camera_over_a_textured_scene_is_recovered_within_2_degrees(scene, kind):
    cam = _camera()
    T = 24
    if kind == "pan":
        traj = moving_trajectory("pan", cam, T, amount=18.0)
    elif kind == "orbit":
        traj = moving_trajectory("orbit", cam, T, amount=20.0, target=[0.0, 1.0, 0.0])
    else:
        traj = add_handheld_noise(moving_trajectory("static", cam, T), rotation_std_deg=1.0, translation_std=0.01, seed=2)
    frames = [render_backdrop(c, scene)[0] for c in traj]
    cm = track_camera(frames, cam.K)
    err = _relative_error_deg(cm.rotations, traj)
    truth = rotation_angle_deg(np.einsum("tij,kj->tik", traj.R, traj.R[0]))
    assert truth.max() > 2.0  # the camera really turns
    assert err.max() < 2.0, (kind, err.max())
    assert err.max() < 0.1 * truth.max() + 0.3
    assert cm.moving and cm.rotating
    assert cm.measured.all()
    # the reference is the mean orientation: no frame is much further from it than half the sweep
    assert rotation_angle_deg(cm.rotations).max() < 0.75 * truth.max() + 0.5


def test_travelling_camera_centres_come_from_the_ground(scene):
    cam = _camera()
    traj = moving_trajectory("orbit", cam, 20, amount=20.0, target=[0.0, 1.0, 0.0])
    cm = track_camera([render_backdrop(c, scene)[0] for c in traj], cam.K)
    assert cm.translating, cm.summary()
    # the reference camera as a fit would give it: the mean orientation, at the first frame's centre
    R_ref = cm.rotations[0].T @ traj.R[0]
    ref = Camera(cam.K, R_ref, -R_ref @ traj.centers[0], W, H)
    C = camera_centers(cm, ref)
    travel = np.linalg.norm(traj.centers - traj.centers[0], axis=-1).max()
    assert travel > 1.0
    assert np.linalg.norm(C - traj.centers, axis=-1).max() < 0.06 * travel
    # a camera that only turns stays where it is
    pan = moving_trajectory("pan", cam, 12, amount=10.0)
    cm = track_camera([render_backdrop(c, scene)[0] for c in pan], cam.K)
    assert not cm.translating
    R_ref = cm.rotations[0].T @ pan.R[0]
    C = camera_centers(cm, Camera(cam.K, R_ref, -R_ref @ cam.center, W, H))
    assert np.linalg.norm(C - cam.center, axis=-1).max() < 0.05


def _sprite_frames(scene, cam: Camera, T: int, box_w: int, speed: float, rng: np.random.Generator):
    """Static camera; a textured block (the "person") slides across; returns frames and its boxes."""
    from humokit.render.backdrop import procedural_texture

    bg = render_backdrop(cam, scene)[0]
    tex = procedural_texture(H, box_w, rng, shapes=600, blur=0.8)
    frames, boxes = [], []
    for t in range(T):
        x0 = int(10 + speed * t)
        img = bg.copy()
        w = min(box_w, W - x0)
        img[10:H - 10, x0:x0 + w] = tex[10:H - 10, :w]
        frames.append(img)
        boxes.append([x0, 10, x0 + w, H - 10])
    return frames, np.array(boxes, dtype=float)


def test_static_camera_with_a_moving_person_is_static_and_person_points_are_ignored(scene):
    rng = np.random.default_rng(4)
    cam = _camera()
    # the "person" covers 70 % of the image and moves 3 px per frame
    frames, boxes = _sprite_frames(scene, cam, 16, int(0.7 * W), 3.0, rng)
    cm = track_camera(frames, cam.K, boxes=boxes)
    assert not cm.moving, cm.summary()
    assert cm.max_rotation_deg < 0.2 and cm.max_parallax_px < 0.5
    # without the mask the tracks on the person outnumber the background: the estimate follows the person
    cm_unmasked = track_camera(frames, cam.K, boxes=None)
    assert cm_unmasked.max_rotation_deg > cm.max_rotation_deg + 0.5


def test_compensation_maps_keypoints_into_the_reference_camera():
    rng = np.random.default_rng(5)
    cam = _camera()
    traj = moving_trajectory("pan", cam, 5, amount=12.0)
    X = _scene_points(cam, 33, rng)  # stand-ins for landmarks, static in the world
    uv = np.stack([project(c, X)[0] for c in traj])
    Xc = np.stack([X @ c.R.T + c.t for c in traj])
    from humokit.optim.keypoints import MEDIAPIPE_NAMES
    from humokit.optim.track import KeypointTrack

    track = KeypointTrack(MEDIAPIPE_NAMES, uv, np.ones((5, 33)), Xc - Xc[:, :1], np.ones(5, bool), 30.0, W, H)
    # true motion, reference = mean orientation
    from humokit.optim.camera_motion import mean_rotation

    Rrel = np.einsum("tij,kj->tik", traj.R, traj.R[0])
    Rm = mean_rotation(Rrel)
    rot = np.einsum("tij,kj->tik", Rrel, Rm)
    cm = CameraMotion(rot, np.zeros((5, 3)), np.zeros(5), np.zeros(5, int), np.ones(5, bool), (0,), 1.0, True, False,
                      K=cam.K)
    comp = compensate_track(track, cm)
    # every frame now looks like the reference camera's view: the static points stand still
    assert np.abs(comp.uv - comp.uv[:1]).max() < 1e-6
    assert np.abs(comp.world - comp.world[:1]).max() < 1e-9
    # and the per-frame cameras rebuilt from the reference camera reproduce each frame's pixels
    ref_R = Rm @ traj.R[0]
    ref = Camera(cam.K, ref_R, -ref_R @ cam.center, W, H)
    cams = camera_trajectory(ref, cm)
    for t in range(5):
        assert np.allclose(project(cams[t], X)[0], uv[t], atol=1e-6)
    assert "turns up to" in (camera_warning(cm) or "")
    with pytest.raises(InputError):
        compensate_track(track, CameraMotion(rot[:3], np.zeros((3, 3)), np.zeros(3), np.zeros(3, int),
                                             np.ones(3, bool), (0,), 1.0, True, False))


def test_static_camera_warning_is_none_and_config_is_checked():
    cm = CameraMotion(np.repeat(np.eye(3)[None], 3, 0), np.zeros((3, 3)), np.zeros(3), np.zeros(3, int),
                      np.ones(3, bool), (0,), 1.0, False, False)
    assert camera_warning(cm) is None and camera_warning(None) is None
    assert cm.summary().startswith("static")
    assert math.isclose(cm.max_rotation_deg, 0.0, abs_tol=1e-6)
    with pytest.raises(InputError):
        CameraMotionConfig(keyframe_fraction=1.5)


def test_recovery_with_a_panning_camera_keeps_the_walk_in_the_world(tmp_path):
    """Keypoints of a walk seen by a camera that turns to follow it: removing the turns gives back the path."""
    from dataclasses import replace

    from humokit.motion.builtin import builtin_motion
    from humokit.optim.camera_motion import mean_rotation
    from humokit.optim.fit import FitConfig
    from humokit.optim.recover import recover_track

    from ._synth import synthetic_track

    gt = builtin_motion("walk", seconds=2.0, fps=20)
    G = gt.joints()
    root = G[:, 0]
    fov = 2 * np.degrees(np.arctan(0.5 * 480 / 640))
    eye = root.mean(0) + np.array([4.0, 0.8, 1.0])
    cams = [look_at(eye, root[t], fov_y=fov, width=640, height=480) for t in range(len(G))]  # follows the pelvis
    per_frame = [synthetic_track(gt, c, px_noise=0.5, world_noise=0.01, seed=t) for t, c in enumerate(cams)]
    base = per_frame[0]
    track = replace(base, uv=np.stack([tr.uv[t] for t, tr in enumerate(per_frame)]),
                    world=np.stack([tr.world[t] for t, tr in enumerate(per_frame)]))
    traj = CameraTrajectory.from_cameras(cams)
    Rrel = np.einsum("tij,kj->tik", traj.R, traj.R[0])
    turned = rotation_angle_deg(Rrel).max()
    assert turned > 15.0
    rot = np.einsum("tij,kj->tik", Rrel, mean_rotation(Rrel))
    T = len(G)
    cm = CameraMotion(rot, np.zeros((T, 3)), np.zeros(T), np.zeros(T, int), np.ones(T, bool), (0,), 1.0, True, False,
                      K=cams[0].K)
    cfg = FitConfig(iters_pose=80, iters_contact=40)
    on = recover_track(track, skeleton=gt.skeleton, config=cfg, physics="none", camera_motion=cm, progress=False)
    off = recover_track(track, skeleton=gt.skeleton, config=cfg, physics="none", progress=False)

    def path(P: np.ndarray) -> float:
        return float(np.linalg.norm(np.diff(P[:, 0, [0, 2]], axis=0), axis=-1).sum())

    truth = path(G)
    assert abs(path(on.fit.motion.joints()) - truth) < 0.15 * truth
    assert abs(path(off.fit.motion.joints()) - truth) > 2 * abs(path(on.fit.motion.joints()) - truth)
    # the per-frame cameras put the fitted body back onto each frame's keypoints
    assert on.cameras is not None and len(on.cameras) == T and off.cameras is None
    P = on.fit.motion.joints()
    err = [np.linalg.norm(project(on.cameras[t], P[t, :1])[0] - project(cams[t], G[t, :1])[0]) for t in range(T)]
    assert np.median(err) < 15.0
    # the camera json stores every frame's world-to-camera and the measurement
    import json

    from humokit.optim.recover import save_recovery

    _, cam_path = save_recovery(on, tmp_path / "m.npz")
    info = json.loads(cam_path.read_text())
    Rt = np.asarray(info["cameras_per_frame"]["world_to_camera"])
    assert Rt.shape == (T, 3, 4) and np.allclose(Rt[:, :, :3], on.cameras.R, atol=1e-5)
    assert info["camera_motion"]["moving"] is True and info["camera_motion"]["max_rotation_deg"] > 15.0
    _, cam_path = save_recovery(off, tmp_path / "s.npz")
    assert "cameras_per_frame" not in json.loads(cam_path.read_text())
