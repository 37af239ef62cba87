"""Convert an FBX file to glTF binary with headless Blender: ``python _blender_fbx.py SRC.fbx DST.glb``.

Run in a subprocess by :func:`humokit.motion.fbx.fbx_to_glb` (``bpy`` changes
process state on import, so humokit never imports it in the caller's
process). Imports only ``bpy`` and the standard library.
"""

from __future__ import annotations

import os
import sys


def main(src: str, dst: str) -> int:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=src, use_anim=True, ignore_leaf_bones=False, automatic_bone_orientation=False)
    arms = [o for o in bpy.context.scene.objects if o.type == "ARMATURE"]
    if not arms:
        sys.stderr.write("error: no armature (skeleton) in the FBX file\n")
        return 3
    ad = arms[0].animation_data
    if ad is None or ad.action is None:
        sys.stderr.write("error: no animation in the FBX file\n")
        return 3
    lo, hi = ad.action.frame_range
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = int(round(lo)), int(round(hi))
    bpy.ops.export_scene.gltf(
        filepath=dst, export_format="GLB", export_animations=True, export_skins=True, export_yup=True,
        export_force_sampling=True, export_def_bones=False, export_optimize_animation_size=False,
        export_frame_range=True, export_apply=False, export_materials="NONE",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1], sys.argv[2])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # bpy 4.2 can crash while tearing down at interpreter exit
