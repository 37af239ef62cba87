"""``humokit generate``, ``humokit metrics`` and ``humokit fix``: physically plausible motion from text, measured
and repaired (``generate`` composes a text-to-motion prior of :mod:`humokit.priors` with the projection here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import click

from humokit._batch import BatchItem, batch_options, check_workers, run_batch
from humokit._cli_options import check_device, check_threads, device_option, threads_option
from humokit._options import GUIDANCE, SECONDS, SEED, STEPS, FiniteFloat
from humokit.errors import FileFormatError, HumokitError, InputError


def _load(path: Path) -> object:
    from humokit.motion.importer import load_motion

    m = load_motion(path)
    if m.num_frames == 0:
        raise HumokitError(f"{path}: the motion has no frames")
    return m


@click.command("metrics")
@click.argument("motion_path", metavar="MOTION.npz", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--body", type=click.Choice(["anny", "none"]), default="anny", show_default=True,
              help="Measure on this body's mesh (none: on the joints).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def metrics(motion_path: Path, body: str, as_json: bool) -> None:
    """Penetrate/Float/Skate/Phys-Err (mm), jerk, CoM support and bone drift of a motion."""
    from humokit.optim.physics.metrics import physics_metrics

    res = physics_metrics(_load(motion_path), None if body == "none" else body)  # type: ignore[arg-type]
    click.echo(res.to_json() if as_json else str(res))


@click.command("fix")
@click.argument("motion_path", metavar="MOTION.npz", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the fixed motion (.npz).")
@click.option("--physics", type=click.Choice(["kinematic", "sim"]), default="kinematic", show_default=True,
              help="kinematic: ground, foot locks, leg IK; sim: then track it in MuJoCo and keep the simulation "
                   "where tracking succeeds.")
@click.option("--body", type=click.Choice(["anny", "none"]), default="anny", show_default=True,
              help="Body whose mesh defines ground contact (none: joints and default sole heights).")
def fix(motion_path: Path, output: Path, physics: str, body: str) -> None:
    """Remove ground penetration, floating and foot skating; store foot contacts."""
    from humokit.optim.physics.metrics import physics_metrics
    from humokit.optim.physics.projection import project_motion

    if output.suffix.lower() != ".npz":
        raise HumokitError(f"{output}: the output must be an .npz file")
    motion = _load(motion_path)
    bm = None if body == "none" else body
    before = physics_metrics(motion, bm)  # type: ignore[arg-type]
    fixed, info = project_motion(motion, bm, return_info=True)  # type: ignore[arg-type,misc]
    for w in info.warnings:
        click.echo(f"warning: {w}", err=True)
    if physics == "sim":
        from humokit.optim.physics.sim import simulate_projection

        fixed, res = simulate_projection(fixed)
        click.echo(
            f"simulation: median residual {100 * res.median_force_fraction:.1f}% of body weight, "
            f"tracking error {1000 * res.mean_tracking_error:.0f} mm"
            + (f", fell at frame {res.fall_frame} (kinematic result kept from there)" if res.fell else "")
        )
    after = physics_metrics(fixed, bm)  # type: ignore[arg-type]
    from humokit._io import atomic_path

    with atomic_path(output) as tmp:
        fixed.save(str(tmp))
    click.echo(f"Phys-Err {before.phys_err:.1f} -> {after.phys_err:.1f} mm "
               f"(Penetrate {after.penetrate:.1f}, Float {after.float:.1f}, Skate {after.skate:.1f})")
    click.echo(f"wrote {output}")


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
    grounding: float | None = None,
    device: str | None = None,
) -> object:
    """What ``humokit generate`` runs (the viewer's Generate panel calls it too): checks, samples, projects.

    ``physics="kinematic"`` applies the physics projection inside and after
    sampling (:func:`humokit.optim.physics.guidance.generate_physical`),
    ``"none"`` returns the model's raw output. Returns a :class:`~humokit.motion.motion.Motion`.
    """
    from humokit.errors import InputError
    from humokit.priors.request import check_request

    if physics not in ("kinematic", "none"):
        raise InputError(f"generate: physics must be 'kinematic' or 'none', got {physics!r}")
    check_request(text, model, seconds, checkpoints=checkpoints, steps=steps, guidance=guidance,
                  keyframes=keyframes, edit_mask=edit_mask, seed=seed)
    kw = {"model": model, "seconds": seconds, "seed": seed, "keyframes": keyframes, "edit_mask": edit_mask,
          "checkpoints": checkpoints, "steps": steps, "guidance": guidance, "grounding": grounding,
          "device": device}  # fmt: skip
    if physics == "kinematic":
        # the CLI is glue: the physics projection lives in optim and reaches the sampler as a callable
        from humokit.optim.physics.guidance import generate_physical

        return generate_physical(text, **kw)
    from humokit.priors.sampling import generate as _generate

    return _generate(text, **kw)


@click.command()
@click.argument("text", required=False)
@click.option("--prompts", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Text file with one prompt per line, 'TEXT [| seed=N] [| seconds=S] [| name=NAME]' "
                   "('#' comments and blank lines skipped); -o is then a folder of NAME.npz "
                   "(default name: line number and the first words) plus manifest.jsonl.")
@click.option("--model", type=click.Choice(["mask", "diffusion", "cvae"]), default="mask", show_default=True,
              help="Model family.")
@click.option("--seconds", type=SECONDS, default=4.0, show_default=True, help="Length of the motion.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Motion .npz to write (canonical skeleton, 20 fps); a folder with --prompts.")
@click.option("--seed", type=SEED, default=None, help="Random seed (reproducible output).")
@click.option("--keyframes", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keyframes .npz (frames, joints (K,22,3)[, joint_mask]) or a motion .npz to edit.")
@click.option("--edit-mask", default=None, help="Part of the keyframes to regenerate: seconds ranges 'a:b,c:d', "
              "optionally '@joint+joint' (e.g. '1:2.5@left_wrist').")
@click.option("--checkpoints", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with vq/ mask/ res/ diffusion/ cvae/ checkpoints (default: the shipped ones).")
@click.option("--steps", type=STEPS, default=None, help="Sampling steps (mask: decoding iterations; diffusion: DDIM).")
@click.option("--guidance", type=GUIDANCE, default=None, help="Classifier-free guidance scale.")
@click.option("--physics", type=click.Choice(["kinematic", "none"]), default="kinematic", show_default=True,
              help="Kinematic physics projection inside and after sampling (feet held on the ground, no floating, "
              "no penetration); 'none' returns the model's raw output.")
@click.option("--grounding", type=FiniteFloat(0.0, 1.0), default=None,
              help="Share of the nearest training captions in the text condition (default: the model's; 0: the "
              "prompt alone).")
@click.option("--explain", is_flag=True, help="Print the training captions nearest to TEXT, with their similarity.")
@batch_options
@threads_option
@device_option
def generate(text: str | None, prompts: Path | None, model: str, seconds: float, output: Path, seed: int | None,
             keyframes: Path | None, edit_mask: str | None, checkpoints: Path | None, steps: int | None,
             guidance: float | None, physics: str, grounding: float | None, explain: bool, workers: int | None,
             ray_address: str | None, threads: int | None, device: str) -> None:  # fmt: skip
    """Generate a motion from TEXT (or one per line of --prompts) with a shipped text-to-motion prior."""
    if (text is None) == (prompts is None):
        raise InputError("give either TEXT or --prompts FILE")
    check_workers(workers)
    if prompts is not None:
        if explain:
            raise InputError("--explain takes a single TEXT, not --prompts")
        import torch

        torch.set_num_threads(min(torch.get_num_threads(), 4))
        kw = {"model": model, "seconds": seconds, "seed": seed, "keyframes": keyframes, "edit_mask": edit_mask,
              "checkpoints": checkpoints, "steps": steps, "guidance": guidance, "grounding": grounding}  # fmt: skip
        kw.update({k: kw[k].absolute() for k in ("keyframes", "checkpoints") if kw[k] is not None})
        items = []
        for ln in parse_prompts(prompts):
            line_kw = {**kw, "seed": seed if ln.seed is None else ln.seed,
                       "seconds": seconds if ln.seconds is None else ln.seconds}
            items.append(BatchItem(f"{prompts}:{ln.line}: {ln.text}", (str(output / f"{ln.name}.npz"),),
                                   (ln.text, line_kw, physics, f"{ln.name}.npz")))
        res = run_batch(_generate_item, items, output, workers=workers, ray_address=ray_address, desc="generate")
        click.echo(res.summary())
        click.get_current_context().exit(res.exit_code)
    from humokit.priors.request import check_request

    if output.suffix.lower() != ".npz":  # before any work: never write somewhere else than asked
        raise InputError(f"{output}: a generated motion is written as .npz; name the output like motion.npz")
    # every option is checked before torch or any model loads (a bad one fails in milliseconds)
    check_request(text, model, seconds, checkpoints=checkpoints, steps=steps, guidance=guidance,
                  keyframes=keyframes, edit_mask=edit_mask, seed=seed)
    if not output.parent.is_dir():
        raise InputError(f"{output.parent}: output folder does not exist")
    nthreads = check_threads(threads)
    check_device(device)
    from humokit._cli_options import apply_threads, resolve_device
    from humokit.priors.grounding import LOW_SIMILARITY
    from humokit.priors.sampling import explain as _explain
    from humokit.priors.sampling import load_generator

    apply_threads(nthreads)
    dev = resolve_device(device)
    if text.strip() and load_generator(model, str(checkpoints) if checkpoints else None).index is not None:
        g = _explain(text, model, checkpoints=checkpoints)
        if explain:
            click.echo(f"nearest training captions (best similarity {g.best:.2f}):")
            for nb in g.neighbours:
                click.echo(f"  {nb.similarity:.2f}  [{nb.content}]  {nb.caption}")
        if g.low:
            click.echo(f"warning: the prompt is far from every training caption (best similarity {g.best:.2f} < "
                       f"{LOW_SIMILARITY}); the motion may not follow it", err=True)  # fmt: skip
    elif explain:
        click.echo("no caption index beside these checkpoints: the prompt is used as it is")
    m = generate_motion(text, model=model, seconds=seconds, seed=seed, physics=physics, keyframes=keyframes,
                        edit_mask=edit_mask, checkpoints=checkpoints, steps=steps, guidance=guidance,
                        grounding=grounding, device=None if dev == "cpu" else dev)  # fmt: skip
    m.save(str(output))
    click.echo(f"wrote {output} ({m.num_frames} frames at {m.fps:g} fps, model {model}, physics {physics})")


def _generate_item(args: tuple[str, dict, str, str], staging: Path) -> str:
    """Batch task: one prompt into ``staging/<file name>`` (moved into place by the runner)."""
    text, kw, physics, filename = args
    m = generate_motion(text, **kw, physics=physics)
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
