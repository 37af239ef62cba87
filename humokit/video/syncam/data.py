"""Training batches from a ``humokit dataset multiview`` folder, encoded by the base's VAE and text encoder.

Each step draws ``batch_size`` scenes and, per scene, ``num_views`` of its
cameras (a random subset; the first one drawn is the reference). Videos are
cut to ``num_frames`` (``1 + 4k``), resized to the training size and
encoded once: latents (``vae.encode(...).latent_dist.mode()``, normalised
with the VAE's ``latents_mean`` / ``latents_std`` as ``WanPipeline`` undoes
it) and prompt embeddings are cached as safetensors under ``cache_dir``.
``recam`` pairs two cameras of a scene: source and target.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from humokit.errors import InputError
from humokit.video.cameras import adapter_cameras, load_views
from humokit.video.syncam.train import Batch


def list_scenes(root: str | Path) -> list[Path]:
    """Complete scene folders of a multi-view dataset (one-line error if there are none)."""
    r = Path(root)
    if not r.is_dir():
        raise InputError(f"{r}: no such dataset folder")
    scenes = sorted(p for p in r.iterdir() if p.is_dir() and (p / "scene.json").exists() and (p / "cameras.json").exists())
    if not scenes:
        raise InputError(f"{r}: no scenes (expected scene_XXXXX/ folders written by humokit dataset multiview)")
    return scenes


def read_video(path: Path, num_frames: int, width: int, height: int) -> torch.Tensor:
    """First ``num_frames`` frames as ``(3, T, H, W)`` float in [-1, 1], resized (antialiased bilinear)."""
    import imageio.v2 as imageio

    frames = []
    with imageio.get_reader(path, format="FFMPEG") as r:
        for i, f in enumerate(r):
            if i >= num_frames:
                break
            frames.append(f[..., :3])
    if len(frames) < num_frames:
        raise InputError(f"{path}: {len(frames)} frames, fewer than {num_frames}")
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    if x.shape[-2:] != (height, width):
        x = torch.nn.functional.interpolate(x, size=(height, width), mode="bilinear", antialias=True,
                                            align_corners=False)
    return x.permute(1, 0, 2, 3).contiguous()


class SceneEncoder:
    """Encodes (and caches) scene videos and captions with a ``WanPipeline``'s VAE and text encoder."""

    def __init__(self, pipe: object, cache_dir: str | Path, *, num_frames: int, width: int, height: int,
                 max_text_len: int = 512) -> None:
        self.pipe = pipe
        self.cache = Path(cache_dir)
        self.cache.mkdir(parents=True, exist_ok=True)
        self.num_frames, self.width, self.height, self.max_text_len = num_frames, width, height, max_text_len

    def _cached(self, key: str, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        from safetensors.torch import load_file, save_file

        from humokit._io import atomic_path

        p = self.cache / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.safetensors"
        if p.exists():
            return load_file(str(p))["x"]
        x = make().detach().cpu().contiguous()
        with atomic_path(p) as tmp:
            save_file({"x": x}, str(tmp))
        return x

    @torch.no_grad()
    def latents(self, video: Path) -> torch.Tensor:
        """``(C, F, h, w)`` normalised latents of a camera's video."""
        vae = self.pipe.vae  # type: ignore[attr-defined]

        def make() -> torch.Tensor:
            x = read_video(video, self.num_frames, self.width, self.height)[None].to(vae.device, vae.dtype)
            z = vae.encode(x).latent_dist.mode()
            mean = torch.tensor(vae.config.latents_mean, device=z.device, dtype=z.dtype).view(1, -1, 1, 1, 1)
            std = torch.tensor(vae.config.latents_std, device=z.device, dtype=z.dtype).view(1, -1, 1, 1, 1)
            return ((z - mean) / std)[0].float()

        return self._cached(f"lat|{video.resolve()}|{self.num_frames}|{self.width}x{self.height}", make)

    @torch.no_grad()
    def text(self, caption: str) -> torch.Tensor:
        """``(L, D)`` prompt embeddings (the pipeline's own ``encode_prompt``)."""

        def make() -> torch.Tensor:
            emb, _ = self.pipe.encode_prompt(caption, do_classifier_free_guidance=False,  # type: ignore[attr-defined]
                                             max_sequence_length=self.max_text_len)
            return emb[0].float()

        return self._cached(f"txt|{caption}|{self.max_text_len}", make)


def dataset_batches(
    encoder: SceneEncoder,
    scenes: list[Path],
    *,
    num_views: int,
    batch_size: int = 1,
    mode: str = "syncam",
    caption_dropout: float = 0.1,
    seed: int = 0,
    rank: int = 0,
) -> Callable[[int], Batch]:
    """``step -> Batch`` over the dataset (deterministic per step, seed and rank)."""
    infos = []
    for s in scenes:
        meta = json.loads((s / "scene.json").read_text())
        if int(meta["views"]) < (2 if mode == "recam" else num_views):
            raise InputError(f"{s}: {meta['views']} cameras, fewer than --views {num_views}")
        if int(meta["frames"]) < encoder.num_frames:
            raise InputError(f"{s}: {meta['frames']} frames, fewer than --frames {encoder.num_frames}")
        infos.append((s, int(meta["views"]), (s / "caption.txt").read_text().strip()))
    empty = encoder.text("") if caption_dropout > 0 else None

    def make(step: int) -> Batch:
        rng = np.random.default_rng([seed, rank, step])
        lat, txt, cams, src = [], [], [], []
        for _ in range(batch_size):
            s, nv, caption = infos[int(rng.integers(len(infos)))]
            k = 2 if mode == "recam" else num_views
            pick = [int(i) for i in rng.permutation(nv)[:k]]
            views = load_views(s / "cameras.json")
            t = empty if empty is not None and rng.uniform() < caption_dropout else encoder.text(caption)
            if mode == "recam":
                source, target = pick
                # target cameras relative to the source's first frame, then the source's own
                c = adapter_cameras([views[source], views[target]], encoder.num_frames)
                cams.append(torch.cat([torch.from_numpy(c[1]), torch.from_numpy(c[0])])[None])
                lat.append(encoder.latents(s / f"cam_{target:02d}.mp4")[None])
                src.append(encoder.latents(s / f"cam_{source:02d}.mp4")[None])
                txt.append(t[None])
            else:
                cams.append(torch.from_numpy(adapter_cameras([views[i] for i in pick], encoder.num_frames)))
                lat += [encoder.latents(s / f"cam_{i:02d}.mp4")[None] for i in pick]
                txt += [t[None]] * k
        return Batch(torch.cat(lat), torch.cat(txt), torch.cat(cams), 1 if mode == "recam" else num_views,
                     torch.cat(src) if src else None)

    return make
