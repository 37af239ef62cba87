"""``export_motion``: one entry point writing a motion as BVH, GLB, FBX or AMASS npz.

Formats:

- ``"bvh"``: the rig (canonical / Anny / Mixamo / Rigify / UE5 bone names)
  with ZXY Euler channels (degrees), root position channels,
  ``Frame Time = 1 / fps``; lengths in metres by default, the unit Blender's
  BVH importer assumes at its default scale 1.0 (``bvh_unit="cm"`` for
  MotionBuilder/Maya-style centimetres). Written with
  :func:`humokit.motion.bvh.save_bvh`. Without a body the rig has the motion's
  skeleton; ``rig="anny"`` (or ``body=...``) uses the body's T-posed skeleton.
- ``"glb"``: the body mesh (default Anny) skinned to the rig plus the
  animation (:mod:`humokit.export.gltf`); the Anny mesh carries its uv layout
  and a ``skin`` material (optionally with an embedded base-colour texture).
- ``"fbx"``: the GLB converted by Blender's FBX exporter in a headless
  subprocess (needs ``bpy``: ``pip install 'humokit[blender]'``).
- ``"npz"`` / ``"amass"``: AMASS/SMPL parameters only (:mod:`humokit.export.amass`).

``fps`` resamples the motion first; ``scale`` multiplies every length of the
written rig, trajectory and mesh (e.g. 100 for centimetre scenes).

All outputs are written atomically: a failed export leaves nothing behind.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

import numpy as np

from humokit._io import atomic_path
from humokit.errors import InputError
from humokit.export.rigged import prepare_export, scale_export
from humokit.export.rigs import RIGS, RigName
from humokit.motion.motion import Motion

Format = Literal["bvh", "glb", "fbx", "npz", "amass"]
FORMATS: dict[str, str] = {"bvh": ".bvh", "glb": ".glb", "fbx": ".fbx", "npz": ".npz", "amass": ".npz"}
BODIES = ("anny", "smpl", "smplh", "smplx")


def resolve_format(path: str | Path, format: str | None) -> str:
    """Canonical format name from ``format`` or, when None, the path's suffix."""
    path = Path(path)
    if format is None:
        by_suffix = {".bvh": "bvh", ".glb": "glb", ".fbx": "fbx", ".npz": "npz"}
        fmt = by_suffix.get(path.suffix.lower())
        if fmt is None:
            raise InputError(f"{path}: cannot tell the format from {path.suffix or 'no suffix'!r}; use bvh, glb, fbx or npz")
        return fmt
    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {format!r}: choose bvh, glb, fbx or npz (amass)")
    if path.suffix.lower() != FORMATS[fmt]:
        raise InputError(f"{path}: a {fmt} file must end in {FORMATS[fmt]}")
    return "npz" if fmt == "amass" else fmt


def export_motion(
    motion: Motion,
    path: str | Path,
    *,
    format: Format | None = None,
    body: str | object | None = None,
    rig: RigName = "canonical",
    shape: object | None = None,
    colors: bool | np.ndarray | None = None,
    mixamo_prefix: bool = True,
    bvh_unit: Literal["cm", "m"] = "m",
    fps: float | None = None,
    scale: float = 1.0,
    texture: str | Path | None = None,
) -> Path:
    """Write ``motion`` to ``path`` for animation tools and game engines.

    Args:
        motion: canonical motion (humokit world: Y up, +Z forward, metres).
        path: output file; its suffix must match the format.
        format: ``"bvh"``, ``"glb"``, ``"fbx"``, ``"npz"``/``"amass"``; None = from the suffix.
        body: body model name (``"anny"``, ``"smpl"``, ``"smplh"``, ``"smplx"``) or a
            ``BodyModel``. GLB/FBX default to ``"anny"``; BVH uses the motion's
            own skeleton unless a body is given (or ``rig="anny"``).
        rig: bone names: ``"canonical"`` (humokit joint names), ``"anny"``
            (Anny bone names, Anny T-posed skeleton), ``"mixamo"``,
            ``"rigify"`` (Rigify deform bones) or ``"ue5"`` (Unreal Manny/Quinn).
        shape: body shape (Anny phenotype dict or SMPL betas); None = default.
        colors: GLB/FBX vertex colours: True = one colour per body part, or ``(V, 3|4)`` in [0, 1].
        mixamo_prefix: name Mixamo bones ``mixamorig:Hips`` rather than ``Hips``.
        bvh_unit: BVH length unit: ``"m"`` (Blender's importer default) or ``"cm"``.
        fps: resample to this frame rate first; None keeps the motion's.
        scale: factor on every written length (after ``bvh_unit``'s).
        texture: GLB/FBX: PNG or JPEG embedded as the body's base colour.
    Returns:
        The written path.
    """
    path = Path(path)
    fmt = resolve_format(path, format)
    if rig not in RIGS:
        raise InputError(f"unknown rig {rig!r}: choose {', '.join(RIGS)}")
    if isinstance(body, str) and body not in BODIES:
        raise InputError(f"unknown body {body!r}: choose {', '.join(BODIES)}")
    if not isinstance(motion, Motion):
        raise InputError(f"export: expected a Motion, got {type(motion).__name__}")
    check_export_options(fmt, bvh_unit=bvh_unit, fps=fps, scale=scale, texture=texture)
    if fps is not None and abs(float(fps) - motion.fps) > 1e-9:
        motion = motion.resample(float(fps))
    if fmt == "npz":
        if rig != "canonical":
            raise InputError(f"rig {rig!r} does not apply to AMASS npz (SMPL joint order); use bvh, glb or fbx")
        from humokit.export.amass import save_amass

        save_amass(motion, path)
        return path
    if fmt == "bvh":
        anim, _ = prepare_export(motion, body=body, rig=rig, shape=shape, mixamo_prefix=mixamo_prefix)
        anim, _ = scale_export(anim, None, scale)
        from humokit.export.bvh import write_rig_bvh

        write_rig_bvh(path, anim, unit=bvh_unit)
        return path
    anim, mesh = prepare_export(
        motion, body=body, rig=rig, shape=shape, with_mesh=True, colors=colors, mixamo_prefix=mixamo_prefix
    )
    anim, mesh = scale_export(anim, mesh, scale)
    from humokit.export.gltf import write_glb

    if fmt == "glb":
        return write_glb(path, anim, mesh, texture=texture)
    # fbx: GLB in a scratch folder, converted by Blender into the atomic temporary.
    from humokit.export.blender import convert_to_fbx, has_blender

    if not has_blender():
        from humokit.errors import MissingDependencyError

        raise MissingDependencyError("FBX export needs Blender's Python module 'bpy' (Python 3.11, bpy==4.2.*)", "blender")
    with tempfile.TemporaryDirectory(prefix="humokit_fbx_") as scratch:
        glb = write_glb(Path(scratch) / f"{path.stem}.glb", anim, mesh, texture=texture)
        with atomic_path(path) as tmp:
            convert_to_fbx(glb, tmp, fps=anim.fps)
    return path


def check_export_options(
    fmt: str,
    *,
    bvh_unit: str = "m",
    fps: float | None = None,
    scale: float = 1.0,
    texture: str | Path | None = None,
) -> None:
    """Raise :class:`InputError` for an option value ``export_motion`` cannot honour (before any work)."""
    if bvh_unit not in ("cm", "m"):
        raise InputError(f"bvh unit must be cm or m, got {bvh_unit!r}")
    if fps is not None and not (np.isfinite(fps) and 0 < fps <= 1000):
        raise InputError(f"fps must be in (0, 1000], got {fps!r}")
    if not (np.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be a positive number, got {scale!r}")
    if fmt == "npz" and scale != 1.0:
        raise InputError("scale does not apply to AMASS npz (SMPL parameters are in metres)")
    if texture is not None:
        if fmt not in ("glb", "fbx"):
            raise InputError(f"a texture applies to glb or fbx, not {fmt}")
        tp = Path(texture)
        if not tp.is_file():
            raise InputError(f"{tp}: texture file not found")


def expected_joints(
    motion: Motion,
    *,
    format: Format = "glb",
    body: str | object | None = None,
    rig: str = "canonical",
    shape: object | None = None,
) -> tuple[tuple[str, ...], np.ndarray]:
    """Bone names and ``(T, 22, 3)`` world joint positions (metres) an export of ``motion`` holds.

    Useful to check a re-imported file: GLB/FBX use the body's skeleton, BVH
    the motion's skeleton unless ``body`` or ``rig="anny"`` says otherwise.
    """
    if body is None and str(format).lower() in ("glb", "fbx"):
        body = "anny"
    anim, _ = prepare_export(motion, body=body, rig=rig, shape=shape)
    return anim.rig.names, anim.joints()
