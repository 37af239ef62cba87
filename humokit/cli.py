"""The ``humokit`` command line.

Conventions: ``--help`` on every command, ``-o/--output`` for outputs, quiet
logs unless ``-v``, one-line errors on bad input (exit status 2), progress
bars on long work. Sub-commands living in other subpackages are loaded
lazily so ``humokit --help`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import click

from humokit._limits import MAX_FRAMES
from humokit._options import PIXELS, SECONDS, parse_phenotype
from humokit.errors import HumokitError

# name -> (module, attribute) of commands defined elsewhere, imported on use.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("humokit.motion.cli_data", "data"),
    "import": ("humokit.motion.cli_import", "import_"),
    "render": ("humokit.render.cli", "render"),
    "export": ("humokit.export.cli", "export"),
    "view": ("humokit.viewer.cli", "view"),
    "generate": ("humokit.optim.physics.cli", "generate"),
    "train": ("humokit.cli", "train_group"),
    "recover": ("humokit.optim.cli", "recover"),
    "metrics": ("humokit.optim.physics.cli", "metrics"),
    "fix": ("humokit.optim.physics.cli", "fix"),
    "avatar": ("humokit.avatars.cli", "avatar"),
    "drive": ("humokit.video.cli", "drive"),
    "dataset": ("humokit.video.syncam.cli", "dataset"),
}
# One line per lazy command for ``humokit --help``, so listing them imports none of
# their modules (torch, anny, warp, mediapipe); tests/cli keeps it equal to each command's own.
LAZY_HELP: dict[str, str] = {
    "avatar": 'Animatable 3D Gaussian avatars: train from a video, render under any motion.',
    "data": 'Motion datasets.',
    "dataset": 'Build training datasets for video models.',
    "drive": 'Generate a video per view of INPUT (a `humokit render` folder, or a motion .npz rendered here).',
    "export": 'Export MOTION (.npz, or .bvh/.fbx/.glb/.gltf retargeted on import) for animation tools: BVH, glTF binary, FBX (Blender) or AMASS npz.',
    "fix": 'Remove ground penetration, floating and foot skating; store foot contacts.',
    "generate": 'Generate a motion from TEXT (or one per line of --prompts) with a shipped text-to-motion prior.',
    "import": 'Import FILE (.bvh, .fbx, .glb/.gltf, .npz: AMASS, SMPL-X, humokit) as a canonical motion.',
    "metrics": 'Penetrate/Float/Skate/Phys-Err (mm), jerk, CoM support and bone drift of a motion.',
    "recover": 'Recover the world-grounded 3D motion of one person (or every person) in VIDEO (or every video in a folder) (camera motion measured from the background and removed, gravity = -Y, metres).',
    "render": 'Render MOTION (.npz, or .bvh/.fbx/.glb/.gltf retargeted on import; or a folder of them) from N cameras into per-view signal videos and PNGs.',
    "train": 'Train a text-to-motion prior (vq, mask, res, diffusion, cvae, evaluator) or a multi-view video adapter (syncam).',
    "view": 'Open motions (.npz, .bvh, .fbx, .glb/.gltf), GLB scenes and Gaussian .ply files in a browser viewer.',
}


def describe_os_error(exc: OSError) -> str:
    """``<path>: <reason>`` for an OS error (``<reason>`` alone when it names no path)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    where = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else f"{exc.filename}"
    return f"{where}: {reason}"


class _TrainGroup(click.Group):
    """``humokit train vq|mask|res|diffusion|cvae|evaluator ...`` (priors) and ``humokit train syncam ...``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from humokit.priors.cli import KINDS

        return [*KINDS, "syncam"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "syncam":
            from humokit.video.syncam.cli import train_syncam

            return train_syncam
        from humokit.priors.cli import KINDS
        from humokit.priors.cli import train as prior_train

        if cmd_name not in KINDS:
            return None

        params = [p for p in prior_train.params if p.name != "kind"]

        def run(**kwargs: object) -> None:
            prior_train.callback(kind=cmd_name, **kwargs)  # type: ignore[misc]

        return click.Command(cmd_name, params=params, callback=run,
                             help=f"Train the {cmd_name} text-to-motion component "
                                  "(single process, or DDP under torchrun).")


train_group = _TrainGroup("train", help="Train a text-to-motion prior (vq, mask, res, diffusion, cvae, evaluator) "
                                        "or a multi-view video adapter (syncam).")


def _lazy_available(name: str) -> bool:
    module, _ = LAZY_COMMANDS[name]
    top, _, _ = module.rpartition(".")
    path = Path(__file__).parent.joinpath(*top.split(".")[1:], module.rsplit(".", 1)[1] + ".py")
    return path.is_file()


class HumokitGroup(click.Group):
    """Group that loads sub-commands lazily and turns HumokitError into one line + exit 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        lazy = [n for n in LAZY_COMMANDS if _lazy_available(n)]
        return sorted(set(super().list_commands(ctx)) | set(lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None or cmd_name not in LAZY_COMMANDS or not _lazy_available(cmd_name):
            return cmd
        module, attr = LAZY_COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, with lazy commands' one-liners from :data:`LAZY_HELP` (nothing imported)."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
                if cmd.hidden:
                    continue
                rows.append((name, cmd.get_short_help_str(formatter.width - 6 - len(name))))
            else:
                limit = formatter.width - 6 - len(name)
                stub = click.Command(name, help=LAZY_HELP.get(name, ""))
                rows.append((name, stub.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except HumokitError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except OSError as exc:  # not-a-directory, read-only file system, disk full, name too long, exists...
            click.echo(f"error: {describe_os_error(exc)}", err=True)
            ctx.exit(2)


@click.group(cls=HumokitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="humokit")
def cli(verbose: int) -> None:
    """humokit: human motion and avatars — generate, recover, animate, render, view, export."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
def info() -> None:
    """Versions, available body models and optional back-ends."""
    from humokit.info import collect_info

    for section, rows in collect_info().items():
        click.echo(f"{section}:")
        for k, v in rows.items():
            click.echo(f"  {k:<22} {v}")


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Mesh file to write: .ply, .obj or .glb.")
@click.option("--body", "body_name", default="anny", show_default=True,
              type=click.Choice(["anny", "smpl", "smplh", "smplx"]), help="Body model.")
@click.option("--body-model-path", type=click.Path(path_type=Path), default=None,
              help="SMPL-family model file or folder (default $HUMOKIT_SMPL_DIR).")
@click.option("--motion", "motion_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Pose the body with this motion (.npz/.bvh/.fbx/.glb; see --frame); default: rest T-pose.")
@click.option("--frame", default=0, show_default=True, type=click.IntRange(0, MAX_FRAMES), help="Frame of --motion to use.")
@click.option("--pose", type=click.Choice(["tpose", "apose", "stand"]), default="tpose", show_default=True,
              help="Built-in pose when no --motion is given.")
@click.option("--phenotype", multiple=True, metavar="KEY=VALUE",
              help="Anny shape, e.g. --phenotype height=0.8 --phenotype gender=0 (values in [0,1]).")
def body(output: Path, body_name: str, body_model_path: Path | None, motion_path: Path | None,
         frame: int, pose: str, phenotype: tuple[str, ...]) -> None:
    """Write a posed body mesh (.ply/.obj/.glb)."""
    from humokit.body import create_body
    from humokit.body.mesh_io import save_mesh
    from humokit.motion.builtin import builtin_pose
    from humokit.motion.importer import load_motion

    shape = parse_phenotype(phenotype) if phenotype else None
    if output.suffix.lower() not in (".ply", ".obj", ".glb"):
        raise HumokitError(f"{output}: unsupported mesh format {output.suffix!r}; use .ply, .obj or .glb")
    kwargs = {} if body_name == "anny" else {"model_path": body_model_path}
    bm = create_body(body_name, **kwargs)
    if motion_path is not None:
        m = load_motion(motion_path)
        if not 0 <= frame < m.num_frames:
            raise HumokitError(f"{motion_path}: frame {frame} out of range (0..{m.num_frames - 1})")
        m = m.slice(frame, frame + 1)
    else:
        m = builtin_pose(pose)
    out = bm.forward(m, shape=shape)
    save_mesh(output, out.vertices[0].detach().numpy(), out.faces.numpy())
    click.echo(f"wrote {output} ({out.vertices.shape[1]} vertices, {out.faces.shape[0]} faces)")


@cli.command()
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("demo_out"),
              show_default=True, help="Folder for the demo outputs.")
@click.option("--text", default=None, help='Prompt for the text-to-motion model [default: "a person walks forward"].')
@click.option("--model", default="mask", show_default=True, type=click.Choice(["mask", "diffusion", "cvae", "builtin"]),
              help="Shipped text-to-motion model, or the procedural built-in walk.")
@click.option("--seconds", default=4.0, show_default=True, type=SECONDS, help="Length of the motion.")
@click.option("--size", default=384, show_default=True, type=PIXELS, help="Preview video size in pixels.")
def demo(output: Path, text: str | None, model: str, seconds: float, size: int) -> None:
    """Generate a motion from text, animate the default body; write motion, meshes and a preview video."""
    from humokit.demo import run_demo

    paths = run_demo(output, text=text, seconds=seconds, size=size, model=model)
    for what, p in paths.items():
        click.echo(f"{what:<10} {p}")


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="humokit", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
