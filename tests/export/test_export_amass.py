"""AMASS npz export: only AMASS keys, Z-up convention, exact round trip."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.export import export_motion
from humokit.motion.motion import Motion


@pytest.mark.parametrize("fmt", ["npz", "amass"])
def test_amass_keys_and_round_trip(motion, tmp_path, fmt):
    path = export_motion(motion.replace(betas=np.arange(10) * 0.1, gender="female"), tmp_path / "m.npz", format=fmt)
    with np.load(path) as z:
        assert sorted(z.files) == ["betas", "gender", "mocap_framerate", "poses", "trans"]
        assert z["poses"].shape == (motion.num_frames, 156)
        assert float(z["mocap_framerate"]) == pytest.approx(motion.fps)
        assert str(z["gender"]) == "female"
        np.testing.assert_allclose(z["betas"], np.arange(10) * 0.1, atol=1e-6)
        # Z up: pelvis = R_c (J0 + trans) with R_c: (x, y, z) -> (x, z, -y), so humokit height y is AMASS z
        J0 = motion.skeleton.offsets[0]
        np.testing.assert_allclose(z["trans"][:, 2] + J0[2], motion.root_position[:, 1], atol=1e-5)
        np.testing.assert_allclose(-(z["trans"][:, 1] + J0[1]), motion.root_position[:, 2], atol=1e-5)
    back = Motion.load(path)
    assert back.num_frames == motion.num_frames and back.fps == pytest.approx(motion.fps)
    assert np.abs(back.joints() - motion.joints()).max() < 1e-3
