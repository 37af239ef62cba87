"""``humokit dataset multiview``, ``humokit train syncam`` and the ``--adapter/--cameras`` mode of ``humokit drive``."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from humokit._options import FOV, FPS, FRAMES, SEED, VIEWS, FiniteFloat
from humokit._quiet import stdout_to_stderr
from humokit.errors import InputError


def _size(text: str) -> tuple[int, int]:
    from humokit.render.controls import parse_size

    return parse_size(text)


@click.group("dataset")
def dataset() -> None:
    """Build training datasets for video models."""


@dataset.command("multiview")
@click.argument("motions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Dataset folder (scene_XXXXX/ sub-folders and dataset.json; reruns resume).")
@click.option("--scenes", type=click.IntRange(1, 1_000_000), default=16, show_default=True, help="Number of scenes to render.")
@click.option("--views", type=VIEWS, default=4, show_default=True, help="Cameras per scene.")
@click.option("--layout", type=click.Choice(["hemisphere", "moving", "ring"]), default="hemisphere", show_default=True,
              help="Static cameras on a hemisphere (SynCamVideo-style), moving trajectories (ReCamMaster-style) or a ring.")
@click.option("--frames", type=FRAMES, default=33, show_default=True, help="Frames per clip, 1+4k.")
@click.option("--size", default="256x256", show_default=True, help="WIDTHxHEIGHT, multiples of 16.")
@click.option("--fps", type=FPS, default=None, help="Resample motions to this frame rate (default: their own).")
@click.option("--fov", type=FOV, default=40.0, show_default=True, help="Vertical field of view, degrees.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the scene draws (motions, bodies, colours, cameras).")
@click.option("--workers", type=click.IntRange(1, 4096), default=1, show_default=True, help="Scenes rendered in parallel processes.")
def multiview(motions: tuple[Path, ...], output: Path, scenes: int, views: int, layout: str, frames: int, size: str,
              fps: float | None, fov: float, seed: int, workers: int) -> None:
    """Render synchronised multi-camera clips of MOTIONS (.npz files or folders) on varied Anny bodies."""
    from tqdm import tqdm

    from humokit.video.syncam.dataset import build_dataset

    width, height = _size(size)
    if frames < 1 or (frames - 1) % 4:
        raise InputError(f"--frames {frames}: clip length must be 1 + 4k")
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    if fps is not None and fps <= 0:
        raise InputError(f"--fps must be positive, got {fps}")
    with stdout_to_stderr(), tqdm(total=scenes, desc="scenes", unit="scene", leave=False) as bar:
        res = build_dataset(list(motions), output, scenes=scenes, seed=seed, workers=workers, progress=bar.update,
                            views=views, layout=layout, frames=frames, fps=fps, width=width, height=height, fov=fov)
    done = sum(not r.skipped for r in res)
    click.echo(f"wrote {done} scenes ({len(res) - done} already there) x {views} cameras x {frames} frames "
               f"({width}x{height}) to {output}")


@click.command("syncam")
@click.option("--base", "base", type=click.Path(path_type=Path), required=True,
              help="Wan2.1/2.2 text-to-video diffusers folder (model_index.json, transformer/, vae/, ...).")
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Folder written by humokit dataset multiview.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Adapter folder: adapter.safetensors + config.json (resumes from checkpoint/).")
@click.option("--mode", type=click.Choice(["syncam", "recam"]), default="syncam", show_default=True,
              help="syncam: views denoised jointly; recam: re-render a source video along a new camera.")
@click.option("--views", type=VIEWS, default=4, show_default=True, help="Views per sample (syncam).")
@click.option("--frames", type=FRAMES, default=21, show_default=True, help="Video frames per sample, 1+4k.")
@click.option("--size", default="832x480", show_default=True, help="Training WIDTHxHEIGHT (videos are resized).")
@click.option("--steps", type=click.IntRange(1, 10_000_000), default=5000, show_default=True, help="Optimiser steps.")
@click.option("--lr", type=FiniteFloat(1e-9, 1.0), default=1e-4, show_default=True, help="AdamW learning rate.")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=1, show_default=True, help="Scenes per step per process.")
@click.option("--no-view-attention", is_flag=True, help="Ablation: attention within each view only.")
@click.option("--gradient-checkpointing", is_flag=True, help="Recompute the base's blocks in backward (less memory).")
@click.option("--mixed-precision", type=click.Choice(["no", "bf16", "fp16"]), default=None,
              help="Autocast dtype (default bf16 on CUDA, none on CPU).")
@click.option("--max-text-len", type=click.IntRange(1, 4096), default=512, show_default=True, help="Text tokens (the base's is 512).")
@click.option("--caption-dropout", type=FiniteFloat(0.0, 1.0), default=0.1, show_default=True, help="Share of empty prompts (for guidance).")
@click.option("--save-every", type=click.IntRange(1, 10_000_000), default=500, show_default=True, help="Checkpoint interval, steps.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Random seed.")
@click.option("--no-resume", is_flag=True, help="Start from scratch even if OUTPUT/checkpoint exists.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_syncam(base: Path, data: Path, output: Path, mode: str, views: int, frames: int, size: str, steps: int,
                 lr: float, batch_size: int, no_view_attention: bool, gradient_checkpointing: bool,
                 mixed_precision: str | None, max_text_len: int, caption_dropout: float, save_every: int, seed: int,
                 no_resume: bool, quiet: bool) -> None:
    """Train a camera / multi-view adapter on a frozen Wan transformer (single process, torchrun or accelerate)."""
    from humokit.video.syncam.pipeline import check_base

    check_base(base)
    width, height = _size(size)
    if frames < 1 or (frames - 1) % 4:
        raise InputError(f"--frames {frames}: clip length must be 1 + 4k")
    if views < 1 or steps < 1 or batch_size < 1 or lr <= 0:
        raise InputError("--views, --steps, --batch-size and --lr must be positive")
    import torch

    from humokit.video.syncam.adapter import SynCamConfig, inject, read_config
    from humokit.video.syncam.data import SceneEncoder, dataset_batches, list_scenes
    from humokit.video.syncam.pipeline import load_pipeline
    from humokit.video.syncam.train import FlowSchedule, setup_distributed, train_adapter

    scenes = list_scenes(data)
    rank, world, dev = setup_distributed()
    with stdout_to_stderr():
        pipe = load_pipeline(base, device=str(dev))
        tr = pipe.transformer
        cfg = SynCamConfig(mode=mode, view_attention=not no_view_attention)  # type: ignore[arg-type]
        ck = output / "checkpoint"
        if not no_resume and (ck / "config.json").exists():
            saved = read_config(ck)
            if (saved.mode, saved.view_attention) != (cfg.mode, cfg.view_attention):
                raise InputError(f"{output}: holds a {saved.mode} adapter (view_attention={saved.view_attention}); "
                                 "use another folder or --no-resume")
        adapter = inject(tr, cfg)
        if gradient_checkpointing:
            tr.enable_gradient_checkpointing()
        enc = SceneEncoder(pipe, output / "cache", num_frames=frames, width=width, height=height,
                           max_text_len=max_text_len)
        batches = dataset_batches(enc, scenes, num_views=views, batch_size=batch_size, mode=mode,
                                  caption_dropout=caption_dropout, seed=seed, rank=rank)
        amp = {"bf16": torch.bfloat16, "fp16": torch.float16, "no": None}.get(
            mixed_precision or ("bf16" if dev.type == "cuda" else "no"))
        command = "humokit " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        res = train_adapter(tr, adapter, batches, steps=steps, lr=lr, output=output, resume=not no_resume,
                            schedule=FlowSchedule.from_scheduler_config(dict(pipe.scheduler.config)),
                            save_every=save_every, seed=seed, progress=not quiet, autocast_dtype=amp, device=dev,
                            rank=rank, world=world)
    if rank == 0:
        (output / "command.txt").write_text(command + "\n")
        last = sum(res.losses[-20:]) / max(1, len(res.losses[-20:])) if res.losses else float("nan")
        click.echo(f"adapter: {output} (step {res.step}, loss {last:.4f}, {res.steps_per_second:.2f} steps/s)")


def drive_multiview(model: Path, adapter_dir: Path, cameras_path: Path, output: Path, *, prompt: str,
                    negative_prompt: str | None = None, frames: int | None = None, size: str | None = None,
                    steps: int = 30, guidance: float | None = None, seed: int = 0, fps: float | None = None,
                    max_text_len: int = 512) -> str:
    """``humokit drive --adapter A --cameras C``: all views of a scene jointly; returns the summary line.

    Writes ``OUTPUT/view_XX.mp4`` (one per camera of ``cameras_path``) and ``OUTPUT/grid.mp4``.
    Defaults: 81 frames, 832x480, guidance 5, 16 fps.
    """
    from humokit.video.cameras import adapter_cameras, load_views
    from humokit.video.syncam.adapter import read_config
    from humokit.video.syncam.pipeline import check_base

    check_base(model)
    frames = 81 if frames is None else frames
    width, height = _size(size or "832x480")
    if frames < 1 or (frames - 1) % 4:
        raise InputError(f"--frames {frames}: clip length must be 1 + 4k")
    if read_config(adapter_dir).mode != "syncam":
        raise InputError(f"{adapter_dir}: a recam adapter re-renders a source video; --adapter takes syncam adapters")
    if not prompt:
        raise InputError("--prompt is required with --adapter")
    cams = adapter_cameras(load_views(cameras_path), frames)
    from humokit.video.syncam.adapter import load_adapter
    from humokit.video.syncam.pipeline import generate_multiview, load_pipeline, write_videos

    with stdout_to_stderr():
        pipe = load_pipeline(model)
        adapter = load_adapter(adapter_dir, pipe.transformer, dtype=pipe.transformer.dtype)
        videos = generate_multiview(pipe, adapter, cams, prompt, negative_prompt=negative_prompt or None, width=width,
                                    height=height, num_frames=frames, steps=steps,
                                    guidance=5.0 if guidance is None else guidance, seed=seed,
                                    max_sequence_length=max_text_len)
        paths = write_videos(output, videos, fps=fps or 16.0)
    return f"wrote {len(paths) - 1} views + grid ({videos.shape[1]} frames, {width}x{height}) to {output}"
