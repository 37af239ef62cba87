"""GLB export: Khronos validation, independent re-evaluation of the animation, skin data."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from humokit.export import (
    MIXAMO_JOINT_MAP,
    export_motion,
    has_gltf_validator,
    prepare_export,
    top4_weights,
    validate_gltf,
)
from humokit.motion.skeleton import JOINT_NAMES

from export_gltf_eval import GltfAnimation, read_accessor

pytestmark = pytest.mark.anny


@pytest.fixture(scope="module")
def glb(motion, anny_body, tmp_path_factory):
    path = tmp_path_factory.mktemp("glb") / "wiggle.glb"
    export_motion(motion, path, body=anny_body, colors=True)
    return path


def test_glb_joints_match_body_forward_every_frame(glb, motion, anny_body):
    ga = GltfAnimation(str(glb))
    times = ga.key_times()
    assert len(times) == motion.num_frames
    np.testing.assert_allclose(np.diff(times), 1.0 / motion.fps, atol=1e-6)
    assert ga.extras["fps"] == pytest.approx(motion.fps)
    nodes = [ga.names.index(n) for n in JOINT_NAMES]
    got = ga.node_positions(nodes, times)
    want = anny_body.forward(motion).joints.numpy()
    assert np.abs(got - want).max() < 1e-3  # metres: < 1 mm on every frame and joint


def test_glb_interpolates_between_keys(glb, motion):
    """Mid-frame samples lie between neighbouring key poses (slerp/lerp, no hemisphere flips)."""
    ga = GltfAnimation(str(glb))
    t = ga.key_times()
    nodes = [ga.names.index(n) for n in JOINT_NAMES]
    a, mid, b = (ga.node_positions(nodes, np.array([x]))[0] for x in (t[3], 0.5 * (t[3] + t[4]), t[4]))
    assert np.linalg.norm(mid - 0.5 * (a + b), axis=1).max() < 0.01


def test_glb_skinned_mesh_follows_body(glb, motion, anny_body):
    """T-pose-baked mesh with top-4 weights reproduces the body's own LBS closely."""
    from humokit.export.gltf import split_uv_seams

    ga = GltfAnimation(str(glb))
    ref = anny_body.forward(motion).vertices.numpy()
    vertex_of, _, _ = split_uv_seams(anny_body.rest().faces.numpy(), anny_body.uv_layout()[1])
    for f in (0, motion.num_frames - 1):
        v = ga.skinned_vertices(float(ga.key_times()[f]))
        d = np.linalg.norm(v - ref[f][vertex_of], axis=1)
        assert v.shape == ref[f][vertex_of].shape
        assert np.median(d) < 1e-3 and d.mean() < 3e-3 and d.max() < 0.06


def test_glb_skin_attributes(glb):
    ga = GltfAnimation(str(glb))
    gl = ga.gl
    prim = gl.meshes[0].primitives[0]
    W = read_accessor(gl, prim.attributes.WEIGHTS_0)
    Jx = read_accessor(gl, prim.attributes.JOINTS_0)
    assert gl.accessors[prim.attributes.JOINTS_0].componentType in (5121, 5123)  # unsigned byte/short
    assert W.shape[1] == 4 and np.abs(W.sum(1) - 1).max() < 1e-6
    assert Jx.max() < 22 and np.all(Jx[W == 0] == 0)
    assert prim.attributes.COLOR_0 is not None
    assert gl.animations[0].samplers[0].interpolation == "LINEAR"
    # joint rest rotations are identity (T-pose bind), so glTF local rotations are the canonical ones
    assert all(not n.rotation for n in gl.nodes[:22])


def test_glb_reimports_with_trimesh(glb, anny_body):
    scene = trimesh.load(str(glb))
    meshes = list(scene.geometry.values())
    assert len(meshes) == 1
    assert len(meshes[0].faces) == anny_body.rest().faces.shape[0]


@pytest.mark.skipif(not has_gltf_validator(), reason="Khronos validator missing: npm install -g gltf-validator")
def test_glb_passes_khronos_validator(glb):
    report = validate_gltf(glb)
    assert report.num_errors == 0, report.messages
    assert report.num_warnings == 0, report.messages


@pytest.mark.skipif(not has_gltf_validator(), reason="Khronos validator missing: npm install -g gltf-validator")
def test_mixamo_glb_names_and_validity(motion, anny_body, tmp_path):
    path = export_motion(motion[:3], tmp_path / "mixamo.glb", body=anny_body, rig="mixamo")
    ga = GltfAnimation(str(path))
    assert ga.names[:22] == ["mixamorig:" + MIXAMO_JOINT_MAP[j] for j in JOINT_NAMES]
    assert validate_gltf(path).num_errors == 0


def test_top4_weights_renormalise():
    w = np.array([[0.5, 0.2, 0.1, 0.1, 0.1], [1.0, 0, 0, 0, 0]])
    idx, top = top4_weights(w)
    assert idx[0].tolist() == [0, 1, 2, 3] and top[0].sum() == pytest.approx(1.0, abs=1e-7)
    np.testing.assert_allclose(top[0], np.array([0.5, 0.2, 0.1, 0.1]) / 0.9, atol=1e-6)
    assert top[1].tolist() == [1.0, 0, 0, 0] and idx[1].tolist() == [0, 0, 0, 0]


def test_tpose_mesh_binds_to_rig_rest(anny_body, motion):
    """The baked mesh sits on the T-pose rig: the rest pose of the GLB equals body.forward of a T-pose."""
    from humokit.motion.motion import Motion

    anim, mesh = prepare_export(motion, body=anny_body, with_mesh=True)
    rest = anny_body.rest()
    tpose = Motion.rest(1, skeleton=rest.skeleton).replace(root_position=rest.skeleton.offsets[0][None])
    ref = anny_body.forward(tpose, root_scale=1.0).vertices[0].numpy()
    assert np.abs(mesh.vertices - ref).max() < 1e-4
    np.testing.assert_allclose(anim.rig.rest_positions(), rest.skeleton.rest_positions())


def test_glb_with_smpl_body(motion, fake_smpl_dir, tmp_path):
    """Any BodyModel works: an SMPL-format body (generated file) exports with its own skeleton."""
    from humokit.body import create_body

    body = create_body("smpl", model_path=str(fake_smpl_dir))
    path = export_motion(motion[:4], tmp_path / "smpl.glb", body=body)
    ga = GltfAnimation(str(path))
    got = ga.node_positions([ga.names.index(n) for n in JOINT_NAMES], ga.key_times())
    assert np.abs(got - body.forward(motion[:4]).joints.numpy()).max() < 1e-3
    if has_gltf_validator():
        assert validate_gltf(path).num_errors == 0
