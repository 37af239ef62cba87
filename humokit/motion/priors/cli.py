"""``humokit generate`` and ``humokit train`` (registered lazily in :mod:`humokit.cli`)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from humokit._cli_options import check_device, check_threads, device_option, threads_option

KINDS = ("vq", "mask", "res", "diffusion", "cvae", "evaluator")


@click.command()
@click.argument("text")
@click.option("--model", type=click.Choice(["mask", "diffusion", "cvae"]), default="mask", show_default=True,
              help="Model family.")
@click.option("--seconds", type=float, default=4.0, show_default=True, help="Length of the motion.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Motion .npz to write (canonical skeleton, 20 fps).")
@click.option("--seed", type=int, default=None, help="Random seed (reproducible output).")
@click.option("--keyframes", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keyframes .npz (frames, joints (K,22,3)[, joint_mask]) or a motion .npz to edit.")
@click.option("--edit-mask", default=None, help="Part of the keyframes to regenerate: seconds ranges 'a:b,c:d', "
              "optionally '@joint+joint' (e.g. '1:2.5@left_wrist').")
@click.option("--checkpoints", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with vq/ mask/ res/ diffusion/ cvae/ checkpoints (default: the shipped ones).")
@click.option("--steps", type=int, default=None, help="Sampling steps (mask: decoding iterations; diffusion: DDIM).")
@click.option("--guidance", type=float, default=None, help="Classifier-free guidance scale.")
@click.option("--physics", type=click.Choice(["kinematic", "none"]), default="kinematic", show_default=True,
              help="Kinematic physics projection inside and after sampling (feet held on the ground, no floating, "
              "no penetration); 'none' returns the model's raw output.")
@threads_option
@device_option
def generate(text: str, model: str, seconds: float, output: Path, seed: int | None, keyframes: Path | None,
             edit_mask: str | None, checkpoints: Path | None, steps: int | None, guidance: float | None,
             physics: str, threads: int | None, device: str) -> None:  # fmt: skip
    """Generate a motion from TEXT with a shipped text-to-motion prior."""
    from humokit.errors import InputError
    from humokit.motion.priors.request import check_request

    # every option is checked before torch or any model loads (a bad one fails in milliseconds)
    check_request(text, model, seconds, checkpoints=checkpoints, steps=steps, guidance=guidance,
                  keyframes=keyframes, edit_mask=edit_mask, seed=seed)
    if output.suffix.lower() != ".npz":
        output = output.with_suffix(".npz")
    if not output.parent.is_dir():
        raise InputError(f"{output.parent}: output folder does not exist")
    nthreads = check_threads(threads)
    check_device(device)
    from humokit._cli_options import apply_threads, resolve_device

    apply_threads(nthreads)
    dev = resolve_device(device)
    m = generate_motion(text, model=model, seconds=seconds, seed=seed, physics=physics, keyframes=keyframes,
                        edit_mask=edit_mask, checkpoints=checkpoints, steps=steps, guidance=guidance,
                        device=None if dev == "cpu" else dev)  # fmt: skip
    m.save(str(output))
    click.echo(f"wrote {output} ({m.num_frames} frames at {m.fps:g} fps, model {model}, physics {physics})")


def generate_motion(
    text: str,
    *,
    model: str = "mask",
    seconds: float = 4.0,
    seed: int | None = None,
    physics: str = "kinematic",
    keyframes: object | None = None,
    edit_mask: str | None = None,
    checkpoints: Path | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    device: str | None = None,
) -> object:
    """What ``humokit generate`` runs (the viewer's Generate panel calls it too): checks, samples, projects.

    ``physics="kinematic"`` applies the physics projection inside and after
    sampling (:func:`humokit.optim.physics.guidance.generate_physical`),
    ``"none"`` returns the model's raw output. Returns a :class:`~humokit.motion.motion.Motion`.
    """
    from humokit.errors import InputError
    from humokit.motion.priors.request import check_request

    if physics not in ("kinematic", "none"):
        raise InputError(f"generate: physics must be 'kinematic' or 'none', got {physics!r}")
    check_request(text, model, seconds, checkpoints=checkpoints, steps=steps, guidance=guidance,
                  keyframes=keyframes, edit_mask=edit_mask, seed=seed)
    kw = {"model": model, "seconds": seconds, "seed": seed, "keyframes": keyframes, "edit_mask": edit_mask,
          "checkpoints": checkpoints, "steps": steps, "guidance": guidance, "device": device}  # fmt: skip
    if physics == "kinematic":
        # the CLI is glue: the physics projection lives in optim and reaches the sampler as a callable
        from humokit.optim.physics.guidance import generate_physical

        return generate_physical(text, **kw)
    from humokit.motion.priors.sampling import generate as _generate

    return _generate(text, **kw)


@click.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Training config JSON (see configs/priors/).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for checkpoints (resumes from its last state).")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="HumanML3D-format dataset folder (overrides data.root).")
@click.option("--vq", "vq_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Trained VQ folder for mask/res (overrides the config's 'vq').")
@click.option("--steps", type=int, default=None, help="Override train.steps.")
@click.option("--max-minutes", type=float, default=None, help="Override train.max_minutes.")
@click.option("--no-resume", is_flag=True, help="Start from scratch even if OUTPUT holds a state.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(kind: str, config_path: Path, output: Path, data: Path | None, vq_path: Path | None, steps: int | None,
          max_minutes: float | None, no_resume: bool, quiet: bool) -> None:  # fmt: skip
    """Train a text-to-motion component (single process, or DDP under torchrun)."""
    from humokit.motion.priors.train import load_config
    from humokit.motion.priors.train import train as _train

    cfg = load_config(config_path)
    cfg.setdefault("train", {})
    if steps is not None:
        cfg["train"]["steps"] = steps
    if max_minutes is not None:
        cfg["train"]["max_minutes"] = max_minutes
    if vq_path is not None:
        cfg["vq"] = str(vq_path)
    command = "humokit " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out = _train(kind, cfg, output, data_root=data, resume=not no_resume, progress=not quiet, command=command)
    click.echo(f"checkpoint: {out}")
