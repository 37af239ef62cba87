"""``humokit train`` (registered lazily in :mod:`humokit.cli`); ``humokit generate`` composes a prior with
the physics projection, so it lives in :mod:`humokit.optim.physics.cli`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from humokit._options import FiniteFloat

KINDS = ("vq", "mask", "res", "diffusion", "cvae", "evaluator")


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
@click.option("--steps", type=click.IntRange(1, 10**8), default=None, help="Override train.steps.")
@click.option("--max-minutes", type=FiniteFloat(0.0, 1e6, min_open=True), default=None, help="Override train.max_minutes.")
@click.option("--no-resume", is_flag=True, help="Start from scratch even if OUTPUT holds a state.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(kind: str, config_path: Path, output: Path, data: Path | None, vq_path: Path | None, steps: int | None,
          max_minutes: float | None, no_resume: bool, quiet: bool) -> None:  # fmt: skip
    """Train a text-to-motion component (single process, or DDP under torchrun)."""
    from humokit.priors.train import load_config
    from humokit.priors.train import train as _train

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
