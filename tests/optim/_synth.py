"""Synthetic keypoint tracks from known motions (shared by the optim tests and the benchmark)."""

from __future__ import annotations

import numpy as np
import torch

from humokit.motion.motion import Motion
from humokit.optim.keypoints import MEDIAPIPE_NAMES
from humokit.optim.fit import REFERENCE_STATURE
from humokit.optim.landmarks import marker_positions, marker_table
from humokit.optim.scale import stature
from humokit.optim.track import KeypointTrack
from humokit.render.camera import Camera, project


def synthetic_track(motion: Motion, camera: Camera, *, px_noise: float = 1.0, world_noise: float = 0.02,
                    seed: int = 0) -> KeypointTrack:
    """MediaPipe-like track: projected body markers (+ pixel noise) and hip-centred 3D markers (+ noise)."""
    J, Rw = motion.fk()
    cols, mj, moff, _ = marker_table(MEDIAPIPE_NAMES)
    moff = moff * stature(motion.skeleton) / REFERENCE_STATURE  # offsets grow with the body, as in the fit
    M = marker_positions(J, Rw, torch.as_tensor(mj), torch.as_tensor(moff, dtype=torch.float32)).numpy()
    rng = np.random.default_rng(seed)
    uv, _ = project(camera, M)
    T = len(M)
    Mc = M @ camera.R.T + camera.t
    names = [MEDIAPIPE_NAMES[c] for c in cols]
    hip = 0.5 * (Mc[:, names.index("left_hip")] + Mc[:, names.index("right_hip")])
    full_uv = np.full((T, 33, 2), np.nan)
    full_uv[:, cols] = uv + rng.normal(scale=px_noise, size=uv.shape)
    full_w = np.zeros((T, 33, 3))
    full_w[:, cols] = Mc - hip[:, None] + rng.normal(scale=world_noise, size=Mc.shape)
    conf = np.zeros((T, 33))
    conf[:, cols] = 1.0
    return KeypointTrack(MEDIAPIPE_NAMES, full_uv, conf, full_w, np.ones(T, bool), motion.fps,
                         camera.width, camera.height)
