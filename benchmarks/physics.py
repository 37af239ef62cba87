"""Physical plausibility of real, generated and recovered motions, without and with projection.

Prints Penetrate / Float / Skate / Phys-Err (mm, PhysDiff definitions), peak
jerk (m/s^3) and the simulated humanoid's residual root force (median over
frames, % of body weight; inverse dynamics against ground contacts) for:

- real test motions: ``$HUMOKIT_DATA/motions/*.npz`` named in ``test.txt``
  (default data folder ``/root/humokit_data/v1``), else the built-in motions;
- each text-to-motion model of :mod:`humokit.motion.priors` (when it can
  generate here), on captions of the test set;
- recovered motions (``--recovered DIR`` of ``.npz`` files from ``humokit recover``).

Usage: ``python benchmarks/physics.py [--max 20] [--body none|anny] [--no-sim]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from humokit.motion import Motion
from humokit.optim.physics import has_mujoco, physics_metrics, project_motion

DATA = Path(os.environ.get("HUMOKIT_DATA", "/root/humokit_data/v1"))
COLS = ("Penetrate", "Float", "Skate", "Phys-Err", "Jerk pk", "Resid F%")


def real_motions(limit: int) -> tuple[str, list[Motion], list[str]]:
    names_file = DATA / "test.txt"
    if names_file.exists() and (DATA / "motions").is_dir():
        names = [n.strip() for n in names_file.read_text().split() if n.strip()]
        names = [n for n in names if not n.startswith("M")]  # mirrored copies add nothing here
        paths = [DATA / "motions" / f"{n}.npz" for n in names]
        paths = [p for p in paths if p.exists()][:limit]
        if paths:
            return f"real test ({len(paths)} clips)", [Motion.load(str(p)) for p in paths], [p.stem for p in paths]
    from humokit.motion.builtin import BUILTIN_MOTIONS, builtin_motion

    return "built-in (no dataset)", [builtin_motion(n, 4.0, 20) for n in BUILTIN_MOTIONS], list(BUILTIN_MOTIONS)


def captions(names: list[str], limit: int) -> list[str]:
    out = []
    for n in names:
        p = DATA / "texts" / f"{n}.txt"
        if p.exists():
            line = p.read_text().splitlines()[0]
            out.append(line.split("#")[0].strip())
    return (out or ["a person walks forward", "a person waves with the right hand", "a person squats down"])[:limit]


def measure(motions: list[Motion], body: str | None, humanoid: object | None) -> dict[str, float]:
    rows = []
    for m in motions:
        r = physics_metrics(m, body)
        resid = float("nan")
        if humanoid is not None and m.num_frames >= 2:
            from humokit.optim.physics.sim import track_motion

            resid = 100 * track_motion(humanoid, m).median_force_fraction  # type: ignore[arg-type]
        rows.append((r.penetrate, r.float, r.skate, r.phys_err, r.jerk_peak, resid))
    a = np.array(rows, dtype=np.float64)
    return dict(zip(COLS, [float(np.nanmedian(a[:, i])) if i == 5 else float(a[:, i].mean()) for i in range(6)]))


def line(label: str, vals: dict[str, float] | str) -> str:
    if isinstance(vals, str):
        return f"{label:<40} {vals}"
    return f"{label:<40} " + " ".join(f"{vals[c]:>9.2f}" if np.isfinite(vals[c]) else f"{'-':>9}" for c in COLS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=20, help="clips per row")
    ap.add_argument("--body", default="none", choices=["none", "anny"], help="mesh for the metrics")
    ap.add_argument("--no-sim", action="store_true", help="skip the MuJoCo residual column")
    ap.add_argument("--recovered", type=Path, default=None, help="folder of recovered .npz motions")
    args = ap.parse_args()
    body = None if args.body == "none" else args.body
    humanoid = None
    if not args.no_sim and has_mujoco():
        from humokit.optim.physics.sim import build_humanoid

        humanoid = build_humanoid()
    t0 = time.time()
    print(f"metrics on: {'mesh of ' + body if body else 'joints'}; Phys-Err etc. in mm, jerk in m/s^3, "
          f"residual = median root force needed, % body weight ({'MuJoCo' if humanoid else 'no simulator'})")
    print(f"{'':<40} " + " ".join(f"{c:>9}" for c in COLS))
    label, real, names = real_motions(args.max)
    print(line(label, measure(real, body, humanoid)))
    proj = [project_motion(m, body) for m in real]
    print(line(f"  + kinematic projection", measure(proj, body, humanoid)))

    try:
        from humokit.motion.priors.sampling import MODELS, generate
    except ImportError as exc:
        print(line("generated", f"not available ({exc})"))
    else:
        texts = captions(names, min(args.max, 8))
        for model in MODELS:
            try:
                gen = [generate(t, model=model, seconds=4.0, seed=i) for i, t in enumerate(texts)]
            except Exception as exc:  # noqa: BLE001 - report any reason a model cannot run here
                print(line(f"generated: {model}", f"not available ({str(exc).splitlines()[0][:80]})"))
                continue
            print(line(f"generated: {model} ({len(gen)} texts)", measure(gen, body, humanoid)))
            print(line("  + kinematic projection", measure([project_motion(g, body) for g in gen], body, humanoid)))

    if args.recovered is not None and args.recovered.is_dir():
        rec = [Motion.load(str(p)) for p in sorted(args.recovered.glob("*.npz"))[: args.max]]
        if rec:
            print(line(f"recovered ({len(rec)})", measure(rec, body, humanoid)))
            print(line("  + kinematic projection", measure([project_motion(r, body) for r in rec], body, humanoid)))
    else:
        print(line("recovered", "not available (give --recovered DIR of motions from `humokit recover`)"))
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
