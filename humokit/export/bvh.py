"""BVH export of a named rig, through :func:`humokit.motion.bvh.save_bvh`.

The rig keeps humokit's axes (Y up, +Z forward; Blender's BVH importer
default) and T-pose rest; every joint has ``Zrotation Xrotation Yrotation``
channels (intrinsic ZXY, ``R = Rz @ Rx @ Ry``, degrees), the root also
``Xposition Yposition Zposition`` (its world position, which replaces the
root OFFSET), ``Frame Time = 1 / fps``. Leaf joints get a short End Site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from humokit.export.rigged import RiggedAnimation
from humokit.motion.bvh import rig_to_bvh_clip as clip_from_rig
from humokit.motion.bvh import save_bvh


def rig_to_bvh_clip(anim: RiggedAnimation, *, unit: Literal["cm", "m"] = "m") -> object:
    """The rig animation (any number of joints) as a :class:`humokit.motion.bvh.BvhClip` (ZXY channels, ``unit`` lengths)."""
    return clip_from_rig(anim.rig.names, anim.rig.parents, anim.rig.offsets, anim.rotations, anim.root_position,
                         anim.fps, unit=unit)  # fmt: skip


def write_rig_bvh(path: str | Path, anim: RiggedAnimation, *, unit: Literal["cm", "m"] = "m") -> Path:
    """Write the rig animation as a BVH file (atomic)."""
    save_bvh(rig_to_bvh_clip(anim, unit=unit), path, precision=6)
    return Path(path)
