"""Concrete bad command lines: one ``error:`` line (or click's usage error), exit 2, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from humokit.cli import cli, describe_os_error
from humokit.motion import Motion


@pytest.fixture(scope="module")
def walk(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("m") / "walk.npz"
    Motion.rest(5).save(p)
    return p


def _run(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("args,option,words", [
    (["render", "{m}", "-o", "{o}", "--fov", "0"], "--fov", "1.0<=x<=170.0"),
    (["render", "{m}", "-o", "{o}", "--fov", "nan"], "--fov", "finite"),
    (["render", "{m}", "-o", "{o}", "--views", "0"], "--views", "1<=x<=64"),
    (["render", "{m}", "-o", "{o}", "--views", "100000"], "--views", "1<=x<=64"),
    (["render", "{m}", "-o", "{o}", "--size", "100000x100000"], "--size", "multiples of 16"),
    (["render", "{m}", "-o", "{o}", "--size", "abc"], "--size", "WIDTHxHEIGHT"),
    (["render", "{m}", "-o", "{o}", "--fps", "inf"], "--fps", "0.1<=x<=1000.0"),
    (["render", "{m}", "-o", "{o}", "--fps", "-5"], "--fps", "0.1<=x<=1000.0"),
    (["render", "{m}", "-o", "{o}", "--frames", "0"], "--frames", "1<=x<=1000000"),
    (["render", "{m}", "-o", "{o}", "--layout", "hemisphere", "--seed", "-1"], "--seed", "0<=x<=4294967295"),
    (["render", "{m}", "-o", "{o}", "--seed", str(2**70)], "--seed", "0<=x<=4294967295"),
    (["generate", "walk", "-o", "{o}.npz", "--steps", "0"], "--steps", "1<=x<=1000"),
    (["generate", "walk", "-o", "{o}.npz", "--guidance", "nan"], "--guidance", "finite"),
    (["generate", "walk", "-o", "{o}.npz", "--seconds", "1e308"], "--seconds", "0.1<=x<=3600.0"),
    (["generate", "walk", "-o", "{o}.npz", "--seed", "-3"], "--seed", "0<=x"),
    (["demo", "-o", "{o}", "--size", "0"], "--size", "16<=x<=4096"),
    (["demo", "-o", "{o}", "--seconds", "-1"], "--seconds", "0.1<=x"),
    (["data", "build", "-o", "{o}", "--fps", "0"], "--fps", "0.1<=x"),
    (["data", "build", "-o", "{o}", "--max-seconds", "nan"], "--max-seconds", "finite"),
    (["avatar", "render", "{d}", "{m}", "-o", "{o}", "--views", "-1"], "--views", "1<=x<=64"),
    (["avatar", "train", "{m}", "-o", "{o}", "--fps", "nan"], "--fps", "finite"),
    (["recover", "{m}", "--focal", "0"], "--focal", "1.0<=x"),
    (["view", "--port", "70000"], "--port", "0<=x<=65535"),
])  # fmt: skip
def test_option_mistakes_are_parser_errors_with_the_range(tmp_path, walk, args, option, words):
    args = [a.format(m=walk, o=tmp_path / "out", d=tmp_path) for a in args]
    res = _run(args)
    assert res.exit_code == 2, res.output
    assert f"Invalid value for '{option}'" in res.output and words in res.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.npz").exists()


def test_generate_refuses_an_unknown_suffix(tmp_path):
    res = _run(["generate", "a person walks", "-o", tmp_path / "g.txt"])
    assert res.exit_code == 2 and "error:" in res.output and ".npz" in res.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target,reason", [
    ("{f}/x.bvh", "Not a directory"),
    ("{f}/sub/x.bvh", "Not a directory"),
    ("{long}.bvh", "File name too long"),
])  # fmt: skip
def test_os_errors_are_one_line_naming_the_target(tmp_path, walk, target, reason):
    f = tmp_path / "file"
    f.write_text("x")
    out = target.format(f=f, long=tmp_path / ("a" * 300))
    res = _run(["export", walk, "-o", out])
    assert res.exit_code == 2
    line = res.output.strip()
    assert line.startswith("error: ") and line.endswith(f": {reason}") and "\n" not in line
    assert str(f) in line or str(out) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder(tmp_path, walk):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    res = _run(["export", walk, "-o", ro / "x.bvh"])
    assert res.exit_code == 2 and "Permission denied" in res.output


def test_describe_os_error():
    assert describe_os_error(FileExistsError(17, "File exists", "/a")) == "/a: File exists"
    assert describe_os_error(OSError(28, "No space left on device")) == "No space left on device"
    assert describe_os_error(OSError(30, "Read-only file system", "/a", None, "/b")) == "/a -> /b: Read-only file system"


@pytest.mark.anny
def test_metrics_json_is_clean_stdout(walk):
    """Warp's banner (Anny imports it) and its CUDA warning reach neither stdout nor a quiet stderr."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    r = subprocess.run([sys.executable, "-m", "humokit.cli", "metrics", str(walk), "--json"], capture_output=True,
                       text=True, env=env, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "phys_err" in json.loads(r.stdout)
    assert "Warp" not in r.stderr and "CUDA" not in r.stderr, r.stderr
