"""Text-to-motion benchmark on the test split: one row per shipped model and one for real data.

    python benchmarks/t2m.py [--data ~/humokit_data/v1] [--split test] [--checkpoints DIR] [--limit N]
    python benchmarks/t2m.py --split val --models diffusion,diffusion@NEWDIR   # a retrained model beside the shipped one

Columns: R@1/2/3 (batches of 32), FID, MM-Dist, Diversity, MultiModality
(evaluator embeddings; the evaluator was trained on the train split only),
Penetrate / Float / Skate / Phys-Err (mm, PhysDiff definitions of
:mod:`humokit.motion.plausibility`, each clip grounded by its soles), mean
per-clip peak jerk (m/s^3), and CPU milliseconds to sample one 4-s motion (text
embedding precomputed, median of 10): ``ms`` one at a time, ``ms/batch`` per motion
in batches of ``--speed-batch`` (32), with the 1-minute load average printed beside them. Real-data row = ceiling.
``--physics`` adds a ``<model>+phys`` row per model: kinematic projection
inside sampling and after it (:mod:`humokit.optim.physics.guidance`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.expanduser("~/humokit_data/v1"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--checkpoints", default=None, help="folder with vq/ mask/ res/ diffusion/ cvae/ evaluator/")
    ap.add_argument("--models", default="mask,diffusion,cvae",
                    help="comma-separated families; FAMILY@DIR takes that family from another checkpoints folder")
    ap.add_argument("--limit", type=int, default=None, help="use only N entries (quick runs)")
    ap.add_argument("--mm-texts", type=int, default=32)
    ap.add_argument("--mm-repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--speed-batch", type=int, default=32, help="batch size of the batched speed column")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    ap.add_argument("--physics", action="store_true",
                    help="also score each model with kinematic physics projection inside and after sampling")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from humokit._paths import checkpoints_dir
    from humokit.motion import metrics as M
    from humokit.priors.checkpoint import load_checkpoint
    from humokit.priors.evaluate import embed_motions, embed_texts, generate_set, load_eval_set, score, time_one
    from humokit.priors.sampling import load_generator
    from scipy.stats import binomtest

    base = Path(args.checkpoints) if args.checkpoints else checkpoints_dir()
    ev = load_checkpoint(base / "evaluator", "evaluator")
    t0 = time.time()
    es = load_eval_set(args.data, args.split, limit=args.limit)
    n = len(es.captions)
    text_emb = embed_texts(ev, es)
    real_emb = embed_motions(ev, es.features)
    mm_idx = list(range(min(args.mm_texts, n)))
    rows: dict[str, dict] = {}
    paired: list[str] = []
    # real data: MultiModality from the other real motions sharing a caption is undefined -> nan
    rows["real"] = {**score(ev, es, es.features, text_emb, real_emb, None), "ms": float("nan"), "ms/batch": float("nan")}
    print(f"[{args.split}: {n} motions, {time.time() - t0:.0f}s]", flush=True)
    if "mask" in args.models.split(","):
        from humokit.priors.evaluate import vq_reconstruction_mm

        vq_err = vq_reconstruction_mm(load_checkpoint(base / "vq", "vq"), es)
        print(f"RVQ-VAE reconstruction on {args.split}: {vq_err['mpjpe_mm']:.1f} mm global MPJPE, "
              f"{vq_err['root_relative_mm']:.1f} mm root-relative", flush=True)
    for name in args.models.split(","):
        t1 = time.time()
        family, _, folder = name.partition("@")  # "diffusion@DIR": that family from another checkpoints folder
        gen = load_generator(family, folder or (str(base) if args.checkpoints else None))
        feats = generate_set(gen, es, list(range(n)), seed=1)
        rep = [i for i in mm_idx for _ in range(args.mm_repeats)]
        mm_feats = generate_set(gen, es, rep, seed=2)
        mm_emb = embed_motions(ev, mm_feats).reshape(len(mm_idx), args.mm_repeats, -1)
        row = score(ev, es, feats, text_emb, real_emb, mm_emb)
        row["ms"] = time_one(gen, es)
        row["ms/batch"] = time_one(gen, es, batch=args.speed_batch, repeats=3)
        rows[name] = row
        print(f"[{name}: {time.time() - t1:.0f}s]", flush=True)
        if args.physics:
            from humokit.optim.physics.guidance import FeatureProjector

            variants = {"+phys": FeatureProjector(gen.mean, gen.std)}  # the defaults
            if family == "mask":
                variants["+phys re-enc"] = FeatureProjector(gen.mean, gen.std, reencode="all")
            if family == "diffusion":
                variants["+phys post"] = FeatureProjector(gen.mean, gen.std, diffusion_steps=())
            base_top1 = M.retrieval_ranks(text_emb, embed_motions(ev, feats)) == 0
            for suffix, proj in variants.items():
                t1 = time.time()
                feats = generate_set(gen, es, list(range(n)), seed=1, projector=proj)
                top1 = M.retrieval_ranks(text_emb, embed_motions(ev, feats)) == 0
                lost, won = int((base_top1 & ~top1).sum()), int((~base_top1 & top1).sum())
                p = binomtest(min(lost, won), lost + won).pvalue if lost + won else 1.0
                paired.append(f"{name + suffix}: top-1 hits lost {lost}, won {won} of {len(top1)} "
                              f"(R@1 {(won - lost) / len(top1):+.3f}; exact McNemar p = {p:.2f})")
                mm_feats = generate_set(gen, es, rep, seed=2, projector=proj)
                mm_emb = embed_motions(ev, mm_feats).reshape(len(mm_idx), args.mm_repeats, -1)
                row = score(ev, es, feats, text_emb, real_emb, mm_emb)
                row["ms"] = time_one(gen, es, projector=proj)
                row["ms/batch"] = time_one(gen, es, batch=args.speed_batch, repeats=3, projector=proj)
                rows[name + suffix] = row
                print(f"[{name}{suffix}: {time.time() - t1:.0f}s]", flush=True)
    cols = ["R@1", "R@2", "R@3", "FID", "MM-Dist", "Diversity", "MModality", "skate_mm", "penetrate_mm", "float_mm",
            "phys_err_mm", "jerk", "ms", "ms/batch"]  # fmt: skip
    head = f"| {'model':<18} | " + " | ".join(f"{c:>9}" for c in cols) + " |"
    print(head)
    print("|" + "-" * (len(head) - 2) + "|")
    for name, r in rows.items():
        print(f"| {name:<18} | " + " | ".join(f"{r[c]:9.3f}" for c in cols) + " |")
    print(f"(speed columns measured at 1-minute load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
          f"{args.threads} thread(s); ms/batch: batches of {args.speed_batch})")
    if paired:
        print("\npaired change of top-1 retrieval against the same model without projection (same texts and seeds):")
        print("\n".join(paired))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
