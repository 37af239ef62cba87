"""Train the 2D -> 3D lifting network (:mod:`humokit.optim.lift`) on projected mocap.

    python -m humokit.optim.lift_train --data ~/humokit_data/v1 -o ~/humokit_train/lift [--minutes 60]
    python -m humokit.optim.lift_train --data ~/humokit_data/v1 -o ~/humokit_train/lift --minutes 0 \\
        --export humokit/checkpoints/lift     # float16 copy of the best (val) model

Training pairs come from :func:`humokit.optim.lift_data.make_batch` on the
train split (a fresh random camera and detector noise for every window).
The loss is the mean per-joint error (metres) plus a small Gaussian
likelihood term that trains the per-joint std head on the (detached) error.
The model is selected on a fixed set of noisy val-split windows. Runs resume
from ``OUT/state.pt`` (model, optimiser, step, minutes used, random state)
unless ``--no-resume``; ``--minutes`` is the total budget over all resumed
runs, and the learning rate decays with steps or minutes, whichever is further
along. ``OUT/best/`` holds the selected model at full precision.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from humokit.errors import HumokitError, exit_error
from humokit.optim.lift import LiftConfig, LiftNet, save_lifter
from humokit.optim.lift_data import MocapBank, NoiseConfig, load_bank, make_batch


def lift_loss(joints: torch.Tensor, log_std: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
              w_nll: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, mpjpe metres)`` over the ``mask``-ed frames of ``(B, T, J, 3)`` predictions."""
    err = (joints - target).norm(dim=-1)  # (B, T, J)
    m = mask[..., None].to(err.dtype)
    n = (m.sum() * err.shape[-1]).clamp_min(1.0)
    mpjpe = (err * m).sum() / n
    var = torch.exp(2 * log_std)
    nll = (1.5 * 2 * log_std + err.detach() ** 2 / (2 * var)) * m  # 3D isotropic Gaussian, up to a constant
    return mpjpe + w_nll * nll.sum() / n, mpjpe


def val_batches(bank: MocapBank, cfg: LiftConfig, *, count: int, batch: int, out: int, seed: int,
                noise: bool) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Fixed evaluation windows (same cameras and noise on every call with the same seed)."""
    rng = np.random.default_rng(seed)
    length = cfg.receptive_field - 1 + out
    return [make_batch(bank, batch, length, out, rng, noise=NoiseConfig() if noise else None) for _ in range(count)]


@torch.no_grad()
def evaluate(model: LiftNet, batches: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], *,
             procrustes: bool = False) -> dict[str, float]:
    """MPJPE (and PA-MPJPE with ``procrustes``), mm, over the real frames of ``batches``."""
    from humokit.optim.metrics import pa_mpjpe

    was = model.training
    model.eval()
    errs, pas = [], []
    for x, y, m in batches:
        j, _ = model(x)
        e = (j - y).norm(dim=-1).mean(-1)[m]
        errs.append(e)
        if procrustes:
            pas.append(pa_mpjpe(j[m].numpy().astype(np.float64), y[m].numpy().astype(np.float64)) * int(m.sum()))
    model.train(was)
    n = sum(int(b[2].sum()) for b in batches)
    out = {"mpjpe": float(torch.cat(errs).mean()) * 1000}
    if procrustes:
        out["pa_mpjpe"] = float(sum(pas) / max(n, 1))
    return out


def _bank(data: Path, split: str, cache: Path, pad: int) -> MocapBank:
    if cache.is_file():
        b = MocapBank.load(cache)
        if b.pad >= pad:
            return b
    b = load_bank(data, split, pad=pad, progress=True)
    b.save(cache)
    return b


def train(
    data: Path,
    out_dir: Path,
    *,
    minutes: float = 60.0,
    steps: int = 100_000,
    batch: int = 32,
    frames_out: int = 64,
    lr: float = 1e-3,
    cfg: LiftConfig = LiftConfig(),
    seed: int = 0,
    resume: bool = True,
    eval_every: int = 200,
    threads: int = 1,
    progress: bool = True,
) -> dict:
    """Train (or resume) into ``out_dir``; returns the run record (also in ``out_dir/record.json``)."""
    from tqdm import tqdm

    from humokit._io import atomic_path

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    bank = _bank(data, "train", out_dir / "bank_train.npz", cfg.pad)
    vbank = _bank(data, "val", out_dir / "bank_val.npz", cfg.pad)
    vb = val_batches(vbank, cfg, count=12, batch=32, out=frames_out, seed=1234, noise=True)
    model = LiftNet(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    state_path = out_dir / "state.pt"
    rec = {"step": 0, "minutes": 0.0, "best": math.inf, "best_step": 0, "history": [], "train_frames": bank.frames,
           "val_frames": vbank.frames}
    rng = np.random.default_rng(seed)
    if resume and state_path.is_file():
        st = torch.load(state_path, weights_only=True)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        rec = json.loads(st["record"])
        rng.bit_generator.state = json.loads(st["rng"])
    length = cfg.receptive_field - 1 + frames_out
    t_start = time.perf_counter()
    m0 = rec["minutes"]
    bar = tqdm(total=steps, initial=rec["step"], desc="lift", unit="step", disable=not progress)

    def progress_frac() -> float:
        return max(rec["step"] / steps, rec["minutes"] / max(minutes, 1e-9))

    def save_state() -> None:
        with atomic_path(state_path) as tmp:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "record": json.dumps(rec),
                        "rng": json.dumps(rng.bit_generator.state)}, tmp)

    model.train()
    while rec["step"] < steps and rec["minutes"] < minutes:
        f = progress_frac()
        for g in opt.param_groups:
            g["lr"] = lr * (0.5 * (1 + math.cos(math.pi * min(f, 1.0))) * 0.97 + 0.03) * min(1.0, (rec["step"] + 1) / 200)
        x, y, m = make_batch(bank, batch, length, frames_out, rng)
        j, ls = model(x)
        loss, mp = lift_loss(j, ls, y, m)
        mp = mp.detach()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        rec["step"] += 1
        rec["minutes"] = m0 + (time.perf_counter() - t_start) / 60
        bar.update(1)
        bar.set_postfix(mpjpe_mm=f"{mp.item() * 1000:.0f}", best=f"{rec['best']:.1f}")
        last = rec["step"] >= steps or rec["minutes"] >= minutes
        if rec["step"] % eval_every == 0 or last:
            v = evaluate(model, vb)["mpjpe"]
            rec["history"].append([rec["step"], round(rec["minutes"], 2), round(mp.item() * 1000, 1), round(v, 1)])
            if v < rec["best"]:
                rec["best"], rec["best_step"] = v, rec["step"]
                save_lifter(model, out_dir / "best", half=False, extra={"step": rec["step"], "val_mpjpe_mm": round(v, 1)})
            save_state()
    bar.close()
    (out_dir / "record.json").write_text(json.dumps(rec, indent=1))
    return rec


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train the 2D->3D lifting network on projected mocap (train split; val selects).")
    ap.add_argument("--data", required=True, type=Path, help="dataset folder (train.txt, val.txt, motions/*.npz)")
    ap.add_argument("-o", "--output", required=True, type=Path, help="run folder (state.pt, best/, record.json)")
    ap.add_argument("--minutes", type=float, default=60.0, help="time budget over all resumed runs")
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--no-resume", action="store_true")
    ap.add_argument("--export", type=Path, default=None, help="write the best model here in float16 when done")
    args = ap.parse_args(argv)
    if args.minutes < 0 or args.steps < 0 or args.batch < 1 or args.channels < 8 or not args.lr > 0 or args.threads < 1:
        exit_error("lift_train: need minutes, steps >= 0, batch >= 1, channels >= 8, lr > 0, threads >= 1")
    data = args.data.expanduser()
    if not (data / "train.txt").is_file():
        exit_error(f"{data}: no train.txt (build it with `humokit data build`)")
    try:
        rec = train(data, args.output.expanduser(), minutes=args.minutes, steps=args.steps, batch=args.batch,
                    lr=args.lr, cfg=LiftConfig(channels=args.channels), seed=args.seed, resume=not args.no_resume,
                    eval_every=args.eval_every, threads=args.threads)
        if args.export is not None:
            from humokit.optim.lift import _load

            best = args.output.expanduser() / "best"
            model = _load(str(best))
            meta = json.loads((best / "config.json").read_text())
            cmd = "python -m humokit.optim.lift_train --data ~/humokit_data/v1 -o ~/humokit_train/lift " \
                  f"--minutes {args.minutes:g} --channels {args.channels} --export humokit/checkpoints/lift"
            save_lifter(model, args.export, extra={"step": meta.get("step"), "val_mpjpe_mm": meta.get("val_mpjpe_mm"),
                                                   "minutes": round(rec["minutes"], 1), "command": cmd})
    except HumokitError as e:
        exit_error(str(e))
    print(f"{args.output}: step {rec['step']}, {rec['minutes']:.1f} min, best val MPJPE {rec['best']:.1f} mm at step {rec['best_step']}")


if __name__ == "__main__":
    main()
