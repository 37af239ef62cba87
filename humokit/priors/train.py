"""Training loop shared by all prior families: plain torch, DDP under ``torchrun``, resumable.

``train(kind, config, output)`` reads the dataset, caches caption
embeddings, builds the model and runs AdamW with warm-up and cosine decay
for ``train.steps`` steps or ``train.max_minutes`` minutes (the schedule
follows whichever is further along). Every ``eval_every`` steps it scores
fixed validation batches; the best model goes to ``output/model.safetensors``
+ ``config.json`` (model selection on val only), the latest state to
``output/last.safetensors`` + ``output/train_state.pt`` for resuming.

Under ``torchrun`` (``WORLD_SIZE > 1``) each process draws its own batches
and gradients are averaged by DDP (gloo on CPU, NCCL on GPU).

Config keys (JSON)::

    {"kind": "mask", "text_encoder": "minilm", "vq": "path/to/vq",
     "data": {"root": "...", "max_frames": 196, "window": null,
              "rich_captions": 16, "balance": 0.3, "speed_range": [0.85, 1.15],
              "max_foot_height": null},
     "model": {...hyper-parameters...},
     "train": {"batch_size": 64, "lr": 2e-4, "steps": 3000, "max_minutes": 20, "warmup": 200,
               "eval_every": 250, "val_batches": 8, "seed": 0, "weight_decay": 0.0,
               "grad_clip": 1.0, "threads": 2, "init": null}}

``train.init``: a checkpoint folder (or shipped name) to start from: every
weight whose name and shape match is copied (fine-tuning; new layers stay new),
except names starting with a prefix in ``train.init_skip``.

``data.rich_captions``: generated captions added to each train entry
(:func:`~humokit.priors.data.enrich_captions`; datasets built by
``humokit data build``); ``data.balance``: draw train entries with content
labels weighted ``n ** balance`` (1 = uniform over entries); ``data.speed_range``:
random playback-speed augmentation; ``data.max_foot_height``: train entries
whose feet stay higher than that (metres, median over frames) are left out
(:func:`~humokit.priors.data.drop_floating`). Validation batches use the plain split.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from humokit._dist import setup_distributed
from humokit.errors import FileFormatError, InputError
from humokit.priors.checkpoint import build_model, load_checkpoint, save_checkpoint
from humokit.priors.data import BatchSampler, all_captions, drop_floating, enrich_captions, entry_contents, open_split, window_labels
from humokit.priors.text import CaptionBank, get_text_encoder

log = logging.getLogger(__name__)
TRAIN_DEFAULTS = {"batch_size": 64, "lr": 2e-4, "steps": 1000, "max_minutes": None, "warmup": 100, "eval_every": 200,
                  "val_batches": 4, "seed": 0, "weight_decay": 0.0, "grad_clip": 1.0, "threads": None,
                  "init": None, "init_skip": []}  # fmt: skip


def init_from(model: nn.Module, where: str | Path, skip: tuple[str, ...] = ()) -> list[str]:
    """Copy every weight of the checkpoint at ``where`` whose name and shape match ``model``'s; returns those left new.

    ``skip``: name prefixes never copied (layers whose input changes meaning, e.g. a text layer that now reads
    whitened embeddings).
    """
    from humokit.priors.checkpoint import read_state_dict, resolve

    path = resolve(where) / "model.safetensors"
    if not path.is_file():
        raise InputError(f"train.init: no checkpoint at {where}")
    src = {k: v.float() for k, v in read_state_dict(path).items() if not k.startswith("normalizer.")}
    own = model.state_dict()
    take = {k: v for k, v in src.items() if k in own and own[k].shape == v.shape and not k.startswith(tuple(skip))}
    model.load_state_dict(take, strict=False)
    return sorted(set(own) - set(take))


def load_config(path: str | Path) -> dict:
    """Read a training config JSON (relative ``data.root`` and ``vq`` resolve against the working directory)."""
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise InputError(f"{p}: config file not found") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{p}: invalid JSON ({e.msg}, line {e.lineno})") from None


def _to(batch: dict, dev: torch.device) -> dict:
    return {k: v.to(dev) if torch.is_tensor(v) else v for k, v in batch.items()}


class _Task(nn.Module):
    """Wraps a model; for token models, adds ``codes`` from a frozen VQ before the model's loss."""

    def __init__(self, model: nn.Module, vq: nn.Module | None) -> None:
        super().__init__()
        self.model = model
        self.vq = [vq]  # list: not a registered sub-module (frozen, not trained, not saved)

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        vq = self.vq[0]
        if vq is not None:
            unit = vq.unit
            T = (batch["x"].shape[1] // unit) * unit
            with torch.no_grad():
                batch = {**batch, "codes": vq.encode(batch["x"][:, :T]),
                         "token_lengths": torch.div(batch["lengths"], unit, rounding_mode="floor")}  # fmt: skip
        return self.model(batch)


def _number(section: dict, key: str, default: float | None, *, positive: bool = False) -> float | None:
    """``data.<key>`` as a finite float (None stays None), or an :class:`InputError` naming the key."""
    value = section.get(key, default)
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"config data.{key}: not a number ({value!r})") from None
    if not math.isfinite(x) or (positive and x <= 0):
        raise InputError(f"config data.{key}: must be a finite{' positive' if positive else ''} number, got {value!r}")
    return x


def train(kind: str, config: dict, output: str | Path, *, data_root: str | Path | None = None,
          resume: bool = True, progress: bool = True, command: str | None = None) -> Path:  # fmt: skip
    """Train a ``kind`` model (vq, mask, res, diffusion, cvae, evaluator); returns the best checkpoint folder."""
    from tqdm import tqdm

    if config.get("kind", kind) != kind:
        raise InputError(f"config is for a {config.get('kind')!r} model, not {kind!r}")
    tcfg = {**TRAIN_DEFAULTS, **config.get("train", {})}
    dcfg = {"max_frames": 196, "window": None, **config.get("data", {})}
    root = data_root or dcfg.get("root")
    if root is None:
        raise InputError("no dataset: give --data or data.root in the config")
    root = Path(os.path.expanduser(str(root)))
    balance = _number(dcfg, "balance", 1.0)
    max_foot = _number(dcfg, "max_foot_height", None, positive=True)
    if tcfg["threads"]:
        torch.set_num_threads(int(tcfg["threads"]))
    rank, world, dev = setup_distributed()
    out = Path(output)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(int(tcfg["seed"]) + rank)

    train_ds = open_split(root, "train", max_frames=dcfg["max_frames"])
    val_ds = open_split(root, "val", max_frames=dcfg["max_frames"])
    labels = window_labels(root)
    if max_foot is not None:
        gone = drop_floating(train_ds, max_foot)
        if rank == 0:
            log.info("left out %d floating train entries (feet above %s m)", len(gone), max_foot)
    if dcfg.get("rich_captions"):
        enrich_captions(train_ds, labels, int(dcfg["rich_captions"]), seed=int(tcfg["seed"]))
    encoder = get_text_encoder(config.get("text_encoder", "minilm"))
    caps = all_captions(train_ds, val_ds)
    bank_dir = out / "text_cache" if dcfg.get("cache_in_output") else None
    params = dict(config.get("model", {}))
    need_tokens = kind == "evaluator" or (kind == "cvae" and params.get("text_input", "tokens") == "tokens")
    if rank == 0:
        bank = CaptionBank(encoder, caps, bank_dir, progress=progress, tokens=need_tokens)
    if world > 1:
        dist.barrier()
    if rank != 0:
        bank = CaptionBank(encoder, caps, bank_dir, tokens=need_tokens)

    vq = None
    if kind in ("mask", "res"):
        if "vq" not in config:
            raise InputError(f"a {kind} config needs 'vq': the folder of a trained VQ checkpoint")
        vq_ck = load_checkpoint(config["vq"], "vq")
        vq = vq_ck.model.to(dev).eval()
        params.setdefault("codebook_size", vq.cfg.codebook_size)
        params.setdefault("num_quantizers", vq.cfg.num_quantizers)
        if not np.allclose(vq_ck.mean, train_ds.mean, atol=1e-5):
            raise InputError(f"{config['vq']}: VQ was trained with another dataset normalisation")
    if kind in ("mask", "res", "diffusion", "cvae", "evaluator"):
        params.setdefault("text_dim", encoder.dim)
    model = build_model(kind, params)
    if tcfg["init"] and not (resume and (out / "train_state.pt").exists()):
        new = init_from(model, tcfg["init"], tuple(tcfg["init_skip"]))
        if rank == 0:
            log.info("initialised from %s (%d tensors new)", tcfg["init"], len(new))
    if hasattr(model, "set_text_stats"):  # input whitening from the train captions (a no-op unless configured)
        model.set_text_stats(bank.sentence[[bank.index[c] for c in all_captions(train_ds)]])
    if kind == "diffusion":
        model.mean.copy_(torch.from_numpy(train_ds.mean))
        model.std.copy_(torch.from_numpy(train_ds.std))
    model.to(dev)
    task = _Task(model, vq)
    net: nn.Module = task
    if world > 1:
        net = nn.parallel.DistributedDataParallel(task, find_unused_parameters=False)
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])

    step, best, elapsed0 = 0, math.inf, 0.0
    state_path = out / "train_state.pt"
    if resume and state_path.exists():
        st = load_train_state(state_path)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, best, elapsed0 = st["step"], st["best"], st["elapsed"]
        if rank == 0:
            log.info("resumed %s at step %d", out, step)

    window = dcfg.get("window")
    sampler = BatchSampler(train_ds, bank, tcfg["batch_size"], window=window, max_frames=dcfg["max_frames"],
                           seed=int(tcfg["seed"]) * 1000 + rank + 7919 * step,
                           contents=entry_contents(train_ds, labels) if labels else None,
                           balance=balance, speed_range=dcfg.get("speed_range"))  # fmt: skip
    val_batches = BatchSampler(val_ds, bank, tcfg["batch_size"], window=window, max_frames=dcfg["max_frames"]).fixed(
        int(tcfg["val_batches"]), seed=12345
    )
    extra = {"text_encoder": encoder.name, "unit_length": 4, "max_frames": dcfg["max_frames"],
             "dataset": str(root), "command": command or ""}  # fmt: skip

    def validate() -> float:
        rng_state = torch.get_rng_state()
        torch.manual_seed(777)
        model.eval()
        with torch.no_grad():
            v = float(np.mean([task(_to(b, dev))[0].item() for b in val_batches]))
        model.train()
        torch.set_rng_state(rng_state)
        return v

    def save_state() -> None:
        if rank != 0:
            return
        save_checkpoint(out, model, train_ds.mean, train_ds.std, extra=extra, name="last")
        tmp = state_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                    "elapsed": elapsed0 + time.time() - t0}, tmp)  # fmt: skip
        os.replace(tmp, state_path)

    steps, max_min = int(tcfg["steps"]), tcfg["max_minutes"]
    t0 = time.time()
    model.train()
    bar = tqdm(total=steps, initial=step, desc=f"train {kind}", unit="step", disable=not progress or rank != 0)
    logs: dict = {}
    while True:
        minutes = (elapsed0 + time.time() - t0) / 60.0
        frac = max(step / steps, minutes / max_min if max_min else 0.0)
        stop = torch.tensor(float(frac >= 1.0))
        if world > 1:
            dist.all_reduce(stop)  # every rank stops at the same step
        if stop.item() > 0:
            break
        lr = tcfg["lr"] * min(1.0, (step + 1) / max(1, tcfg["warmup"])) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        for g in opt.param_groups:
            g["lr"] = lr
        loss, logs = net(_to(sampler.sample(), dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if tcfg["grad_clip"]:
            nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
        opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}", **{k: f"{v:.3f}" for k, v in logs.items()})
        if step % int(tcfg["eval_every"]) == 0:
            v = validate()
            if rank == 0:
                tqdm.write(f"step {step} train {loss.item():.4f} val {v:.4f} lr {lr:.2e} {minutes:.1f} min")
                if v < best:
                    best = v
                    save_checkpoint(out, model, train_ds.mean, train_ds.std, extra={**extra, "step": step, "val_loss": v})
            save_state()
    bar.close()
    v = validate()
    if rank == 0:
        if v < best or not (out / "model.safetensors").exists():
            best = v
            save_checkpoint(out, model, train_ds.mean, train_ds.std, extra={**extra, "step": step, "val_loss": v})
        tqdm.write(f"done: step {step}, final val {v:.4f}, best val {best:.4f}")
    save_state()
    if world > 1:
        dist.barrier()
    return out


def load_train_state(path: str | Path) -> dict:
    """Read ``train_state.pt`` with ``weights_only=True``: tensors and plain types only, never code.

    Raises:
        FileFormatError: the file is not a training state (or tries to unpickle anything else).
    """
    try:
        st = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle/zip errors of a foreign or planted file
        raise FileFormatError(path, f"not a humokit training state ({type(exc).__name__})") from None
    if not isinstance(st, dict) or not {"model", "opt", "step", "best", "elapsed"} <= set(st):
        raise FileFormatError(path, "not a humokit training state (keys missing)")
    return st
