"""Detector landmarks <-> the canonical 22-joint body.

Two mappings, both by landmark **name** (MediaPipe's 33 names; COCO-17 names
are a subset, so COCO detectors work too):

1. **Markers** (:data:`MARKERS`, :func:`marker_positions`): each landmark is a
   point rigidly attached to one canonical joint, ``p = p_joint + R_world_joint
   @ (scale * offset)``, with ``offset`` in metres in the T-pose frame
   (humokit axes: Y up, +Z forward, left = +X). Offsets were measured once on
   the default Anny body (``render.keypoints.face_landmark_vertices`` for the
   face points). The heel and foot index are where MediaPipe puts them, which
   is not the mesh's heel and toe tip: fitted by least
   squares to MediaPipe's detections on the rendered val-split videos of
   ``benchmarks/recover.py`` (truth rotations from IK of the rendered joints):
   its foot index sits ~4 cm behind the toe tip and its heel ~2 cm higher
   and 3 cm further forward (with mesh-tip offsets the fitted feet pointed
   ~20 degrees off in heading). The same fit moved the joint-type landmarks
   (shoulders, elbows, wrists, hips, knees, ankles) by 1-3 cm, which did not
   improve the fitted joints, so they keep zero offset. The fitter projects these markers and compares them with
   the detections.

2. **Joints from 3D landmarks** (:func:`joints_from_landmarks`), for the IK
   warm start:

   ============================  ==============================================
   canonical joint               from
   ============================  ==============================================
   left/right_hip, knee, ankle   the same-named landmark
   left/right_shoulder, elbow,   the same-named landmark
   wrist
   pelvis                        mid-hip, moved along the torso axis by the
                                 skeleton's rest proportions
   spine1, spine2, spine3, neck  placed in a torso frame (origin mid-hip, up =
                                 mid-hip -> mid-shoulder, left = hip and
                                 shoulder lines) at their rest-pose coordinates,
                                 scaled by the observed torso length / width
   left/right_collar             same torso-frame placement
   head                          mid-ear moved 27 % of the way to the neck
                                 (Anny's head joint sits below the ear line);
                                 without ears: above the neck along the torso
   left/right_foot (toe base)    foot_index moved 6 cm back towards the heel;
                                 without them: ankle + rest foot offset in the
                                 torso frame
   ============================  ==============================================
"""

from __future__ import annotations

import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.skeleton import JOINT_NAMES, Skeleton

_J = {n: i for i, n in enumerate(JOINT_NAMES)}


def _mirror(table: dict[str, tuple[str, tuple[float, float, float], float]]) -> dict[str, tuple[str, tuple[float, float, float], float]]:
    out = dict(table)
    for name, (joint, off, w) in table.items():
        if "left" in name:
            out[name.replace("left", "right")] = (joint.replace("left", "right"), (-off[0], off[1], off[2]), w)
    return out


# name -> (joint, offset in the joint's T-pose frame (metres, default body), weight in the 2D fit)
MARKERS: dict[str, tuple[str, tuple[float, float, float], float]] = _mirror({
    "nose": ("head", (0.0, -0.035, 0.114), 1.0),
    "left_eye_inner": ("head", (0.012, 0.023, 0.112), 0.3),
    "left_eye": ("head", (0.025, 0.023, 0.115), 0.5),
    "left_eye_outer": ("head", (0.040, 0.023, 0.105), 0.3),
    "left_ear": ("head", (0.086, 0.035, 0.001), 0.7),
    "mouth_left": ("head", (0.025, -0.075, 0.100), 0.3),
    "left_shoulder": ("left_shoulder", (0.0, 0.0, 0.0), 1.0),
    "left_elbow": ("left_elbow", (0.0, 0.0, 0.0), 1.0),
    "left_wrist": ("left_wrist", (0.0, 0.0, 0.0), 1.0),
    "left_pinky": ("left_wrist", (0.085, -0.010, -0.030), 0.25),
    "left_index": ("left_wrist", (0.095, -0.005, 0.025), 0.25),
    "left_thumb": ("left_wrist", (0.055, -0.020, 0.050), 0.25),
    "left_hip": ("left_hip", (0.0, 0.0, 0.0), 1.0),
    "left_knee": ("left_knee", (0.0, 0.0, 0.0), 1.0),
    "left_ankle": ("left_ankle", (0.0, 0.0, 0.0), 1.0),
    "left_heel": ("left_ankle", (-0.012, -0.036, -0.025), 0.8),
    "left_foot_index": ("left_foot", (-0.019, -0.004, 0.023), 0.8),
})  # fmt: skip

# Rest heights of foot points above the sole of the default body (metres): ground contact targets.
ANKLE_HEIGHT = 0.080
TOE_HEIGHT = 0.025


def marker_table(names: tuple[str, ...] | list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Markers for the landmark names a detector emits.

    Returns:
        ``(columns (M,) int, joints (M,) int, offsets (M, 3) metres, weights (M,))``:
        column of each usable landmark in the detector's order, the joint it
        hangs from, its offset and its weight. Unknown names are skipped.
    """
    cols, joints, offs, ws = [], [], [], []
    for i, n in enumerate(names):
        if n in MARKERS:
            j, off, w = MARKERS[n]
            cols.append(i)
            joints.append(_J[j])
            offs.append(off)
            ws.append(w)
    if not cols:
        raise InputError(f"keypoints: none of the landmark names {list(names)[:5]}... match the body markers")
    return np.array(cols), np.array(joints), np.array(offs, dtype=np.float64), np.array(ws, dtype=np.float64)


def marker_positions(
    joints: torch.Tensor,
    R_world: torch.Tensor,
    marker_joints: torch.Tensor,
    marker_offsets: torch.Tensor,
) -> torch.Tensor:
    """World marker positions ``(..., M, 3)`` from posed joints.

    Args:
        joints: ``(..., 22, 3)`` world joint positions, metres.
        R_world: ``(..., 22, 3, 3)`` joint-to-world rotations (canonical frames).
        marker_joints: ``(M,)`` long; marker_offsets: ``(M, 3)`` metres (already scaled).
    """
    p = joints[..., marker_joints, :]
    R = R_world[..., marker_joints, :, :]
    return p + (R @ marker_offsets.to(R.dtype).unsqueeze(-1)).squeeze(-1)


def _get(P: np.ndarray, names: dict[str, int], n: str) -> np.ndarray | None:
    i = names.get(n)
    if i is None:
        return None
    v = P[..., i, :]
    return v if np.isfinite(v).all() else None


def joints_from_landmarks(points: np.ndarray, names: tuple[str, ...] | list[str], skeleton: Skeleton) -> np.ndarray:
    """Estimate the 22 canonical joints from named 3D landmarks (table in the module docstring).

    Args:
        points: ``(T, K, 3)`` landmark positions in any right-handed frame whose
            axes are humokit-like *or* camera-like; only relative geometry is used.
        names: landmark names, length K.
        skeleton: gives the rest proportions of the interpolated joints.
    Returns:
        ``(T, 22, 3)`` joint positions in the same frame and units.
    Raises:
        InputError: hips, shoulders, knees, ankles, elbows or wrists are missing.
    """
    P = np.asarray(points, dtype=np.float64)
    idx = {n: i for i, n in enumerate(names)}
    need = [f"{s}_{p}" for s in ("left", "right") for p in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")]
    missing = [n for n in need if n not in idx]
    if missing:
        raise InputError(f"keypoints: landmarks {missing} are needed to build the skeleton")
    T = P.shape[0]
    out = np.zeros((T, 22, 3))
    g = {n: P[:, idx[n]] for n in need}
    for n in need:
        out[:, _J[n]] = g[n]
    rest = skeleton.rest_positions()
    lhip, rhip, lsh, rsh = g["left_hip"], g["right_hip"], g["left_shoulder"], g["right_shoulder"]
    H = 0.5 * (lhip + rhip)
    S = 0.5 * (lsh + rsh)
    up = S - H
    torso_len = np.linalg.norm(up, axis=-1, keepdims=True).clip(1e-6)
    ey = up / torso_len
    across = (lsh - rsh) + (lhip - rhip)
    ex = across - (across * ey).sum(-1, keepdims=True) * ey
    ex = ex / np.linalg.norm(ex, axis=-1, keepdims=True).clip(1e-9)
    ez = np.cross(ex, ey)  # forward for left = +x, up = +y
    rH = 0.5 * (rest[_J["left_hip"]] + rest[_J["right_hip"]])
    rS = 0.5 * (rest[_J["left_shoulder"]] + rest[_J["right_shoulder"]])
    r_len = np.linalg.norm(rS - rH)
    r_width = abs(rest[_J["left_shoulder"], 0] - rest[_J["right_shoulder"], 0])
    width = np.linalg.norm(lsh - rsh, axis=-1, keepdims=True)
    sy = torso_len / r_len
    sx = width / max(r_width, 1e-6)

    def place(rel: np.ndarray) -> np.ndarray:
        return H + sx * rel[0] * ex + sy * rel[1] * ey + sy * rel[2] * ez

    for n in ("pelvis", "spine1", "spine2", "spine3", "neck", "left_collar", "right_collar"):
        out[:, _J[n]] = place(rest[_J[n]] - rH)
    ears = [_get(P, idx, "left_ear"), _get(P, idx, "right_ear")]
    neck = out[:, _J["neck"]]
    if ears[0] is not None and ears[1] is not None:
        E = 0.5 * (ears[0] + ears[1])
        out[:, _J["head"]] = E + 0.27 * (neck - E)
    else:
        out[:, _J["head"]] = place(rest[_J["head"]] - rH)
    for side in ("left", "right"):
        ank = out[:, _J[f"{side}_ankle"]]
        heel, toe = _get(P, idx, f"{side}_heel"), _get(P, idx, f"{side}_foot_index")
        if heel is not None and toe is not None:
            d = toe - heel
            d = d / np.linalg.norm(d, axis=-1, keepdims=True).clip(1e-9)
            out[:, _J[f"{side}_foot"]] = toe - 0.06 * sy * d
        else:
            rel = rest[_J[f"{side}_foot"]] - rest[_J[f"{side}_ankle"]]
            out[:, _J[f"{side}_foot"]] = ank + sx * rel[0] * ex + sy * rel[1] * ey + sy * rel[2] * ez
    return out
