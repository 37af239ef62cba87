"""CLI start-up: wall seconds (median of N fresh processes) of ``humokit --help`` and a small BVH export.

Usage: python benchmarks/cli.py [--repeats 5] [--tree DIR]

Rows: ``python -c pass`` and ``import numpy`` (the interpreter's own floor on
this machine, the baseline measured in the same run), ``humokit --help``,
``humokit export --help`` and ``humokit export m.npz -o m.bvh`` (a 4-s, 20-fps
motion written in the same run). ``--tree`` runs another checkout's humokit
(e.g. an older commit unpacked with ``git archive``) for a before/after table.
Targets (issue 22): ``--help`` < 0.5 s, export < 2 s. The load average is
printed: on a shared machine, read the rows against the ``python -c pass`` one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _time(cmd: list[str], env: dict[str, str], cwd: Path, repeats: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
        runs.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return statistics.median(runs), min(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tree", type=Path, default=ROOT, help="humokit checkout to time (default: this one)")
    a = ap.parse_args()

    tree = a.tree.resolve()
    env = dict(os.environ, PYTHONPATH=str(tree), TQDM_DISABLE="1")
    tmp = Path(tempfile.mkdtemp(prefix="humokit_bench_cli_"))
    motion = tmp / "m.npz"
    subprocess.run(
        [sys.executable, "-c", "import sys; from humokit.motion.builtin import builtin_motion; "
         f"builtin_motion('walk', seconds=4.0, fps=20.0).save({str(motion)!r})"],
        env=env, cwd=tree, check=True,
    )  # fmt: skip
    hk = [sys.executable, "-m", "humokit.cli"]
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"], None),
        ("python -c 'import numpy'", [sys.executable, "-c", "import numpy"], None),
        ("humokit --help", hk + ["--help"], 0.5),
        ("humokit export --help", hk + ["export", "--help"], None),
        ("humokit export m.npz -o m.bvh", hk + ["export", str(motion), "-o", str(tmp / "m.bvh")], 2.0),
    ]
    load = os.getloadavg()
    print(f"tree: {tree}  cpus: {os.cpu_count()}  load average: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'command':<32}{'median s':>10}{'min s':>8}{'target':>8}")
    for name, cmd, target in rows:
        med, lo = _time(cmd, env, tree, a.repeats)
        mark = "" if target is None else f"< {target:g}" + (" ok" if med < target else " MISS")
        print(f"{name:<32}{med:>10.2f}{lo:>8.2f}  {mark}")


if __name__ == "__main__":
    main()
