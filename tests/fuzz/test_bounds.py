"""Sizes and rates from files are checked before anything is allocated."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from humokit._limits import MAX_FRAMES, MAX_NPZ_ARRAY_BYTES, MAX_NPZ_TOTAL_BYTES
from humokit._npz import check_npz, read_npz
from humokit.errors import FileFormatError
from humokit.motion import Motion
from humokit.motion.bvh import load_bvh


def _npy_header(shape, dtype="<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_deflate_bomb_is_refused_before_loading(tmp_path):
    p = tmp_path / "bomb.npz"
    n = 200 * 2**20  # 200 MB of zeros deflate to ~200 kB
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("rotations.npy", "w", force_zip64=True) as fh:
        fh.write(_npy_header((n // 4,)))
        chunk = bytes(2**22)
        for _ in range(n // len(chunk)):
            fh.write(chunk)
    assert p.stat().st_size < 2**20
    tracemalloc.start()
    with pytest.raises(FileFormatError, match="rotations.*bomb"):
        Motion.load(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20


def test_many_small_members_cannot_add_up_to_a_bomb(tmp_path):
    p = tmp_path / "many.npz"
    zeros = _npy_header((2**22,)) + bytes(2**24)  # 16 MB each, under the per-member ratio threshold
    _zip(p, {f"a{i}.npy": zeros for i in range(8)})
    with pytest.raises(FileFormatError, match="bomb"):
        read_npz(p)


def test_header_declaring_gigabytes_is_refused(tmp_path):
    p = tmp_path / "liar.npz"
    _zip(p, {"rotations.npy": _npy_header((10**9, 22, 3, 3)) + b"\0" * 64})
    with pytest.raises(FileFormatError, match="rotations"):
        Motion.load(p)
    _zip(p, {"poses.npy": _npy_header((4, 156)) + b"\0" * 64})  # says 2.5 kB, holds 64 bytes
    with pytest.raises(FileFormatError, match="truncated"):
        check_npz(p)


def test_object_arrays_and_foreign_members_are_refused(tmp_path):
    p = tmp_path / "pickle.npz"
    np.savez(p, meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FileFormatError, match="object"):
        Motion.load(p)
    _zip(p, {"evil.txt": b"hello"})
    with pytest.raises(FileFormatError, match="evil.txt"):
        Motion.load(p)


def test_one_hour_at_120_fps_fits_the_limits(tmp_path):
    """The per-frame bytes of a real saved motion, scaled to 432,000 frames, stay within every bound."""
    p = tmp_path / "m.npz"
    Motion.rest(120, fps=120.0).save(p)
    per_frame, total = {}, 0
    with zipfile.ZipFile(p) as zf:
        for info in zf.infolist():
            with zf.open(info) as fh:
                np.lib.format.read_magic(fh)
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            if shape and shape[0] == 120:
                per_frame[info.filename] = int(np.prod(shape[1:])) * dtype.itemsize
    frames = 3600 * 120
    assert frames <= MAX_FRAMES
    for name, b in per_frame.items():
        assert b * frames * 2 <= MAX_NPZ_ARRAY_BYTES, name  # even as float64 (AMASS files)
        total += b * frames * 2
    assert total <= MAX_NPZ_TOTAL_BYTES
    assert read_npz(p)["rotations"].shape == (120, 22, 3, 3)


@pytest.mark.parametrize("key,value,match", [
    ("meta", np.array("{not json"), "'meta' is not valid JSON"),
    ("meta", np.array("[1, 2]"), "'meta' must be a JSON object"),
    ("fps", np.array("thirty"), "'fps' must be numeric"),
    ("fps", np.array([30.0, 60.0]), "'fps' must be one number"),
    ("fps", np.array(1e300), "'fps'.*frame rate"),
    ("fps", np.array(np.nan), "'fps'.*frame rate"),
    ("root_position", None, "missing key 'root_position'"),
    ("rotations", np.zeros((0, 22, 3, 3), np.float32), "'rotations' is empty"),
    ("rotations", np.array(["a"]), "'rotations' must be numeric"),
    ("joint_offsets", np.zeros((3, 3)), "'joint_offsets' must have shape"),
    ("betas", np.array(["x"]), "'betas' must be numeric"),
])  # fmt: skip
def test_malformed_fields_name_the_key(tmp_path, key, value, match):
    p = tmp_path / "m.npz"
    Motion.rest(5).save(p)
    with np.load(p) as z:
        data = {k: z[k] for k in z.files}
    if value is None:
        del data[key]
    else:
        data[key] = value
    np.savez(p, **data)
    with pytest.raises(FileFormatError, match=match):
        Motion.load(p)


def test_amass_fields_name_the_key(tmp_path):
    p = tmp_path / "a.npz"
    np.savez(p, poses=np.zeros((4, 156)), trans=np.zeros((4, 3)), mocap_framerate=np.array("fast"))
    with pytest.raises(FileFormatError, match="'mocap_framerate' must be numeric"):
        Motion.load(p)
    np.savez(p, poses=np.zeros((5, 7)), trans=np.zeros((5, 3)), mocap_framerate=np.array(30.0))
    with pytest.raises(FileFormatError, match="'poses' must have shape"):
        Motion.load(p)
    np.savez(p, poses=np.zeros((4, 156)), trans=np.zeros((4, 3)), mocap_framerate=np.array(0.0))
    with pytest.raises(FileFormatError, match="frame rate"):
        Motion.load(p)
    np.savez(p, poses=np.zeros((4, 156)), trans=np.zeros((4, 3)), mocap_framerate=np.array(60.0), gender=np.array([]))
    assert Motion.load(p).gender == "neutral"


BVH = """HIERARCHY
ROOT hips
{{
 OFFSET 0 0 0
 CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
 End Site
 {{
  OFFSET 0 10 0
 }}
}}
MOTION
Frames: {frames}
Frame Time: {ft}
0 90 0 0 0 0
0 91 0 0 0 0
"""


@pytest.mark.parametrize("ft", ["1e300", "inf", "nan", "0", "-0.01", "1e-9"])
def test_bvh_frame_time_must_be_sane(tmp_path, ft):
    p = tmp_path / "a.bvh"
    p.write_text(BVH.format(frames=2, ft=ft))
    with pytest.raises(FileFormatError, match="Frame Time"):
        load_bvh(p)


def test_bvh_frame_count_is_bounded(tmp_path):
    p = tmp_path / "a.bvh"
    p.write_text(BVH.format(frames=10**12, ft="0.03"))
    with pytest.raises(FileFormatError, match="Frames"):
        load_bvh(p)
    p.write_text(BVH.format(frames=2, ft="0.03").replace("OFFSET 0 10 0", "OFFSET 0 inf 0"))
    with pytest.raises(FileFormatError, match="OFFSET"):
        load_bvh(p)


def test_viewer_survives_a_wild_frame_time(tmp_path):
    pytest.importorskip("viser")
    from humokit.viewer import ViewerApp

    p = tmp_path / "slow.bvh"
    p.write_text(BVH.format(frames=2, ft="1e300"))
    with ViewerApp("127.0.0.1", 0, play=True) as a:
        assert a.load(p) is None and "Frame Time" in a.errors[-1]
        a.add_motion(Motion.rest(3, fps=0.1), "slowest")
        a.add_motion(Motion.rest(3, fps=1000.0), "fastest")
        import time

        time.sleep(0.5)
        assert a._thread.is_alive() and a._playing
    assert json.dumps(a.errors)  # errors stay plain strings
