"""Data pipeline benchmark: BVH parsing, import + retarget per rig convention, dataset build time.

    python benchmarks/data.py [--source DIR] [--build-out DIR] [--parse-only] [--import-only] [--fbx]

Prints two tables.

1. Import + retarget per convention (:func:`humokit.motion.importer.import_motion`):
   a 4 s canonical motion (30 fps) written by humokit's writers as Mixamo, CMU
   MotionBuilder (31-joint style), CMU 3ds Max, Rigify-like and anonymised
   (``j0..jN``) rigs with twist and finger joints in an A-pose rest (the test
   corpus of ``tests/motion/rig_corpus.py``), as BVH and GLB (FBX through
   Blender with ``--fbx``); clips/s and the mean joint error against the
   original. Real clips from the shared archives are timed with their
   registered map (the baseline: what ``data build`` did before automatic
   mapping) and with automatic mapping, with the median joint distance
   between the two.
2. clips/s and MB/s for :func:`humokit.motion.bvh.load_bvh` on BVH files from
   the shared archives (read into memory first, so only parsing is timed;
   ``bvhio`` is timed on the same files when installed), retarget + features
   time per clip, and seconds for :func:`build_dataset` on the full source
   (skipped with ``--parse-only``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import islice
from pathlib import Path


def import_table(source: Path, *, fbx: bool = False, clips: int = 20) -> None:
    """Table 1 (see the module docstring)."""
    import sys

    import numpy as np

    from humokit.motion.automap import map_skeleton
    from humokit.motion.bvh import load_bvh
    from humokit.motion.dataset import iter_bvh_sources
    from humokit.motion.importer import import_motion
    from humokit.motion.retarget import retarget

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "motion"))
    from rig_corpus import CONVENTIONS, build_rig, reference_joints, rich_motion

    motion = rich_motion(seconds=4.0)
    ref = reference_joints(motion)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for conv in CONVENTIONS:
            rig = build_rig(motion, conv, extras=True, apose=True)
            for suf in (".bvh", ".glb") + ((".fbx",) if fbx else ()):
                path = Path(d) / f"{conv}{suf}"
                if suf == ".fbx":
                    from humokit.export.blender import convert_to_fbx

                    convert_to_fbx(rig.write(Path(d) / f"{conv}_skin.glb", skinned=True), path, fps=motion.fps)
                else:
                    rig.write(path)
                n = 1 if suf == ".fbx" else 5
                import_motion(path)  # warm-up (lazy imports, caches)
                t0 = time.perf_counter()
                for _ in range(n):
                    res = import_motion(path)
                dt = (time.perf_counter() - t0) / n
                err = float(np.linalg.norm(res.motion.joints() - ref, axis=-1).mean())
                rows.append((f"{conv}{suf}", len(rig.names), res.mapping.retarget_map.name, 1.0 / dt, f"{err * 100:.4f} cm"))
        by_set: dict[str, list] = {}
        for arch in sorted(source.glob("*.tar.xz")) if source.is_dir() else [source]:
            items = (it for it in iter_bvh_sources(arch) if it[0] != "<index>" and it[1] is not None)
            for p, t in islice(items, clips):
                by_set.setdefault("bandai namco" if "dataset-" in p else "cmu", []).append(load_bvh(p, text=t))
        for key, cl in by_set.items():
            t0 = time.perf_counter()
            regs = [retarget(c, fps=20.0) for c in cl]
            t_reg = time.perf_counter() - t0
            t0 = time.perf_counter()
            autos = [retarget(c, map_skeleton(c, use_registry=False), fps=20.0) for c in cl]
            t_auto = time.perf_counter() - t0
            dist = [float(np.median(np.linalg.norm(a.joints()[: len(r)] - r.joints()[: len(a)], axis=-1))) for a, r in zip(autos, regs)]
            rows.append((f"{key} (registered map)", len(cl[0].names), regs[0].meta["retarget_map"], len(cl) / t_reg, "baseline"))
            rows.append((f"{key} (automatic map)", len(cl[0].names), "auto", len(cl) / t_auto,
                         f"{np.median(dist) * 100:.3f} cm from baseline (max {max(dist) * 100:.3f})"))  # fmt: skip
    print(f"import + retarget of a {motion.duration:.0f} s clip at {motion.fps:g} fps (real clips: whole takes, 20 fps out)")
    print(f"{'convention':32s} {'joints':>6s} {'map':>20s} {'clips/s':>8s}  joint error")
    for name, J, mname, rate, err in rows:
        print(f"{name:32s} {J:6d} {mname:>20s} {rate:8.2f}  {err}")
    print()


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
    ap.add_argument("--import-only", action="store_true", help="only the import + retarget table")
    ap.add_argument("--fbx", action="store_true", help="also FBX files (through Blender)")
    args = ap.parse_args()
    import_table(args.source, fbx=args.fbx)
    if args.import_only:
        return

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
