"""The temporal fit recovers known motions from their synthetic 2D/3D keypoints."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.errors import InputError
from humokit.motion.builtin import builtin_motion
from humokit.optim.fit import FitConfig, fit_track
from humokit.optim.metrics import mpjpe, pa_mpjpe
from humokit.render.camera import look_at

from ._synth import synthetic_track


def _camera(motion, width=640, height=480):
    root = motion.joints()[:, 0]
    target = root.mean(0)
    fov = 2 * np.degrees(np.arctan(0.5 * height / max(width, height)))  # focal = max(w, h), the default
    return look_at(target + np.array([3.0, 0.8, 4.5]), target, fov_y=fov, width=width, height=height)


@pytest.mark.parametrize("name", ["walk", "squat"])
def test_fit_recovers_synthetic_motion(name):
    gt = builtin_motion(name, seconds=1.5, fps=30)
    cam = _camera(gt)
    track = synthetic_track(gt, cam, px_noise=1.0, world_noise=0.02)
    # the geometric fit alone: the learned lifting prior reads these marker-only tracks poorly (next test)
    res = fit_track(track, skeleton=gt.skeleton, config=FitConfig(lift=False), progress=False)
    P, G = res.motion.joints(), gt.joints()
    assert P.shape == G.shape
    assert pa_mpjpe(P, G) < 20.0
    # camera-frame pose (pelvis aligned) is right too, and gravity is recovered
    Pc = P @ res.camera.R.T + res.camera.t
    Gc = G @ cam.R.T + cam.t
    assert mpjpe(Pc, Gc) < 35.0
    up_err = np.degrees(np.arccos(np.clip(res.camera.R[:, 1] @ cam.R[:, 1], -1, 1)))
    assert up_err < 6.0
    # world-grounded: feet on y = 0, no frame deep under the ground
    feet = res.motion.joints()[:, [10, 11], 1]
    assert feet.min() > -0.05 and np.percentile(feet.min(1), 10) < 0.08
    assert res.reprojection_error.mean() < 4.0
    assert res.confidence.shape == (gt.num_frames,) and (res.confidence > 0.5).all()


@pytest.mark.parametrize("rotations", ["axis_angle", "6d"])
def test_fit_windows_match_single_window(rotations):
    gt = builtin_motion("walk", seconds=2.0, fps=30)
    track = synthetic_track(gt, _camera(gt), px_noise=0.5, world_noise=0.01)
    res = fit_track(track, skeleton=gt.skeleton, config=FitConfig(window=24, overlap=6, iters_pose=30, iters_contact=30,
                                                                  rotations=rotations), progress=False)
    P, G = res.motion.joints(), gt.joints()
    assert pa_mpjpe(P, G) < 25.0
    # no jumps at window seams
    step = np.linalg.norm(np.diff(P[:, 0], axis=0), axis=-1)
    assert step.max() < 0.1


def test_fit_default_lift_prior_on_exact_keypoints():
    """The default fit (lifting prior, weight 4: chosen on MediaPipe detections of rendered bodies) on an exact
    marker-only track: the prior pulls towards the network's pose (15 mm with weight 1, 31 mm with 4), the
    image still holds the body (a regression guard, not a target)."""
    gt = builtin_motion("walk", seconds=1.5, fps=30)
    cam = _camera(gt)
    res = fit_track(synthetic_track(gt, cam, px_noise=1.0, world_noise=0.02), skeleton=gt.skeleton, progress=False)
    assert FitConfig().w_lift == 4.0
    assert pa_mpjpe(res.motion.joints(), gt.joints()) < 36.0
    assert res.reprojection_error.mean() < 6.0


def test_fit_rejects_bad_input():
    gt = builtin_motion("walk", seconds=0.5, fps=30)
    track = synthetic_track(gt, _camera(gt))
    with pytest.raises(InputError):
        fit_track(track, focal=-1.0, progress=False)
    with pytest.raises(InputError):
        FitConfig(window=10, overlap=8)
    with pytest.raises(InputError):
        FitConfig(visible=(0.7, 0.3))
    with pytest.raises(InputError):
        FitConfig(rotations="euler")
