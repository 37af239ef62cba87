"""Text-to-motion generation with the shipped (or given) checkpoints.

``generate(text, model="mask", seconds=4.0, seed=None, keyframes=None,
edit_mask=None) -> Motion``: features from the chosen family ->
:func:`~humokit.motion.features.features_to_joints` -> canonical rotations by
:func:`~humokit.motion.skeleton.inverse_kinematics` on the default skeleton
-> :class:`~humokit.motion.motion.Motion` at 20 fps, grounded (unless
keyframes fix its placement).

Families: ``"mask"`` (RVQ-VAE + masked + residual transformers),
``"diffusion"`` (DDIM), ``"cvae"`` (sample the text prior; with keyframes the
latent is fitted to them).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

import numpy as np
import torch

from humokit._paths import checkpoints_dir
from humokit.errors import InputError
from humokit.motion.features import CONTACTS, features_to_joints
from humokit.motion.motion import Motion
from humokit.motion.skeleton import default_skeleton, inverse_kinematics
from humokit.priors.checkpoint import Checkpoint, load_checkpoint
from humokit.priors.edit import FPS, Keyframes, constraint_features, enforce_keyframes, load_keyframes, parse_edit_mask
from humokit.priors.grounding import CaptionIndex, Grounding, ground
from humokit.priors.text import get_text_encoder

from humokit.priors.request import FAMILY_PARTS, MODELS, check_request, check_seconds

DEFAULT_GROUNDING = 0.7
INDEX_FILE = "captions.npz"


@dataclass(frozen=True)
class Generator:
    """Loaded checkpoints of one family (``parts`` by kind) and its sampling settings.

    ``index``: the training captions for prompt grounding (``captions.npz``
    beside the checkpoint folders; None: prompts are used as they are).
    ``grounding``: default share of the nearest-caption blend.
    """

    family: str
    parts: dict[str, Checkpoint]
    text_encoder: str
    max_frames: int
    index: CaptionIndex | None = None
    grounding: float = DEFAULT_GROUNDING

    @property
    def mean(self) -> np.ndarray:
        return next(iter(self.parts.values())).mean

    @property
    def std(self) -> np.ndarray:
        return next(iter(self.parts.values())).std




@functools.lru_cache(maxsize=8)
def load_generator(model: str = "mask", checkpoints: str | None = None) -> Generator:
    """Load a family from ``checkpoints`` (a folder holding ``vq/ mask/ res/ diffusion/ cvae/``; default: shipped)."""
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    base = Path(checkpoints) if checkpoints else checkpoints_dir()
    parts = {k: load_checkpoint(base / k, k) for k in FAMILY_PARTS[model]}
    means = [p.mean for p in parts.values()]
    if any(not np.allclose(m, means[0], atol=1e-4) for m in means):
        raise InputError(f"{base}: the {model} checkpoints were trained with different normalisations")
    cfg = next(iter(parts.values())).config
    index = CaptionIndex.load(base / INDEX_FILE) if (base / INDEX_FILE).is_file() else None
    enc = cfg.get("text_encoder", "minilm")
    if index is not None and index.encoder != enc:
        index = None
    return Generator(model, parts, enc, int(cfg.get("max_frames", 196)), index)


def ground_prompts(gen: Generator, texts: list[str], sentence: torch.Tensor, weight: float | None = None) -> list[Grounding]:
    """Prompt grounding of each text (:func:`~humokit.priors.grounding.ground`); needs ``gen.index``."""
    if gen.index is None:
        raise InputError("prompt grounding: no caption index beside these checkpoints")
    w = gen.grounding if weight is None else float(weight)
    return [ground(gen.index, t, s.numpy(), weight=w) for t, s in zip(texts, sentence)]


def explain(text: str, model: str = "mask", *, checkpoints: str | Path | None = None, k: int = 8) -> Grounding:
    """The training captions nearest to ``text`` (with similarities) and the grounding used for it."""
    gen = load_generator(model, str(checkpoints) if checkpoints else None)
    e = get_text_encoder(gen.text_encoder).encode([text.strip()])
    if gen.index is None:
        raise InputError("explain: no caption index beside these checkpoints")
    return ground(gen.index, text, e.sentence[0].numpy(), weight=gen.grounding, k=k)


def _pad_last(x: torch.Tensor, n: int) -> torch.Tensor:
    """``(B, T, D)`` -> ``(B, max(T, n), D)``, extended by repeating the last frame (token-length padding)."""
    pad = n - x.shape[1]
    return torch.cat([x, x[:, -1:].expand(-1, pad, -1)], 1) if pad > 0 else x


def sample_features(
    gen: Generator,
    texts: list[str],
    lengths: list[int],
    *,
    seed: int | None = None,
    known: np.ndarray | None = None,
    known_mask: np.ndarray | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    text_emb: tuple | None = None,
    projector: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    grounding: float | None = None,
    device: str | None = None,
) -> list[np.ndarray]:
    """Batched sampling: un-normalised features ``(lengths[i], 263)`` per text.

    ``known``/``known_mask`` ``(B, T, 263)``: normalised values to inpaint.
    ``text_emb``: precomputed ``(sentence, tokens, token_lengths)``.
    ``projector``: ``(x (B, T, 263) normalised, lengths (B,)) -> x`` applied
    inside sampling (diffusion: to ``x0`` at the steps named by its
    ``diffusion_steps`` attribute, counted from the end; masked tokens: the
    decoded motion is projected and re-encoded when its ``reencode``
    attribute is ``"all"`` (every RVQ layer) or ``"base"`` (base layer; the
    residual transformer re-predicts the others)) and to the final output, e.g.
    :class:`humokit.optim.physics.guidance.FeatureProjector`.
    ``grounding``: share of the nearest-training-caption blend in the text
    condition (None: ``gen.grounding``; 0: the prompt alone; needs ``gen.index``).
    Token-conditioned models take the tokens of the nearest kept caption instead.
    ``device``: torch device for the models and sampling (None = CPU; the
    text encoder and the grounding stay on the CPU).
    """
    if text_emb is None:  # the text encoder and grounding run on the CPU, before any device context
        e = get_text_encoder(gen.text_encoder).encode(texts)
        sent, tok, tok_len = e.sentence, e.tokens, e.lengths
    else:
        sent, tok, tok_len = text_emb
    w = gen.grounding if grounding is None else float(grounding)
    if gen.index is not None and w > 0:
        gr = ground_prompts(gen, texts, sent, w)
        sent = torch.from_numpy(np.stack([g.embedding for g in gr]))
        if gen.family == "cvae" and getattr(gen.parts["cvae"].model.cfg, "text_input", "tokens") == "tokens":
            e = get_text_encoder(gen.text_encoder).encode([g.neighbours[0].caption if g.neighbours else t
                                                          for g, t in zip(gr, texts)])  # fmt: skip
            tok, tok_len = e.tokens, e.lengths
    text_emb = (sent, tok, tok_len)
    if device is not None and torch.device(device).type != "cpu":
        # models to the device, factory calls inside them default to it, inputs copied there
        for part in gen.parts.values():
            part.model.to(device)
        with torch.device(device):
            x = _sample(gen, texts, lengths, seed, known, known_mask, steps, guidance, text_emb, projector, device)
    else:
        x = _sample(gen, texts, lengths, seed, known, known_mask, steps, guidance, text_emb, projector, None)
    x = x.detach().cpu().numpy()
    return [x[i, : lengths[i]] * gen.std + gen.mean for i in range(len(texts))]


def _sample(gen: Generator, texts: list[str], lengths: list[int], seed: int | None, known: np.ndarray | None,
            known_mask: np.ndarray | None, steps: int | None, guidance: float | None, text_emb: tuple,
            projector: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None, device: str | None) -> torch.Tensor:
    """The body of :func:`sample_features`: normalised features ``(B, T, 263)`` on ``device`` (None: CPU)."""
    g = torch.Generator(device=device) if device is not None else torch.Generator()
    g.manual_seed(int(seed) if seed is not None else int(torch.randint(0, 2**31 - 1, ()).item()))
    sent, tok, tok_len = text_emb
    if device is not None:
        sent, tok, tok_len = sent.to(device), tok.to(device), tok_len.to(device)
    L = torch.tensor(lengths)
    B, T = len(texts), int(L.max())
    kn = torch.from_numpy(known).float() if known is not None else None
    km = torch.from_numpy(known_mask) if known_mask is not None else None
    if device is not None:
        kn = kn.to(device) if kn is not None else None
        km = km.to(device) if km is not None else None
    with torch.no_grad():
        if gen.family == "mask":
            vq, mt, rt = (gen.parts[k].model for k in ("vq", "mask", "res"))
            u = vq.unit
            n_tok = torch.div(L + u - 1, u, rounding_mode="floor")
            kw = {"generator": g}
            if steps is not None:
                kw["steps"] = steps
            if guidance is not None:
                kw["guidance"] = guidance
            known_ids = fixed = None
            if kn is not None and km is not None and km.any():
                # first pass, paste the known values, re-tokenise; tokens touching constrained frames stay fixed
                ids = mt.generate(sent, n_tok, **kw)
                codes = rt.generate(ids, sent, n_tok)
                x = vq.decode_codes(codes)[:, :T]
                x = torch.where(km[:, :T], kn[:, :T], x)
                known_ids = vq.encode(_pad_last(x, int(n_tok.max()) * u))
                frame_known = km.any(-1)
                fk = torch.zeros(B, int(n_tok.max()) * u, dtype=torch.bool)
                fk[:, : frame_known.shape[1]] = frame_known
                fixed = fk.reshape(B, -1, u).any(-1)
                kw.update(known=known_ids[..., 0], known_mask=fixed)
            ids = mt.generate(sent, n_tok, **kw)
            codes = rt.generate(ids, sent, n_tok, known=known_ids, known_mask=fixed)
            x = vq.decode_codes(codes)
            reencode = getattr(projector, "reencode", None) if projector is not None else None
            if reencode:
                # re-encode the projected motion into tokens ("all": every RVQ layer; "base": the base
                # layer, with the residual layers re-predicted by the residual transformer)
                codes_p = vq.encode(_pad_last(projector(x[:, :T], L), x.shape[1]))  # type: ignore[misc]
                if known_ids is not None and fixed is not None:
                    codes_p = torch.where(fixed[..., None], known_ids, codes_p)
                if reencode == "base":
                    codes_p = rt.generate(codes_p[..., 0], sent, n_tok, known=known_ids, known_mask=fixed)
                x = vq.decode_codes(codes_p)
        elif gen.family == "diffusion":
            dm = gen.parts["diffusion"].model
            kw = {"generator": g, "known": kn, "known_mask": km}
            if projector is not None:
                kw["x0_hook"] = lambda x0: projector(x0, L)
                kw["hook_steps"] = tuple(getattr(projector, "diffusion_steps", ()))
            if steps is not None:
                kw["steps"] = steps
            if guidance is not None:
                kw["guidance"] = guidance
            x = dm.sample(sent, L, **kw)
        else:
            cv = gen.parts["cvae"].model
            x = cv.sample(tok, tok_len, L, generator=g, sentence=sent)
    if gen.family == "cvae" and kn is not None and km is not None and km.any():
        x = _fit_cvae_latent(gen.parts["cvae"].model, tok, tok_len, L, kn, km, g, sent)
    if kn is not None and km is not None:
        x = torch.where(km[:, : x.shape[1]], kn[:, : x.shape[1]], x[:, :T])
    if projector is not None:
        x = projector(x[:, :T], L)
    return x


def _fit_cvae_latent(cv, tok, tok_len, L, kn, km, g, sent, iters: int = 60) -> torch.Tensor:
    """Latent fitting: maximise p(z|text) while the decoded features match the known ones."""
    with torch.no_grad():
        mu, lv = cv.text_prior(tok, tok_len, sentence=sent)
        z0 = mu + torch.randn(mu.shape, generator=g) * (0.5 * lv).exp()
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.05)
    w = km.float()
    for _ in range(iters):
        x = cv.decode(z, L, sentence=sent)
        T = x.shape[1]
        fit = ((x - kn[:, :T]) ** 2 * w[:, :T]).sum() / w.sum().clamp(min=1)
        prior = (0.5 * (z - mu) ** 2 / lv.exp()).sum(-1).mean() * 1e-3
        opt.zero_grad()
        (fit + prior).backward()
        opt.step()
    with torch.no_grad():
        return cv.decode(z, L, sentence=sent)


def features_to_motion(feats: np.ndarray, *, ground: bool = True, text: str | None = None,
                       joints: np.ndarray | None = None) -> Motion:  # fmt: skip
    """Un-normalised features ``(T, 263)`` (or given joints ``(T, 22, 3)``) -> canonical 20 fps ``Motion``."""
    J = features_to_joints(feats) if joints is None else joints
    skel = default_skeleton()
    R, root = inverse_kinematics(torch.from_numpy(np.asarray(J, dtype=np.float32)), torch.from_numpy(skel.offsets).float())
    contacts = np.asarray(feats)[:, CONTACTS] > 0.5
    m = Motion(R.numpy(), root.numpy(), FPS, skeleton=skel, contacts=contacts,
               meta={"text": text or "", "source": "humokit.priors"})  # fmt: skip
    return m.to_ground() if ground else m


def generate(
    text: str,
    model: str = "mask",
    seconds: float = 4.0,
    seed: int | None = None,
    keyframes: Keyframes | str | Path | None = None,
    edit_mask: str | np.ndarray | None = None,
    *,
    checkpoints: str | Path | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    projector: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    grounding: float | None = None,
    device: str | None = None,
) -> Motion:
    """Generate a canonical :class:`Motion` (20 fps, ``round(seconds * 20)`` frames) from ``text``.

    Args:
        text: prompt, e.g. "a person waves with the right hand".
        model: ``"mask"``, ``"diffusion"`` or ``"cvae"``.
        seconds: length (0.4 s to the model's maximum, 9.8 s for the shipped ones).
        seed: makes the output reproducible.
        keyframes: :class:`Keyframes` or an ``.npz`` (see :func:`~humokit.priors.edit.load_keyframes`);
            constrained joints are met exactly (in-betweening, trajectories, editing).
        edit_mask: frames (or frame-joint entries) of the keyframes to regenerate instead
            (``"1.0:2.5"`` seconds ranges or a bool array, see
            :func:`~humokit.priors.edit.parse_edit_mask`).
        checkpoints: folder with the family's checkpoint sub-folders (default: shipped).
        steps, guidance: override the family's sampling steps / classifier-free guidance scale.
        projector: physics projection inside and after sampling (see :func:`sample_features`;
            :func:`humokit.optim.physics.generate_physical` supplies the kinematic one).
        grounding: share of the nearest-training-caption blend (None: the model's default, 0: off;
            see :func:`explain`).
        device: torch device for the models and sampling (``"cuda"``); None = CPU.
    """
    check_request(text, model, seconds, checkpoints=checkpoints, steps=steps, guidance=guidance,
                  keyframes=keyframes, edit_mask=edit_mask, seed=seed)  # every option, before loading
    gen = load_generator(model, str(checkpoints) if checkpoints else None)
    T = check_seconds(text, seconds, gen.max_frames)
    known = known_mask = None
    P = M = None
    if keyframes is not None:
        kf = keyframes if isinstance(keyframes, Keyframes) else load_keyframes(keyframes)
        P, M = kf.dense(T)
        em = parse_edit_mask(edit_mask, T)
        if em is not None:
            M = M & ~em
        v, k = constraint_features(P, M, gen.mean, gen.std)
        known, known_mask = v[None], k[None]
    elif edit_mask is not None:
        raise InputError("generate: an edit mask needs keyframes (the motion to edit)")
    feats = sample_features(gen, [text.strip()], [T], seed=seed, known=known, known_mask=known_mask, steps=steps,
                            guidance=guidance, projector=projector, grounding=grounding, device=device)[0]  # fmt: skip
    J = features_to_joints(feats)
    if P is not None and M is not None and M.any():
        J = enforce_keyframes(J, P, M).astype(np.float32)
        return features_to_motion(feats, ground=False, text=text, joints=J)
    return features_to_motion(feats, ground=True, text=text, joints=J)
