"""Export speed: seconds to export a 10-s, 30-fps motion with the Anny body to each format.

Usage: python benchmarks/export.py [--seconds 10] [--fps 30] [--repeats 3] [--out DIR]

Rows: ``bvh`` (Anny rig, no mesh), ``glb`` (Anny mesh + skin + animation),
``fbx`` (the GLB through headless Blender; needs ``bpy``), ``npz`` (AMASS
keys). The Anny body is built once beforehand (its ~1-4 s start-up is not
counted). For FBX the Blender job's own import and export times are shown
too (the rest is subprocess start and ``import bpy``), and one Blender
re-import of the FBX is timed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from humokit.body import create_body
from humokit.export import export_motion, has_blender
from humokit.motion.builtin import builtin_motion


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="keep the files here (default: a temp folder)")
    a = ap.parse_args()

    motion = builtin_motion("walk", seconds=a.seconds, fps=a.fps)
    body = create_body("anny")
    body.rest()  # warm the rest cache like a long-running process would
    out = a.out or Path(tempfile.mkdtemp(prefix="humokit_bench_export_"))
    print(f"motion: {motion.num_frames} frames at {motion.fps:g} fps; Anny body {body.rest().num_vertices} vertices")
    print(f"{'format':<8}{'seconds':>10}{'MB':>8}  notes")
    jobs = [("bvh", dict(rig="anny")), ("glb", dict(body=body)), ("npz", {})]
    if has_blender():
        jobs.insert(2, ("fbx", dict(body=body)))
    for fmt, kw in jobs:
        path = out / f"walk.{fmt}"
        times = []
        for _ in range(a.repeats if fmt != "fbx" else max(1, a.repeats - 1)):
            t0 = time.perf_counter()
            export_motion(motion, path, **kw)
            times.append(time.perf_counter() - t0)
        note = ""
        if fmt == "fbx":
            from humokit.export.blender import convert_to_fbx, inspect_in_blender

            r = convert_to_fbx(out / "walk.glb", out / "walk_again.fbx", fps=motion.fps)
            t0 = time.perf_counter()
            inspect_in_blender(path)
            reimport = time.perf_counter() - t0
            note = (f"blender glb import {r['import_s']:.2f} s, fbx export {r['export_s']:.2f} s; "
                    f"fbx re-import + per-frame readout {reimport:.2f} s (subprocess)")
        print(f"{fmt:<8}{min(times):>10.3f}{path.stat().st_size / 1e6:>8.2f}  {note}")
    if not has_blender():
        print("fbx      skipped: pip install 'humokit[blender]' (bpy==4.2.*)")
    print(f"files in {out}")


if __name__ == "__main__":
    main()
