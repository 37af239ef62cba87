"""Training: losses drop, a single batch can be overfit, resume works, DDP with 2 gloo processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from humokit.errors import InputError
from humokit.priors.checkpoint import build_model, load_checkpoint
from humokit.priors.data import BatchSampler, open_split
from humokit.priors.text import CaptionBank, HashTextEncoder
from humokit.priors.train import train

from priors_synth import TINY_MODELS, tiny_config


def _batch(root: Path, window: int | None = None) -> dict:
    ds = open_split(root, "train", max_frames=96)
    enc = HashTextEncoder()
    from humokit.priors.data import all_captions

    bank = CaptionBank(enc, all_captions(ds), root / "cache")
    return BatchSampler(ds, bank, 8, window=window, max_frames=96, seed=1).sample()


@pytest.mark.parametrize("kind", ["vq", "diffusion", "cvae", "evaluator"])
def test_overfit_single_batch(tiny_data: Path, kind: str) -> None:
    torch.manual_seed(0)
    params = dict(TINY_MODELS[kind])
    if kind != "vq":
        params["text_dim"] = 32
    model = build_model(kind, params)
    batch = _batch(tiny_data, window=32 if kind == "vq" else None)
    if kind == "diffusion":
        ds = open_split(tiny_data, "train", max_frames=96)
        model.mean.copy_(torch.from_numpy(ds.mean))
        model.std.copy_(torch.from_numpy(ds.std))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        torch.manual_seed(1)  # same noise/masking every step: a fixed objective
        loss, _ = model(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], (kind, losses[0], losses[-1])


def test_train_vq_then_mask_res_loss_drops_and_resume(tiny_data: Path, tmp_path: Path) -> None:
    vq_dir = train("vq", tiny_config("vq", tiny_data, steps=12), tmp_path / "vq", progress=False)
    ck = load_checkpoint(vq_dir, "vq")
    cfg = json.loads((vq_dir / "config.json").read_text())
    assert cfg["kind"] == "vq" and cfg["step"] > 0
    for kind in ("mask", "res"):
        c = tiny_config(kind, tiny_data, steps=12)
        c["vq"] = str(vq_dir)
        out = train(kind, c, tmp_path / kind, progress=False)
        st = torch.load(out / "train_state.pt", weights_only=False)
        assert st["step"] == 12
        assert load_checkpoint(out, kind).config["val_loss"] < 6.0
    # resume: asking for more steps continues from 30
    c["train"]["steps"] = 15
    train("res", c, tmp_path / "res", progress=False)
    assert torch.load(tmp_path / "res" / "train_state.pt", weights_only=False)["step"] == 15
    assert ck.model.cfg.num_quantizers == 3


def test_training_loss_drops(tiny_data: Path, tmp_path: Path) -> None:
    out = train("diffusion", tiny_config("diffusion", tiny_data, steps=20, eval_every=5), tmp_path / "d", progress=False)
    first = torch.load(out / "train_state.pt", weights_only=False)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["val_loss"] < 1e9 and first["best"] <= cfg["val_loss"] + 1e-9
    # val loss of a fresh model is higher than the trained one
    fresh = build_model("diffusion", {**TINY_MODELS["diffusion"], "text_dim": 32})
    ck = load_checkpoint(out, "diffusion")
    b = _batch(tiny_data)
    torch.manual_seed(3)
    fresh.mean.copy_(ck.model.mean)
    fresh.std.copy_(ck.model.std)
    l0 = fresh.eval()(b)[0].item()
    torch.manual_seed(3)
    l1 = ck.model(b)[0].item()
    assert l1 < l0


def test_wrong_kind_config(tiny_data: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError):
        train("mask", tiny_config("vq", tiny_data), tmp_path / "x", progress=False)
    with pytest.raises(InputError, match="vq"):
        train("mask", tiny_config("mask", tiny_data), tmp_path / "y", progress=False)


@pytest.mark.parametrize("key, value", [("max_foot_height", "abc"), ("max_foot_height", -0.05), ("balance", "x"),
                                        ("balance", float("nan"))])
def test_bad_data_numbers_are_one_line_errors_before_any_output(key, value, tiny_data: Path, tmp_path: Path) -> None:
    cfg = tiny_config("diffusion", tiny_data)
    cfg["data"] = {**cfg.get("data", {}), key: value}
    with pytest.raises(InputError, match=f"data.{key}"):
        train("diffusion", cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_ddp_two_gloo_processes(tiny_data: Path, tmp_path: Path) -> None:
    cfg_path = tmp_path / "cvae.json"
    cfg_path.write_text(json.dumps(tiny_config("cvae", tiny_data, steps=4, eval_every=2)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "humokit.cli",
           "train", "cvae", "--config", str(cfg_path), "-o", str(tmp_path / "out"), "--quiet"]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=110)
    assert r.returncode == 0, r.stderr[-2000:]
    st = torch.load(tmp_path / "out" / "train_state.pt", weights_only=False)
    assert st["step"] == 4
    assert load_checkpoint(tmp_path / "out", "cvae").config["kind"] == "cvae"
