"""Fixtures for the export tests: small motions with rich rotations."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.motion.motion import Motion
from humokit.motion.rotations import rotvec_to_rotmat


def wiggle_motion(num_frames: int = 12, fps: float = 24.0, seed: int = 0) -> Motion:
    """Every joint rotating smoothly (up to ~50 deg), the body turning and travelling."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames)[:, None, None] / fps
    amp = rng.normal(size=(22, 3)) * 0.35
    phase = rng.uniform(0, 2 * np.pi, size=(22, 3))
    rv = amp[None] * np.sin(2 * np.pi * 1.1 * t + phase[None])
    rv[:, 0] += np.array([0.0, 1.0, 0.0]) * 1.5 * t[:, 0]  # turn about +Y
    base = Motion.rest(num_frames, fps)
    root = base.root_position + np.concatenate([0.3 * t[:, 0], 0.02 * np.sin(6 * t[:, 0]), 1.2 * t[:, 0]], axis=1)
    return base.replace(rotations=rotvec_to_rotmat(rv).astype(np.float32), root_position=root.astype(np.float32))


@pytest.fixture(scope="module")
def motion() -> Motion:
    return wiggle_motion()
