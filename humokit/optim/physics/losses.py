"""Differentiable ground-contact loss terms for fitting (recovery from video, priors' training).

All terms are means of squared distances in metres^2 (weight them yourself);
they are zero for a motion whose contacting feet rest still on the ground,
with no joint below it. ``contacts`` may be bool or soft weights in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.skeleton import FOOT_JOINTS
from humokit.optim.physics._body import JOINT_RADII, check_joints, sole_heights


def contact_losses(
    joints: torch.Tensor,
    contacts: torch.Tensor | np.ndarray,
    *,
    ground: float = 0.0,
    sole: np.ndarray | torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Ground-contact losses of joint positions.

    Args:
        joints: ``(T, 22, 3)`` or ``(B, T, 22, 3)`` joint positions, metres, Y up.
        contacts: ``(T, 4)`` / ``(B, T, 4)`` foot contacts (l_heel, l_toe,
            r_heel, r_toe), bool or float weights.
        ground: ground plane height, metres.
        sole: ``(4,)`` sole heights of the foot joints (default canonical).
    Returns:
        dict of scalar tensors:
        ``"skate"``: squared horizontal displacement of a foot joint between
        consecutive frames, weighted by contact in both;
        ``"contact_height"``: squared height of contacting soles above/below the ground;
        ``"penetration"``: squared depth of any joint surface below the ground;
        ``"smooth"``: squared second difference of joint positions (per frame).
    """
    if not isinstance(joints, torch.Tensor):
        raise InputError("contact_losses: joints must be a torch tensor (for gradients)")
    J = joints if joints.ndim == 4 else joints.unsqueeze(0)
    if J.ndim != 4:
        raise InputError(f"contact_losses: expected (T, 22, 3) or (B, T, 22, 3) joints, got {tuple(joints.shape)}")
    check_joints(J.reshape(-1, *J.shape[-2:]).detach(), "contact_losses")
    c = torch.as_tensor(np.asarray(contacts) if not isinstance(contacts, torch.Tensor) else contacts)
    c = c.to(dtype=J.dtype, device=J.device)
    c = c if c.ndim == 3 else c.unsqueeze(0)
    if c.shape != (J.shape[0], J.shape[1], 4):
        raise InputError(f"contact_losses: contacts must have shape {(J.shape[0], J.shape[1], 4)} or without batch, got {tuple(c.shape)}")
    s = torch.as_tensor(sole_heights() if sole is None else sole, dtype=J.dtype, device=J.device)
    feet = J[..., list(FOOT_JOINTS), :]  # (B, T, 4, 3)
    h = feet[..., 1] - s - ground
    zero = J.sum() * 0.0
    if J.shape[1] > 1:
        w = c[:, 1:] * c[:, :-1]
        d = (feet[:, 1:] - feet[:, :-1])[..., [0, 2]].pow(2).sum(-1)
        skate = (w * d).sum() / w.sum().clamp_min(1.0)
    else:
        skate = zero
    height = (c * h.pow(2)).sum() / c.sum().clamp_min(1.0)
    radii = torch.as_tensor(JOINT_RADII, dtype=J.dtype, device=J.device).clone()
    radii[list(FOOT_JOINTS)] = s
    below = torch.relu(ground - (J[..., 1] - radii))
    penetration = below.pow(2).mean()
    smooth = (J[:, 2:] - 2 * J[:, 1:-1] + J[:, :-2]).pow(2).sum(-1).mean() if J.shape[1] > 2 else zero
    return {"skate": skate, "contact_height": height, "penetration": penetration, "smooth": smooth}
