import numpy as np
import pytest
import torch

from humokit.errors import InputError
from humokit.motion.features import RIC, features_to_joints, joints_to_features
from humokit.motion.plausibility import joint_plausibility
from humokit.optim.physics import FeatureProjector, project_features

from ._motions import standing


def _features(m) -> np.ndarray:
    return joints_to_features(m.resample(20.0).joints().astype(np.float64), uniform=False)


def test_clean_motion_unchanged():
    f = _features(standing(T=40))
    p = project_features(f)
    assert np.abs(features_to_joints(p, full=True) - features_to_joints(f, full=True)).max() < 1e-3


def test_gliding_feet_held_and_upper_body_kept():
    m = standing(T=60)
    glide = m.replace(root_position=m.root_position + np.outer(np.arange(60) * 0.01, [1, 0, 0]).astype(np.float32))
    f = _features(glide)
    before = joint_plausibility(features_to_joints(f, full=True), 20.0, ground=None)
    assert before.skate > 8.0
    p = project_features(f)
    after = joint_plausibility(features_to_joints(p, full=True), 20.0, ground=None)
    assert after.phys_err < 1.0, after
    # arms, spine and head (root-relative positions of joints 3, 6, 9, 12-21) are not touched
    upper = [3, 6, 9] + list(range(12, 22))
    ric_f = f[:, RIC].reshape(len(f), 21, 3)[:, [j - 1 for j in upper]]
    ric_p = p[:, RIC].reshape(len(p), 21, 3)[:, [j - 1 for j in upper]]
    assert np.abs(ric_f - ric_p).max() < 1e-4


def test_projector_batches_respect_lengths():
    f = _features(standing(T=60))
    n = len(f)
    mean, std = f.mean(0), f.std(0) + 1e-3
    x = torch.zeros(2, n, f.shape[1])
    x[0] = torch.as_tensor((f - mean) / std)
    x[1, :20] = x[0, :20]
    proj = FeatureProjector(mean, std)
    y = proj(x, torch.tensor([n, 20]))
    assert y.shape == x.shape and torch.equal(y[1, 20:], x[1, 20:])
    assert torch.allclose(y[0], x[0], atol=1e-2)


def test_bad_features():
    with pytest.raises(InputError):
        project_features(np.zeros((10, 12)))
    with pytest.raises(InputError):
        project_features(np.full((10, 263), np.nan))
