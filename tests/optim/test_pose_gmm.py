"""The mixture-of-Gaussians pose prior: fitting, likelihood ordering, files, the shipped one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from humokit.errors import FileFormatError, InputError
from humokit.motion.builtin import builtin_motion, builtin_pose
from humokit.motion.rotations import axis_angle
from humokit.optim.pose_gmm import SHIPPED, GMMPosePrior, default_pose_prior, fit_pose_gmm, pose_vectors
from humokit.motion.skeleton import JOINT_NAMES

KNEE = JOINT_NAMES.index("left_knee")


def _bent_knee_backwards(R: torch.Tensor) -> torch.Tensor:
    """The same poses with the left knee bent 120 degrees the wrong way."""
    R = R.clone()
    R[:, KNEE] = torch.as_tensor(axis_angle("x", -120.0), dtype=torch.float32)
    return R


def test_fitted_mixture_prefers_the_poses_it_saw(tmp_path):
    pytest.importorskip("sklearn")
    prior = fit_pose_gmm([builtin_motion("walk", 4.0), builtin_motion("squat", 4.0)], components=3, stride=2)
    walk = torch.as_tensor(builtin_motion("walk", 2.0).rotations)
    seen, odd = prior(walk, None, 30.0), prior(_bent_knee_backwards(walk), None, 30.0)
    assert float(seen) < float(odd) - 50.0
    # gradients reach the rotations (it is a fitting loss)
    R = walk.clone().requires_grad_(True)
    prior(R, None, 30.0).backward()
    assert torch.isfinite(R.grad).all() and R.grad.abs().sum() > 0
    # save / load round trip gives the same loss
    path = prior.save(tmp_path / "gmm.npz")
    again = GMMPosePrior.load(path)
    assert float(again(walk, None, 30.0)) == pytest.approx(float(seen), rel=1e-4, abs=1e-3)


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(FileFormatError, match="not found"):
        GMMPosePrior.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, weights=np.ones(2))
    with pytest.raises(FileFormatError, match="not a pose GMM"):
        GMMPosePrior.load(bad)
    cov = np.stack([np.eye(63), -np.eye(63)])
    with pytest.raises(InputError, match="positive definite"):
        GMMPosePrior(np.ones(2) / 2, np.zeros((2, 63)), cov)
    with pytest.raises(InputError, match="expected"):
        GMMPosePrior(np.ones(2) / 2, np.zeros((2, 62)), np.stack([np.eye(63)] * 2))
    pytest.importorskip("sklearn")
    with pytest.raises(InputError, match="too few"):
        fit_pose_gmm([builtin_pose("stand")], components=8)


def test_shipped_prior_is_the_default_and_knows_knees():
    assert SHIPPED.is_file()
    prior = default_pose_prior()
    assert isinstance(prior, GMMPosePrior) and len(prior.weights) == 8
    poses = (builtin_pose("stand"), builtin_motion("walk", 2.0), builtin_motion("squat", 2.0))
    for m in poses:
        R = torch.as_tensor(m.rotations)
        assert float(prior(R, None, 30.0)) < float(prior(_bent_knee_backwards(R), None, 30.0)) - 20.0
    assert pose_vectors(torch.as_tensor(builtin_pose("stand").rotations)).shape == (1, 63)
