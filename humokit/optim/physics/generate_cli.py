"""``humokit generate`` (registered lazily in :mod:`humokit.cli`): a text-to-motion prior of :mod:`humokit.priors`
composed with the kinematic physics projection of :mod:`humokit.optim.physics`, so it is wired here, above both."""

from __future__ import annotations

from pathlib import Path

import click


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
def generate(text: str, model: str, seconds: float, output: Path, seed: int | None, keyframes: Path | None,
             edit_mask: str | None, checkpoints: Path | None, steps: int | None, guidance: float | None,
             physics: str) -> None:  # fmt: skip
    """Generate a motion from TEXT with a shipped text-to-motion prior."""
    import torch

    from humokit.priors.sampling import generate as _generate

    torch.set_num_threads(min(torch.get_num_threads(), 4))
    kw = {"model": model, "seconds": seconds, "seed": seed, "keyframes": keyframes, "edit_mask": edit_mask,
          "checkpoints": checkpoints, "steps": steps, "guidance": guidance}  # fmt: skip
    if physics == "kinematic":
        # the CLI is glue: the physics projection lives in optim and reaches the sampler as a callable
        from humokit.optim.physics.guidance import generate_physical

        m = generate_physical(text, **kw)
    else:
        m = _generate(text, **kw)
    if output.suffix.lower() != ".npz":
        output = output.with_suffix(".npz")
    m.save(str(output))
    click.echo(f"wrote {output} ({m.num_frames} frames at {m.fps:g} fps, model {model}, physics {physics})")
