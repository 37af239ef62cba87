"""Model pieces: torch geometry twin, VQ shapes and dead-code reset, masked decoding with fixed tokens."""

from __future__ import annotations

import numpy as np
import torch

from humokit.motion.builtin import builtin_motion
from humokit.motion.features import features_to_joints, joints_to_features
from humokit.priors.geometry import features_to_joints_torch
from humokit.priors.mask import MaskConfig, MaskTransformer, ResidualTransformer
from humokit.priors.text import CaptionBank, HashTextEncoder
from humokit.priors.vq import RVQVAE, VQConfig


def test_geometry_twin_matches_numpy() -> None:
    f = joints_to_features(builtin_motion("walk", seconds=2.0, fps=20.0).joints())
    ref = features_to_joints(f)
    got = features_to_joints_torch(torch.from_numpy(f).double()).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-5)
    batched = features_to_joints_torch(torch.from_numpy(np.stack([f, f])).double()).numpy()
    np.testing.assert_allclose(batched[1], ref, atol=1e-5)


def test_vq_shapes_and_dead_code_reset() -> None:
    torch.manual_seed(0)
    vq = RVQVAE(VQConfig(width=16, depth=1, code_dim=8, codebook_size=16, num_quantizers=3))
    x = torch.randn(2, 32, 263)
    vq.train()
    vq({"x": x, "lengths": torch.tensor([32, 32])})
    q = vq.quantizers[0]
    q.ema_count[:4] = 0.0  # pretend four codes are dead
    vq({"x": x, "lengths": torch.tensor([32, 32])})
    assert torch.all(q.ema_count[:4] >= 0.99 * q.dead_threshold * 0.99)
    vq.eval()
    ids = vq.encode(x)
    assert ids.shape == (2, 8, 3) and int(ids.max()) < 16
    assert vq.decode_codes(ids[..., :1]).shape == (2, 32, 263)


def test_masked_decoding_keeps_known_tokens_and_lengths() -> None:
    torch.manual_seed(0)
    cfg = MaskConfig(codebook_size=16, num_quantizers=3, text_dim=8, dim=16, layers=1, heads=2, ff=32)
    mt, rt = MaskTransformer(cfg).eval(), ResidualTransformer(cfg).eval()
    text = torch.randn(2, 8)
    lengths = torch.tensor([10, 6])
    known = torch.full((2, 10), 5)
    km = torch.zeros(2, 10, dtype=torch.bool)
    km[:, [0, 3]] = True
    g = torch.Generator().manual_seed(1)
    ids = mt.generate(text, lengths, steps=4, known=known, known_mask=km, generator=g)
    assert ids.shape == (2, 10)
    assert torch.all(ids[:, [0, 3]] == 5) and torch.all(ids[1, 6:] == 0)
    codes = rt.generate(ids, text, lengths)
    assert codes.shape == (2, 10, 3) and torch.equal(codes[..., 0], ids)
    g = torch.Generator().manual_seed(1)
    assert torch.equal(mt.generate(text, lengths, steps=4, known=known, known_mask=km, generator=g), ids)


def test_caption_bank_cache(tmp_path) -> None:
    enc = HashTextEncoder(8)
    a = CaptionBank(enc, ["b walks", "a waves", "a waves"], tmp_path)
    assert a.path.exists() and len(a.index) == 2
    b = CaptionBank(enc, ["a waves", "b walks"], tmp_path)
    e1, e2 = a.lookup(["a waves"]), b.lookup(["a waves"])
    torch.testing.assert_close(e1.tokens, e2.tokens)
    assert e1.sentence.shape == (1, 8) and int(e1.lengths[0]) == 2
