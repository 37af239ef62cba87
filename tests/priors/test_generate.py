"""Generation: length, keyframes, seeds, bad input; tiny trained families and the shipped checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from priors_synth import tiny_config

from humokit.errors import InputError
from humokit.motion.builtin import builtin_motion
from humokit.motion.motion import Motion
from humokit.priors.checkpoint import load_checkpoint
from humokit.priors.edit import Keyframes
from humokit.priors.sampling import generate
from humokit.priors.train import train


@pytest.fixture(scope="session")
def tiny_family(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("family")
    train("vq", tiny_config("vq", tiny_data, steps=10), out / "vq", progress=False)
    for kind in ("mask", "res", "diffusion", "cvae"):
        c = tiny_config(kind, tiny_data, steps=5)
        c["vq"] = str(out / "vq")
        train(kind, c, out / kind, progress=False)
    return out


@pytest.mark.parametrize("model", ["mask", "diffusion", "cvae"])
def test_length_and_seed(tiny_family: Path, model: str) -> None:
    kw = {"checkpoints": tiny_family, "model": model, "steps": 3 if model != "cvae" else None}
    a = generate("a person walks forward.", seconds=2.15, seed=3, **kw)
    b = generate("a person walks forward.", seconds=2.15, seed=3, **kw)
    assert isinstance(a, Motion) and a.num_frames == 43 and a.fps == 20.0
    np.testing.assert_array_equal(a.rotations, b.rotations)
    np.testing.assert_array_equal(a.root_position, b.root_position)
    np.testing.assert_allclose(a.to_ground().root_position, a.root_position, atol=1e-5)  # already grounded


@pytest.mark.parametrize("model", ["mask", "diffusion", "cvae"])
def test_keyframes_exact(tiny_family: Path, model: str) -> None:
    src = builtin_motion("walk", seconds=3.0, fps=20.0)
    J = src.joints()
    kf = Keyframes.create([0, 30, 59], J[[0, 30, 59]])
    m = generate("a person walks forward.", model=model, seconds=3.0, seed=0, keyframes=kf,
                 checkpoints=tiny_family, steps=3 if model != "cvae" else None)  # fmt: skip
    assert m.num_frames == 60
    np.testing.assert_allclose(m.joints()[[0, 30, 59]], J[[0, 30, 59]], atol=2e-4)


def test_root_trajectory_and_edit_mask(tiny_family: Path, tmp_path: Path) -> None:
    src = builtin_motion("walk", seconds=2.0, fps=20.0)
    J = src.joints()
    mask = np.zeros((40, 22), bool)
    mask[:, 0] = True  # pelvis path only
    kf = Keyframes.create(np.arange(40), J, mask)
    m = generate("a person walks forward.", seconds=2.0, seed=0, keyframes=kf, checkpoints=tiny_family, steps=3)
    np.testing.assert_allclose(m.root_position, J[:, 0], atol=1e-5)
    # editing: keep the source outside 0.5-1.5 s, regenerate inside
    path = tmp_path / "src.npz"
    src.save(str(path))
    e = generate("a person waves the right hand.", seconds=2.0, seed=0, keyframes=path, edit_mask="0.5:1.5",
                 checkpoints=tiny_family, steps=3)  # fmt: skip
    keep = np.r_[0:10, 30:40]
    np.testing.assert_allclose(e.joints()[keep], J[keep], atol=2e-4)


def test_bad_input(tiny_family: Path, tiny_data: Path) -> None:
    kw = {"checkpoints": tiny_family}
    for bad in ("", "   "):
        with pytest.raises(InputError, match="empty"):
            generate(bad, **kw)
    for s in (0.0, -1.0, 1e6, float("nan")):
        with pytest.raises(InputError, match="seconds"):
            generate("a person walks.", seconds=s, **kw)
    with pytest.raises(InputError, match="unknown model"):
        generate("a person walks.", model="gan", **kw)
    with pytest.raises(InputError, match="no checkpoint"):
        load_checkpoint(tiny_family / "nope", "vq")
    with pytest.raises(InputError, match="expected 'mask'"):
        load_checkpoint(tiny_family / "vq", "mask")
    kf = Keyframes.create([100], np.zeros((1, 22, 3)))
    with pytest.raises(InputError, match="beyond"):
        generate("a person walks.", seconds=2.0, keyframes=kf, **kw)
    for e in (InputError("x"),):
        assert "\n" not in str(e)


def test_cvae_prior_api(tiny_family: Path) -> None:
    ck = load_checkpoint(tiny_family / "cvae", "cvae")
    x = torch.zeros(2, 40, 263, requires_grad=True)
    mu, lv = ck.model.encode(x)
    assert mu.shape == lv.shape == (2, ck.model.cfg.latent)
    assert ck.model.decode(mu, 40).shape == (2, 40, 263)
    lp = ck.model.log_prob(x)
    lp.sum().backward()
    assert lp.shape == (2,) and torch.isfinite(lp).all() and x.grad is not None


SHIPPED = Path(__file__).resolve().parents[2] / "humokit" / "checkpoints"


def _shipped(*names: str) -> bool:
    from humokit.priors.text import has_minilm

    return has_minilm() and all((SHIPPED / n / "model.safetensors").exists() for n in names)


@pytest.mark.skipif(not _shipped("vq", "mask", "res"), reason="shipped mask checkpoints or MiniLM missing")
def test_shipped_mask_model() -> None:
    a = generate("a person waves with the right hand", model="mask", seconds=4.0, seed=7)
    b = generate("a person waves with the right hand", model="mask", seconds=4.0, seed=7)
    assert a.num_frames == 80
    np.testing.assert_array_equal(a.rotations, b.rotations)
    cfg = json.loads((SHIPPED / "mask" / "config.json").read_text())
    assert cfg["kind"] == "mask" and cfg["text_encoder"] == "minilm"


def test_cli_generate_and_errors(tiny_family: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from humokit.cli import cli

    out = tmp_path / "walk.npz"
    base = ["generate", "--checkpoints", str(tiny_family), "-o", str(out), "--steps", "2"]
    r = CliRunner().invoke(cli, [*base, "a person walks forward.", "--seconds", "2", "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert Motion.load(str(out)).num_frames == 40
    for args, msg in ((["", "--seconds", "2"], "empty"), (["walk", "--seconds", "500"], "seconds"),
                      (["walk", "--checkpoints", str(tmp_path / "none")], "no checkpoint")):  # fmt: skip
        r = CliRunner().invoke(cli, [*base, *args])
        assert r.exit_code == 2 and msg in r.output and r.output.count("\n") == 1, r.output


class _CountingProjector:
    """A projector (see ``sample_features``) that records its calls and shifts nothing."""

    def __init__(self, diffusion_steps: tuple[int, ...] = (), reencode: str | None = None) -> None:
        self.diffusion_steps, self.reencode, self.calls = diffusion_steps, reencode, []

    def __call__(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        self.calls.append((tuple(x.shape), lengths.tolist()))
        return x


@pytest.mark.parametrize(("model", "kw", "calls"), [("diffusion", {"diffusion_steps": (2, 3)}, 3),
                                                    ("mask", {"reencode": "all"}, 2),
                                                    ("mask", {"reencode": "base"}, 2),
                                                    ("mask", {}, 1), ("cvae", {}, 1)])  # fmt: skip
def test_projection_inside_sampling(tiny_family: Path, model: str, kw: dict, calls: int) -> None:
    proj = _CountingProjector(**kw)
    m = generate("a person walks forward.", model=model, seconds=2.0, seed=0, checkpoints=tiny_family,
                 steps=4 if model != "cvae" else None, projector=proj)  # fmt: skip
    assert m.num_frames == 40 and len(proj.calls) == calls
    assert all(c[1] == [40] for c in proj.calls)


def test_physical_generation_tiny_models(tiny_family: Path) -> None:
    from humokit.motion.plausibility import joint_plausibility
    from humokit.optim.physics import generate_physical

    for model in ("mask", "diffusion", "cvae"):
        kw = {"model": model, "seconds": 3.0, "seed": 1, "checkpoints": tiny_family, "steps": 4 if model != "cvae" else None}
        m = generate_physical("a person walks forward.", **kw)
        assert m.num_frames == 60 and np.isfinite(m.joints()).all()
        assert joint_plausibility(m.joints(), 20.0).penetrate < 0.5


@pytest.mark.skipif(not _shipped("vq", "mask", "res", "diffusion", "cvae"), reason="shipped checkpoints or MiniLM missing")
def test_physical_generation_shipped_models() -> None:
    from humokit.motion.plausibility import joint_plausibility
    from humokit.optim.physics import generate_physical

    for model in ("mask", "diffusion", "cvae"):
        for seed, text in enumerate(("a person walks forward", "a person waves with the left hand")):
            kw = {"model": model, "seconds": 3.0, "seed": seed}
            raw = joint_plausibility(generate(text, **kw).joints(), 20.0)
            fixed = joint_plausibility(generate_physical(text, **kw).joints(), 20.0)
            assert fixed.penetrate < 0.5 and fixed.phys_err < 4.0, (model, text, raw, fixed)
            assert fixed.phys_err < raw.phys_err or raw.phys_err < 1.0, (model, text, raw, fixed)
