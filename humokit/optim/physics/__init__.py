"""Physics for humokit motions: plausibility metrics, kinematic projection, simulated humanoid.

- :func:`physics_metrics` -> :class:`PhysicsMetrics` (Penetrate/Float/Skate/Phys-Err in mm,
  jerk, CoM support, bone drift), on a Motion with a body mesh or on joint positions.
- :func:`detect_contacts` / :func:`compute_contacts` / :func:`with_contacts`: foot contact labels.
- :func:`project_joints` / :func:`project_motion` / :func:`project`: differentiable kinematic
  projection (ground, foot locking, leg IK) for post-processing and diffusion guidance.
- :func:`contact_losses`: differentiable loss terms for fitting.
- :func:`generate_physical`, :class:`FeatureProjector`, :func:`project_features`: the
  projection inside text-to-motion sampling (diffusion steps, masked-token re-encoding).
- :mod:`humokit.optim.physics.sim` (needs ``mujoco``): :func:`build_humanoid`,
  :func:`track_motion`, :func:`simulate_projection`.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module: loaded on first use, so `humokit generate`/`metrics`/`fix` check their options
# before torch loads (the subcommands live in this package's cli.py)
_EXPORTS = {
    "BodyGeometry": "_body", "body_geometry": "_body", "sole_heights": "_body",
    "compute_contacts": "contacts", "detect_contacts": "contacts", "with_contacts": "contacts",
    "FeatureProjector": "guidance", "feature_projector": "guidance", "generate_physical": "guidance",
    "project_features": "guidance",
    "contact_losses": "losses",
    "PhysicsMetrics": "metrics", "physics_metrics": "metrics",
    "ProjectionInfo": "projection", "project": "projection", "project_joints": "projection",
    "project_motion": "projection",
    "build_humanoid": "sim", "has_mujoco": "sim", "simulate_projection": "sim", "track_motion": "sim",
}  # fmt: skip
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"humokit.optim.physics.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'humokit.optim.physics' has no attribute {name!r}")
