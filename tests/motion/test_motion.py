import json
import zipfile

import numpy as np
import pytest
import roma

from humokit.errors import FileFormatError, InputError
from humokit.motion import Motion
from humokit.motion.builtin import builtin_motion, builtin_pose
from humokit.motion.io_npz import amass_to_motion, motion_to_amass
from humokit.motion.skeleton import MIRROR_INDEX


def random_motion(T=40, seed=0, fps=30.0):
    g = np.random.default_rng(seed)
    import torch

    torch.manual_seed(seed)
    R = roma.random_rotmat((T, 22)).numpy()
    return Motion(R, g.normal(size=(T, 3)), fps, betas=g.normal(size=10), gender="female")


def test_npz_roundtrip_is_lossless(tmp_path):
    m = random_motion().replace(contacts=np.random.default_rng(1).random((40, 4)) > 0.5, meta={"text": "hi"})
    m.save(str(tmp_path / "m.npz"))
    m2 = Motion.load(str(tmp_path / "m.npz"))
    np.testing.assert_array_equal(m2.rotations, m.rotations)
    np.testing.assert_array_equal(m2.root_position, m.root_position)
    np.testing.assert_array_equal(m2.contacts, m.contacts)
    np.testing.assert_array_equal(m2.betas, m.betas)
    assert m2.fps == m.fps and m2.gender == "female" and m2.meta == {"text": "hi"}


def test_amass_only_file_roundtrip(tmp_path):
    """A file with only AMASS keys (Z-up) loads back to the same motion."""
    m = random_motion()
    amass = motion_to_amass(m)
    assert amass["poses"].shape == (40, 156) and amass["trans"].shape == (40, 3)
    np.savez(tmp_path / "a.npz", **amass)
    m2 = Motion.load(str(tmp_path / "a.npz"))
    np.testing.assert_allclose(m2.rotations, m.rotations, atol=1e-5)
    np.testing.assert_allclose(m2.joints(), m.joints(), atol=1e-5)
    assert m2.fps == 30.0 and m2.gender == "female"


def test_amass_axis_convention():
    """An AMASS pose standing up in Z-up (root_orient = +90 deg about X) is upright in Y-up."""
    poses = np.zeros((1, 156))
    poses[0, :3] = [np.pi / 2, 0, 0]
    m = amass_to_motion({"poses": poses, "trans": np.zeros((1, 3)), "mocap_framerate": 60.0})
    np.testing.assert_allclose(m.rotations[0, 0], np.eye(3), atol=1e-6)
    J = m.joints()[0]
    assert J[15, 1] > J[0, 1] + 0.4  # head above pelvis along +Y
    assert J[16, 0] > 0  # left shoulder on +X, body faces +Z


def test_smpl_72_layout_loads():
    poses = np.zeros((5, 72))
    m = amass_to_motion({"poses": poses, "trans": np.zeros((5, 3)), "mocap_framerate": 30})
    assert m.num_frames == 5


def test_mirror_twice_is_identity_and_mirrors_positions():
    m = random_motion()
    mm = m.mirror()
    J, Jm = m.joints(), mm.joints()
    np.testing.assert_allclose(Jm, J[:, list(MIRROR_INDEX)] * [-1, 1, 1], atol=1e-5)
    m2 = mm.mirror()
    np.testing.assert_allclose(m2.rotations, m.rotations, atol=1e-6)
    np.testing.assert_allclose(m2.root_position, m.root_position, atol=1e-6)


def test_resample_preserves_endpoints_and_time():
    m = builtin_motion("walk", seconds=2.0, fps=30)
    r = m.resample(20)
    assert r.fps == 20 and r.num_frames == 40
    np.testing.assert_allclose(r.rotations[0], m.rotations[0], atol=1e-6)
    # frame 2 at 20 fps is t = 0.1 s = frame 3 at 30 fps
    np.testing.assert_allclose(r.joints()[2], m.joints()[3], atol=1e-4)
    back = r.resample(30)
    np.testing.assert_allclose(back.joints()[::3], m.joints()[: back.num_frames : 3], atol=2e-2)


def test_slice_concat():
    m = builtin_motion("walk", seconds=1.0, fps=30)
    a, b = m[:10], m[10:]
    c = a.concat(b)
    np.testing.assert_array_equal(c.rotations, m.rotations)
    assert m[::2].fps == 15
    with pytest.raises(InputError, match="fps"):
        a.concat(b.resample(20))


def test_builtin_walk_moves_forward_on_ground():
    m = builtin_motion("walk", seconds=3.0)
    J = m.joints()
    assert J[-1, 0, 2] - J[0, 0, 2] > 1.5  # ~1.2 m/s along +Z
    soles = (J[:, [7, 10, 8, 11], 1] - m.skeleton.sole_heights()).min(1)
    np.testing.assert_allclose(soles, 0, atol=1e-5)  # the lowest sole touches the ground
    assert J[:, [10, 11], 1].min() > 0.015  # toe joints sit inside the foot, above the floor
    assert builtin_pose("apose").num_frames == 1


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(rotations=np.full((2, 22, 3, 3), np.nan)), "NaN"),
        (dict(rotations=np.zeros((2, 21, 3, 3))), "shape"),
        (dict(root_position=np.zeros((3, 3))), "root_position"),
        (dict(fps=0), "fps"),
        (dict(rotations=np.ones((2, 22, 3, 3))), "orthonormal"),
    ],
)
def test_bad_motion_values(bad, match):
    kw = dict(rotations=np.broadcast_to(np.eye(3), (2, 22, 3, 3)), root_position=np.zeros((2, 3)), fps=30)
    kw.update(bad)
    with pytest.raises(InputError, match=match):
        Motion(**kw)


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        Motion.load(str(tmp_path / "missing.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError, match="junk.npz"):
        Motion.load(str(tmp_path / "junk.npz"))
    np.savez(tmp_path / "keys.npz", foo=np.zeros(3))
    with pytest.raises(FileFormatError, match=r"missing key\(s\) poses, trans, mocap_framerate"):
        Motion.load(str(tmp_path / "keys.npz"))
    np.savez(tmp_path / "nan.npz", poses=np.full((3, 156), np.nan), trans=np.zeros((3, 3)), mocap_framerate=30.0)
    with pytest.raises(FileFormatError, match="NaN"):
        Motion.load(str(tmp_path / "nan.npz"))
    np.savez(tmp_path / "shape.npz", poses=np.zeros((3, 10)), trans=np.zeros((3, 3)), mocap_framerate=30.0)
    with pytest.raises(FileFormatError, match="poses"):
        Motion.load(str(tmp_path / "shape.npz"))
    for p in tmp_path.iterdir():
        try:
            Motion.load(str(p))
        except FileFormatError as e:
            assert "\n" not in str(e)


def test_save_is_atomic(tmp_path, monkeypatch):
    m = random_motion()
    target = tmp_path / "out.npz"

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(RuntimeError):
        m.save(str(target))
    assert list(tmp_path.iterdir()) == []


def test_saved_files_have_normal_permissions(tmp_path):
    import os
    import stat

    random_motion().save(str(tmp_path / "m.npz"))
    mode = stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
