"""Evaluation metrics on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.errors import InputError
from humokit.motion import metrics as M


def _pairs(n: int = 320, d: int = 16, noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.standard_normal((n, d))
    return t, t + noise * rng.standard_normal((n, d))


def test_fid_identical_is_zero_and_shift_is_positive() -> None:
    a, _ = _pairs()
    assert M.fid(a, a) == pytest.approx(0.0, abs=1e-6)
    assert M.fid(a, a + 1.0) == pytest.approx(16.0, rel=1e-3)  # |mean shift|^2 = 16 * 1


def test_r_precision_matched_and_shuffled() -> None:
    t, m = _pairs()
    assert M.r_precision(t, m)[0] == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    chance = np.mean([M.r_precision(t, m[rng.permutation(len(m))]) for _ in range(20)], axis=0)
    np.testing.assert_allclose(chance, [1 / 32, 2 / 32, 3 / 32], atol=0.02)
    assert np.all(np.diff(M.r_precision(t, m[rng.permutation(len(m))])) >= 0)


def test_mm_dist_diversity_multimodality() -> None:
    t, m = _pairs(noise=0.0)
    assert M.mm_dist(t, m) == 0.0
    assert M.diversity(t) > 1.0
    same = np.repeat(t[:8, None], 5, axis=1)
    assert M.multimodality(same) == 0.0
    with pytest.raises(InputError):
        M.multimodality(t)
    with pytest.raises(InputError):
        M.r_precision(t[:10], m[:10])


def test_physical_metrics() -> None:
    from humokit.motion.plausibility import joint_plausibility
    from humokit.motion.skeleton import default_skeleton

    T = 20
    toe = default_skeleton().sole_heights()[1]
    J = np.zeros((T, 22, 3))
    J[:, :, 1] = 0.5
    J[:, 10, 1] = toe  # left toe on the floor, sliding 1 cm per frame
    J[:, 10, 0] = 0.01 * np.arange(T)
    J[:, 11, 1] = toe
    r = joint_plausibility(J, 20.0)
    assert r.skate == pytest.approx(0.01 * 1000 / 2, rel=1e-6)  # two contact feet, one sliding
    assert r.penetrate == 0.0 and r.float == 0.0
    J2 = J.copy()
    J2[..., 1] -= 0.02
    assert joint_plausibility(J2, 20.0).penetrate == pytest.approx(20.0)
    assert joint_plausibility(J2, 20.0, ground=None).penetrate == 0.0  # grounded by its soles first
    J3 = J.copy()
    J3[..., 1] += 0.03
    assert joint_plausibility(J3, 20.0).float == pytest.approx(30.0)
    assert r.jerk_peak == pytest.approx(0.0, abs=1e-9)
    J4 = J.copy()
    J4[:, 0, 0] = (np.arange(T) / 20.0) ** 3  # x = t^3 -> third derivative 6 m/s^3
    assert joint_plausibility(J4, 20.0).jerk_peak == pytest.approx(6.0, rel=1e-3)
    with pytest.raises(InputError):
        joint_plausibility(np.zeros((0, 22, 3)), 20.0)
