"""A walker faces where they go: the body's heading on walking stretches, from its own path.

Seen from one camera, a body's turn about the vertical is the least constrained
part of its orientation (a few degrees of yaw barely move the image), while
its path on the ground is fixed by where it stands in the image. Over a gait
cycle a person walking forward faces the direction of travel (the pelvis
swings a few degrees either side of it). :func:`heading_correction` measures,
per frame, the angle between the pelvis's facing and the smoothed direction of
travel, averages it over about a second of walking, and returns the yaw that
removes it; :func:`turn_root` applies such a per-frame yaw about the pelvis.
Frames that are not a forward walk (slower than ``min_speed``, or facing more
than ``max_offset`` away from the travel: side steps, walking backwards,
standing, turning on the spot) get no correction, with a smooth fade.

On the val renders (two 100-frame walks of 7-8 m; the mocap's own offset
between facing and travel is 1-3 degrees) the fitted bodies faced 3-5 degrees off
their paths, which W-MPJPE's two-frame alignment swings along the whole path:
turning them took W-MPJPE from 583 / 478 mm to 451 / 389 (0.5 s averaging; 486 /
392 with 1 s), with the same reprojection error (2.8 / 3.7 px -> 2.9 / 3.9). On the
cluttered renders of the same walks it made them worse (525 / 772 -> 676 / 971 mm),
and on the test split's turning walk too, so :func:`~humokit.optim.recover.recover_track`
leaves it off by default (``heading=True`` turns it on). What dominates is not a
mean offset but the fitted pelvis's swing about the vertical over each gait cycle
(sd 10-11 deg against the mocap's 6; the shoulders swing less than the truth's):
the first two frames land on a random phase of that error.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from humokit.motion.motion import Motion


def facing(joints: np.ndarray) -> np.ndarray:
    """Pelvis facing angle about +Y (radians, 0 = +Z, pi/2 = +X) of joints ``(T, 22, 3)``, from the hips."""
    lr = joints[:, 1] - joints[:, 2]  # left hip - right hip
    return np.arctan2(-lr[:, 2], lr[:, 0])


def travel_direction(joints: np.ndarray, fps: float, *, smooth_s: float = 0.5, min_speed: float = 0.6,
                     max_offset_deg: float = 25.0) -> tuple[np.ndarray, np.ndarray]:
    """Direction of travel and forward-walking frames of world joints ``(T, 22, 3)`` (metres, Y up).

    Returns:
        ``(travel (T,), walking (T,))``: the smoothed pelvis path's direction (radians about +Y, as
        :func:`facing`) and a bool per frame: faster than ``min_speed`` m/s and facing within
        ``max_offset_deg`` of that direction (side steps, walking backwards, standing are not).
    """
    path = gaussian_filter1d(joints[:, 0, [0, 2]].astype(np.float64), smooth_s * fps, axis=0, mode="nearest")
    v = np.gradient(path, axis=0) * fps
    speed = np.linalg.norm(v, axis=1)
    travel = np.arctan2(v[:, 0], v[:, 1])
    offset = np.angle(np.exp(1j * (travel - facing(joints))))
    return travel, (speed > min_speed) & (np.abs(offset) < math.radians(max_offset_deg))


def heading_correction(joints: np.ndarray, fps: float, *, smooth_s: float = 0.5, average_s: float = 0.5,
                       min_speed: float = 0.6, max_offset_deg: float = 25.0) -> np.ndarray:
    """Per-frame yaw (radians, about +Y) that turns a walking body to face its direction of travel.

    Args:
        joints: ``(T, 22, 3)`` world joints, metres, Y up.
        smooth_s: Gaussian sigma (seconds) of the pelvis path before its direction is taken.
        average_s: Gaussian sigma (seconds) over which the facing offset is averaged: 0.5 s keeps about 98 % of
            the pelvis's own swing over a 1.1 s gait cycle (0.25 s would remove a third of it).
        min_speed: slower frames (m/s) are not walking.
        max_offset_deg: frames facing further than this from the travel are not a forward walk.
    Returns:
        ``(T,)`` radians; zero where the clip has less than a second of forward walking.
    """
    T = len(joints)
    if T < 3 or fps <= 0:
        return np.zeros(T)
    travel, walking = travel_direction(joints, fps, smooth_s=smooth_s, min_speed=min_speed,
                                       max_offset_deg=max_offset_deg)
    offset = np.angle(np.exp(1j * (travel - facing(joints))))
    if walking.sum() < fps:
        return np.zeros(T)
    w = walking.astype(np.float64)
    num = gaussian_filter1d(np.where(walking, offset, 0.0), average_s * fps, mode="nearest")
    den = gaussian_filter1d(w, average_s * fps, mode="nearest")
    mean = num / np.maximum(den, 1e-9)
    fade = np.clip((den - 0.2) / 0.3, 0.0, 1.0)  # full correction where most of the neighbourhood walks
    return mean * fade


def turn_root(motion: Motion, yaw: np.ndarray) -> Motion:
    """``motion`` with each frame's body turned by ``yaw`` ``(T,)`` radians about the vertical through the pelvis
    (root rotation pre-multiplied; root position, articulation and contacts unchanged)."""
    c, s = np.cos(yaw), np.sin(yaw)
    Ry = np.zeros((len(yaw), 3, 3), dtype=np.float64)
    Ry[:, 0, 0], Ry[:, 0, 2], Ry[:, 1, 1], Ry[:, 2, 0], Ry[:, 2, 2] = c, s, 1.0, -s, c
    rot = motion.rotations.copy()
    rot[:, 0] = (Ry @ rot[:, 0].astype(np.float64)).astype(rot.dtype)
    return motion.replace(rotations=rot)


def swing_loss(joints: torch.Tensor, fps: float, *, smooth_s: float = 0.25) -> torch.Tensor:
    """Mean squared angle (radians^2) between the pelvis facing of joints ``(n, 22, 3)`` (world, Y up) and its
    Gaussian-smoothed trajectory (``smooth_s`` seconds): the pelvis's fast swing about the vertical."""
    lr = joints[:, 1] - joints[:, 2]
    f = torch.stack([-lr[:, 2], lr[:, 0]], -1)
    f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    m = gaussian_filter1d(f.detach().cpu().numpy(), smooth_s * fps, axis=0, mode="nearest") if smooth_s > 0 else f.detach()
    m = torch.as_tensor(m, dtype=f.dtype, device=f.device)
    ang = torch.atan2(f[:, 0] * m[:, 1] - f[:, 1] * m[:, 0], (f * m).sum(-1))
    return ang.pow(2).mean()
