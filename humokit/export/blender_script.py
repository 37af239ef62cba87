"""Headless Blender (``bpy``) jobs, run in a subprocess by :mod:`humokit.export.blender`.

Usage: ``python blender_script.py JOB.json``; the JSON holds ``mode`` and its
arguments, the result is written as JSON to ``result`` (a path).

Modes:
- ``fbx``: import ``src`` (.glb or .bvh) into an empty factory scene at
  ``fps`` and export FBX to ``dst`` (baked animation, no leaf bones, no
  keyframe simplification).
- ``inspect``: import ``src`` (.fbx/.glb/.bvh) and report bone names, scene
  fps, frame range and per-frame bone head world positions converted back to
  humokit/glTF axes (Y up): Blender ``(x, y, z)`` -> ``(x, z, -y)``; meshes'
  vertex counts, uv layers, materials and images. BVH imports at Blender's
  default ``global_scale`` 1.0 unless the job gives ``bvh_scale``.
- ``render``: import ``src``, set ``frame``, add a camera in front of the
  body (+Z in humokit axes) and a light, render with Workbench to ``png``. A
  file without a mesh (BVH) gets a stick figure built from its bones.

This file imports only ``bpy``/``mathutils``/stdlib so it can run under
Blender's own Python too.
"""

from __future__ import annotations

import json
import math
import sys
import time


def _reset(fps: float | None) -> None:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    if fps:
        scene = bpy.context.scene
        fps_int = max(1, math.ceil(fps - 1e-9))
        scene.render.fps = fps_int
        scene.render.fps_base = fps_int / fps


def _import(src: str, bvh_scale: float = 1.0) -> None:
    """Import with Blender's own importer defaults (BVH: ``global_scale`` 1.0 unless given)."""
    import bpy

    low = src.lower()
    if low.endswith((".glb", ".gltf")):
        bpy.ops.import_scene.gltf(filepath=src, disable_bone_shape=True, merge_vertices=True)
    elif low.endswith(".fbx"):
        bpy.ops.import_scene.fbx(filepath=src, use_anim=True, ignore_leaf_bones=False)
    elif low.endswith(".bvh"):
        bpy.ops.import_anim.bvh(
            filepath=src, global_scale=bvh_scale, use_fps_scale=False, update_scene_fps=True,
            update_scene_duration=True, rotate_mode="NATIVE", axis_forward="-Z", axis_up="Y",
        )  # fmt: skip
    else:
        raise ValueError(f"cannot import {src}")


def _armature() -> object:
    import bpy

    arms = [o for o in bpy.context.scene.objects if o.type == "ARMATURE"]
    if not arms:
        raise RuntimeError("no armature in the imported file")
    return arms[0]


def _frame_range(arm: object) -> tuple[int, int]:
    import bpy

    ad = arm.animation_data  # type: ignore[attr-defined]
    if ad is not None and ad.action is not None:
        a, b = ad.action.frame_range
        return int(round(a)), int(round(b))
    s = bpy.context.scene
    return s.frame_start, s.frame_end


def _fit_frame_range() -> None:
    import bpy

    lo, hi = _frame_range(_armature())
    bpy.context.scene.frame_start, bpy.context.scene.frame_end = lo, hi


def job_fbx(job: dict) -> dict:
    import bpy

    t0 = time.perf_counter()
    _reset(job.get("fps"))
    _import(job["src"], job.get("bvh_scale", 1.0))
    _fit_frame_range()
    t1 = time.perf_counter()
    bpy.ops.export_scene.fbx(
        filepath=job["dst"], use_selection=False, object_types={"ARMATURE", "MESH"},
        add_leaf_bones=False, bake_anim=True, bake_anim_use_all_bones=True, bake_anim_use_nla_strips=False,
        bake_anim_use_all_actions=False, bake_anim_force_startend_keying=True, bake_anim_step=1.0,
        bake_anim_simplify_factor=0.0, use_armature_deform_only=False, path_mode="AUTO",
        axis_forward="-Z", axis_up="Y", apply_scale_options="FBX_SCALE_NONE", mesh_smooth_type="FACE",
    )  # fmt: skip
    lo, hi = _frame_range(_armature())
    return {"import_s": t1 - t0, "export_s": time.perf_counter() - t1, "frame_start": lo, "frame_end": hi}


def job_inspect(job: dict) -> dict:
    import bpy

    t0 = time.perf_counter()
    _reset(job.get("fps"))
    _import(job["src"], job.get("bvh_scale", 1.0))
    import_s = time.perf_counter() - t0
    arm = _armature()
    scene = bpy.context.scene
    lo, hi = _frame_range(arm)
    names = [b.name for b in arm.data.bones]  # type: ignore[attr-defined]
    positions = []
    for f in range(lo, hi + 1):
        scene.frame_set(f)
        M = arm.matrix_world  # type: ignore[attr-defined]
        row = []
        for pb in arm.pose.bones:  # type: ignore[attr-defined]
            h = M @ pb.head
            row.append([h.x, h.z, -h.y])
        positions.append(row)
    meshes = [o for o in scene.objects if o.type == "MESH"]
    return {
        "names": names,
        "pose_names": [pb.name for pb in arm.pose.bones],  # type: ignore[attr-defined]
        "fps": scene.render.fps / scene.render.fps_base,
        "frame_start": lo,
        "frame_end": hi,
        "positions": positions,
        "num_meshes": len(meshes),
        "num_vertices": sum(len(o.data.vertices) for o in meshes),
        "uv_layers": [len(o.data.uv_layers) for o in meshes],
        "materials": [[m.name for m in o.data.materials if m is not None] for o in meshes],
        "images": [im.name for im in bpy.data.images if im.source == "FILE" or im.packed_file is not None],
        "import_s": import_s,
    }


def _stick_figure(arm: object) -> None:
    """A mesh of boxes from each posed bone's head to its parent's head, plus end segments (armatures do not render)."""
    import bmesh
    import bpy
    from mathutils import Matrix, Vector

    bm = bmesh.new()
    M = arm.matrix_world  # type: ignore[attr-defined]
    segments = []
    for pb in arm.pose.bones:  # type: ignore[attr-defined]
        if pb.parent is not None:
            segments.append((M @ pb.parent.head, M @ pb.head))
        if not pb.children:
            segments.append((M @ pb.head, M @ pb.tail))
    for h, t in segments:
        d = t - h
        L = d.length
        if L < 1e-6:
            continue
        w = max(0.012, min(0.025, 0.08 * L))
        z = d.normalized()
        x = z.orthogonal().normalized()
        y = z.cross(x)
        R = Matrix((x, y, z)).transposed().to_4x4()
        mat = Matrix.Translation(h + d * 0.5) @ R @ Matrix.Diagonal(Vector((w, w, L * 0.5, 1.0)))
        bmesh.ops.create_cube(bm, size=2.0, matrix=mat)
        bmesh.ops.create_icosphere(bm, subdivisions=2, radius=0.03, matrix=Matrix.Translation(h))
    me = bpy.data.meshes.new("sticks")
    bm.to_mesh(me)
    bm.free()
    obj = bpy.data.objects.new("sticks", me)
    bpy.context.scene.collection.objects.link(obj)


def job_render(job: dict) -> dict:
    import bpy
    from mathutils import Vector

    t0 = time.perf_counter()
    _reset(job.get("fps"))
    _import(job["src"], job.get("bvh_scale", 1.0))
    _fit_frame_range()
    scene = bpy.context.scene
    arm = _armature()
    lo, _ = _frame_range(arm)
    scene.frame_set(lo + int(job.get("frame", 0)))
    meshes = [o for o in scene.objects if o.type == "MESH"]
    if not meshes:
        _stick_figure(arm)
        meshes = [o for o in scene.objects if o.type == "MESH"]
    dg = bpy.context.evaluated_depsgraph_get()
    pts = []
    for o in meshes:
        ev = o.evaluated_get(dg)
        me = ev.to_mesh()
        pts += [ev.matrix_world @ v.co for v in me.vertices]
        ev.to_mesh_clear()
    lo_v = Vector((min(p.x for p in pts), min(p.y for p in pts), min(p.z for p in pts)))
    hi_v = Vector((max(p.x for p in pts), max(p.y for p in pts), max(p.z for p in pts)))
    center = (lo_v + hi_v) * 0.5
    size = max((hi_v - lo_v).z, (hi_v - lo_v).x, 0.5)
    cam_data = bpy.data.cameras.new("cam")
    cam_data.lens = 50.0
    cam = bpy.data.objects.new("cam", cam_data)
    scene.collection.objects.link(cam)
    # humokit +Z (the body's front) is Blender -Y after the Y-up -> Z-up import.
    dist = size * 1.7
    cam.location = center + Vector((0.25 * dist, -dist, 0.15 * dist))
    cam.rotation_euler = (center - cam.location).to_track_quat("-Z", "Y").to_euler()
    scene.camera = cam
    light = bpy.data.objects.new("sun", bpy.data.lights.new("sun", type="SUN"))
    light.rotation_euler = (0.8, 0.2, 0.5)
    scene.collection.objects.link(light)
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = job.get("color_type", "MATERIAL")
    scene.render.resolution_x = int(job.get("width", 480))
    scene.render.resolution_y = int(job.get("height", 640))
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = job["png"]
    bpy.ops.render.render(write_still=True)
    return {"render_s": time.perf_counter() - t0, "num_meshes": len(meshes), "frame": scene.frame_current}


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as f:
        job = json.load(f)
    result = {"fbx": job_fbx, "inspect": job_inspect, "render": job_render}[job["mode"]](job)
    with open(job["result"], "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # bpy 4.2 as a module can crash while tearing down at interpreter exit
    # (segfault after the work is done): leave without running finalizers.
    import os

    os._exit(code)
