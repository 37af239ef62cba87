"""``humokit drive``: drive a local diffusers video model with humokit's control signals."""

from __future__ import annotations

from pathlib import Path

import click

from humokit._options import FPS, FRAMES, GUIDANCE, IMAGE_SIZE, SEED, STEPS, VIEWS
from humokit.errors import InputError


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(f"{what} {text!r}: expected numbers, e.g. 1.0 or 1.0,0.5") from None
    if not vals:
        raise InputError(f"{what} {text!r}: expected at least one number")
    return vals


@click.command("drive")
@click.argument("inp", metavar="[INPUT]", type=click.Path(path_type=Path), required=False)
@click.option("--model", "model", type=click.Path(path_type=Path), required=True,
              help="Local diffusers folder: Wan2.1-VACE, Wan2.2-Animate, AnimateDiff-ControlNet or an SD1.5 base.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder: view_XX.mp4, control_view_XX.mp4, compare.mp4, drive.json.")
@click.option("--signal", "signal", default=None,
              help="Control signal(s): pose or depth (VACE), pose (Animate), pose,depth,normal (AnimateDiff, "
                   "one ControlNet each) [default: pose].")
@click.option("--reference", type=click.Path(path_type=Path), default=None,
              help="Image of the person (VACE reference / Wan-Animate character) [default: humokit's RGB render].")
@click.option("--prompt", default="", help="Text prompt.")
@click.option("--negative-prompt", default="", help="Negative prompt.")
@click.option("--steps", default=30, show_default=True, type=STEPS, help="Denoising steps.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Noise seed (same seed, same video).")
@click.option("--guidance", type=GUIDANCE, default=None,
              help="Classifier-free guidance scale [default: VACE 5.0, Animate 1.0, AnimateDiff 7.5].")
@click.option("--scale", default="1.0", show_default=True,
              help="Control strength: VACE conditioning scale, or one ControlNet scale per signal (comma list).")
@click.option("--frames", type=FRAMES, default=None, help="Clip length (Wan: 1+4k) [default: the longest valid].")
@click.option("--size", default=None, type=IMAGE_SIZE, help="WIDTHxHEIGHT, multiples of 16 [default: the controls' / the model's].")
@click.option("--view", "view", default=None, help="Controls folder: view numbers to generate, e.g. 0,2 [default: all].")
@click.option("--views", "num_views", default=1, show_default=True, type=VIEWS, help="Motion: number of views to render.")
@click.option("--layout", type=click.Choice(["ring", "hemisphere", "moving"]), default="ring", show_default=True,
              help="Motion: camera layout.")
@click.option("--fps", type=FPS, default=None, help="Motion: frame rate [default: the model's: Wan 16, Animate 30, "
              "AnimateDiff 8].")
@click.option("--avatar", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Motion: Gaussian avatar folder (humokit avatar train) for the RGB render.")
@click.option("--body", "body_name", type=click.Choice(["anny", "smpl", "smplh", "smplx"]), default="anny",
              show_default=True, help="Motion: body model.")
@click.option("--mode", type=click.Choice(["animate", "replace"]), default="animate", show_default=True,
              help="Wan-Animate: animate the character, or replace the person in --background.")
@click.option("--background", type=click.Path(path_type=Path), default=None,
              help="Video or frame folder kept outside the body (VACE) / replaced into (Animate).")
@click.option("--motion-adapter", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="AnimateDiff motion adapter folder (with an SD1.5 base --model).")
@click.option("--controlnet", "controlnets", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="SD1.5 ControlNet folder, one per signal in --signal order (with an SD1.5 base --model).")
@click.option("--device", type=click.Choice(["auto", "cuda", "cpu"]), default="auto", show_default=True,
              help="auto: CUDA in bfloat16 when present, else CPU in float32.")
@click.option("--cpu-offload", is_flag=True, help="CUDA: keep idle components in CPU memory.")
@click.option("--vae-tiling", is_flag=True, help="Decode the video in tiles (less GPU memory).")
@click.option("--adapter", "adapter_dir", type=click.Path(path_type=Path), default=None,
              help="Multi-view camera adapter (humokit train syncam) on a Wan text-to-video --model: generate all "
                   "views of --cameras jointly from --prompt (view_XX.mp4 + grid.mp4).")
@click.option("--cameras", "cameras_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --adapter: cameras.json (humokit render / dataset multiview), one view per camera, static "
                   "or one camera per frame [default: INPUT/cameras.json].")
def drive(inp: Path, model: Path, output: Path, signal: str | None, reference: Path | None, prompt: str,
          negative_prompt: str, steps: int, seed: int, guidance: float | None, scale: str, frames: int | None,
          size: str | None, view: str | None, num_views: int, layout: str, fps: float | None, avatar: Path | None,
          body_name: str, mode: str, background: Path | None, motion_adapter: Path | None,
          controlnets: tuple[Path, ...], device: str, cpu_offload: bool, vae_tiling: bool,
          adapter_dir: Path | None, cameras_path: Path | None) -> None:
    """Generate a video per view of INPUT (a `humokit render` folder, or a motion .npz rendered here).

    With --adapter and --cameras: all views generated jointly by a Wan text-to-video model and a
    multi-view camera adapter (no INPUT needed).
    """
    import importlib.util

    if importlib.util.find_spec("diffusers") is None or importlib.util.find_spec("transformers") is None:
        from humokit.errors import MissingDependencyError

        raise MissingDependencyError("diffusers/transformers", "drive")
    if adapter_dir is not None or cameras_path is not None:
        from humokit.video.syncam.cli import drive_multiview

        if adapter_dir is None:
            raise InputError("--cameras needs --adapter (a multi-view camera adapter)")
        if cameras_path is None:
            if inp is None or not (inp / "cameras.json").is_file():
                raise InputError("--adapter needs --cameras (or an INPUT folder holding cameras.json)")
            cameras_path = inp / "cameras.json"
        click.echo(drive_multiview(model, adapter_dir, cameras_path, output, prompt=prompt,
                                   negative_prompt=negative_prompt, frames=frames, size=size, steps=steps,
                                   guidance=guidance, seed=seed, fps=fps))
        return
    if inp is None:
        raise InputError("INPUT is required (a humokit render folder or a motion .npz), unless --adapter is given")
    from tqdm import tqdm

    from humokit.render.controls import parse_size
    from humokit.video.base import DriveSettings
    from humokit.video.drive import drive as run_drive

    sig = tuple(s.strip() for s in signal.split(",") if s.strip()) if signal else None
    if fps is not None and fps <= 0:
        raise InputError(f"--fps must be positive, got {fps}")
    wh = parse_size(size) if size else None
    settings = DriveSettings(prompt=prompt, negative_prompt=negative_prompt, steps=steps, seed=seed, guidance=guidance,
                             scales=_floats(scale, "--scale"), mode=mode, cpu_offload=cpu_offload,
                             vae_tiling=vae_tiling, motion_adapter=motion_adapter, controlnets=tuple(controlnets))
    from humokit._quiet import stdout_to_stderr
    from humokit.video.model_folder import inspect_model

    inspect_model(model)  # a wrong folder fails before the progress bar and any rendering
    # third-party banners (e.g. Warp's, on first use of the Anny body) go to stderr, not stdout
    with tqdm(desc="drive", unit="step", leave=False) as bar, stdout_to_stderr():
        res = run_drive(inp, model, output, signals=sig, settings=settings, reference=reference, background=background,
                        frames=frames, size=wh, view=view, num_views=num_views, layout=layout, fps=fps,
                        avatar=avatar, body=body_name, device=device, echo=lambda s: click.echo(s, err=True),
                        progress=bar)
    r = res.record
    click.echo(f"wrote {len(res.views)} view(s) x {r['num_frames']} frames ({r['width']}x{r['height']}) with "
               f"{r['pipeline']} ({res.backend}, {r['device']}) to {res.out_dir} in {r['timings']['total_s']:.1f} s")  # type: ignore[index]
