"""SynCam / ReCam adapters on a tiny diffusers WanTransformer3DModel: identity at init, frozen base, coupling, I/O."""

from __future__ import annotations

import copy

import pytest
import torch

from humokit.errors import InputError

diffusers = pytest.importorskip("diffusers")

from humokit.video.syncam.adapter import SynCamConfig, inject, load_adapter  # noqa: E402
from humokit.video.syncam.synthetic import pretrain_base, synthetic_batches  # noqa: E402
from humokit.video.syncam.train import FlowSchedule, train_adapter  # noqa: E402

from syncam_tiny import tiny_transformer  # noqa: E402

DATA = dict(channels=4, height=4, width=4, frames=3, text_dim=16)
STEPS, LR = 300, 1e-2  # adapter training in the coupling test


def _out(t, x, text, sigma=0.6):
    with torch.no_grad():
        return t(x, torch.full((x.shape[0],), sigma * 1000), text, return_dict=False)[0]


@pytest.mark.parametrize("cfg", [SynCamConfig(), SynCamConfig(view_attention=False), SynCamConfig(mode="recam")])
def test_zero_initialised_adapter_equals_base_exactly(cfg):
    torch.manual_seed(0)
    t = tiny_transformer(in_channels=4)
    b = synthetic_batches(num_views=3, **DATA)(0)
    base = _out(t, b.latents, b.text)
    a = inject(t, cfg)
    a.set_cameras(torch.randn(3, 3, 12), 3)
    assert torch.equal(_out(t, b.latents, b.text), base)
    assert all(not p.requires_grad for p in t.parameters())
    assert a.state_dict() and not any(k.startswith("blocks.") for k in a.state_dict())
    assert set(t.state_dict()) == set(tiny_transformer(in_channels=4).state_dict())  # base state dict unchanged
    a.remove()
    assert torch.equal(_out(t, b.latents, b.text), base)


def test_only_adapter_trains_base_unchanged(tmp_path):
    torch.manual_seed(0)
    t = tiny_transformer(in_channels=4)
    before = copy.deepcopy(t.state_dict())
    a = inject(t)
    a0 = copy.deepcopy(a.state_dict())
    res = train_adapter(t, a, synthetic_batches(num_views=2, **DATA), steps=3, lr=1e-3, progress=False)
    assert len(res.losses) == 3
    assert all(p.grad is None for p in t.parameters())
    assert all(torch.equal(before[k], v) for k, v in t.state_dict().items())
    assert any(not torch.equal(a0[k], v) for k, v in a.state_dict().items())
    assert all(p.grad is not None for p in a.parameters() if p.requires_grad)


def test_save_load_round_trip_and_errors(tmp_path):
    torch.manual_seed(0)
    t = tiny_transformer(in_channels=4)
    t2 = copy.deepcopy(t)
    a = inject(t)
    for p in a.parameters():
        torch.nn.init.normal_(p, std=0.05)
    a.save(tmp_path / "ad")
    assert sorted(p.name for p in (tmp_path / "ad").iterdir()) == ["adapter.safetensors", "config.json"]
    b = load_adapter(tmp_path / "ad", t2)
    x = synthetic_batches(num_views=2, **DATA)(1)
    a.set_cameras(x.cameras, 2)
    b.set_cameras(x.cameras, 2)
    assert torch.equal(_out(t, x.latents, x.text), _out(t2, x.latents, x.text))
    with pytest.raises(InputError, match="num_layers"):
        load_adapter(tmp_path / "ad", tiny_transformer(num_layers=1, in_channels=4))
    (tmp_path / "ad" / "adapter.safetensors").write_bytes(b"junk")
    with pytest.raises(InputError, match="adapter.safetensors"):
        load_adapter(tmp_path / "ad", tiny_transformer(in_channels=4))
    with pytest.raises(InputError, match="WanTransformer3DModel"):
        inject(torch.nn.Linear(2, 2))


def test_recam_appends_source_frames_and_returns_target_frames():
    torch.manual_seed(0)
    t = tiny_transformer(in_channels=4)
    x = torch.randn(1, 4, 3, 4, 4)
    src = torch.randn(1, 4, 3, 4, 4)
    text = torch.randn(1, 4, 16)
    full = _out(t, torch.cat([x, src], dim=2), text)
    a = inject(t, SynCamConfig(mode="recam"))
    a.set_cameras(torch.randn(1, 6, 12), 1)
    a.set_source(src)
    out = _out(t, x, text)
    assert out.shape == x.shape
    assert torch.equal(out, full[:, :, :3])
    torch.nn.init.normal_(a.layers["0"].camera.weight, std=0.5)
    assert not torch.allclose(_out(t, x, text), out)


def _eval_loss(t, a, steps=6, seed=123, V=4):
    """Flow-matching loss on fixed batches, sigmas and noise (low-variance comparison)."""
    make = synthetic_batches(num_views=V, batch_size=8, view_noise=0.0, seed=seed, **DATA)
    g = torch.Generator().manual_seed(seed)
    tot = 0.0
    for s in range(steps):
        b = make(s)
        sig = FlowSchedule(3.0).sample_sigmas(8, g).repeat_interleave(V)
        noise = torch.randn(b.latents.shape, generator=g)
        sv = sig[:, None, None, None, None]
        a.set_cameras(b.cameras, V)
        with torch.no_grad():
            pred = t((1 - sv) * b.latents + sv * noise, sig * 1000, b.text, return_dict=False)[0]
        tot += float(((pred - (noise - b.latents)) ** 2).mean())
    return tot / steps


@pytest.fixture(scope="module")
def pretrained():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: threads only add overhead
    torch.manual_seed(0)
    t = tiny_transformer(in_channels=4)
    pretrain_base(t, steps=150, batch_size=16, channels=4, height=4, width=4, frames=3, text_dim=16)
    yield t
    torch.set_num_threads(threads)


def test_views_coupled_after_training_and_beat_the_ablation(pretrained):
    V = 4
    data = synthetic_batches(num_views=V, batch_size=8, view_noise=0.0, **DATA)
    runs = {}
    for va in (True, False):
        t = copy.deepcopy(pretrained)
        a = inject(t, SynCamConfig(view_attention=va))
        start = _eval_loss(t, a)
        res = train_adapter(t, a, data, steps=STEPS, lr=LR, schedule=FlowSchedule(3.0), progress=False)
        runs[va] = (t, a, start, _eval_loss(t, a), res.losses)
    t, a, start, end, _ = runs[True]
    _, _, start_abl, end_abl, _ = runs[False]
    assert start == pytest.approx(start_abl)  # both start as the base
    assert end < 0.9 * start, (start, end)
    assert end < end_abl - 0.03, (end, end_abl)

    # perturb view 0's input: other views' outputs move with view attention, not with the ablation or the base
    b = synthetic_batches(num_views=V, batch_size=1, **DATA)(999)
    x2 = b.latents.clone()
    x2[0] += torch.randn_like(x2[0])
    for va, expect in ((True, True), (False, False)):
        t, a = runs[va][:2]
        a.set_cameras(b.cameras, V)
        d = (_out(t, x2, b.text) - _out(t, b.latents, b.text))[1:].abs().max().item()
        assert (d > 1e-3) == expect, (va, d)
    a = runs[True][1]
    a.remove()
    d = (_out(runs[True][0], x2, b.text) - _out(runs[True][0], b.latents, b.text))[1:].abs().max().item()
    assert d == 0.0





def test_gradient_checkpointing_gives_the_same_adapter_gradients():
    from humokit.video.syncam.train import SynCamModel

    grads = []
    for ckpt in (False, True):
        torch.manual_seed(0)
        t = tiny_transformer(in_channels=4)
        a = inject(t)
        for p in a.parameters():
            torch.nn.init.normal_(p, std=0.05)
        if ckpt:
            t.enable_gradient_checkpointing()
        b = synthetic_batches(num_views=2, **DATA)(0)
        g = torch.Generator().manual_seed(1)
        loss = SynCamModel(t, a, FlowSchedule())(b.latents, b.text, b.cameras, torch.tensor([0.3, 0.7]),
                                                 torch.randn(b.latents.shape, generator=g), None, 2)
        loss.backward()
        grads.append([p.grad.clone() for p in a.parameters()])
    assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(*grads))
    assert any(x.abs().max() > 0 for x in grads[1])
