"""Multi-file outputs appear whole or not at all: errors, SIGTERM, failing video encoders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from humokit._atomic import atomic_dir, atomic_files, video_file
from humokit.errors import HumokitError


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_atomic_dir_error_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out") as d:
        (d / "a.txt").write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_into_an_existing_folder_replaces_same_names_only(tmp_path):
    out = tmp_path / "out"
    (out / "view_00").mkdir(parents=True)
    (out / "view_00" / "old.png").write_text("old")
    (out / "notes.txt").write_text("mine")
    with atomic_dir(out) as d:
        (d / "view_00").mkdir()
        (d / "view_00" / "new.png").write_text("new")
        (d / "cameras.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["cameras.json", "notes.txt", "view_00"]
    assert [p.name for p in (out / "view_00").iterdir()] == ["new.png"]
    assert _leftovers(tmp_path) == []


def test_atomic_files_all_or_none(tmp_path):
    a, b = tmp_path / "m.npz", tmp_path / "m.camera.json"
    with pytest.raises(KeyboardInterrupt), atomic_files(a, b) as (ta, tb):
        ta.write_text("x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with atomic_files(a, b) as (ta, tb):
        ta.write_text("x")
        tb.write_text("y")
    assert a.read_text() == "x" and b.read_text() == "y" and _leftovers(tmp_path) == []


def test_failing_or_empty_video_is_an_error(tmp_path):
    from humokit.render.preview import write_mp4

    out = tmp_path / "v.mp4"
    with pytest.raises(HumokitError, match="v.mp4"):
        write_mp4(out, [], fps=30)
    with pytest.raises(HumokitError, match="encoder failed"), video_file(out):
        raise RuntimeError("ffmpeg exited with 1")
    with pytest.raises(HumokitError, match="wrote nothing"), video_file(out):
        pass
    assert list(tmp_path.iterdir()) == []
    write_mp4(out, [np.zeros((32, 32, 3), np.uint8)] * 3, fps=10)
    assert out.stat().st_size > 0


def test_controls_video_with_no_frames_is_an_error(tmp_path):
    from humokit.render.controls import _Video

    v = _Video(tmp_path / "rgb.mp4", 30.0)
    with pytest.raises(HumokitError, match="rgb.mp4"):
        v.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anny
def test_sigterm_during_render_leaves_no_partial_output(tmp_path):
    from humokit.motion.builtin import builtin_motion

    m = tmp_path / "walk.npz"
    builtin_motion("walk", seconds=4.0, fps=30).save(m)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "render_out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "humokit.cli", "render", str(m), "-o", str(out), "--views", "4",
                             "--size", "128x128"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        t0 = time.time()
        while time.time() - t0 < 120 and not any(p.name.startswith(".render_out.") for p in work.iterdir()):
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            time.sleep(0.05)
        staged = next(p for p in work.iterdir() if p.name.startswith(".render_out."))
        t1 = time.time()  # wait until some files are written into the staging folder
        while time.time() - t1 < 60 and not any(staged.rglob("*.png")):
            time.sleep(0.05)
        assert any(staged.rglob("*.png")), "render wrote nothing before the signal"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()[-3000:]
    assert not out.exists()
    assert list(work.iterdir()) == []
