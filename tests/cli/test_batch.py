"""Batch runner (``humokit._batch``) and the folder / prompt-list forms of render, generate and recover."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from humokit._batch import BatchItem, read_manifest, run_batch
from humokit.cli import cli
from humokit.errors import InputError, MissingDependencyError
from humokit.motion.builtin import builtin_motion

RENDER = ["--views", "1", "--size", "32x32", "--frames", "1", "--signals", "mask,depth", "--metric-depth"]


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance with 2 CPUs for this module (the runner reuses it and leaves it running)."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


def _motions(folder: Path) -> Path:
    """Three small motions and one corrupt .npz."""
    folder.mkdir()
    for i in range(3):
        builtin_motion("walk", seconds=0.2 + 0.05 * i, fps=20).save(str(folder / f"m{i}.npz"))
    (folder / "broken.npz").write_bytes(b"this is not a zip file")
    return folder


def _staging_left(folder: Path) -> list[Path]:
    return list(folder.glob(".*.batch-tmp"))


def test_render_folder_on_ray(ray_local, tmp_path: Path) -> None:
    src = _motions(tmp_path / "motions")
    out = tmp_path / "renders"
    runner = CliRunner()
    res = runner.invoke(cli, ["render", str(src), "-o", str(out), *RENDER, "--workers", "2"])
    assert res.exit_code == 2, res.output
    assert res.stdout.strip().splitlines() == [res.stdout.strip()] and res.stdout.startswith("batch: 3 done, 1 failed")
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["m0", "m1", "m2"]
    assert not _staging_left(out)
    recs = read_manifest(out / "manifest.jsonl")
    assert sorted((Path(r["input"]).name, r["status"]) for r in recs) == [
        ("broken.npz", "failed"), ("m0.npz", "ok"), ("m1.npz", "ok"), ("m2.npz", "ok")]
    bad = next(r for r in recs if r["status"] == "failed")
    assert "broken.npz" in bad["error"] and "\n" not in bad["error"] and bad["output"] == str(out / "broken")
    assert all(r["seconds"] > 0 for r in recs)

    # the batch result equals the single-item command for the same input
    single = tmp_path / "single"
    r1 = runner.invoke(cli, ["render", str(src / "m1.npz"), "-o", str(single), *RENDER])
    assert r1.exit_code == 0, r1.output
    files = sorted(p.relative_to(single) for p in single.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out / "m1") for p in (out / "m1").rglob("*") if p.is_file())
    np.testing.assert_allclose(np.load(out / "m1" / "view_00" / "depth_m.npy"),
                               np.load(single / "view_00" / "depth_m.npy"), atol=4e-3)  # float16 metres
    masks = [p for p in files if p.suffix == ".png"]
    assert masks and all((single / p).read_bytes() == (out / "m1" / p).read_bytes() for p in masks)

    # rerun: the three complete items are skipped, the corrupt one fails again
    stamp = (out / "m0" / "cameras.json").stat().st_mtime_ns
    res = runner.invoke(cli, ["render", str(src), "-o", str(out), *RENDER, "--workers", "2"])
    assert res.exit_code == 2, res.output
    assert "0 done, 1 failed, 3 already complete" in res.stdout
    assert (out / "m0" / "cameras.json").stat().st_mtime_ns == stamp
    recs2 = read_manifest(out / "manifest.jsonl")
    assert len(recs2) == 5 and recs2[-1]["status"] == "failed"


def test_generate_prompts_in_process(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# text | seed | seconds | name\n"
                       "a person walks forward | seed=1 | seconds=1\n\n"
                       "a person waves | seed=2 | seconds=1\n"
                       "a person jumps | seconds=1000\n"
                       "a person runs | seed=4 | seconds=1.5 | name=run\n")
    out = tmp_path / "gen"
    base = ["generate", "--model", "cvae", "--physics", "none"]
    runner = CliRunner()
    res = runner.invoke(cli, [*base, "--prompts", str(prompts), "-o", str(out), "--workers", "1"])
    assert res.exit_code == 2, res.output
    assert sorted(p.name for p in out.glob("*.npz")) == ["0002-a-person-walks-forward.npz",
                                                          "0004-a-person-waves.npz", "run.npz"]
    recs = read_manifest(out / "manifest.jsonl")
    assert [r["status"] for r in recs] == ["ok", "ok", "failed", "ok"]
    assert recs[2]["input"] == f"{prompts}:5: a person jumps" and "seconds" in recs[2]["error"]
    assert not _staging_left(out)
    # same prompt and seed through the single-item command: identical arrays
    one = tmp_path / "one.npz"
    r1 = runner.invoke(cli, [*base, "a person waves", "--seed", "2", "--seconds", "1", "-o", str(one)])
    assert r1.exit_code == 0, r1.output
    a, b = np.load(one), np.load(out / "0004-a-person-waves.npz")
    for key in ("rotations", "root_position", "poses", "trans"):
        np.testing.assert_array_equal(a[key], b[key])
    assert np.load(out / "run.npz")["rotations"].shape[0] == 30
    # rerun skips the complete ones
    res = runner.invoke(cli, [*base, "--prompts", str(prompts), "-o", str(out)])
    assert res.exit_code == 2 and "0 done, 1 failed, 3 already complete" in res.stdout


@pytest.mark.parametrize(("text", "message"), [
    ("a walk | seed=x\n", "prompts.txt:1: 'seed=x': 'x' is not a number"),
    ("a walk | speed=2\n", "expected seed=N, seconds=S or name=NAME"),
    ("a | name=x\nb | name=x\n", "prompts.txt:2: name 'x' already used on line 1"),
    ("# nothing\n", "no prompts"),
])
def test_bad_prompt_files(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "prompts.txt").write_text(text)
    res = CliRunner().invoke(cli, ["generate", "--prompts", str(tmp_path / "prompts.txt"), "-o", str(tmp_path / "g")])
    assert res.exit_code == 2 and message in res.output and res.output.count("\n") == 1, res.output
    assert not (tmp_path / "g").exists()


def _write_item(args: tuple[str, str], staging: Path) -> str:
    name, mode = args
    if mode == "interrupt":
        (staging / name).write_text("half")
        raise KeyboardInterrupt
    if mode == "fail":
        raise ValueError("bad\ninput")
    (staging / name).write_text(name)
    return "fine"


def test_runner_interrupt_duplicates_and_missing_ray(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "o"
    items = [BatchItem(f"in{i}", (str(out / f"{i}.txt"),), (f"{i}.txt", mode))
             for i, mode in enumerate(["ok", "fail", "interrupt", "ok"])]
    res = run_batch(_write_item, items, out, progress=False)
    assert res.interrupted and res.exit_code == 130 and (res.ok, res.failed, res.not_run) == (1, 1, 2)
    assert sorted(p.name for p in out.iterdir()) == ["0.txt", "manifest.jsonl"]  # no half-written 2.txt
    recs = [json.loads(ln) for ln in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["status"] for r in recs] == ["ok", "failed"] and recs[1]["error"] == "ValueError: bad input"
    with pytest.raises(InputError, match="would both write"):
        run_batch(_write_item, [items[0], BatchItem("again", items[0].outputs, ("0.txt", "ok"))], out)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match=r"humokit\[scale\]"):
        run_batch(_write_item, items, out, workers=2)
    src = _motions(tmp_path / "motions")
    res = CliRunner().invoke(cli, ["render", str(src), "-o", str(tmp_path / "r"), "--workers", "3"])
    assert res.exit_code == 2 and "pip install 'humokit[scale]'" in res.output and res.output.count("\n") == 1


def test_recover_folder_records_bad_videos(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "corrupt.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    (videos / "notes.txt").write_text("not a video: ignored")
    with av.open(str(videos / "empty.mp4"), "w") as c:  # three grey frames: nobody to follow
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for _ in range(3):
            c.mux(s.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")))
        c.mux(s.encode())
    out = tmp_path / "rec"
    res = CliRunner().invoke(cli, ["recover", str(videos), "-o", str(out), "--body", "none"])
    assert res.exit_code == 2 and res.stdout.startswith("batch: 0 done, 2 failed"), res.output
    recs = read_manifest(out / "manifest.jsonl")
    assert [(Path(r["input"]).name, r["status"]) for r in recs] == [("corrupt.mp4", "failed"), ("empty.mp4", "failed")]
    assert "corrupt.mp4: not a readable video" in recs[0]["error"] and "no person" in recs[1]["error"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.jsonl"]
    res = CliRunner().invoke(cli, ["recover", str(videos), "-o", str(out), "--preview", str(tmp_path / "p.mp4")])
    assert res.exit_code == 2 and "use them with a single VIDEO" in res.output


def test_generate_on_running_cluster(ray_local, tmp_path: Path) -> None:
    """``--ray-address``: a separate command joins the running Ray instance (here this test's) as a cluster."""
    import subprocess

    address = ray_local.get_runtime_context().gcs_address
    (tmp_path / "p.txt").write_text("a person waves | seed=2 | seconds=1 | name=wave\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "TQDM_DISABLE": "1"}
    cmd = [sys.executable, "-m", "humokit.cli", "generate", "--prompts", str(tmp_path / "p.txt"), "--model", "cvae",
           "--physics", "none", "-o", str(tmp_path / "gen"), "--ray-address", address]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("batch: 1 done, 0 failed") and res.stdout.count("\n") == 1, res.stdout
    assert [r["status"] for r in read_manifest(tmp_path / "gen" / "manifest.jsonl")] == ["ok"]
    assert np.load(tmp_path / "gen" / "wave.npz")["rotations"].shape[0] == 20
