"""``humokit export``: write a motion .npz as BVH, GLB, FBX or AMASS npz."""

from __future__ import annotations

import time
from pathlib import Path

import click

from humokit._options import FPS, FiniteFloat
from humokit.errors import InputError


@click.command("export")
@click.argument("motion_path", metavar="MOTION", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (.bvh, .glb, .fbx or .npz).")
@click.option("-f", "--format", "fmt", default=None, metavar="FORMAT",
              help="bvh, glb, fbx or npz (amass); default: from the output suffix.")
@click.option("--body", "body_name", default=None, metavar="BODY",
              help="Body model: anny (default for glb/fbx), smpl, smplh or smplx. BVH uses the motion's skeleton unless given.")
@click.option("--rig", default="canonical", show_default=True, metavar="RIG",
              help="Bone names: canonical, anny, mixamo, rigify (Blender Rigify DEF- bones) or ue5 "
                   "(Unreal Manny/Quinn).")
@click.option("--no-mixamo-prefix", is_flag=True, help="Name Mixamo bones 'Hips' instead of 'mixamorig:Hips'.")
@click.option("--colors", is_flag=True, help="GLB/FBX: colour the mesh by body part (vertex colours).")
@click.option("--bvh-unit", default="m", show_default=True, metavar="UNIT",
              help="BVH length unit: m (what Blender's BVH importer reads at its default scale 1.0) "
                   "or cm (MotionBuilder, Maya).")
@click.option("--fps", type=FPS, default=None, help="Resample to this frame rate [default: the motion's].")
@click.option("--scale", type=FiniteFloat(1e-6, 1e6), default=1.0, show_default=True,
              help="Multiply every written length (e.g. 100 for a centimetre scene).")
@click.option("--texture", type=click.Path(path_type=Path), default=None,
              help="GLB/FBX: PNG or JPEG embedded as the body's base colour (the mesh has UVs either way).")
@click.option("--phenotype", multiple=True, metavar="KEY=VALUE",
              help="Anny shape, e.g. --phenotype height=0.8 (values in [0,1]).")
def export(motion_path: Path, output: Path, fmt: str | None, body_name: str | None, rig: str,
           no_mixamo_prefix: bool, colors: bool, bvh_unit: str, fps: float | None, scale: float,
           texture: Path | None, phenotype: tuple[str, ...]) -> None:
    """Export MOTION (.npz, or .bvh/.fbx/.glb/.gltf retargeted on import) for animation tools: BVH, glTF binary, FBX (Blender) or AMASS npz.

    Lengths are metres (Blender, glTF, Unreal's FBX importer convert from there)
    unless --bvh-unit cm or --scale say otherwise.
    """
    from humokit.export.api import BODIES, check_export_options, export_motion, resolve_format
    from humokit.export.rigs import RIGS
    from humokit.motion.importer import load_motion

    fmt_name = resolve_format(output, fmt)
    if rig not in RIGS:
        raise InputError(f"unknown rig {rig!r}: choose {', '.join(RIGS)}")
    if body_name is not None and body_name not in BODIES:
        raise InputError(f"unknown body {body_name!r}: choose {', '.join(BODIES)}")
    check_export_options(fmt_name, bvh_unit=bvh_unit, fps=fps, scale=scale, texture=texture)
    shape = None
    if phenotype:
        from humokit._options import parse_phenotype

        shape = parse_phenotype(phenotype)
    motion = load_motion(motion_path)
    if fps is not None and abs(fps - motion.fps) > 1e-9:
        motion = motion.resample(fps)
    t0 = time.perf_counter()
    export_motion(
        motion, output, format=fmt_name, body=body_name, rig=rig, shape=shape,  # type: ignore[arg-type]
        colors=colors or None, mixamo_prefix=not no_mixamo_prefix, bvh_unit=bvh_unit,  # type: ignore[arg-type]
        scale=scale, texture=texture,
    )  # fmt: skip
    click.echo(f"wrote {output} ({fmt_name}, {motion.num_frames} frames at {motion.fps:g} fps, "
               f"{time.perf_counter() - t0:.1f} s)")
