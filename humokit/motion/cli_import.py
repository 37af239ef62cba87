"""``humokit import``: any humanoid animation file -> canonical motion ``.npz``."""

from __future__ import annotations

from pathlib import Path

import click

from humokit._options import FPS
from humokit.errors import InputError

_UNITS = ("cm", "m", "mm", "inch", "cmu")


@click.command("import")
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Motion .npz to write.")
@click.option("--show-map", is_flag=True, help="Print the joint mapping chosen (and a RetargetMap to copy).")
@click.option("--fps", type=FPS, default=None, help="Output frame rate [default: the file's].")
@click.option("--map", "map_name", default=None, metavar="NAME", help="Use this registered retarget map.")
@click.option("--unit", type=click.Choice(_UNITS), default=None,
              help="Source length unit [default: detected from the skeleton's height].")
def import_(file: Path, output: Path | None, show_map: bool, fps: float | None, map_name: str | None,
            unit: str | None) -> None:
    """Import FILE (.bvh, .fbx, .glb/.gltf, .npz: AMASS, SMPL-X, humokit) as a canonical motion."""
    from humokit.motion.importer import import_motion, show_map as mapping_table

    if output is None and not show_map:
        raise InputError("humokit import: give -o/--output motion.npz, or --show-map")
    if output is not None and output.suffix.lower() != ".npz":
        raise InputError(f"{output}: the output must be a .npz motion")
    if not file.is_file():
        raise InputError(f"{file}: no such file")
    if show_map:
        if file.suffix.lower() == ".npz":
            click.echo(f"{file}: already a canonical motion (no joint mapping)")
        else:
            click.echo(mapping_table(file, retarget_map=map_name, unit=unit))
    if output is None:
        return
    res = import_motion(file, fps=fps, retarget_map=map_name, unit=unit)
    res.motion.save(str(output))
    click.echo(res.summary())
    click.echo(f"wrote {output}")
