"""Lifting network accuracy on projected mocap of a held-out split (clean and with detector-shaped noise).

    python benchmarks/lift.py [--split val|test] [--data ~/humokit_data/v1] [--model DIR] [--batches 8] [--json out.json]

Windows of the split's motions are posed, seen from random static cameras and
projected exactly as in training (:func:`humokit.optim.lift_data.make_batch`;
fixed seed, so every run sees the same windows), then lifted. Errors are on the
pelvis-relative joints in camera axes at the body's canonical size (mm):
MPJPE, PA-MPJPE, and the elbows+wrists and knees alone. Conditions: clean
(exact 2D, confidence 1), noisy (the training noise model) and hidden arm
(noise plus one arm's landmarks occluded over a span, every window). Baseline
in the same run: the same network with its temporal context removed (each
frame's input repeated over the receptive field), which shows what the
window adds over a per-frame lift. Choose on val; report test once.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

from humokit.optim.lift import load_lifter
from humokit.optim.lift_data import NoiseConfig, load_bank, make_batch
from humokit.optim.metrics import pa_mpjpe

ARMS = [18, 19, 20, 21]
KNEES = [4, 5]


def _errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    e = np.linalg.norm(pred - gt, axis=-1)
    return {"mpjpe": float(e.mean() * 1000), "pa_mpjpe": pa_mpjpe(pred, gt), "arms": float(e[:, ARMS].mean() * 1000),
            "knees": float(e[:, KNEES].mean() * 1000)}


@torch.no_grad()
def run(model, bank, noise: NoiseConfig | None, batches: int, seed: int, out: int = 32) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    rf = model.cfg.receptive_field
    P, S, G, GS = [], [], [], []
    for _ in range(batches):
        x, y, m = make_batch(bank, 32, rf - 1 + out, out, rng, noise=noise)
        j, _ = model(x)
        P.append(j[m].numpy())
        G.append(y[m].numpy())
        # per-frame baseline: every 8th output frame, its own input repeated over the receptive field
        c = (rf - 1) // 2
        ts = list(range(0, out, 8))
        xs = torch.stack([x[:, c + t] for t in ts], 1)  # (B, n, K, 3)
        xs = xs.reshape(-1, 1, *x.shape[2:]).expand(-1, rf, -1, -1)
        js, _ = model(xs)
        S.append((js[:, 0].reshape(x.shape[0], len(ts), 22, 3)[m[:, ts]]).numpy())
        GS.append(y[:, ts][m[:, ts]].numpy())
    cat = lambda a: np.concatenate(a).astype(np.float64)  # noqa: E731
    return {"lift": _errors(cat(P), cat(G)), "per-frame": _errors(cat(S), cat(GS))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("HUMOKIT_DATA", "~/humokit_data/v1")).expanduser())
    ap.add_argument("--model", type=Path, default=None, help="lifting network folder (default: shipped)")
    ap.add_argument("--batches", type=int, default=8, help="batches of 32 windows (32 frames scored each)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model = load_lifter(args.model)
    bank = load_bank(args.data, args.split, pad=model.cfg.pad)
    conds = {"clean": None, "noisy": NoiseConfig(), "hidden arm": NoiseConfig(hide_arm=1.0)}
    res = {k: run(model, bank, v, args.batches, args.seed) for k, v in conds.items()}
    print(f"lifting on projected {args.split}-split mocap ({bank.frames} frames in the split), mm")
    print(f"{'condition':<12} {'method':<10} {'MPJPE':>7} {'PA-MPJPE':>9} {'arms':>7} {'knees':>7}")
    for k, r in res.items():
        for meth, e in r.items():
            print(f"{k:<12} {meth:<10} {e['mpjpe']:7.1f} {e['pa_mpjpe']:9.1f} {e['arms']:7.1f} {e['knees']:7.1f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
