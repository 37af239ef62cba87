"""Linear blend skinning as pure tensor functions (no model state).

Glossary: ``T_world_joint`` ``(..., J, 4, 4)`` maps a joint's rest-space
vertex to the posed world; ``weights`` ``(V, J)`` rows sum to one.
"""

from __future__ import annotations

import torch


def rigid_transforms(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Stack rotations ``(..., 3, 3)`` and translations ``(..., 3)`` into ``(..., 4, 4)``."""
    top = torch.cat([R, t.unsqueeze(-1)], dim=-1)
    bottom = torch.zeros(top.shape[:-2] + (1, 4), dtype=R.dtype, device=R.device)
    bottom[..., 0, 3] = 1.0
    return torch.cat([top, bottom], dim=-2)


def skinning_transforms(
    R_world: torch.Tensor,
    joints_posed: torch.Tensor,
    joints_rest: torch.Tensor,
    R_rest_to_canonical: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-joint skinning transforms for posed joints.

    A rest vertex ``v`` bound to joint ``j`` goes to
    ``p_j + R_world_j @ C_j @ (v - r_j)`` where ``r_j`` is the joint's rest
    position and ``C_j`` rotates the mesh's rest pose into the skeleton's
    rest (T-)pose (identity when they agree).

    Args:
        R_world: ``(..., J, 3, 3)`` posed joint-to-world rotations.
        joints_posed: ``(..., J, 3)`` posed joint positions, metres.
        joints_rest: ``(J, 3)`` joint positions in the mesh's rest pose.
        R_rest_to_canonical: ``(J, 3, 3)`` the ``C_j`` above, or None.
    Returns:
        ``(A (..., J, 3, 3), b (..., J, 3))`` with ``v' = A_j v + b_j``.
    """
    A = R_world if R_rest_to_canonical is None else R_world @ R_rest_to_canonical
    b = joints_posed - (A @ joints_rest.to(A.dtype).unsqueeze(-1)).squeeze(-1)
    return A, b


def linear_blend_skinning(
    vertices_rest: torch.Tensor,
    weights: torch.Tensor,
    A: torch.Tensor,
    b: torch.Tensor,
) -> torch.Tensor:
    """Blend per-joint affine transforms.

    Args:
        vertices_rest: ``(V, 3)`` or ``(..., V, 3)`` rest vertices, metres.
        weights: ``(V, J)`` skinning weights (rows sum to 1).
        A: ``(..., J, 3, 3)`` linear parts; b: ``(..., J, 3)`` translations.
    Returns:
        ``(..., V, 3)`` posed vertices.
    """
    w = weights.to(A.dtype)
    # Blend the 3x4 matrices per vertex with one matmul: (..., V, 12)
    M = torch.cat([A, b.unsqueeze(-1)], dim=-1).flatten(-2)
    M_v = (w @ M).unflatten(-1, (3, 4))
    v = vertices_rest.to(A.dtype)
    return (M_v[..., :3] * v.unsqueeze(-2)).sum(-1) + M_v[..., 3]
