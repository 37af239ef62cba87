"""Text following: rich captions, balanced and speed-augmented sampling, prompt grounding, CVAE sample diversity."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from humokit.motion.builtin import builtin_motion
from humokit.motion.captions import _VERBS, MotionStats, motion_stats, rich_texts, speed_word
from humokit.motion.features import features_to_joints, joints_to_features
from humokit.priors.checkpoint import build_model
from humokit.priors.data import BatchSampler, all_captions, drop_floating, foot_height, open_split, resample_speed
from humokit.priors.grounding import LOW_SIMILARITY, CaptionIndex, ground
from humokit.priors.text import CaptionBank, HashTextEncoder
from humokit.motion.texts import _CONTENT, ClipLabels

_FAST = ("quickly", "fast pace", "briskly", "hurry", "rapidly", "full speed", "very fast", "as fast as", "sprint")
_SLOW = ("slowly", "slow pace", "unhurriedly", "leisurely", "taking its time", "jog", "easy pace", "lightly")


def test_rich_captions_cover_every_label_with_variety() -> None:
    assert set(_CONTENT) <= set(_VERBS), set(_CONTENT) - set(_VERBS)
    for content in _VERBS:
        caps = rich_texts(ClipLabels("bandai-namco-2", content, "normal"), MotionStats(1.1, 0.0, 4.0), 24)
        assert len(caps) == 24 and len(set(caps)) == 24, content
        starts = {c.split()[0].lower() for c in caps}
        assert len(starts) >= 5, (content, starts)  # varied subjects and sentence shapes
        words = Counter(w for c in caps for w in re.findall(r"[a-z]+", c.lower()))
        assert len(words) >= 25, (content, len(words))
    # styles reach the wording
    sad = rich_texts(ClipLabels("bandai-namco-1", "bow", "sad"), None, 24)
    assert sum(any(w in c.lower() for w in ("sad", "unhappy", "gloom")) for c in sad) >= 8


def test_rich_captions_sides_follow_the_clip_and_its_mirror() -> None:
    lab = ClipLabels("bandai-namco-2", "wave-left-hand", "active")
    caps = rich_texts(lab, None, 24)
    assert all("left" in c and "right" not in c for c in caps)
    mirrored = rich_texts(lab.mirrored_labels(), None, 24)
    assert all("right" in c and "left" not in c for c in mirrored)
    turn = rich_texts(ClipLabels("bandai-namco-2", "walk-turn-right", "normal"), MotionStats(1.1, -92.0, 5.0), 24)
    assert all("right" in c and "left" not in c for c in turn)


def test_speed_words_match_the_measured_speed() -> None:
    slow = rich_texts(ClipLabels("cmu", "walk", "normal"), MotionStats(0.6, 0.0, 4.0), 24)
    fast = rich_texts(ClipLabels("cmu", "walk", "normal"), MotionStats(1.8, 0.0, 4.0), 24)
    assert not any(w in c.lower() for c in slow for w in _FAST)
    assert not any(w in c.lower() for c in fast for w in ("slowly", "slow pace", "leisurely", "unhurriedly"))
    assert any(w in c.lower() for c in slow for w in _SLOW) and any(w in c.lower() for c in fast for w in _FAST)
    assert speed_word("walk", 0.6) == "slow" and speed_word("run", 3.6) == "fast" and speed_word("bow", 3.0) == ""
    # measured from features: a built-in walk is neither standing still nor running
    f = joints_to_features(builtin_motion("walk", seconds=3.0, fps=20.0).joints())
    st = motion_stats(f)
    assert 0.3 < st.speed < 2.5 and abs(st.turn) < 30


def _tiny_sampler(root: Path, **kw) -> BatchSampler:
    ds = open_split(root, "train", max_frames=96)
    bank = CaptionBank(HashTextEncoder(), all_captions(ds), root / "cache_tf")
    return BatchSampler(ds, bank, 8, max_frames=96, seed=3, **kw)


def test_balanced_sampler_draws_rare_labels_often(tiny_data: Path) -> None:
    n = len(open_split(tiny_data, "train", max_frames=96))
    contents = ["rare"] + ["common"] * (n - 1)
    rng = __import__("random").Random(0)
    plain = _tiny_sampler(tiny_data, contents=contents, balance=1.0)
    even = _tiny_sampler(tiny_data, contents=contents, balance=0.0)
    f_plain = np.mean([i == 0 for i in plain.draw(rng, 4000)])
    f_even = np.mean([i == 0 for i in even.draw(rng, 4000)])
    assert f_plain < 2.0 / n
    assert 0.45 < f_even < 0.55  # each label half of the draws
    with pytest.raises(Exception, match="labels"):
        _tiny_sampler(tiny_data, contents=["a"], balance=0.0)


def test_speed_augmentation_plays_faster_with_consistent_velocities() -> None:
    f = joints_to_features(builtin_motion("walk", seconds=4.0, fps=20.0).joints())
    g = resample_speed(f, 1.25)
    assert abs(len(g) - (len(f) - 1) / 1.25 - 1) <= 1
    s_f, s_g = motion_stats(f).speed, motion_stats(g).speed
    assert s_g == pytest.approx(1.25 * s_f, rel=0.05)
    # the velocity channels agree with the resampled positions: joints recovered from them move 1.25x faster
    jf, jg = features_to_joints(f), features_to_joints(g)
    dist_f = np.linalg.norm(jf[-1, 0, [0, 2]] - jf[0, 0, [0, 2]]) / len(jf)
    dist_g = np.linalg.norm(jg[-1, 0, [0, 2]] - jg[0, 0, [0, 2]]) / len(jg)
    assert dist_g == pytest.approx(1.25 * dist_f, rel=0.08)
    assert set(np.unique(g[:, 259:263])) <= {0.0, 1.0}
    samp = _tiny_sampler  # the sampler applies it to training batches only
    assert samp is not None


def test_floating_windows_are_measured_and_left_out() -> None:
    J = builtin_motion("walk", seconds=3.0, fps=20.0).joints()
    J = J - np.array([0.0, J[:, [7, 8, 10, 11], 1].min(), 0.0])
    hover = J.copy()
    hover[1:, :, 1] += 0.10  # the floor set by one glitch frame, feet 10 cm up in the others (as in the CMU walks)
    f, h = joints_to_features(J), joints_to_features(hover)
    assert foot_height(f) < 0.03
    assert foot_height(h) == pytest.approx(foot_height(f) + 0.10, abs=0.01)
    ds = __import__("types").SimpleNamespace(entries=[("walk", f, []), ("hover", h, []), ("walk2", f, [])])
    assert drop_floating(ds, 0.05) == ["hover"]
    assert [e[0] for e in ds.entries] == ["walk", "walk2"]


def _index(captions: list[str], contents: list[str]) -> tuple[CaptionIndex, HashTextEncoder]:
    enc = HashTextEncoder(dim=64)
    return CaptionIndex(captions, contents, enc.encode(captions).sentence.numpy(), "hash"), enc


def test_grounding_neighbours_sides_blend_and_low_similarity(tmp_path: Path) -> None:
    caps = ["a person waves the left hand.", "a person waves the right hand.", "someone waves with the left arm.",
            "a person walks forward.", "a person runs forward.", "a person waves both hands."]  # fmt: skip
    idx, enc = _index(caps, ["wl", "wr", "wl", "walk", "run", "wb"])
    p = "a man waves the right hand."
    g = ground(idx, p, enc.encode([p]).sentence[0].numpy(), weight=0.7, k=3)
    assert [n.caption for n in g.neighbours] == ["a person waves the right hand."]  # only captions saying "right"
    sims = [n.similarity for n in ground(idx, "people walk", enc.encode(["people walk"]).sentence[0].numpy()).neighbours]
    assert sims == sorted(sims, reverse=True) and len(sims) == len(caps)
    # the blend moves the condition towards the neighbour; weight 0 keeps the prompt
    e = enc.encode([p]).sentence[0].numpy()
    g0 = ground(idx, p, e, weight=0.0)
    assert np.allclose(g0.embedding, e / np.linalg.norm(e), atol=1e-5)
    target = idx.sentence[1]
    assert float(g.embedding @ target) > float(g0.embedding @ target) + 0.05
    far = "zzz qqq xxx"
    gf = ground(idx, far, enc.encode([far]).sentence[0].numpy())
    assert gf.low and gf.best < LOW_SIMILARITY and not g.low
    # file round trip (int8 embeddings)
    back = CaptionIndex.load(idx.save(tmp_path / "captions.npz"))
    assert back.captions == idx.captions and back.contents == idx.contents and back.encoder == "hash"
    assert np.abs(back.sentence - idx.sentence).max() < 0.02
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(Exception, match="caption index"):
        CaptionIndex.load(tmp_path / "bad.npz")


def _spread(x: torch.Tensor) -> float:
    """Mean distance of samples ``(S, T, D)`` to their mean."""
    return float((x - x.mean(0, keepdim=True)).flatten(1).norm(dim=1).mean())


def test_sentence_cvae_samples_differ_and_follow_the_text() -> None:
    """One caption for two different motions: the CVAE's samples for it must cover both (no collapse)."""
    torch.manual_seed(0)
    T, D = 24, 263
    t = torch.linspace(0, 1, T)[:, None]
    up = torch.zeros(T, D) + 2.0 * t
    down = torch.zeros(T, D) - 2.0 * t
    flat = torch.zeros(T, D) + 1.5
    text = torch.nn.functional.normalize(torch.randn(2, 16), dim=-1)  # 0: "move" (up or down), 1: "stand" (flat)
    model = build_model("cvae", {"dim": 32, "latent": 4, "layers": 1, "heads": 2, "ff": 64, "dropout": 0.0,
                                 "text_dim": 16, "text_input": "sentence", "kl_weight": 1e-3, "cond_drop": 0.0})  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x = torch.stack([up, down, flat, flat] * 4)
    sent = torch.cat([text[[0, 0, 1, 1]]] * 4)
    batch = {"x": x, "lengths": torch.full((16,), T), "sentence": sent}
    for _ in range(300):
        loss, _ = model(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    g = torch.Generator().manual_seed(1)
    move = model.sample(None, None, torch.full((40,), T), generator=g, sentence=text[[0] * 40])
    stand = model.sample(None, None, torch.full((40,), T), generator=g, sentence=text[[1] * 40])
    slope = move[:, -1].mean(-1) - move[:, 0].mean(-1)  # + for "up", - for "down"
    assert (slope > 0.5).sum() >= 5 and (slope < -0.5).sum() >= 5, slope  # both motions of the caption appear
    across = float((move.mean(0) - stand.mean(0)).norm())
    assert _spread(move) >= 0.3 * across  # variety for one prompt, relative to the difference between prompts
    assert float((stand - flat).abs().mean()) < 0.4  # and the other text gives its own motion


def test_sentence_cvae_family_generates_explains_and_warns(tiny_data: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner
    from priors_synth import CAPTIONS, tiny_config

    from humokit.cli import cli
    from humokit.priors.edit import Keyframes
    from humokit.priors.sampling import explain, generate, load_generator
    from humokit.priors.train import train

    cfg = tiny_config("cvae", tiny_data, steps=5)
    cfg["model"].update(text_input="sentence", text_rec_weight=0.5)
    train("cvae", cfg, tmp_path / "cvae", progress=False)
    caps = [c for cs in CAPTIONS.values() for c in cs]
    idx, _ = _index(caps, [k for k, cs in CAPTIONS.items() for _ in cs])
    idx.encoder = "hash"
    enc = HashTextEncoder()  # the tiny models' encoder (32-d)
    CaptionIndex(caps, idx.contents, enc.encode(caps).sentence.numpy(), "hash").save(tmp_path / "captions.npz")
    load_generator.cache_clear()
    m = generate("a person waves the right hand.", model="cvae", seconds=2.0, seed=3, checkpoints=tmp_path)
    m2 = generate("a person waves the right hand.", model="cvae", seconds=2.0, seed=3, checkpoints=tmp_path, grounding=0.0)
    assert m.num_frames == 40 and not np.allclose(m.joints(), m2.joints())
    J = builtin_motion("walk", seconds=2.0, fps=20.0).joints()[[0, 39]]
    kf = Keyframes(np.array([0, 39]), J, np.ones((2, 22), bool))
    k = generate("a person walks forward.", model="cvae", seconds=2.0, seed=1, keyframes=kf, checkpoints=tmp_path)
    assert np.abs(k.joints()[39] - kf.joints[1]).max() < 1e-3
    g = explain("someone waves with the right hand.", "cvae", checkpoints=tmp_path)
    assert g.neighbours[0].caption == "someone waves with the right hand." and g.neighbours[0].similarity > 0.99
    base = ["generate", "--model", "cvae", "--checkpoints", str(tmp_path), "-o", str(tmp_path / "m.npz"), "--seconds", "2",
            "--physics", "none"]
    r = CliRunner().invoke(cli, [*base, "someone waves with the right hand.", "--explain"])
    assert r.exit_code == 0, r.output
    assert "1.00  [wave]  someone waves with the right hand." in r.output and "warning" not in r.output
    r = CliRunner().invoke(cli, [*base, "zzz qqq vvv"])
    assert r.exit_code == 0 and "warning: the prompt is far from every training caption" in r.output
    load_generator.cache_clear()


def test_whitened_sentence_input_separates_near_twins_and_is_saved(tiny_data: Path, tmp_path: Path) -> None:
    """Two captions at cosine 0.98 (left/right) reach a ``text_whiten`` CVAE far apart; the trainer stores the stats."""
    from priors_synth import tiny_config

    from humokit.priors.checkpoint import load_checkpoint
    from humokit.priors.train import train

    g = torch.Generator().manual_seed(0)
    common = torch.nn.functional.normalize(torch.randn(16, generator=g), dim=0)
    side = torch.nn.functional.normalize(torch.randn(16, generator=g), dim=0)
    caps = torch.stack([common + s * 0.1 * side + 0.04 * torch.randn(16, generator=g) for s in [-1, 1] * 200])
    caps = torch.nn.functional.normalize(caps, dim=-1)
    model = build_model("cvae", {"dim": 16, "latent": 4, "layers": 1, "heads": 2, "ff": 32, "text_dim": 16,
                                 "text_input": "sentence", "text_whiten": True, "cond_every_frame": True})  # fmt: skip
    model.set_text_stats(caps)
    w = model._text(caps)
    assert float(torch.nn.functional.cosine_similarity(caps[0], caps[1], dim=0)) > 0.95
    left, right = w[0::2].mean(0), w[1::2].mean(0)
    assert float(torch.nn.functional.cosine_similarity(left, right, dim=0)) < 0.0  # opposite after whitening
    assert float(model._text(torch.zeros(3, 16)).abs().max()) == 0.0  # the unconditional input stays zero
    assert model.sample(None, None, torch.tensor([8, 5]), sentence=caps[:2]).shape == (2, 8, 263)
    cfg = tiny_config("cvae", tiny_data, steps=2)
    cfg["model"].update(text_input="sentence", text_whiten=True, cond_every_frame=True)
    train("cvae", cfg, tmp_path / "cvae", progress=False)
    ck = load_checkpoint(tmp_path / "cvae", "cvae")
    assert ck.model.cfg.text_whiten and not torch.allclose(ck.model.whiten.proj, torch.eye(ck.model.cfg.text_dim))
    # checkpoints written before the whitening was a SentenceWhitening named its buffers text_mean / text_proj
    from safetensors.torch import load_file, save_file

    w = tmp_path / "cvae" / "model.safetensors"
    sd = load_file(str(w))
    sd["text_mean"], sd["text_proj"] = sd.pop("whiten.mean"), sd.pop("whiten.proj")
    save_file(sd, str(w))
    assert torch.equal(load_checkpoint(tmp_path / "cvae", "cvae").model.whiten.proj, ck.model.whiten.proj)


def test_whitened_diffusion_fine_tunes_with_a_new_text_layer(tiny_data: Path, tmp_path: Path) -> None:
    """``text_whiten`` diffusion: stats stored by the trainer, ``init_skip`` leaves the text layer new, the
    unconditional input stays zero, and sampling runs the config's steps with both guidance branches in one batch."""
    from priors_synth import tiny_config

    from humokit.priors.checkpoint import load_checkpoint
    from humokit.priors.train import init_from, train

    cfg = tiny_config("diffusion", tiny_data, steps=2)
    train("diffusion", cfg, tmp_path / "plain", progress=False)
    src = load_checkpoint(tmp_path / "plain", "diffusion").model
    cfg2 = tiny_config("diffusion", tiny_data, steps=2)
    cfg2["model"].update(text_whiten=True, text_every_frame=True, sample_steps=3, guidance=2.0)
    fresh = build_model("diffusion", {**cfg2["model"], "text_dim": src.cfg.text_dim})
    new = init_from(fresh, tmp_path / "plain", skip=("cond.",))
    assert {"cond.weight", "cond.bias"} <= set(new) and "inp.weight" not in new
    assert torch.allclose(fresh.inp.weight, src.inp.weight, atol=1e-3)  # float16 round trip of the source
    assert not torch.allclose(fresh.cond.weight, src.cond.weight, atol=1e-3)
    cfg2["train"].update(init=str(tmp_path / "plain"), init_skip=["cond."])
    train("diffusion", cfg2, tmp_path / "white", progress=False)
    m = load_checkpoint(tmp_path / "white", "diffusion").model
    assert m.cfg.text_whiten and not torch.allclose(m.whiten.proj, torch.eye(m.cfg.text_dim))
    calls = []
    orig = m.denoise
    m.denoise = lambda x, t, v, s: calls.append(len(x)) or orig(x, t, v, s)  # type: ignore[method-assign]
    text = torch.nn.functional.normalize(torch.randn(2, m.cfg.text_dim), dim=-1)
    out = m.sample(text, torch.tensor([8, 6]))
    assert out.shape == (2, 8, 263) and calls == [4, 4, 4]  # 3 steps, text and no-text branches batched
    assert float(out[1, 6:].abs().max()) == 0.0
    calls.clear()
    m.sample(text, torch.tensor([8, 6]), steps=2, guidance=1.0)
    assert calls == [2, 2]


def test_cvae_sampling_temperature_from_the_config() -> None:
    """``temperature`` scales the text prior's spread: 0 gives the prior mean for every seed, 2 spreads more than 1."""
    torch.manual_seed(0)
    params = {"dim": 16, "latent": 4, "layers": 1, "heads": 2, "ff": 32, "text_dim": 16, "text_input": "sentence",
              "cond_every_frame": True}  # fmt: skip
    sent = torch.nn.functional.normalize(torch.randn(1, 16), dim=-1).expand(12, 16)
    L = torch.full((12,), 10)
    spreads = {}
    for temp in (0.0, 1.0, 2.0):
        model = build_model("cvae", {**params, "temperature": temp})
        torch.manual_seed(0)
        model.load_state_dict(build_model("cvae", params).state_dict())
        model.eval()
        spreads[temp] = _spread(model.sample(None, None, L, generator=torch.Generator().manual_seed(1), sentence=sent))
    assert spreads[0.0] < 1e-5 < spreads[1.0] < spreads[2.0]


def test_whitened_mask_and_res_separate_near_twins_and_are_saved(tiny_data: Path, tmp_path: Path) -> None:
    """``text_whiten`` mask / residual transformers read left/right twins far apart; the trainer stores the stats."""
    from priors_synth import tiny_config

    from humokit.priors.checkpoint import load_checkpoint
    from humokit.priors.train import train

    g = torch.Generator().manual_seed(0)
    common = torch.nn.functional.normalize(torch.randn(16, generator=g), dim=0)
    side = torch.nn.functional.normalize(torch.randn(16, generator=g), dim=0)
    caps = torch.nn.functional.normalize(
        torch.stack([common + s * 0.1 * side + 0.04 * torch.randn(16, generator=g) for s in [-1, 1] * 200]), dim=-1
    )
    for kind in ("mask", "res"):
        model = build_model(kind, {"dim": 16, "layers": 1, "heads": 2, "ff": 32, "text_dim": 16, "codebook_size": 8,
                                   "num_quantizers": 2, "text_whiten": True}).eval()  # fmt: skip
        model.set_text_stats(caps)
        w = model.whiten(caps)
        left, right = w[0::2].mean(0), w[1::2].mean(0)
        assert float(torch.nn.functional.cosine_similarity(caps[0], caps[1], dim=0)) > 0.95
        assert float(torch.nn.functional.cosine_similarity(left, right, dim=0)) < 0.0
        assert float(model.whiten(torch.zeros(3, 16)).abs().max()) == 0.0  # unconditional stays zero
    mt = build_model("mask", {"dim": 16, "layers": 1, "heads": 2, "ff": 32, "text_dim": 16, "codebook_size": 8,
                              "num_quantizers": 2, "text_whiten": True}).eval()  # fmt: skip
    mt.set_text_stats(caps)
    assert mt.generate(caps[:2], torch.tensor([5, 3]), steps=3).shape == (2, 5)
    train("vq", tiny_config("vq", tiny_data, steps=2), tmp_path / "vq", progress=False)
    cfg = tiny_config("mask", tiny_data, steps=2)
    cfg["vq"] = str(tmp_path / "vq")
    cfg["model"]["text_whiten"] = True
    train("mask", cfg, tmp_path / "mask", progress=False)
    ck = load_checkpoint(tmp_path / "mask", "mask")
    assert ck.model.cfg.text_whiten and not torch.allclose(ck.model.whiten.proj, torch.eye(ck.model.cfg.text_dim))


def test_vq_root_and_contact_weights_scale_only_their_channels() -> None:
    """``root_weight`` / ``contact_weight`` raise the loss of an error in those channels and nowhere else."""
    from humokit.priors.vq import RVQVAE, VQConfig

    torch.manual_seed(0)
    base = RVQVAE(VQConfig(width=16, depth=1, code_dim=8, codebook_size=16, num_quantizers=2, quantizer_dropout=0.0)).eval()
    heavy = RVQVAE(VQConfig(width=16, depth=1, code_dim=8, codebook_size=16, num_quantizers=2, quantizer_dropout=0.0,
                            root_weight=5.0, contact_weight=2.0)).eval()  # fmt: skip
    heavy.load_state_dict(base.state_dict())
    x = torch.randn(2, 16, 263)
    batch = {"x": x, "lengths": torch.tensor([16, 12])}
    with torch.no_grad():
        lb, _ = base(batch)
        lh, _ = heavy(batch)
    assert float(lh) > float(lb)
    assert torch.equal(heavy.channel_weight[4:259], torch.ones(255))
    assert float(heavy.channel_weight[0]) == 5.0 and float(heavy.channel_weight[262]) == 2.0


def test_diffusion_sampler_eta_and_guidance_interval_from_the_config() -> None:
    """``eta`` and ``guidance_interval`` come from the config: seeded samples repeat, eta > 0 draws other samples,
    guidance runs both branches only at the steps inside the interval, and bad values are refused."""
    import json

    from humokit.priors.diffusion import DiffusionConfig

    params = {"dim": 16, "layers": 1, "heads": 2, "ff": 32, "text_dim": 8, "max_frames": 16, "sample_steps": 4}
    torch.manual_seed(0)
    base = build_model("diffusion", params).eval()
    text = torch.nn.functional.normalize(torch.randn(2, 8), dim=-1)
    L = torch.tensor([8, 6])

    def run(model, seed: int = 3, **kw) -> torch.Tensor:
        return model.sample(text, L, generator=torch.Generator().manual_seed(seed), **kw)

    det = run(base)
    assert det.shape == (2, 8, 263) and float(det[1, 6:].abs().max()) == 0.0
    assert torch.equal(det, run(base))
    stoch = build_model("diffusion", {**params, "eta": 1.0}).eval()
    stoch.load_state_dict(base.state_dict())
    a = run(stoch)
    assert torch.equal(a, run(stoch)) and torch.equal(a, run(base, eta=1.0))  # seeded; config == argument
    assert float((a - det).abs().max()) > 1e-3 and not torch.equal(a, run(stoch, seed=4))
    assert float(a[1, 6:].abs().max()) == 0.0

    half = build_model("diffusion", {**params, "guidance_interval": [0.5, 1.0]}).eval()
    half.load_state_dict(base.state_dict())
    calls: list[int] = []
    orig = half.denoise
    half.denoise = lambda x, t, v, s: calls.append(len(x)) or orig(x, t, v, s)  # type: ignore[method-assign]
    run(half)  # t = 999, 666, 333, 0: guidance (2B) on the first two only
    assert calls == [4, 4, 2, 2]
    calls.clear()
    run(half, guidance=1.0)
    assert calls == [2, 2, 2, 2]
    cfg = DiffusionConfig(**json.loads(json.dumps(half.cfg.to_dict())))
    assert cfg.guidance_interval == (0.5, 1.0) and cfg == half.cfg
    for bad in ({"eta": -0.1}, {"eta": 1.5}, {"guidance_interval": [0.8, 0.2]}, {"guidance_interval": [0.0, 1.2]}):
        with pytest.raises(ValueError):
            DiffusionConfig(**bad)
