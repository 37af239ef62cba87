"""Data pipeline benchmark: BVH parsing speed and full dataset build time.

    python benchmarks/data.py [--source DIR] [--build-out DIR] [--parse-only]

Prints a table: clips/s and MB/s for :func:`humokit.motion.bvh.load_bvh` on
BVH files from the shared archives (read into memory first, so only parsing
is timed; ``bvhio`` is timed on the same files when installed), retarget +
features time per clip, and seconds for :func:`build_dataset` on the full
source (skipped with ``--parse-only``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import islice
from pathlib import Path


def main() -> None:
    from humokit.motion.bvh import load_bvh
    from humokit.motion.dataset import build_dataset, default_source, iter_bvh_sources
    from humokit.motion.features import joints_to_features
    from humokit.motion.retarget import retarget

    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, default=default_source())
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--build-out", type=Path, default=None)
    ap.add_argument("--parse-only", action="store_true")
    args = ap.parse_args()

    items = [(p, t) for p, t in islice(iter_bvh_sources(args.source), args.clips + 5) if p != "<index>"][: args.clips]
    mb = sum(len(t) for _, t in items) / 1e6
    rows = []
    t0 = time.perf_counter()
    clips = [load_bvh(p, text=t) for p, t in items]
    dt = time.perf_counter() - t0
    rows.append(("humokit load_bvh", len(items), dt, f"{len(items) / dt:.1f} clips/s, {mb / dt:.1f} MB/s"))
    try:
        import bvhio

        sub = items[:20]
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for i, (_, t) in enumerate(sub):
                paths.append(Path(d) / f"{i}.bvh")
                paths[-1].write_text(t)
            t0 = time.perf_counter()
            for p in paths:
                bvhio.readAsHierarchy(str(p))
            dt = time.perf_counter() - t0
        rows.append(("bvhio readAsHierarchy", len(sub), dt, f"{len(sub) / dt:.1f} clips/s"))
    except ImportError:
        pass
    sub = clips[:50]
    t0 = time.perf_counter()
    for c in sub:
        joints_to_features(retarget(c).joints())
    dt = time.perf_counter() - t0
    rows.append(("retarget + features", len(sub), dt, f"{len(sub) / dt:.1f} clips/s"))
    if not args.parse_only:
        out = args.build_out or Path(tempfile.mkdtemp(prefix="humokit_build_"))
        t0 = time.perf_counter()
        res = build_dataset(args.source, out, progress=False)
        dt = time.perf_counter() - t0
        rows.append(("build_dataset (2 workers)", res.manifest["takes"], dt, f"{res.manifest['takes'] / dt:.1f} takes/s"))
    print(f"{'step':28s} {'n':>6s} {'seconds':>9s}  rate")
    for name, n, dt, rate in rows:
        print(f"{name:28s} {n:6d} {dt:9.2f}  {rate}")


if __name__ == "__main__":
    main()
