"""Physical plausibility of real, generated and recovered motions, without and with projection.

Prints Penetrate / Float / Skate / Phys-Err (mm, PhysDiff definitions), peak
jerk (m/s^3) and the simulated humanoid's residual root force (median over
frames, % of body weight; inverse dynamics against ground contacts) for:

- real test motions: ``$HUMOKIT_DATA/motions/*.npz`` named in ``test.txt``
  (default data folder ``/root/humokit_data/v1``), else the built-in motions;
- each text-to-motion model of :mod:`humokit.priors` (when it can
  generate here), on captions of the test set, raw and with the kinematic
  projection inside and after sampling (:func:`~humokit.optim.physics.generate_physical`),
  plus the R@1 / FID change the projection causes (``--t2m N`` captions);
- recovered motions (``--recovered DIR`` of ``.npz`` files from ``humokit recover``).

Usage: ``python benchmarks/physics.py [--max 20] [--body none|anny] [--no-sim] [--t2m 128] [--recovered DIR]``

Contacts are detected by one detector for every row (stored labels are ignored).
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from pathlib import Path

import numpy as np

from humokit.motion import Motion
from humokit.motion.dataset import split_names
from humokit.optim.physics import has_mujoco, physics_metrics, project_motion

DATA = Path(os.environ.get("HUMOKIT_DATA", "/root/humokit_data/v1"))
COLS = ("Penetrate", "Float", "Skate", "Phys-Err", "Jerk pk", "Resid F%")


def real_motions(limit: int) -> tuple[str, list[Motion], list[str]]:
    names_file = DATA / "test.txt"
    if names_file.exists() and (DATA / "motions").is_dir():
        names = [n for n in split_names(DATA, "test") if not n.startswith("M")]  # mirrored copies add nothing here
        paths = [DATA / "motions" / f"{n}.npz" for n in names]
        paths = [p for p in paths if p.exists()][:limit]
        if paths:
            # grounded by the foot soles, as `humokit data build` now does (older builds grounded the joints)
            motions = [Motion.load(str(p)).to_ground() for p in paths]
            return f"real test ({len(paths)} clips)", motions, [p.stem for p in paths]
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
        r = physics_metrics(m.replace(contacts=None), body)  # contacts detected the same way for every row
        resid = float("nan")
        if humanoid is not None and m.num_frames >= 2:
            from humokit.optim.physics.sim import track_motion

            resid = 100 * track_motion(humanoid, m).median_force_fraction  # type: ignore[arg-type]
        rows.append((r.penetrate, r.float, r.skate, r.phys_err, r.jerk_peak, resid))
    a = np.array(rows, dtype=np.float64)
    return dict(zip(COLS, [float(np.nanmedian(a[:, i])) if i == 5 else float(a[:, i].mean()) for i in range(6)]))


@functools.lru_cache(maxsize=1)
def _eval_set(limit: int) -> tuple:
    """Evaluator, ``limit`` test entries, their text and real-motion embeddings (loaded once for all models)."""
    from humokit._paths import checkpoints_dir
    from humokit.priors.checkpoint import load_checkpoint
    from humokit.priors.evaluate import embed_motions, embed_texts, load_eval_set

    ev = load_checkpoint(checkpoints_dir() / "evaluator", "evaluator")
    es = load_eval_set(DATA, "test", limit=limit)
    return ev, es, embed_texts(ev, es), embed_motions(ev, es.features)


def text_alignment(model: str, limit: int) -> str:
    """R@1 / FID / Phys-Err of ``model`` on ``limit`` test captions, without and with projection (features)."""
    from humokit.optim.physics.guidance import FeatureProjector
    from humokit.priors.evaluate import generate_set, score
    from humokit.priors.sampling import load_generator

    ev, es, te, re_ = _eval_set(limit)
    gen = load_generator(model)
    idx = list(range(len(es.captions)))
    a = score(ev, es, generate_set(gen, es, idx, seed=1), te, re_, None)
    b = score(ev, es, generate_set(gen, es, idx, seed=1, projector=FeatureProjector(gen.mean, gen.std)), te, re_, None)
    return (f"  {model:<10} R@1 {a['R@1']:.3f} -> {b['R@1']:.3f} ({b['R@1'] - a['R@1']:+.3f})   "
            f"FID {a['FID']:.3f} -> {b['FID']:.3f}   Phys-Err {a['phys_err_mm']:.2f} -> {b['phys_err_mm']:.2f} mm")


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
    ap.add_argument("--t2m", type=int, default=128,
                    help="test captions for the R@1/FID change the projection causes (0: skip)")
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

    alignment: list[str] = []
    try:
        from humokit.optim.physics.guidance import generate_physical
        from humokit.priors.sampling import MODELS, generate
    except ImportError as exc:
        print(line("generated", f"not available ({exc})"))
    else:
        texts = captions(names, args.max)
        for model in MODELS:
            try:
                gen = [generate(t, model=model, seconds=4.0, seed=i) for i, t in enumerate(texts)]
            except Exception as exc:  # noqa: BLE001 - report any reason a model cannot run here
                print(line(f"generated: {model}", f"not available ({str(exc).splitlines()[0][:80]})"))
                continue
            print(line(f"generated: {model} ({len(gen)} texts)", measure(gen, body, humanoid)))
            phys = [generate_physical(t, model=model, seconds=4.0, seed=i) for i, t in enumerate(texts)]
            print(line("  + projection in and after sampling", measure(phys, body, humanoid)), flush=True)
            if args.t2m > 0:
                alignment.append(text_alignment(model, args.t2m))

    if args.recovered is not None and args.recovered.is_dir():
        rec = [Motion.load(str(p)) for p in sorted(args.recovered.glob("*.npz"))[: args.max]]
        if rec:
            print(line(f"recovered ({len(rec)})", measure(rec, body, humanoid)))
            print(line("  + kinematic projection", measure([project_motion(r, body) for r in rec], body, humanoid)))
    else:
        print(line("recovered", "not available (give --recovered DIR of motions from `humokit recover`)"))
    if alignment:
        print(f"\ntext alignment on {args.t2m} test captions (evaluator of benchmarks/t2m.py; batches of 32), "
              "without -> with projection:")
        print("\n".join(alignment))
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
