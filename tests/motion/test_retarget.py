"""Retargeting real CMU walking onto the canonical skeleton."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.errors import InputError
from humokit.motion.retarget import BANDAI_NAMCO, RetargetMap, find_retarget_map, retarget
from test_bvh import real_cmu_bvh  # tests/motion is on sys.path under pytest


@pytest.fixture(scope="module")
def walk():
    clip = real_cmu_bvh("07_01.bvh")
    return retarget(clip, fps=20.0)


def test_detects_map():
    assert find_retarget_map(real_cmu_bvh("07_01.bvh")).name == "cmu_daz"


def test_walk_moves_forward_along_z(walk):
    J = walk.joints()
    assert walk.fps == 20.0
    d = J[-1, 0] - J[0, 0]
    assert d[2] > 2.0  # metres walked along +Z
    assert abs(d[0]) < 0.3 * d[2]
    np.testing.assert_allclose(J[0, 0, [0, 2]], 0.0, atol=1e-5)


def test_feet_on_ground_in_contact_frames(walk):
    J = walk.joints()
    C = walk.contacts
    assert C is not None and 0.1 < C.mean() < 0.9
    # planted = slow (chosen by speed only, independent of height); a planted
    # foot's lowest sole point (ankle or toe joint minus its height above a
    # flat sole) must be on the ground
    feet = J[:, [7, 10, 8, 11]]
    speed = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * walk.fps
    soles = feet[..., 1] - walk.skeleton.sole_heights()
    left = soles[(speed[:, 0] < 0.2) & (speed[:, 1] < 0.2)][:, :2].min(1)
    right = soles[(speed[:, 2] < 0.2) & (speed[:, 3] < 0.2)][:, 2:].min(1)
    heights = np.concatenate([left, right])
    assert len(heights) > 10
    assert np.percentile(np.abs(heights), 90) < 0.03


def test_bone_lengths_constant(walk):
    J = walk.joints()
    par = list(walk.skeleton.parents)
    L = np.linalg.norm(J[:, 1:] - J[:, par[1:]], axis=-1)
    assert L.std(axis=0).max() < 1e-4
    assert 1.3 < J[:, 15, 1].max() < 1.8  # head joint (skull base) height of an adult, metres


def test_left_hand_on_plus_x_when_facing_z(walk):
    J = walk.joints()
    # at frame 0 the body faces +Z: left joints have larger x than right ones
    for l, r in ((1, 2), (16, 17), (20, 21)):
        assert J[0, l, 0] > J[0, r, 0]


def test_retarget_map_validation():
    with pytest.raises(InputError):
        RetargetMap("bad", {"pelvis": (("Hips", 1.0),)})
    assert "Hips" in BANDAI_NAMCO.source_joints


def test_humokit_written_bvh_retargets_back(tmp_path):
    """BVH files humokit writes (canonical, Anny and Mixamo rigs) load back through retarget."""
    from humokit.export import export_motion
    from humokit.motion.builtin import builtin_motion
    from humokit.motion.bvh import load_bvh
    from humokit.motion.retarget import retarget

    m = builtin_motion("walk", seconds=1.0, fps=20)
    for rig in ("canonical", "mixamo"):
        path = export_motion(m, tmp_path / f"{rig}.bvh", rig=rig)
        back = retarget(load_bvh(path), fps=20)
        assert back.num_frames == m.num_frames
        # same motion up to the grounding/facing normalisation retarget applies
        d = back.joints() - back.joints()[:1, :1]
        e = m.joints() - m.joints()[:1, :1]
        assert np.abs(d - e).max() < 0.03
