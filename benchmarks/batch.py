"""Batch throughput: items per minute with 1 worker (in-process) and N workers (local Ray), and Ray's overhead.

Usage: python benchmarks/batch.py [--workers 2] [--tasks 200] [--skip-recover] [--skip-render] [--skip-overhead]

Rows:
- ``ray overhead``: a local Ray instance with N CPUs runs ``--tasks`` empty tasks through the same
  submit/wait loop shape as the runner; per-task milliseconds (throughput) and one round trip.
- ``render``: 8 motions (built-in walk, 2 s at 20 fps), ``--views 8 --size 64x64 --frames 5``,
  signals rgb, depth, mask; ``humokit render motions/ --workers W`` through ``humokit._batch``.
- ``recover``: every video in ``$HUMOKIT_SHARED/data/videos`` (``humokit recover videos/ --workers W``).

Each batch row is the wall time of one cold run (a new output folder; the Ray row includes starting
Ray and each worker's first model load), so it is what a user sees. The 1-worker row is the baseline.
The machine's load during the run is printed: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from humokit._batch import BatchItem, list_inputs, run_batch
from humokit._paths import shared_dir


def _empty(x: int) -> int:
    return x


def ray_overhead(workers: int, tasks: int) -> dict[str, float]:
    """Seconds to start Ray, and milliseconds per empty task (throughput and one round trip)."""
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    start = time.perf_counter() - t0
    f = ray.remote(num_cpus=1, max_retries=0)(_empty)
    ray.get([f.remote(i) for i in range(2 * workers)])  # warm the worker processes
    t0 = time.perf_counter()
    ray.get([f.remote(i) for i in range(tasks)])
    per_task = (time.perf_counter() - t0) / tasks
    t0 = time.perf_counter()
    for i in range(20):
        ray.get(f.remote(i))
    round_trip = (time.perf_counter() - t0) / 20
    ray.shutdown()
    return {"start_s": start, "per_task_ms": 1e3 * per_task, "round_trip_ms": 1e3 * round_trip}


def _time_batch(fn: object, items: list[BatchItem], out: Path, workers: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    res = run_batch(fn, items, out, workers=workers, progress=False)  # type: ignore[arg-type]
    if res.interrupted:
        raise KeyboardInterrupt
    return time.perf_counter() - t0, res.ok


def render_items(root: Path, out: Path) -> list[BatchItem]:
    from humokit.motion.builtin import builtin_motion

    src = root / "motions"
    src.mkdir(parents=True, exist_ok=True)
    for i in range(8):
        builtin_motion("walk", seconds=2.0, fps=20).save(str(src / f"walk{i}.npz"))
    opts = {"views": 8, "layout": "ring", "size": "64x64", "signals": ("rgb", "depth", "mask"), "fps": None,
            "frames": 5, "avatar": "mesh", "body_name": "anny", "fov": 40.0, "seed": 0}
    return [BatchItem(str(p), (str(out / p.stem),), (str(p), opts)) for p in list_inputs(src, (".npz",))]


def recover_items(out: Path) -> list[BatchItem]:
    videos = shared_dir() / "data" / "videos"
    opts = {"person": None, "fps": None, "focal": None, "body_name": "anny", "physics": "kinematic"}
    return [BatchItem(str(v), (str(out / f"{v.stem}.camera.json"), str(out / f"{v.stem}.npz")), (str(v), str(v), opts))
            for v in list_inputs(videos, (".mp4",))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--skip-render", action="store_true")
    ap.add_argument("--skip-recover", action="store_true")
    ap.add_argument("--skip-overhead", action="store_true", help="no empty-task row")
    args = ap.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    print(f"cores {os.cpu_count()}, load average at start {os.getloadavg()[0]:.1f}")
    ov = {} if args.skip_overhead else ray_overhead(args.workers, args.tasks)
    if ov:
        print(f"ray overhead ({args.workers} CPUs): start {ov['start_s']:.1f} s, {ov['per_task_ms']:.2f} ms per empty "
              f"task ({args.tasks} in flight), {ov['round_trip_ms']:.2f} ms one round trip")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        jobs = []
        if not args.skip_render:
            from humokit.render.cli import _render_item

            jobs.append(("render 8 motions x 8 views", _render_item, lambda o: render_items(root, o)))
        if not args.skip_recover:
            from humokit.optim.cli import _recover_item

            jobs.append(("recover shared videos", _recover_item, recover_items))
        for name, fn, make in jobs:
            for w in (1, args.workers):
                out = root / f"{name.split()[0]}_{w}"
                items = make(out)
                secs, ok = _time_batch(fn, items, out, w)
                rows.append((name, w, len(items), ok, secs, 60.0 * ok / secs))
                print(f"  {name}: {w} worker(s) {ok}/{len(items)} ok in {secs:.1f} s", flush=True)
    print(f"\n{'work':<28} {'workers':>7} {'items':>5} {'ok':>3} {'seconds':>8} {'items/min':>9} {'speed-up':>8}")
    base: dict[str, float] = {}
    for name, w, n, ok, secs, ipm in rows:
        base.setdefault(name, ipm)
        print(f"{name:<28} {w:>7} {n:>5} {ok:>3} {secs:>8.1f} {ipm:>9.2f} {ipm / base[name]:>7.2f}x")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
