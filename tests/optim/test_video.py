"""Video reading (constant-rate resampling) and one-line errors of ``humokit recover`` on bad videos."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

from humokit.cli import cli
from humokit.errors import FileFormatError
from humokit.optim.keypoints import has_mediapipe
from humokit.optim.video import iter_frames, probe_video

av = pytest.importorskip("av")


def _write(path, frames, *, fps=10, codec="mpeg4", pts=None):
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        if pts is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            if pts is not None:
                vf.pts, vf.time_base = pts[i], Fraction(1, 1000)
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _grey(n, v=None, h=48, w=64):
    return [np.full((h, w, 3), v if v is not None else 20 * i % 250, np.uint8) for i in range(n)]


def test_probe_and_constant_rate(tmp_path):
    p = tmp_path / "a.mp4"
    _write(p, _grey(10), fps=10)
    info = probe_video(p)
    assert (info.width, info.height) == (64, 48) and info.fps == pytest.approx(10)
    frames = list(iter_frames(p))
    assert len(frames) == 10
    assert [f[0] for f in frames] == list(range(10))
    assert np.allclose([f[1] for f in frames], np.arange(10) / 10)
    assert len(list(iter_frames(p, fps=5))) == 5


def test_variable_frame_rate_resampled_by_timestamps(tmp_path):
    # frames at irregular times (ms); brightness encodes the source frame index
    pts = [0, 40, 200, 240, 500, 520, 900]
    frames = [np.full((48, 64, 3), 30 * i, np.uint8) for i in range(len(pts))]
    p = tmp_path / "vfr.mkv"
    _write(p, frames, fps=25, pts=pts)
    out = list(iter_frames(p, fps=10))
    times = np.array([t for _, t, _ in out])
    assert np.allclose(np.diff(times), 0.1)
    src = [int(round(img.mean() / 30)) for _, _, img in out]
    # nearest source frame by time for each output time
    expect = [int(np.argmin(np.abs(np.array(pts) / 1000 - t))) for t in times]
    assert src == expect


def _run(args, tmp_path):
    out = tmp_path / "m.npz"
    res = CliRunner().invoke(cli, ["recover", *[str(a) for a in args], "-o", str(out), "--body", "none"])
    return res, out


def _check_one_line_error(res, out, word):
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and word in lines[0], res.output
    assert not out.exists()
    assert not list(out.parent.glob("*.json"))


def test_corrupt_file(tmp_path):
    p = tmp_path / "corrupt.mp4"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    res, out = _run([p], tmp_path)
    _check_one_line_error(res, out, "corrupt.mp4")
    with pytest.raises(FileFormatError):
        probe_video(p)


def test_zero_length_video(tmp_path):
    p = tmp_path / "empty.mp4"
    with av.open(str(p), "w") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height = 64, 48
    res, out = _run([p], tmp_path)
    _check_one_line_error(res, out, "empty.mp4")


def test_unsupported_codec(tmp_path):
    if "libx264" not in av.codecs_available:
        pytest.skip("no H.264 encoder in this PyAV build")
    good = tmp_path / "good.mp4"
    _write(good, _grey(5), codec="libx264")
    data = good.read_bytes()
    assert b"avc1" in data
    p = tmp_path / "weird.mp4"
    p.write_bytes(data.replace(b"avc1", b"zzzz"))  # a codec tag no decoder knows
    res, out = _run([p], tmp_path)
    _check_one_line_error(res, out, "weird.mp4")
    assert "codec" in res.output


def test_missing_file(tmp_path):
    res, out = _run([tmp_path / "nope.mp4"], tmp_path)
    _check_one_line_error(res, out, "nope.mp4")


@pytest.mark.skipif(not has_mediapipe(), reason="mediapipe not installed")
def test_video_without_person(tmp_path):
    p = tmp_path / "blank.mp4"
    _write(p, _grey(6, v=90, h=240, w=320), fps=10)
    res, out = _run([p], tmp_path)
    _check_one_line_error(res, out, "no person")
