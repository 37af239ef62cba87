"""Body and skeleton speed: frames/s of FK and of the Anny body forward for 1, 64 and 1024 frames.

Usage: python benchmarks/body.py [--repeats N] [--baseline loop]
The ``loop`` baseline poses the Anny mesh one frame at a time, to show what batching buys.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from humokit.body import create_body
from humokit.motion.builtin import builtin_motion
from humokit.motion.skeleton import default_skeleton, forward_kinematics


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", choices=["loop", "none"], default="loop")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    body = create_body("anny")
    init = time.perf_counter() - t0
    offsets = torch.from_numpy(default_skeleton().offsets).float()
    rows = []
    for n in (1, 64, 1024):
        m = builtin_motion("walk", seconds=n / 30.0, fps=30.0)
        R, root = torch.from_numpy(m.rotations), torch.from_numpy(m.root_position)
        t_fk = _time(lambda: forward_kinematics(R, root, offsets), args.repeats)
        with torch.no_grad():
            t_body = _time(lambda: body.forward(m), args.repeats if n < 1024 else 1)
            t_loop = float("nan")
            if args.baseline == "loop" and n <= 64:
                t_loop = _time(lambda: [body.forward(m[i : i + 1]) for i in range(n)], 1)
        rows.append((n, n / t_fk, n / t_body, n / t_loop if np.isfinite(t_loop) else float("nan")))
    print(f"Anny body init (cache present): {init:.2f} s; threads: {torch.get_num_threads()}")
    print(f"{'frames':>7} | {'FK frames/s':>12} | {'Anny batched frames/s':>22} | {'Anny per-frame loop':>20}")
    print("-" * 72)
    for n, fk, bb, loop in rows:
        print(f"{n:>7} | {fk:>12.0f} | {bb:>22.1f} | {loop:>20.1f}")


if __name__ == "__main__":
    main()
