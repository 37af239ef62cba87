"""SMPL betas from the clip: a tiny SMPL-format model with known shape directions, sized from synthetic tracks."""

from __future__ import annotations

import pickle
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("smplx")

from humokit.motion.builtin import builtin_motion  # noqa: E402
from humokit.optim.scale import SMPLFamily, bone_lengths, estimate_body_size, landmark_proportions, stature  # noqa: E402
from humokit.render.camera import look_at  # noqa: E402

from ._synth import synthetic_track  # noqa: E402


def _write_model(path: Path) -> None:
    """The conftest's fake SMPL file with two meaningful shape directions: beta 0 scales the body about the
    floor (10 % per unit), beta 1 moves the lower legs (below the knees) down by 4 cm per unit."""
    # by path: another folder's conftest.py may already be imported as ``conftest``
    spec = importlib.util.spec_from_file_location("_tests_root_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    write_fake_smpl = root_conftest.write_fake_smpl

    data = write_fake_smpl(path)
    v = data["v_template"]
    dirs = np.zeros((len(v), 3, 10))
    floor = np.array([0.0, v[:, 1].min(), 0.0])
    dirs[:, :, 0] = 0.1 * (v - floor)
    owner = np.arange(len(v)) % 24
    dirs[np.isin(owner, [4, 5, 7, 8, 10, 11]), 1, 1] = -0.04  # knees, ankles, feet
    dirs[np.isin(owner, [7, 8, 10, 11]), 1, 1] = -0.08  # shins longer: ankles and feet further down
    data["shapedirs"] = dirs
    with open(path, "wb") as fh:
        pickle.dump(data, fh, protocol=2)


@pytest.fixture(scope="module")
def smpl_body(tmp_path_factory):
    from humokit.body.smpl import SMPLBody

    root = tmp_path_factory.mktemp("smpl_shape")
    _write_model(root / "smpl" / "SMPL_NEUTRAL.pkl")
    return SMPLBody("smpl", model_path=root)


def test_betas_reach_a_height_and_the_clip_proportions(smpl_body):
    fam = SMPLFamily(smpl_body)
    base = stature(fam.base)
    for h in (0.9 * base, 1.1 * base):
        b = fam.betas_at(h)
        assert stature(fam.skeleton_of(b)) == pytest.approx(h, rel=0.01)
        assert b[0] == pytest.approx(10 * (h / base - 1), abs=0.25)  # mostly the scale direction
    # a body with longer shins: its proportions (as the detector's 3D would show them) pick beta 1
    truth = np.zeros(10)
    truth[[0, 1]] = [0.8, 1.0]
    sk_true = fam.skeleton_of(truth)
    L = bone_lengths(sk_true.rest_positions())
    props = L / L.sum()
    fam2 = SMPLFamily(smpl_body, props, sigma_proportion=0.01)
    b = fam2.betas_at(stature(sk_true))
    assert b[1] == pytest.approx(1.0, abs=0.25) and b[0] == pytest.approx(0.8, abs=0.25)
    L2 = bone_lengths(fam2.skeleton_of(b).rest_positions())
    assert np.allclose(L2, L, rtol=0.03)


def test_size_from_a_synthetic_track_gives_betas_and_bone_lengths(smpl_body):
    truth = np.zeros(10)
    truth[[0, 1]] = [-0.6, 0.8]
    fam = SMPLFamily(smpl_body)
    sk_true = fam.skeleton_of(truth)
    m = builtin_motion("walk", seconds=2, fps=20)
    m = m.replace(skeleton=sk_true)
    cam = look_at(np.array([2.5, 1.6, 6.0]), np.array([0.0, 0.9, 1.0]), fov_y=45.0, width=640, height=480)
    track = synthetic_track(m, cam, px_noise=0.5, world_noise=0.005)
    props = landmark_proportions(track.world, track.confidence, track.names, fam.base)
    assert props is not None
    fam_clip = SMPLFamily(smpl_body, props)
    size = estimate_body_size(track.world, track.confidence, track.names, fam_clip, sigma_3d=0.01, prior=None)
    assert size.betas is not None and size.betas.shape == (10,)
    assert size.height == pytest.approx(stature(sk_true), rel=0.03)
    L_fit, L_true = bone_lengths(size.skeleton.rest_positions()), bone_lengths(sk_true.rest_positions())
    limbs = slice(0, 8)
    assert np.abs(L_fit[limbs] / L_true[limbs] - 1).max() < 0.05
    # the betas differ from the mean shape's zeros and lean the right way on the shin direction
    assert np.abs(size.betas).max() > 0.2 and size.betas[1] > 0.2


def test_recover_writes_the_betas_into_the_motion(smpl_body, tmp_path):
    import json

    from humokit.motion.motion import Motion
    from humokit.optim.fit import FitConfig
    from humokit.optim.recover import recover_track, save_recovery

    truth = np.zeros(10)
    truth[[0, 1]] = [0.5, -0.5]
    sk_true = SMPLFamily(smpl_body).skeleton_of(truth)
    m = builtin_motion("walk", seconds=1, fps=20).replace(skeleton=sk_true)
    cam = look_at(np.array([2.5, 1.6, 6.0]), np.array([0.0, 0.9, 1.0]), fov_y=45.0, width=640, height=480)
    track = synthetic_track(m, cam, px_noise=0.5, world_noise=0.005)
    cfg = FitConfig(iters_pose=4, iters_contact=2, lift=False, size_sigma_3d=0.01, height_prior=None)
    rec = recover_track(track, skeleton=smpl_body.rest().skeleton, body=smpl_body, config=cfg, progress=False,
                        physics="none")
    betas = rec.fit.motion.betas
    assert betas is not None and betas.shape == (10,) and np.abs(betas).max() > 0.1
    assert stature(rec.fit.motion.skeleton) == pytest.approx(stature(sk_true), rel=0.03)
    out, cam_json = save_recovery(rec, tmp_path / "m.npz")
    assert np.allclose(Motion.load(str(out)).betas, betas)
    info = json.loads(cam_json.read_text())
    assert np.allclose(info["body"]["smpl_betas"], betas, atol=1e-4)
    assert info["focal"]["source"] in ("walk", "prior")


def test_recover_cli_without_smpl_files_is_one_error_line(tmp_path):
    from click.testing import CliRunner

    from humokit.cli import cli

    video = tmp_path / "v.mp4"
    video.write_bytes(b"not decoded: the body is loaded first")
    res = CliRunner().invoke(cli, ["recover", str(video), "-o", str(tmp_path / "m.npz"), "--body", "smpl",
                                    "--body-model-path", str(tmp_path / "missing")])
    assert res.exit_code == 2, res.output
    assert res.output.strip().startswith("error: smpl: no model file found") and "Traceback" not in res.output
    assert not (tmp_path / "m.npz").exists()
