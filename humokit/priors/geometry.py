"""Differentiable torch twin of :func:`humokit.motion.features.features_to_joints`.

Quaternions are wxyz (as in :mod:`humokit.motion.features`). Used by the
diffusion model's geometric losses and by evaluation code.
"""

from __future__ import annotations

import torch

from humokit.motion.features import FOOT_L, FOOT_R, RIC


def _qrot(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * torch.cross(u, v, dim=-1)
    return v + w * t + torch.cross(u, t, dim=-1)


def features_to_joints_torch(feats: torch.Tensor) -> torch.Tensor:
    """Un-normalised features ``(..., T, 263)`` -> joint positions ``(..., T, 22, 3)`` metres."""
    rot_vel = feats[..., 0]
    ang = torch.cat([torch.zeros_like(rot_vel[..., :1]), rot_vel[..., :-1]], dim=-1).cumsum(-1)
    zero = torch.zeros_like(ang)
    q_inv = torch.stack([torch.cos(ang), zero, -torch.sin(ang), zero], dim=-1)  # (..., T, 4)
    step = torch.stack([feats[..., :-1, 1], torch.zeros_like(feats[..., :-1, 1]), feats[..., :-1, 2]], dim=-1)
    step = torch.cat([torch.zeros_like(step[..., :1, :]), step], dim=-2)
    root = _qrot(q_inv, step).cumsum(-2)
    root = torch.stack([root[..., 0], feats[..., 3], root[..., 2]], dim=-1)
    ric = feats[..., RIC].unflatten(-1, (21, 3))
    ric = _qrot(q_inv.unsqueeze(-2).expand(ric.shape[:-1] + (4,)), ric)
    ric = ric + torch.stack([root[..., 0], torch.zeros_like(root[..., 0]), root[..., 2]], -1).unsqueeze(-2)
    return torch.cat([root.unsqueeze(-2), ric], dim=-2)


FOOT_JOINTS = (FOOT_L[0], FOOT_L[1], FOOT_R[0], FOOT_R[1])  # order of the contact features
