"""BVH reader/writer: hand-checked values, round trips, corrupt files."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.errors import FileFormatError
from humokit.motion.bvh import load_bvh, save_bvh
from humokit.motion.motion import Motion
from humokit.motion.rotations import axis_angle

TINY = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT arm
  {
    OFFSET 10 0 0
    CHANNELS 3 Yrotation Xrotation Zrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.05
1 2 3 0 0 0 0 0 0
0 0 0 90 0 0 0 0 90
"""


def test_tiny_file_values(tmp_path):
    p = tmp_path / "tiny.bvh"
    p.write_text(TINY)
    clip = load_bvh(p, scale=0.01)
    assert clip.names == ("hips", "arm", "arm_End")
    assert clip.end_site == (False, False, True)
    assert clip.euler_order(1) == "YXZ"
    assert clip.frame_time == pytest.approx(0.05)
    P = clip.world_positions()
    np.testing.assert_allclose(P[0], [[0.01, 0.02, 0.03], [0.11, 0.02, 0.03], [0.11, 0.07, 0.03]], atol=1e-12)
    # frame 1: root Rz(90) takes the arm offset +x to +y; the arm's own Rz(90) makes the
    # end site's world rotation Rz(180), so its (0, 5, 0) offset points down.
    np.testing.assert_allclose(P[1, 1], [0.0, 0.10, 0.0], atol=1e-12)
    np.testing.assert_allclose(P[1, 2], [0.0, 0.05, 0.0], atol=1e-12)


def test_euler_order_is_intrinsic_zxy():
    from humokit.motion.rotations import euler_to_rotmat

    a, b, c = 0.3, -0.5, 0.9
    expected = axis_angle("z", a, degrees=False) @ axis_angle("x", b, degrees=False) @ axis_angle("y", c, degrees=False)
    np.testing.assert_allclose(euler_to_rotmat(np.array([a, b, c]), "ZXY"), expected, atol=1e-12)


def _random_motion(T=12, seed=0):
    rng = np.random.default_rng(seed)
    from humokit.motion.rotations import rotvec_to_rotmat

    R = rotvec_to_rotmat(rng.normal(scale=0.6, size=(T, 22, 3)))
    root = rng.normal(size=(T, 3)) + [0, 1, 0]
    return Motion(R, root, 30.0)


@pytest.mark.parametrize("unit", ["cm", "m"])
def test_motion_round_trip(tmp_path, unit):
    m = _random_motion()
    p = tmp_path / "m.bvh"
    save_bvh(m, p, unit=unit)
    clip = load_bvh(p, scale=0.01 if unit == "cm" else 1.0)
    P = clip.world_positions()
    J = m.joints()
    idx = [clip.index(n) for n in m.skeleton.names]
    assert np.abs(P[:, idx] - J).max() < 1e-4  # < 0.1 mm
    assert clip.fps == pytest.approx(30.0, rel=1e-6)


def test_generic_clip_round_trip(tmp_path):
    p = tmp_path / "tiny.bvh"
    p.write_text(TINY)
    clip = load_bvh(p)
    q = tmp_path / "again.bvh"
    save_bvh(clip, q)
    again = load_bvh(q)
    assert again.names == clip.names and again.channels == clip.channels
    assert np.abs(again.world_positions() - clip.world_positions()).max() < 1e-4


CORRUPT = {
    "empty": ("", 1),
    "truncated": (TINY.rsplit("\n", 2)[0] + "\n", 20),
    "channel_count": (TINY.replace("0 0 0 90 0 0 0 0 90", "0 0 0 90 0 0 0 0"), 20),
    "non_numeric": (TINY.replace("1 2 3 0", "1 2 abc 0"), 19),
    "bad_channels_decl": (TINY.replace("CHANNELS 3 Yrotation", "CHANNELS 4 Yrotation"), 9),
}


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_corrupt_files_give_one_line_errors(tmp_path, kind):
    text, line = CORRUPT[kind]
    p = tmp_path / f"{kind}.bvh"
    p.write_text(text)
    with pytest.raises(FileFormatError) as err:
        load_bvh(p)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{p}:{line}:"), msg
    assert err.value.line == line


def real_cmu_bvh(member: str = "07_01.bvh"):
    """One real CMU clip read straight from the shared archive (skips if absent)."""
    import tarfile

    from humokit._paths import shared_dir

    arch = shared_dir() / "data" / "motion" / "cmu-mocap-subset.tar.xz"
    if not arch.exists():
        pytest.skip(f"{arch} not available")
    with tarfile.open(arch) as tar:
        for m in tar:
            if m.isfile() and m.name.endswith(member):
                f = tar.extractfile(m)
                assert f is not None
                return load_bvh(m.name, text=f.read().decode())
    pytest.skip(f"{member} not in {arch}")


def test_real_file_from_archive():
    clip = real_cmu_bvh()
    assert clip.num_frames > 10 and clip.num_joints > 20
    assert np.all(np.isfinite(clip.world_positions()))
