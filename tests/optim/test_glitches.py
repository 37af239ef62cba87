"""Rejection of brief detector glitches in keypoint tracks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from humokit.motion.builtin import builtin_motion
from humokit.optim.track import reject_glitches
from humokit.render.camera import look_at

from ._synth import synthetic_track


def _track(name: str = "walk", seconds: float = 3.0, eye=(3.0, 0.8, 4.5)):
    m = builtin_motion(name, seconds=seconds, fps=30)
    target = m.joints()[:, 0].mean(0)
    cam = look_at(target + np.array(eye), target, fov_y=45.0, width=640, height=480)
    return synthetic_track(m, cam, px_noise=1.0)


def test_clean_tracks_keep_every_frame():
    for name in ("walk", "squat", "wave"):
        tr = _track(name)
        assert reject_glitches(tr).found.all(), name
    # a person crossing the image fast (camera close to the path, walk seen side-on)
    tr = _track("walk", eye=(2.0, 0.5, 0.0))
    assert reject_glitches(tr).found.all()


def test_jump_to_another_place_is_dropped():
    tr = _track()
    uv = tr.uv.copy()
    bad = [0, 1, 2, 3]  # the detector's tracking settles after a few frames, as on a cluttered first frame
    uv[bad] = uv[bad] * 0.6 + np.array([250.0, 40.0])  # a smaller "person" somewhere else
    uv[40] = uv[40, ::-1]  # one frame whose landmarks are shuffled onto each other
    out = reject_glitches(replace(tr, uv=uv))
    dropped = set(np.nonzero(~out.found)[0].tolist())
    assert set(bad) | {40} <= dropped
    assert dropped <= set(bad) | {4, 39, 40, 41}  # glitches and one frame either side, nothing else
    assert (out.confidence[sorted(dropped)] == 0).all()
    kept = ~np.isin(np.arange(tr.num_frames), sorted(dropped))
    assert (out.confidence[kept] == tr.confidence[kept]).all()


def test_short_or_torso_less_tracks_are_left_alone():
    tr = _track(seconds=0.3)
    assert reject_glitches(tr) is tr


def test_glitches_at_the_start_are_cut_not_held():
    from humokit.optim.recover import recover_track

    tr = _track(seconds=2.0)
    uv = tr.uv.copy()
    uv[:4] = uv[:4] * 0.6 + np.array([250.0, 40.0])  # tracking settles on the person at frame 4
    from humokit.optim.fit import FitConfig

    cfg = FitConfig(iters_pose=2, iters_contact=1, lift=False, estimate_size=False)
    rec = recover_track(replace(tr, uv=uv), config=cfg, physics="none", progress=False)
    assert rec.track.start == 5  # the glitch frames and the one after them are not part of the motion
    assert rec.report is not None and rec.report.span == (5, tr.num_frames)
    assert rec.fit.motion.num_frames == tr.num_frames - 5
    assert rec.report.warnings(tr.fps)  # the summary says the first frames were not recovered


def test_single_landmarks_far_off_for_a_moment_are_dropped():
    from humokit.optim.track import reject_outlier_landmarks

    for name in ("walk", "wave", "squat"):  # fast feet and wrists are not outliers
        tr = _track(name)
        assert np.array_equal(reject_outlier_landmarks(tr).confidence, tr.confidence), name
    tr = _track()
    names = list(tr.names)
    la, rw = names.index("left_ankle"), names.index("right_wrist")
    S = [names.index(n) for n in ("left_shoulder", "right_shoulder")]
    H = [names.index(n) for n in ("left_hip", "right_hip")]
    L = float(np.median(np.linalg.norm(tr.uv[:, S].mean(1) - tr.uv[:, H].mean(1), axis=-1)))
    uv = tr.uv.copy()
    uv[1, la] -= np.array([0.0, 1.8 * L])  # the ankle drawn far up the leg
    uv[40:42, rw] += np.array([2.0 * L, 0.0])  # a wrist off for two frames
    out = reject_outlier_landmarks(replace(tr, uv=uv))
    dropped = set(zip(*np.nonzero(out.confidence != tr.confidence)))
    assert dropped == {(1, la), (40, rw), (41, rw)}
    assert (out.confidence[[1, 40, 41], [la, rw, rw]] == 0).all()
    assert out.found.all()
