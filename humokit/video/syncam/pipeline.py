"""Load a Wan base folder and generate all views of a scene jointly with a trained adapter.

:func:`generate_multiview` runs diffusers' ``WanPipeline`` unchanged: the V
views are the pipeline's ``num_videos_per_prompt`` batch (view-minor, the
order the adapter expects), the adapter's cameras are set before the call,
and every denoising step's transformer call attends across the views. The
outputs are one MP4 per view (``view_XX.mp4``) and a grid of all views
(``grid.mp4``), written atomically.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

from humokit._io import atomic_path
from humokit.errors import InputError

log = logging.getLogger(__name__)
WAN_TRANSFORMER = "WanTransformer3DModel"


def check_base(model_dir: str | Path, *, need: tuple[str, ...] = ("transformer", "vae", "text_encoder", "tokenizer",
                                                                     "scheduler")) -> Path:
    """Check that ``model_dir`` is a diffusers Wan text-to-video folder; one-line errors otherwise."""
    from humokit.video.model_folder import read_model_index

    root = Path(model_dir)
    index = read_model_index(root)
    cfg = root / "transformer" / "config.json"
    cls = None
    if cfg.exists():
        try:
            cls = json.loads(cfg.read_text()).get("_class_name")
        except ValueError:
            cls = None
    if cls != WAN_TRANSFORMER:
        found = cls or (index.get("transformer") or [None, None])[1] or index.get("_class_name")
        raise InputError(f"{root}: base transformer is {found}, not {WAN_TRANSFORMER} "
                         f"(a Wan2.1/2.2 text-to-video folder is needed)")
    missing = [c for c in need if c not in index or not (root / c).is_dir()]
    if missing:
        raise InputError(f"{root}: missing component(s) {', '.join(missing)}")
    return root


def load_pipeline(model_dir: str | Path, *, device: str | None = None, dtype: object | None = None) -> object:
    """A ``WanPipeline`` from a checked local folder (no download), on ``device`` (default CUDA if present)."""
    import torch
    from diffusers import WanPipeline
    from diffusers.utils import logging as dlog

    root = check_base(model_dir)
    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dt = dtype or (torch.bfloat16 if dev.startswith("cuda") else torch.float32)
    dlog.set_verbosity_error()
    dlog.disable_progress_bar()
    try:
        from transformers.utils import logging as tlog

        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers comes with the drive extra
        pass
    pipe = WanPipeline.from_pretrained(str(root), dtype=dt, local_files_only=True)
    if getattr(pipe, "vae", None) is not None:
        pipe.vae.to(torch.float32)  # the VAE decodes in float32, as Wan's reference code does
    return pipe.to(dev)


def generate_multiview(
    pipe: object,
    adapter: object,
    cameras: np.ndarray,
    prompt: str,
    *,
    negative_prompt: str | None = None,
    width: int = 832,
    height: int = 480,
    num_frames: int = 81,
    steps: int = 30,
    guidance: float = 5.0,
    seed: int = 0,
    max_sequence_length: int = 512,
    progress: bool = True,
) -> np.ndarray:
    """All views of one scene, denoised jointly.

    Args:
        cameras: ``(V, F_latent, 12)`` adapter cameras (:func:`humokit.video.cameras.adapter_cameras`).
    Returns:
        ``(V, T, H, W, 3)`` uint8 videos.
    """
    import torch

    cams = torch.as_tensor(np.asarray(cameras), dtype=torch.float32)
    V = int(cams.shape[0])
    f_lat = (num_frames - 1) // int(pipe.vae_scale_factor_temporal) + 1  # type: ignore[attr-defined]
    if cams.ndim != 3 or cams.shape[1] != f_lat:
        raise InputError(f"cameras: expected ({V}, {f_lat}, 12) for {num_frames} frames, got {tuple(cams.shape)}")
    adapter.set_cameras(cams, V)  # type: ignore[attr-defined]
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    pipe.set_progress_bar_config(disable=not progress, leave=False)  # type: ignore[attr-defined]
    out = pipe(prompt=prompt, negative_prompt=negative_prompt, height=height, width=width, num_frames=num_frames,  # type: ignore[operator]
               num_inference_steps=steps, guidance_scale=guidance, num_videos_per_prompt=V, generator=gen,
               output_type="np", max_sequence_length=max_sequence_length)
    frames = np.asarray(out.frames)  # (V, T, H, W, 3) in [0, 1]
    return (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)


def grid(videos: np.ndarray) -> np.ndarray:
    """``(V, T, H, W, 3)`` -> ``(T, rows*H, cols*W, 3)`` with ``cols = ceil(sqrt(V))``; empty cells black."""
    V, T, H, W, C = videos.shape
    cols = math.ceil(math.sqrt(V))
    rows = math.ceil(V / cols)
    g = np.zeros((T, rows * H, cols * W, C), dtype=videos.dtype)
    for v in range(V):
        r, c = divmod(v, cols)
        g[:, r * H:(r + 1) * H, c * W:(c + 1) * W] = videos[v]
    return g


def write_videos(out_dir: str | Path, videos: np.ndarray, fps: float = 16.0) -> dict[str, Path]:
    """``view_XX.mp4`` per view and ``grid.mp4`` (H.264, sizes padded to even by the encoder's block size)."""
    import imageio.v2 as imageio

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    def write(name: str, frames: np.ndarray) -> None:
        with atomic_path(out / f"{name}.mp4") as tmp:
            w = imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=8, pixelformat="yuv420p",
                                   macro_block_size=2, ffmpeg_log_level="error")
            for f in frames:
                w.append_data(f)
            w.close()
        paths[name] = out / f"{name}.mp4"

    for v in range(videos.shape[0]):
        write(f"view_{v:02d}", videos[v])
    write("grid", grid(videos))
    return paths
