"""Reprojection error and confidence describe the SAVED motion, over frames with a detection only;
warnings name frames without a detection; the warning hook; ``recover --device``."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from humokit.motion.builtin import builtin_motion
from humokit.optim import recover as recover_mod
from humokit.optim.fit import FitConfig
from humokit.optim.landmarks import marker_positions, marker_table
from humokit.optim.recover import recover_track, register_warning
from humokit.render.camera import look_at, project

from ._synth import synthetic_track

FAST = FitConfig(iters_pose=40, iters_contact=30, iters_refine=20)
GAP = slice(10, 16)


def _raw_track_with_gap():
    gt = builtin_motion("walk", seconds=1.0, fps=30)
    target = gt.joints()[:, 0].mean(0)
    fov = 2 * math.degrees(math.atan(0.5 * 480 / 640))
    cam = look_at(target + np.array([2.5, 0.6, 4.0]), target, fov_y=fov, width=640, height=480)
    tr = synthetic_track(gt, cam, px_noise=0.5)
    uv, conf, world, found = tr.uv.copy(), tr.confidence.copy(), tr.world.copy(), tr.found.copy()
    uv[GAP], conf[GAP], world[GAP], found[GAP] = np.nan, 0.0, np.nan, False  # the detector lost the person
    return dataclasses.replace(tr, uv=uv, confidence=conf, world=world, found=found)


@pytest.fixture(scope="module")
def recovery():
    return recover_track(_raw_track_with_gap(), config=FAST, physics="kinematic", progress=False)


def test_reprojection_is_measured_on_the_saved_motion_over_detected_frames(recovery):
    fit, track = recovery.fit, recovery.track
    err = fit.reprojection_error
    assert np.isnan(err[GAP]).all() and np.isfinite(np.delete(err, np.r_[GAP])).all()
    assert (fit.confidence[GAP] == 0).all() and fit.detected.sum() == len(err) - 6
    assert fit.mean_reprojection() == pytest.approx(float(np.nanmean(err)))
    # recompute from the motion as saved: project its markers through the saved camera
    cols, mj, moff, w = marker_table(track.names)
    J, Rw = fit.motion.fk()
    s = float(fit.motion.meta["height_m"]) / 1.626  # marker offsets grow with the fitted body
    M = marker_positions(J, Rw, torch.as_tensor(mj), torch.as_tensor(moff * s, dtype=torch.float32)).numpy()
    uvp, _ = project(fit.camera, M)
    d = np.linalg.norm(uvp - track.uv[:, cols], axis=-1)
    c = (track.confidence[:, cols] > 0.7).astype(float)  # fully visible markers (the synthetic ones)
    mine = (c * d).sum(1) / c.sum(1).clip(1e-6)
    det = fit.detected
    np.testing.assert_allclose(err[det], mine[det], rtol=1e-3, atol=1e-3)


def test_warnings_name_missing_frames_and_the_hook_adds_its_own(recovery):
    assert any("no detection in 6/30 frames" in w for w in recovery.warnings)

    def moving(rec):
        return ["camera moves (test)"]

    register_warning(moving)
    register_warning(moving)  # twice: once
    try:
        assert recovery.warnings.count("camera moves (test)") == 1
    finally:
        recover_mod._WARNING_CHECKS.remove(moving)
    assert "camera moves (test)" not in recovery.warnings


def test_recover_device_cpu_runs_the_fit_there(tmp_path, monkeypatch):
    from humokit.cli import cli

    seen = {}
    raw = _raw_track_with_gap()
    monkeypatch.setattr(recover_mod, "detect_track", lambda *a, **k: raw)  # no video decoding
    real_fit = recover_mod.fit_track

    def fit(track, **kw):
        seen["device"] = kw["device"]
        return real_fit(track, **{**kw, "config": FAST})

    monkeypatch.setattr(recover_mod, "fit_track", fit)
    out = tmp_path / "m.npz"
    res = CliRunner().invoke(cli, ["recover", str(tmp_path / "v.mp4"), "-o", str(out), "--body", "none",
                                   "--device", "cpu", "--camera", "static"])  # no video to measure the camera in
    assert res.exit_code == 0, res.output
    assert seen["device"] == "cpu" and out.exists()
    assert "frames with a detection" in res.output and "warning    no detection in 6/30 frames" in res.output
    import json

    info = json.loads((tmp_path / "m.camera.json").read_text())
    assert info["summary"]["frames_detected"] == 24 and info["reprojection_error_px"][GAP.start] is None
    assert any("no detection" in w for w in info["warnings"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present here")
def test_recover_cuda_without_a_gpu_is_one_error_line(tmp_path):
    from humokit.cli import cli

    res = CliRunner().invoke(cli, ["recover", str(tmp_path / "v.mp4"), "-o", str(tmp_path / "m.npz"),
                                   "--device", "cuda"])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "CUDA" in lines[0]
    assert not (tmp_path / "m.npz").exists()
