"""Property tests: whatever bytes a user hands the motion loaders, the result is a Motion or a HumokitError.

Generated inputs: arrays of any dtype and shape under the keys the loader
reads, byte-level corruptions of valid files, and BVH texts mutated token by
token. Sizes stay tiny so a few thousand cases run in seconds.
"""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from humokit.errors import HumokitError
from humokit.motion import Motion
from humokit.motion.bvh import BvhClip, load_bvh, save_bvh
from humokit.motion.builtin import builtin_motion

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

KEYS = ["rotations", "root_position", "fps", "joint_offsets", "root_rest", "contacts", "meta", "humokit_format",
        "poses", "trans", "betas", "mocap_framerate", "mocap_frame_rate", "gender", "root_orient", "pose_body"]

dtypes = st.sampled_from(["<f4", "<f8", "<i4", "<i8", "|b1", "<U4", "|S3", "<c8", "<u2", "<f2"])
shapes = st.one_of(
    st.just(()),
    hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4),
    st.sampled_from([(3, 22, 3, 3), (3, 3), (3, 156), (22, 3), (3, 4), (1,), (2, 66), (3, 63)]),
)


@st.composite
def arrays(draw):
    dt = np.dtype(draw(dtypes))
    shape = draw(shapes)
    if dt.kind in "fc":
        elems = st.floats(allow_nan=True, allow_infinity=True, width=32 if dt.itemsize <= 8 else 64)
        if dt.kind == "c":
            return draw(hnp.arrays(dt, shape, elements=st.complex_numbers(max_magnitude=10, width=64)))
        if dt.itemsize == 2:
            elems = st.floats(allow_nan=True, allow_infinity=True, width=16)
        return draw(hnp.arrays(dt, shape, elements=elems))
    return draw(hnp.arrays(dt, shape))


def _valid_npz_bytes() -> bytes:
    buf = io.BytesIO()
    m = builtin_motion("walk", seconds=0.2, fps=20)
    from humokit.motion.io_npz import motion_to_amass

    arrays_ = motion_to_amass(m)
    arrays_.update(rotations=m.rotations, root_position=m.root_position, fps=np.array(m.fps),
                   joint_offsets=m.skeleton.offsets, root_rest=m.skeleton.offsets[0], meta=np.array("{}"),
                   humokit_format=np.array(1))  # fmt: skip
    np.savez(buf, **arrays_)
    return buf.getvalue()


VALID = _valid_npz_bytes()


def _load_or_clean_error(path) -> Motion | None:
    try:
        m = Motion.load(path)
    except HumokitError:
        return None
    assert m.num_frames >= 1 and math.isfinite(m.fps) and 0.1 <= m.fps <= 1000
    assert np.all(np.isfinite(m.rotations)) and np.all(np.isfinite(m.root_position))
    return m


@settings(max_examples=400, **SETTINGS)
@given(fields=st.dictionaries(st.sampled_from(KEYS), arrays(), max_size=8), base=st.booleans())
def test_npz_fields_fuzz(tmp_path_factory, fields, base):
    path = tmp_path_factory.mktemp("npz") / "m.npz"
    data: dict[str, np.ndarray] = {}
    if base:
        with np.load(io.BytesIO(VALID)) as z:
            data = {k: z[k] for k in z.files}
    data.update(fields)
    np.savez(path, **data)
    _load_or_clean_error(path)


@settings(max_examples=500, **SETTINGS)
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=12),
       cut=st.one_of(st.none(), st.integers(0, len(VALID))))  # fmt: skip
def test_npz_bytes_fuzz(tmp_path_factory, edits, cut):
    raw = bytearray(VALID)
    for pos, byte in edits:
        raw[pos] = byte
    if cut is not None:
        raw = raw[:cut]
    path = tmp_path_factory.mktemp("npzb") / "m.npz"
    path.write_bytes(bytes(raw))
    _load_or_clean_error(path)


@settings(max_examples=200, **SETTINGS)
@given(declared=st.tuples(st.integers(0, 10**7), st.integers(1, 10**4)), payload=st.integers(0, 4096),
       method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]), name=st.sampled_from(KEYS + ["x"]))  # fmt: skip
def test_npz_lying_headers_fuzz(tmp_path_factory, declared, payload, method, name):
    """Headers that declare more (or other) than the member holds are refused without allocating."""
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": declared})
    path = tmp_path_factory.mktemp("lie") / "m.npz"
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr(f"{name}.npy", hdr.getvalue() + bytes(payload))
    _load_or_clean_error(path)


BVH_TEXT = None


def _bvh_text() -> str:
    global BVH_TEXT
    if BVH_TEXT is None:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "w.bvh"
            save_bvh(builtin_motion("walk", seconds=0.1, fps=30), p)
            BVH_TEXT = p.read_text()
    return BVH_TEXT


tokens = st.one_of(
    st.sampled_from(["{", "}", "ROOT", "JOINT", "End", "Site", "OFFSET", "CHANNELS", "MOTION", "Frames:",
                     "Frame", "Time:", "HIERARCHY", "Xrotation", "Yposition", "nan", "inf", "-inf", "1e300",
                     "-1", "0", "3", "6", "1e-300", "", "\n", "\t", "\x00", "é"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**12), 10**12).map(str),
    st.text(max_size=6),
)


@settings(max_examples=800, **SETTINGS)
@given(data=st.data())
def test_bvh_fuzz(tmp_path_factory, data):
    words = _bvh_text().split(" ")
    n_edits = data.draw(st.integers(1, 6))
    for _ in range(n_edits):
        i = data.draw(st.integers(0, len(words) - 1))
        op = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        if op == "replace":
            words[i] = data.draw(tokens)
        elif op == "delete":
            del words[i]
        elif op == "insert":
            words.insert(i, data.draw(tokens))
        else:
            words = words[: max(i, 1)]
        if not words:
            words = [""]
    text = " ".join(words)
    path = tmp_path_factory.mktemp("bvh") / "m.bvh"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        clip = load_bvh(path)
    except HumokitError:
        return
    assert isinstance(clip, BvhClip)
    assert math.isfinite(clip.frame_time) and 0.001 <= clip.frame_time <= 10
    assert np.all(np.isfinite(clip.rotations)) and np.all(np.isfinite(clip.offsets))


@settings(max_examples=150, **SETTINGS)
@given(ft=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8)),
       frames=st.one_of(st.integers(-5, 10**15), st.text(max_size=5)))  # fmt: skip
def test_bvh_header_values_fuzz(tmp_path_factory, ft, frames):
    """Any 'Frames:'/'Frame Time:' values: a clip with a sane frame time, or a clean error (the viewer path too)."""
    from humokit.viewer._loading import load_motion

    lines = _bvh_text().splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith("Frames:"))
    lines[k] = f"Frames: {frames}"
    lines[k + 1] = f"Frame Time: {ft}"
    path = tmp_path_factory.mktemp("bvhh") / "m.bvh"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    try:
        m = load_motion(path)
    except HumokitError:
        return
    assume(m is not None)
    assert 0.1 <= m.fps <= 1000


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04", b"\x00" * 100, VALID[: len(VALID) // 2]],
                         ids=["empty", "zip-magic", "zeros", "half"])
def test_npz_regressions(tmp_path, content):
    p = tmp_path / "m.npz"
    p.write_bytes(content)
    with pytest.raises(HumokitError):
        Motion.load(p)
