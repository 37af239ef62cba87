"""The lifting network: input normalisation, training on synthetic data, weights round trip, shipped model accuracy."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from humokit.errors import FileFormatError, InputError
from humokit.motion.builtin import builtin_motion
from humokit.optim.lift import (
    LIFT_NAMES,
    LiftConfig,
    LiftNet,
    has_shipped_lifter,
    lift_keypoints,
    lift_track,
    load_lifter,
    normalise_keypoints,
    save_lifter,
)
from humokit.optim.lift_data import NoiseConfig, bank_from_motions, make_batch
from humokit.optim.lift_train import evaluate, lift_loss, val_batches

TINY = LiftConfig(filters=(3, 3), channels=32, dropout=0.0)


@pytest.fixture(scope="module")
def bank():
    motions = [builtin_motion(n, seconds=3.0, fps=20) for n in ("walk", "wave", "squat")]
    return bank_from_motions(motions, pad=40)


def test_normalisation_ignores_image_position_and_size():
    rng = np.random.default_rng(0)
    uv = rng.normal(size=(50, len(LIFT_NAMES), 2)) * 40 + 300
    conf = rng.uniform(0.5, 1.0, (50, len(LIFT_NAMES)))
    a = normalise_keypoints(uv, conf)
    b = normalise_keypoints(uv * 2.5 - 100, conf)
    assert a.shape == (50, len(LIFT_NAMES), 3)
    np.testing.assert_allclose(a, b, atol=1e-5)
    hips = [LIFT_NAMES.index("left_hip"), LIFT_NAMES.index("right_hip")]
    np.testing.assert_allclose(a[:, hips, :2].mean(1), 0.0, atol=1e-5)  # centred on the mid-hip
    # unknown landmarks read zero with confidence 0; batched == per item
    uv[:, 0] = np.nan
    c = normalise_keypoints(uv, conf)
    assert (c[:, 0] == 0).all() and np.isfinite(c).all()
    np.testing.assert_allclose(normalise_keypoints(np.stack([uv, uv]), np.stack([conf, conf]))[1], c, atol=1e-6)


def test_batch_shapes_and_noise(bank):
    rng = np.random.default_rng(0)
    x, y, m = make_batch(bank, 4, 100, 20, rng)
    assert x.shape == (4, 100, len(LIFT_NAMES), 3) and y.shape == (4, 20, 22, 3) and m.shape == (4, 20)
    assert torch.isfinite(x).all() and torch.isfinite(y).all()
    np.testing.assert_allclose(y[..., 0, :].numpy(), 0.0, atol=1e-6)  # pelvis-relative
    # clean inputs have full confidence; detector noise lowers some
    xc, _, _ = make_batch(bank, 4, 100, 20, np.random.default_rng(1), noise=None)
    assert (xc[..., 2] == 1).all()
    xn, _, _ = make_batch(bank, 16, 100, 20, np.random.default_rng(1), noise=NoiseConfig(hide_arm=1.0))
    assert (xn[..., 2] < 0.5).float().mean() > 0.02


def test_tiny_model_learns(bank):
    torch.manual_seed(0)
    model = LiftNet(TINY)
    out = 16
    x0, y0, m0 = make_batch(bank, 16, TINY.receptive_field - 1 + out, out, np.random.default_rng(7), noise=None)

    def held_out() -> float:  # batch statistics (train mode): 60 steps are too few for settled running stats
        with torch.no_grad():
            return float(lift_loss(*model(x0), y0, m0)[1])

    before = held_out()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(60):
        x, y, m = make_batch(bank, 8, TINY.receptive_field - 1 + out, out, rng, noise=None)
        loss, _ = lift_loss(*model(x), y, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert held_out() < 0.5 * before


def test_save_load_round_trip(tmp_path, bank):
    torch.manual_seed(0)
    model = LiftNet(TINY).eval()
    x, _, _ = make_batch(bank, 1, 60, 10, np.random.default_rng(0))
    save_lifter(model, tmp_path / "full", half=False)
    save_lifter(model, tmp_path / "half")
    a = lift_keypoints(model, x[0].numpy())
    b = lift_keypoints(load_lifter(tmp_path / "full"), x[0].numpy())
    c = lift_keypoints(load_lifter(tmp_path / "half"), x[0].numpy())
    assert a.joints.shape == (60, 22, 3) and a.std.shape == (60, 22)  # every input frame gets an output
    np.testing.assert_allclose(a.joints, b.joints, atol=1e-6)
    np.testing.assert_allclose(a.joints, c.joints, atol=5e-3)
    with pytest.raises(FileFormatError):
        load_lifter(tmp_path / "missing")
    with pytest.raises(InputError):
        lift_keypoints(model, np.zeros((5, 3, 3)))


@pytest.mark.skipif(not has_shipped_lifter(), reason="shipped lifting weights missing")
def test_shipped_lifter_lifts_projected_motion(bank):
    model = load_lifter()
    assert sum(p.numel() for p in model.parameters()) * 2 < 5e6  # float16 on disk, < 5 MB
    clean = val_batches(bank, model.cfg, count=1, batch=16, out=40, seed=3, noise=False)
    noisy = val_batches(bank, model.cfg, count=1, batch=16, out=40, seed=3, noise=True)
    e_clean = evaluate(model, clean, procrustes=True)
    e_noisy = evaluate(model, noisy, procrustes=True)
    # measured at shipping on the procedural built-ins (default skeleton, unlike the mocap performers the
    # network was trained on): clean MPJPE ~148 / PA ~79 mm, noisy ~136 / ~72 mm
    assert e_clean["mpjpe"] < 180.0 and e_clean["pa_mpjpe"] < 100.0
    assert e_noisy["mpjpe"] < 170.0 and e_noisy["pa_mpjpe"] < 95.0


_DATA = Path(os.environ.get("HUMOKIT_DATA", "~/humokit_data/v1")).expanduser()


@pytest.mark.skipif(not has_shipped_lifter() or not (_DATA / "val.txt").is_file(), reason="weights or dataset missing")
def test_shipped_lifter_on_val_motions():
    from humokit.motion.dataset import split_names
    from humokit.motion.motion import Motion

    names = [n for n in split_names(_DATA, "val") if not n.startswith("M")][:8]
    b = bank_from_motions([Motion.load(str(_DATA / "motions" / f"{n}.npz")) for n in names], pad=40)
    model = load_lifter()
    e = evaluate(model, val_batches(b, model.cfg, count=1, batch=16, out=40, seed=3, noise=True), procrustes=True)
    assert e["mpjpe"] < 110.0 and e["pa_mpjpe"] < 80.0  # measured at shipping: 89.6 / 62.8 mm


def test_other_frame_rates_are_lifted_at_the_training_rate(bank):
    torch.manual_seed(0)
    model = LiftNet(TINY).eval()
    x, _, _ = make_batch(bank, 1, 40, 10, np.random.default_rng(2), noise=None)
    # a 20 fps track of pixels and the same track at 40 fps (midpoints interpolated)
    uv = x[0, :, :, :2].numpy().astype(np.float64) * 200 + 320
    conf = np.ones(uv.shape[:2])
    uv40 = np.empty((2 * len(uv) - 1,) + uv.shape[1:])
    uv40[0::2], uv40[1::2] = uv, 0.5 * (uv[1:] + uv[:-1])
    conf40 = np.ones(uv40.shape[:2])
    a = lift_track(LIFT_NAMES, uv, conf, model, fps=20.0)
    b = lift_track(LIFT_NAMES, uv40, conf40, model, fps=40.0)
    assert b.joints.shape == (len(uv40), 22, 3)
    np.testing.assert_allclose(b.joints[0::2], a.joints, atol=1e-4)


def test_prior_term_is_blind_to_orientation_when_aligned():
    from humokit.optim.lift import align_rotations, lift_prior_loss

    g = torch.Generator().manual_seed(0)
    target = torch.randn(5, 22, 3, generator=g, dtype=torch.float64) * 0.3
    target = target - target[:, :1]
    R = torch.linalg.qr(torch.randn(5, 3, 3, generator=g, dtype=torch.float64))[0]
    R = R * torch.sign(torch.det(R))[:, None, None]
    joints = target @ R.transpose(-1, -2) + torch.tensor([0.2, 1.0, 4.0], dtype=torch.float64)
    w = torch.ones(5, 22, dtype=torch.float64)
    torch.testing.assert_close(align_rotations(target, joints - joints[:, :1], w), R)
    assert float(lift_prior_loss(joints, target, w, 0.05)) < 1e-12
    assert float(lift_prior_loss(joints, target, w, 0.05, align=False)) > 1.0
    bent = joints.clone()
    bent[:, 4] += 0.05  # one knee moved: the aligned term still sees it
    assert float(lift_prior_loss(bent, target, w, 0.05)) > 0.3


def test_ends_are_padded_by_reflection():
    torch.manual_seed(0)
    model = LiftNet(TINY).eval()
    p = TINY.pad
    x = torch.randn(30, TINY.inputs, 3)
    out = lift_keypoints(model, x.numpy())
    xp = torch.cat([x[1 : p + 1].flip(0), x, x[-p - 1 : -1].flip(0)])  # frame 0 sees frames p..1 before it
    with torch.no_grad():
        j, _ = model(xp[None])
    np.testing.assert_allclose(out.joints, j[0].numpy(), atol=1e-5)
    short = lift_keypoints(model, x[:p].numpy())  # too short to reflect: its ends are repeated
    assert short.joints.shape == (p, 22, 3) and np.isfinite(short.joints).all()
