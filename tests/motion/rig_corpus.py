"""A generated corpus of rig conventions: one canonical motion written through humokit's own
writers (``save_bvh`` via the export rig, ``write_glb``) as other skeletons.

Edits keep every canonical joint's world position exactly, so an import must give
back the canonical joints: renaming, inserting joints on a bone (``LHipJoint``-style
offsets, in-chain twist segments with a constant twist), adding leaves (twist bones,
fingers) and changing the rest pose (A-pose: the arm offsets rotated down, the
animation compensated).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from humokit.motion.builtin import builtin_motion
from humokit.motion.motion import Motion
from humokit.motion.retarget import place_on_ground, performer_skeleton
from humokit.motion.rotations import rotvec_to_rotmat
from humokit.motion.skeleton import JOINT_NAMES, default_skeleton


def rich_motion(seconds: float = 1.5, fps: float = 30.0) -> Motion:
    """The built-in walk with the spine, neck, arms and wrists also bending (every joint articulates)."""
    m = builtin_motion("walk", seconds=seconds, fps=fps)
    t = np.arange(m.num_frames) / fps
    R = m.rotations.astype(np.float64).copy()
    rng = np.random.default_rng(3)
    for j in (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21):
        amp = rng.normal(size=3) * 0.25
        if j in (18, 19):  # elbows flex about the vertical axis in the T-pose
            amp = np.array([0.0, 0.7 if j == 18 else -0.7, 0.0])
        rv = amp[None] * (0.6 + 0.4 * np.sin(2 * np.pi * 0.9 * t + j)[:, None])
        R[:, j] = R[:, j] @ rotvec_to_rotmat(rv)
    return m.replace(rotations=R.astype(np.float32))


def reference_joints(motion: Motion) -> np.ndarray:
    """``(T, 22, 3)`` the motion's joints placed as retargeting places an import (facing +Z, on the ground)."""
    J = motion.joints().astype(np.float64)
    P, _ = place_on_ground(J, motion.fps, performer_skeleton(J))
    return P


@dataclass
class Rig:
    """A rig animated by local rotations: identity rotations = the rest pose given by ``offsets``."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (J, 3) metres
    R: np.ndarray  # (T, J, 3, 3)
    root: np.ndarray  # (T, 3)
    fps: float

    @classmethod
    def from_motion(cls, m: Motion) -> "Rig":
        sk = m.skeleton
        return cls(list(JOINT_NAMES), list(sk.parents), sk.offsets.copy(), m.rotations.astype(np.float64), m.root_position.astype(np.float64), m.fps)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def rename(self, table: dict[str, str]) -> "Rig":
        self.names = [table.get(n, n) for n in self.names]
        return self

    def insert(self, child: str, name: str, frac: float, twist_deg: float = 0.0) -> "Rig":
        """A joint on the bone into ``child`` at ``frac`` of its length, with a constant twist about the bone."""
        c = self.index(child)
        p = self.parents[c]
        off = self.offsets[c].copy()
        axis = off / max(np.linalg.norm(off), 1e-12)
        Q = rotvec_to_rotmat(axis * np.radians(twist_deg))
        order = list(range(c)) + [-1] + list(range(c, len(self.names)))
        new_index = {old: k for k, old in enumerate(order) if old >= 0}
        names, parents, offsets, Rs = [], [], [], []
        for old in order:
            if old < 0:
                names.append(name)
                parents.append(new_index[p] if p >= 0 else -1)
                offsets.append(frac * off)
                Rs.append(np.broadcast_to(Q, self.R[:, 0].shape))
            elif old == c:
                names.append(self.names[c])
                parents.append(new_index[c] - 1)
                offsets.append(Q.T @ ((1 - frac) * off))
                Rs.append(Q.T @ self.R[:, c])
            else:
                q = self.parents[old]
                names.append(self.names[old])
                parents.append(new_index[q] if q >= 0 else -1)
                offsets.append(self.offsets[old])
                Rs.append(self.R[:, old])
        self.names, self.parents, self.offsets, self.R = names, parents, np.array(offsets), np.stack(Rs, 1)
        return self

    def leaf(self, parent: str, name: str, offset: np.ndarray, wiggle: float = 0.3) -> "Rig":
        """A leaf joint (finger, twist bone) with its own animated rotation."""
        T = self.R.shape[0]
        t = np.arange(T)[:, None] / self.fps
        rv = wiggle * np.sin(2 * np.pi * 1.3 * t + len(self.names)) * np.array([[0.3, 0.2, 1.0]])
        self.names.append(name)
        self.parents.append(self.index(parent))
        self.offsets = np.concatenate([self.offsets, np.asarray(offset, float)[None]])
        self.R = np.concatenate([self.R, rotvec_to_rotmat(rv)[:, None]], axis=1)
        return self

    def rest_pose(self, rest_local: dict[str, np.ndarray]) -> "Rig":
        """Make the pose with these local rotations (others identity) the rest pose; world motion unchanged."""
        J = len(self.names)
        L = np.broadcast_to(np.eye(3), (J, 3, 3)).copy()
        for n, Rl in rest_local.items():
            L[self.index(n)] = Rl
        W = np.zeros((J, 3, 3))
        for j, p in enumerate(self.parents):
            W[j] = L[j] if p < 0 else W[p] @ L[j]
        off = self.offsets.copy()
        R = self.R.copy()
        for j, p in enumerate(self.parents):
            if p >= 0:
                off[j] = W[p] @ self.offsets[j]
                R[:, j] = W[p] @ self.R[:, j] @ W[j].T
            else:
                R[:, j] = self.R[:, j] @ W[j].T
        self.offsets, self.R = off, R
        return self

    @staticmethod
    def _bone_mesh(anim):  # -> humokit.export.SkinnedMesh
        from humokit.export.rigged import SkinnedMesh

        rest = anim.rig.rest_positions()
        J = rest.shape[0]
        tri = np.array([[0.01, 0.0, 0.0], [-0.01, 0.0, 0.0], [0.0, 0.01, 0.0]])
        verts = (rest[:, None] + tri[None]).reshape(-1, 3).astype(np.float32)
        faces = np.arange(3 * J).reshape(J, 3)
        idx = np.zeros((3 * J, 4), dtype=np.int64)
        idx[:, 0] = np.repeat(np.arange(J), 3)
        w = np.zeros((3 * J, 4), dtype=np.float32)
        w[:, 0] = 1.0
        return SkinnedMesh(verts, faces, idx, w)

    def drop_leaf(self, name: str) -> "Rig":
        """Remove a leaf joint (e.g. the toes of a rig that ends at the ankles)."""
        k = self.index(name)
        assert k not in self.parents
        keep = [j for j in range(len(self.names)) if j != k]
        self.names = [self.names[j] for j in keep]
        self.parents = [p - (p > k) for j, p in enumerate(self.parents) if j != k]
        self.offsets, self.R = self.offsets[keep], self.R[:, keep]
        return self

    def anonymise(self) -> "Rig":
        self.names = [f"j{k}" for k in range(len(self.names))]
        return self

    def export_rig(self):  # -> humokit.export.RiggedAnimation
        from humokit.export.rigged import RiggedAnimation
        from humokit.export.rigs import ExportRig

        return RiggedAnimation(ExportRig(tuple(self.names), tuple(self.parents), self.offsets), self.R, self.root, self.fps)

    def write(self, path: Path, *, unit: str = "cm", skinned: bool = False) -> Path:
        """BVH (``unit`` cm/m/inch) or GLB by suffix (``skinned``: with a small triangle on every bone), through humokit's writers."""
        from humokit.export.bvh import rig_to_bvh_clip, write_rig_bvh
        from humokit.export.gltf import write_glb
        from humokit.motion.bvh import BvhClip, save_bvh

        anim = self.export_rig()
        if path.suffix == ".glb":
            return write_glb(path, anim, self._bone_mesh(anim) if skinned else None)
        if unit == "inch":
            c = rig_to_bvh_clip(anim, unit="m")
            k = 1 / 0.0254
            c = BvhClip(c.names, c.parents, c.offsets * k, c.channels, c.rotations, c.translations * k, c.frame_time, c.end_site)
            save_bvh(c, path)
            return path
        return write_rig_bvh(path, anim, unit=unit)  # type: ignore[arg-type]


def _sided(table: dict[str, str], left: str, right: str) -> dict[str, str]:
    out = {}
    for k, v in table.items():
        if "{s}" in k:
            out[k.format(s="left")] = v.format(s=left)
            out[k.format(s="right")] = v.format(s=right)
        else:
            out[k] = v
    return out


NAMES: dict[str, dict[str, str]] = {
    "mixamo": _sided({"pelvis": "mixamorig:Hips", "spine1": "mixamorig:Spine", "spine2": "mixamorig:Spine1",
                      "spine3": "mixamorig:Spine2", "neck": "mixamorig:Neck", "head": "mixamorig:Head",
                      "{s}_hip": "mixamorig:{s}UpLeg", "{s}_knee": "mixamorig:{s}Leg", "{s}_ankle": "mixamorig:{s}Foot",
                      "{s}_foot": "mixamorig:{s}ToeBase", "{s}_collar": "mixamorig:{s}Shoulder",
                      "{s}_shoulder": "mixamorig:{s}Arm", "{s}_elbow": "mixamorig:{s}ForeArm",
                      "{s}_wrist": "mixamorig:{s}Hand"}, "Left", "Right"),
    "cmu_motionbuilder": _sided({"pelvis": "Hips", "spine1": "LowerBack", "spine2": "Spine", "spine3": "Spine1",
                                 "neck": "Neck", "head": "Head", "{s}_hip": "{s}UpLeg", "{s}_knee": "{s}Leg",
                                 "{s}_ankle": "{s}Foot", "{s}_foot": "{s}ToeBase", "{s}_collar": "{s}Shoulder",
                                 "{s}_shoulder": "{s}Arm", "{s}_elbow": "{s}ForeArm", "{s}_wrist": "{s}Hand"},
                                "Left", "Right"),
    "cmu_3dsmax": _sided({"pelvis": "Hips", "spine1": "Chest", "spine2": "Chest2", "spine3": "Chest3", "neck": "Neck",
                          "head": "Head", "{s}_hip": "{s}Hip", "{s}_knee": "{s}Knee", "{s}_ankle": "{s}Ankle",
                          "{s}_foot": "{s}Toe", "{s}_collar": "{s}Collar", "{s}_shoulder": "{s}Shoulder",
                          "{s}_elbow": "{s}Elbow", "{s}_wrist": "{s}Wrist"}, "Left", "Right"),
    "rigify": _sided({"pelvis": "DEF-spine", "spine1": "DEF-spine.001", "spine2": "DEF-spine.002",
                      "spine3": "DEF-spine.003", "neck": "DEF-spine.004", "head": "DEF-spine.006",
                      "{s}_hip": "DEF-thigh.{s}", "{s}_knee": "DEF-shin.{s}", "{s}_ankle": "DEF-foot.{s}",
                      "{s}_foot": "DEF-toe.{s}", "{s}_collar": "DEF-shoulder.{s}", "{s}_shoulder": "DEF-upper_arm.{s}",
                      "{s}_elbow": "DEF-forearm.{s}", "{s}_wrist": "DEF-hand.{s}"}, "L", "R"),
    "unreal": _sided({"pelvis": "pelvis", "spine1": "spine_01", "spine2": "spine_02", "spine3": "spine_03",
                      "neck": "neck_01", "head": "head", "{s}_hip": "thigh_{s}", "{s}_knee": "calf_{s}",
                      "{s}_ankle": "foot_{s}", "{s}_foot": "ball_{s}", "{s}_collar": "clavicle_{s}",
                      "{s}_shoulder": "upperarm_{s}", "{s}_elbow": "lowerarm_{s}", "{s}_wrist": "hand_{s}"}, "l", "r"),
    "anonymous": {n: n for n in JOINT_NAMES},
}  # fmt: skip
CONVENTIONS = tuple(NAMES)


def build_rig(motion: Motion, convention: str, *, extras: bool = False, apose: bool = False) -> Rig:
    """``motion`` as a rig of ``convention``, with its extra joints (offsets, twist, fingers) when ``extras``."""
    rig = Rig.from_motion(motion).rename(NAMES[convention])
    n = NAMES[convention]
    L, Rt = "left", "right"
    if convention == "cmu_motionbuilder":  # its structural joints are always there
        rig.insert(n["left_hip"], "LHipJoint", 0.0).insert(n["right_hip"], "RHipJoint", 0.0)
        rig.insert(n["head"], "Neck1", 0.5)
    if convention == "cmu_3dsmax":
        rig.insert(n["neck"], "Chest4", 0.3)
    if convention == "rigify":
        rig.insert(n["head"], "DEF-spine.005", 0.5)
    if extras:
        if convention == "rigify":
            for s, t in ((L, "L"), (Rt, "R")):
                for part, base in (("knee", "thigh"), ("ankle", "shin"), ("elbow", "upper_arm"), ("wrist", "forearm")):
                    rig.insert(n[f"{s}_{part}"], f"DEF-{base}.{t}.001", 0.5, twist_deg=25.0)
        elif convention == "anonymous":
            rig.insert(n["left_hip"], "hipjoint_l", 0.4).insert(n["right_hip"], "hipjoint_r", 0.4)
            rig.insert(n["head"], "neck2", 0.5)
        for s in (L, Rt):
            sk = default_skeleton()
            side = 1.0 if s == L else -1.0
            wrist, elbow = n[f"{s}_wrist"], n[f"{s}_elbow"]
            rig.leaf(n[f"{s}_shoulder"], f"{wrist}_upperarm_twist", 0.5 * sk.offsets[18 if s == L else 19])
            rig.leaf(elbow, f"{elbow}_forearm_twist", 0.5 * sk.offsets[20 if s == L else 21])
            for k, (dz, length) in enumerate(((0.03, 0.035), (0.0, 0.045), (-0.025, 0.04))):
                names = [f"{wrist}_finger{k}_{i}" for i in range(3)]
                rig.leaf(wrist, names[0], np.array([side * 0.09, 0.0, dz]))
                rig.leaf(names[0], names[1], np.array([side * length, 0.0, 0.0]))
                rig.leaf(names[1], names[2], np.array([side * length * 0.8, 0.0, 0.0]))
            thumb = "LThumb" if convention == "cmu_motionbuilder" and s == L else "RThumb" if convention == "cmu_motionbuilder" else f"{wrist}_thumb"
            rig.leaf(wrist, thumb, np.array([side * 0.03, -0.01, 0.04]))
    if apose:
        down = np.radians(45.0)
        rig.rest_pose({n["left_shoulder"]: rotvec_to_rotmat(np.array([0.0, 0.0, -down])),
                       n["right_shoulder"]: rotvec_to_rotmat(np.array([0.0, 0.0, down]))})  # fmt: skip
    if convention == "anonymous":
        rig.anonymise()
    return rig
