"""Importing any humanoid animation: a generated corpus of rig conventions, real datasets, errors."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
from click.testing import CliRunner

from humokit.cli import cli
from humokit.errors import InputError
from humokit.motion.automap import detect_unit, map_skeleton
from humokit.motion.joint_names import name_label
from humokit.motion.bvh import BvhClip, load_bvh, save_bvh
from humokit.motion.importer import import_motion, load_motion
from humokit.motion.retarget import RetargetMap, retarget
from humokit.motion.rotations import rotvec_to_rotmat
from rig_corpus import CONVENTIONS, build_rig, reference_joints, rich_motion  # tests/motion is on sys.path


@pytest.fixture(scope="module")
def motion():
    return rich_motion()


@pytest.fixture(scope="module")
def ref(motion):
    return reference_joints(motion)


def _err(imported, ref) -> float:
    assert imported.motion.num_frames == ref.shape[0]
    return float(np.linalg.norm(imported.motion.joints() - ref, axis=-1).mean())


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("extras,apose", [(False, False), (True, False), (True, True)], ids=["plain", "extras", "extras-apose"])
def test_corpus_bvh_imports_back(convention, extras, apose, motion, ref, tmp_path):
    rig = build_rig(motion, convention, extras=extras, apose=apose)
    path = rig.write(tmp_path / f"{convention}.bvh")
    res = import_motion(path)
    assert _err(res, ref) < 0.01, res.mapping.describe()
    m = res.mapping
    assert m.unit == "cm" and abs(m.height - 1.7) < 0.1
    if m.retarget_map.name == "auto":
        assert m.rest == ("A-pose" if apose else "T-pose")
        assert "registered" not in m.how.values()
    if extras:  # fingers and twist bones are never mapped
        used = m.retarget_map.source_joints
        assert not any("finger" in n or "twist" in n for n in used)


@pytest.mark.parametrize("convention", ["mixamo", "anonymous", "rigify"])
def test_corpus_glb_imports_back(convention, motion, ref, tmp_path):
    rig = build_rig(motion, convention, extras=True, apose=convention != "mixamo")
    res = import_motion(rig.write(tmp_path / f"{convention}.glb"))
    assert res.mapping.unit == "m"
    assert _err(res, ref) < 0.01


@pytest.mark.parametrize("convention", ["cmu_3dsmax", "anonymous"])
def test_corpus_inches_and_z_up(convention, motion, ref, tmp_path):
    rig = build_rig(motion, convention, extras=True)
    # Z-up world: rotate everything by +90 deg about X (y -> z)
    Rc = rotvec_to_rotmat(np.array([np.pi / 2, 0.0, 0.0]))
    rig.offsets = rig.offsets @ Rc.T
    rig.R = Rc @ rig.R @ Rc.T
    rig.root = rig.root @ Rc.T
    res = import_motion(rig.write(tmp_path / f"{convention}.bvh", unit="inch"))
    assert res.mapping.unit == "inch" and res.mapping.up == "+Z"
    assert _err(res, ref) < 0.01


def test_mixamo_names_map_without_the_registry(motion, ref, tmp_path):
    clip = load_bvh(build_rig(motion, "mixamo", extras=True).write(tmp_path / "mx.bvh"))
    mp = map_skeleton(clip, use_registry=False)
    assert mp.retarget_map.name == "auto"
    assert dict(mp.retarget_map.joints["left_collar"])["mixamorig:LeftShoulder"] == 1.0
    assert dict(mp.retarget_map.joints["left_shoulder"])["mixamorig:LeftArm"] == 1.0
    assert _err(import_motion(tmp_path / "mx.bvh", retarget_map=mp.retarget_map), ref) < 0.01


def test_name_parsing():
    assert name_label("mixamorig:LeftUpLeg").side == "left" and name_label("mixamorig:LeftUpLeg").strength("hip") == 2
    assert name_label("lThigh").side == "left" and name_label("lThigh").strength("hip") == 2
    assert name_label("DEF-shin.R").side == "right" and name_label("DEF-shin.R").strength("knee") == 2
    assert name_label("RHipJoint").strength("hip") == 1  # weaker than UpLeg/Thigh
    assert name_label("upperarm01.L").strength("shoulder") == 2
    assert name_label("l_forearm_twist").twist and name_label("LeftHandIndex1").finger
    assert name_label("HeadTop_End").marker
    assert name_label("Hips").strength("pelvis") and not name_label("LeftHip").strength("pelvis")


def test_units_from_height():
    assert detect_unit(170.0)[0] == "cm"
    assert detect_unit(1.7)[0] == "m"
    assert detect_unit(1700.0)[0] == "mm"
    assert detect_unit(67.0)[0] == "inch"
    assert detect_unit(1.7 / (0.0254 / 0.45))[0] == "cmu"
    assert detect_unit(100.0)[0] == "cm"  # a child in centimetres, not a 2.5 m giant in inches


def test_show_map_prints_a_usable_retarget_map(motion, ref, tmp_path):
    path = build_rig(motion, "anonymous", extras=True).write(tmp_path / "anon.bvh")
    out = CliRunner().invoke(cli, ["import", "--show-map", str(path)])
    assert out.exit_code == 0, out.output
    assert "left_knee" in out.output and "topology" in out.output and "skipped:" in out.output
    code = out.output[out.output.index("RetargetMap(") :]
    m = eval(code, {"RetargetMap": RetargetMap, "np": np})  # the printed map is valid Python
    assert isinstance(m, RetargetMap)
    back = retarget(load_bvh(path), m, fps=None)
    assert float(np.linalg.norm(back.joints() - ref, axis=-1).mean()) < 0.01


def test_import_cli_writes_npz(motion, tmp_path):
    path = build_rig(motion, "cmu_motionbuilder", extras=True).write(tmp_path / "cmu31.bvh")
    out = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "m.npz"), "--fps", "20"])
    assert out.exit_code == 0, out.output
    assert "units cm" in out.output and "map auto" in out.output
    m = load_motion(tmp_path / "m.npz")
    assert m.fps == 20.0 and m.num_frames == round(motion.num_frames * 20 / 30)


def _chain_bvh(path, names_parents_offsets):
    names = [n for n, _, _ in names_parents_offsets]
    parents = [p for _, p, _ in names_parents_offsets]
    off = np.array([o for _, _, o in names_parents_offsets], dtype=float)
    T, J = 5, len(names)
    R = np.broadcast_to(np.eye(3), (T, J, 3, 3)).copy()
    R[:, 1] = rotvec_to_rotmat(np.linspace(0, 0.5, T)[:, None] * np.array([[1.0, 0, 0]]))
    tr = np.broadcast_to(off, (T, J, 3)).copy()
    chans = tuple(("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation") if p < 0
                  else ("Zrotation", "Xrotation", "Yrotation") for p in parents)  # fmt: skip
    save_bvh(BvhClip(tuple(names), tuple(parents), off, chans, R, tr, 1 / 30, (False,) * J), path)
    return path


def test_non_humanoids_get_one_line_errors(tmp_path):
    chain = _chain_bvh(tmp_path / "snake.bvh", [(f"seg{i}", i - 1, [0.0, 0.0, 10.0 if i else 0.0]) for i in range(8)])
    spine = [("root", -1, [0, 60, 0]), ("spine", 0, [-40, 0, 0]), ("neck", 1, [-20, 10, 0]), ("head", 2, [-10, 5, 0])]
    legs = []
    for k, (x, z) in enumerate(((0, 15), (0, -15), (-40, 15), (-40, -15))):
        base = len(spine) + 3 * k
        parent = 0 if x == 0 else 1
        legs += [(f"leg{k}_a", parent, [0, -5, z]), (f"leg{k}_b", base, [0, -25, 0]), (f"leg{k}_c", base + 1, [0, -25, 0])]
    quad = _chain_bvh(tmp_path / "dog.bvh", spine + legs)
    runner = CliRunner()
    for path, words in ((chain, "found 1 limb chain"), (quad, "quadruped")):
        out = runner.invoke(cli, ["import", str(path), "-o", str(tmp_path / "x.npz")])
        assert out.exit_code == 2
        lines = out.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], out.output
        assert str(path) in lines[0]
    assert not (tmp_path / "x.npz").exists()


def test_residual_check_explains_itself(motion, tmp_path):
    path = build_rig(motion, "anonymous").write(tmp_path / "anon.bvh")
    good = map_skeleton(load_bvh(path)).retarget_map
    joints = dict(good.joints)
    joints["left_elbow"] = joints["right_wrist"]  # a broken map: the left elbow follows the right wrist
    bad = RetargetMap("broken", joints, good.scale, good.axes)
    with pytest.raises(InputError) as e:
        import_motion(path, retarget_map=bad)
    msg = str(e.value)
    assert "'broken'" in msg and "left_elbow" in msg and " cm (from j21)" in msg and "\n" not in msg


# ------------------------------------------------------------ real datasets
def _archive_members(name: str, members: tuple[str, ...]) -> dict[str, str]:
    from humokit._paths import shared_dir

    arch = shared_dir() / "data" / "motion" / name
    if not arch.exists():
        pytest.skip(f"{arch} not available")
    out: dict[str, str] = {}
    with tarfile.open(arch) as tar:
        for m in tar:
            base = m.name.rsplit("/", 1)[-1]
            if m.isfile() and base in members:
                out[base] = tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                if len(out) == len(members):
                    break
    return out


# features of clips retargeted by the code before automatic mapping (commit b029f89), except where noted:
# frames, mean, std, max |x|, mean of the first 4 feature columns
GOLDEN = {
    "dataset-1_walk-left_tired_001.bvh": ("bandai_namco", 91, 0.22481, 0.448333, 1.50506, [0.00099, 0.03237, 0.03489, 0.88034]),
    "dataset-1_bye_active_001.bvh": ("bandai_namco", 122, 0.22714, 0.475051, 1.90271, [-0.0005, -8e-05, 5e-05, 0.90934]),
    # 07_01 since its calibration blend frames are dropped and its tilted floor levelled (root 8 cm lower: it hovered)
    "07_01.bvh": ("cmu_daz", 51, 0.202235, 0.44356, 1.392547, [-0.00378, 0.02516, 0.05345, 0.76432]),
    "16_01.bvh": ("cmu_asf", 213, 0.194943, 0.469956, 1.78524, [-1e-05, 5e-05, -0.00024, 0.92459]),
}  # fmt: skip


@pytest.fixture(scope="module")
def shared_clips():
    bn = _archive_members("bandai-namco-motion.tar.xz", tuple(k for k in GOLDEN if k.startswith("dataset")))
    cmu = _archive_members("cmu-mocap-subset.tar.xz", tuple(k for k in GOLDEN if not k.startswith("dataset")))
    return {**bn, **cmu}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_shared_datasets_import_with_unchanged_features(name, shared_clips, tmp_path):
    from humokit.motion.features import joints_to_features

    mapname, frames, mean, std, amax, first4 = GOLDEN[name]
    res = import_motion(tmp_path / name, text=shared_clips[name], fps=20.0)
    assert res.motion.meta["retarget_map"] == mapname
    f = joints_to_features(res.motion.joints())
    assert f.shape == (frames, 263)
    np.testing.assert_allclose([f.mean(), f.std(), np.abs(f).max()], [mean, std, amax], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(f[:, :4].mean(0), first4, atol=2e-5)


@pytest.mark.parametrize("name", list(GOLDEN))
def test_shared_datasets_map_automatically_too(name, shared_clips, tmp_path):
    """Without the registry, names and topology find the same skeleton: same joints within a few cm."""
    clip = load_bvh(name, text=shared_clips[name])
    reg = retarget(clip, fps=20.0)
    auto = map_skeleton(clip, use_registry=False)
    back = retarget(clip, auto, fps=20.0)
    assert auto.unit == reg.meta["source_unit"]
    n = min(back.num_frames, reg.num_frames)
    d = np.linalg.norm(back.joints()[:n] - reg.joints()[:n], axis=-1)
    assert np.median(d) < 0.03


def test_amass_npz_imports_unchanged(motion, tmp_path):
    from humokit.export.amass import save_amass

    save_amass(motion, tmp_path / "amass.npz")
    res = import_motion(tmp_path / "amass.npz")
    assert res.mapping is None
    np.testing.assert_allclose(res.motion.joints(), motion.joints(), atol=1e-4)


# the real CMU skeleton (16_01, ASF names) renamed as other converters publish it
_CMU_STYLES = {
    "motionbuilder": {"hip": "Hips", "lowerback": "LowerBack", "upperback": "Spine", "thorax": "Spine1",
                      "lowerneck": "Neck", "upperneck": "Neck1", "head": "Head", "{s}hipjoint": "{S}HipJoint",
                      "{s}femur": "{Side}UpLeg", "{s}tibia": "{Side}Leg", "{s}foot": "{Side}Foot", "{s}toes": "{Side}ToeBase",
                      "{s}clavicle": "{Side}Shoulder", "{s}humerus": "{Side}Arm", "{s}radius": "{Side}ForeArm",
                      "{s}wrist": "{Side}Hand", "{s}hand": "{Side}FingerBase", "{s}fingers": "{Side}HandIndex1",
                      "{s}thumb": "{S}Thumb"},
    "3dsmax": {"hip": "Hips", "lowerback": "Chest", "upperback": "Chest2", "thorax": "Chest3", "lowerneck": "Neck",
               "upperneck": "Neck1", "head": "Head", "{s}hipjoint": "{Side}HipJoint", "{s}femur": "{Side}Hip",
               "{s}tibia": "{Side}Knee", "{s}foot": "{Side}Ankle", "{s}toes": "{Side}Toe", "{s}clavicle": "{Side}Collar",
               "{s}humerus": "{Side}Shoulder", "{s}radius": "{Side}Elbow", "{s}wrist": "{Side}Wrist",
               "{s}hand": "{Side}Palm", "{s}fingers": "{Side}Fingers", "{s}thumb": "{Side}Thumb"},
}  # fmt: skip


@pytest.mark.parametrize("style", list(_CMU_STYLES))
def test_real_cmu_in_other_converter_styles(style, shared_clips, tmp_path):
    """Real CMU motion under the MotionBuilder (LHipJoint/LeftUpLeg/...) and 3ds Max (LeftHip/LeftKnee/...) names:
    zero-length offset joints and all; imports like the registered ASF map does on the original."""
    orig = load_bvh("16_01.bvh", text=shared_clips["16_01.bvh"])
    table = {}
    for k, v in _CMU_STYLES[style].items():
        for s, S, Side in (("l", "L", "Left"), ("r", "R", "Right")):
            table[k.format(s=s)] = v.format(S=S, Side=Side)
    names = tuple(table.get(n, table.get(n[: -len("_End")], n[: -len("_End")]) + "_End" if n.endswith("_End") else table.get(n, n))
                  for n in orig.names)  # fmt: skip
    assert len(set(names)) == len(names)
    renamed = BvhClip(names, orig.parents, orig.offsets, orig.channels, orig.rotations, orig.translations,
                      orig.frame_time, orig.end_site)  # fmt: skip
    save_bvh(renamed, tmp_path / f"cmu_{style}.bvh")
    res = import_motion(tmp_path / f"cmu_{style}.bvh", fps=20.0)
    assert res.mapping.retarget_map.name == "auto" and res.mapping.unit == "cmu"
    from humokit.motion.retarget import CMU_ASF

    assert res.mapping.retarget_map.skip_frames == 0  # this clip has no calibration frame (the registered map drops one)
    reg = retarget(orig, RetargetMap("asf", CMU_ASF.joints, CMU_ASF.scale, CMU_ASF.axes), fps=20.0)
    d = np.linalg.norm(res.motion.joints() - reg.joints(), axis=-1)
    assert res.motion.num_frames == reg.num_frames and np.median(d) < 0.02


def test_rest_pose_lying_down_and_not_the_first_frame(motion, ref, tmp_path):
    """The zero-rotation pose lies along +Z (rotated root) while the motion stands along +Y."""
    rig = build_rig(motion, "anonymous", extras=True)
    rig.rest_pose({"j0": rotvec_to_rotmat(np.array([np.pi / 2, 0.0, 0.0]))})
    res = import_motion(rig.write(tmp_path / "lying.bvh"))
    assert res.mapping.up == "+Y" and "up axis from the motion" in res.mapping.summary()
    assert _err(res, ref) < 0.01


def test_commands_accept_any_importable_file(motion, tmp_path):
    """``export`` and ``metrics`` read a Rigify-named BVH through the same loader as ``import``."""
    src = build_rig(motion, "rigify", extras=True).write(tmp_path / "rig.bvh")
    runner = CliRunner()
    out = runner.invoke(cli, ["export", str(src), "-o", str(tmp_path / "amass.npz")])
    assert out.exit_code == 0, out.output
    ref = load_motion(src)
    np.testing.assert_allclose(load_motion(tmp_path / "amass.npz").rotations, ref.rotations, atol=1e-4)
    out = runner.invoke(cli, ["metrics", str(src), "--body", "none", "--json"])
    assert out.exit_code == 0, out.output


def test_gltf_text_with_embedded_buffer(motion, ref, tmp_path):
    import pygltflib

    glb = build_rig(motion, "anonymous", extras=True).write(tmp_path / "anon.glb")
    gl = pygltflib.GLTF2().load(str(glb))
    gl.convert_buffers(pygltflib.BufferFormat.DATAURI)
    gl.save(str(tmp_path / "anon.gltf"))
    assert _err(import_motion(tmp_path / "anon.gltf"), ref) < 0.01
    (tmp_path / "bad.glb").write_bytes(b"glTF\x02\x00\x00\x00garbage")
    with pytest.raises(InputError, match="bad.glb"):
        import_motion(tmp_path / "bad.glb")


def test_rig_without_toes_gets_a_toe_fixed_to_the_ankle(motion, ref, tmp_path):
    rig = build_rig(motion, "unreal", extras=True)
    rig.drop_leaf("ball_l").drop_leaf("ball_r")
    res = import_motion(rig.write(tmp_path / "no_toes.glb"))
    assert res.mapping.how["left_foot"] == res.mapping.how["right_foot"] == "attached"
    body = [k for k in range(22) if k not in (10, 11)]
    err = np.linalg.norm(res.motion.joints()[:, body] - ref[:, body], axis=-1)
    assert err.mean() < 0.01
    J = res.motion.joints()
    fwd = J[:, 10] - J[:, 7]
    assert np.all(fwd[:, 1] < 0)  # the synthesised toe is below the ankle ...
    d = ref[:, 10] - ref[:, 7]
    cos = (fwd * d).sum(-1) / np.linalg.norm(fwd, axis=-1) / np.linalg.norm(d, axis=-1)
    assert np.median(cos) > 0.8  # ... and points where the real toes did


def test_cmu_calibration_frames_and_tilted_floor(shared_clips, tmp_path):
    """cgspeed CMU takes start with a T-pose frame and 3-4 frames blending out of it, and subject 7's floor
    rises ~1 deg along the walk: both made the dataset's clips hover (lowest joint over the clip = floor)."""
    from humokit.motion.features import canonicalize
    from humokit.motion.retarget import calibration_blend_frames

    clip = load_bvh("07_01.bvh", text=shared_clips["07_01.bvh"])
    assert calibration_blend_frames(clip.slice(1)) == 3
    J = canonicalize(import_motion(tmp_path / "07_01.bvh", text=shared_clips["07_01.bvh"], fps=20.0).motion.joints())
    low = J[:, [7, 8, 10, 11], 1].min(axis=1)  # lowest foot joint per frame
    assert np.median(low) < 0.025 and np.percentile(low, 90) < 0.05
    start, end = low[: len(low) // 4], low[-len(low) // 4 :]
    assert abs(np.median(end) - np.median(start)) < 0.02  # level from one end of the walk to the other
    bn = load_bvh("dataset-1_bye_active_001.bvh", text=shared_clips["dataset-1_bye_active_001.bvh"])
    assert calibration_blend_frames(bn) == 0  # a take that starts at once keeps every frame


def _stepping_feet(T: int = 160, fps: float = 30.0) -> np.ndarray:
    """``(T, 22, 3)`` with only the feet set: heels and toes planted for 10 frames, swung 1.2 m in the next 10."""
    P = np.zeros((T, 22, 3))
    for heel, toe, x, phase in ((7, 10, 0.1, 0), (8, 11, -0.1, 10)):
        t = np.arange(T) + phase
        cycle, k = t // 20, t % 20
        swing = np.clip((k - 10) / 10.0, 0, 1)
        z = 1.2 * cycle + 1.2 * swing
        y = 0.05 * np.sin(np.pi * swing)
        P[:, heel] = np.stack([np.full(T, x), y, z], -1)
        P[:, toe] = P[:, heel] + [0.0, 0.0, 0.15]
    return P


def test_level_rotation_levels_small_tilts_only():
    from humokit.motion.retarget import level_rotation
    from humokit.motion.rotations import rotvec_to_rotmat

    P, sole = _stepping_feet(), np.zeros(4)
    assert np.allclose(level_rotation(P, 30.0, sole), np.eye(3))  # a level floor stays
    for deg, fixed in ((2.0, True), (-1.0, True), (9.0, False)):  # 9 deg is a ramp, not a capture error
        R = rotvec_to_rotmat(np.radians([deg, 0.0, 0.0]))
        L = level_rotation(P @ R.T, 30.0, sole)
        back = np.degrees(np.arccos(np.clip((np.trace(L @ R) - 1) / 2, -1, 1)))
        assert (back < 0.05) if fixed else np.allclose(L, np.eye(3)), (deg, back)
    R = rotvec_to_rotmat(np.radians([2.0, 0.0, 0.0]))
    assert np.allclose(level_rotation(P[:8] @ R.T, 30.0, sole), np.eye(3))  # feet spanning < 1 m: unclear
