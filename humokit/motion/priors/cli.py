"""``humokit generate`` and ``humokit train`` (registered lazily in :mod:`humokit.cli`)."""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from humokit._batch import BatchItem, batch_options, check_workers, run_batch
from humokit.errors import FileFormatError, InputError

KINDS = ("vq", "mask", "res", "diffusion", "cvae", "evaluator")


@click.command()
@click.argument("text", required=False)
@click.option("--prompts", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Text file with one prompt per line, 'TEXT [| seed=N] [| seconds=S] [| name=NAME]' "
                   "('#' comments and blank lines skipped); -o is then a folder of NAME.npz "
                   "(default name: line number and the first words) plus manifest.jsonl.")
@click.option("--model", type=click.Choice(["mask", "diffusion", "cvae"]), default="mask", show_default=True,
              help="Model family.")
@click.option("--seconds", type=float, default=4.0, show_default=True, help="Length of the motion.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Motion .npz to write (canonical skeleton, 20 fps); a folder with --prompts.")
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
@batch_options
def generate(text: str | None, prompts: Path | None, model: str, seconds: float, output: Path, seed: int | None,
             keyframes: Path | None, edit_mask: str | None, checkpoints: Path | None, steps: int | None,
             guidance: float | None, physics: str, workers: int | None, ray_address: str | None) -> None:  # fmt: skip
    """Generate a motion from TEXT (or one per line of --prompts) with a shipped text-to-motion prior."""
    if (text is None) == (prompts is None):
        raise InputError("give either TEXT or --prompts FILE")
    check_workers(workers)
    kw = {"model": model, "seconds": seconds, "seed": seed, "keyframes": keyframes, "edit_mask": edit_mask,
          "checkpoints": checkpoints, "steps": steps, "guidance": guidance}  # fmt: skip
    import torch

    torch.set_num_threads(min(torch.get_num_threads(), 4))
    if prompts is not None:
        lines = parse_prompts(prompts)
        kw.update({k: kw[k].absolute() for k in ("keyframes", "checkpoints") if kw[k] is not None})
        items = [BatchItem(f"{prompts}:{ln.line}: {ln.text}", (str(output / f"{ln.name}.npz"),),
                           (ln.text, {**kw, "seed": seed if ln.seed is None else ln.seed,
                                      "seconds": seconds if ln.seconds is None else ln.seconds}, physics, f"{ln.name}.npz"))
                 for ln in lines]
        res = run_batch(_generate_item, items, output, workers=workers, ray_address=ray_address, desc="generate")
        click.echo(res.summary())
        click.get_current_context().exit(res.exit_code)
    if output.is_dir():
        raise InputError(f"-o {output}: is a folder; a single prompt writes one .npz file")
    m = generate_motion(text, kw, physics)  # type: ignore[arg-type]
    if output.suffix.lower() != ".npz":
        output = output.with_suffix(".npz")
    m.save(str(output))
    click.echo(f"wrote {output} ({m.num_frames} frames at {m.fps:g} fps, model {model}, physics {physics})")


def generate_motion(text: str, kw: dict, physics: str):  # type: ignore[no-untyped-def]
    """One motion from ``text`` with the sampler's keyword arguments ``kw`` and the physics mode."""
    from humokit.motion.priors.sampling import generate as _generate

    if physics == "kinematic":
        # the CLI is glue: the physics projection lives in optim and reaches the sampler as a callable
        from humokit.optim.physics.guidance import generate_physical

        return generate_physical(text, **kw)
    return _generate(text, **kw)


def _generate_item(args: tuple[str, dict, str, str], staging: Path) -> str:
    """Batch task: one prompt into ``staging/<file name>`` (moved into place by the runner)."""
    text, kw, physics, filename = args
    m = generate_motion(text, kw, physics)
    m.save(str(staging / filename))
    return f"{m.num_frames} frames"


@dataclass(frozen=True)
class PromptLine:
    """One line of a ``--prompts`` file: ``TEXT [| seed=N] [| seconds=S] [| name=NAME]``."""

    line: int
    text: str
    name: str
    seed: int | None = None
    seconds: float | None = None


def parse_prompts(path: Path) -> list[PromptLine]:
    """Read a prompts file; a malformed line is a one-line error naming the file and line."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        raw = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise FileFormatError(path, "not UTF-8 text") from None
    out: list[PromptLine] = []
    names: dict[str, int] = {}
    for i, line in enumerate(raw, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        text, *fields = [f.strip() for f in line.split("|")]
        if not text:
            raise FileFormatError(path, "empty prompt", i)
        opts: dict[str, object] = {}
        for f in fields:
            key, sep, value = (x.strip() for x in f.partition("="))
            if not sep or key not in ("seed", "seconds", "name"):
                raise FileFormatError(path, f"{f!r}: expected seed=N, seconds=S or name=NAME", i)
            try:
                opts[key] = int(value) if key == "seed" else float(value) if key == "seconds" else value
            except ValueError:
                raise FileFormatError(path, f"{f!r}: {value!r} is not a number", i) from None
        name = str(opts.pop("name", "") or f"{i:04d}-{_slug(text)}")
        if not re.fullmatch(r"[\w.-]+", name) or name.startswith("."):
            raise FileFormatError(path, f"name {name!r}: use letters, digits, '.', '-', '_'", i)
        if name in names:
            raise FileFormatError(path, f"name {name!r} already used on line {names[name]}", i)
        names[name] = i
        out.append(PromptLine(i, text, name, **opts))  # type: ignore[arg-type]
    if not out:
        raise FileFormatError(path, "no prompts")
    return out


def _slug(text: str, words: int = 6) -> str:
    parts = re.findall(r"[a-z0-9]+", text.lower())[:words]
    return "-".join(parts)[:48] or "prompt"


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
