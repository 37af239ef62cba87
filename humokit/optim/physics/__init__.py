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

from humokit.optim.physics._body import BodyGeometry, body_geometry, sole_heights
from humokit.optim.physics.contacts import compute_contacts, detect_contacts, with_contacts
from humokit.optim.physics.guidance import FeatureProjector, feature_projector, generate_physical, project_features
from humokit.optim.physics.losses import contact_losses
from humokit.optim.physics.metrics import PhysicsMetrics, physics_metrics
from humokit.optim.physics.projection import ProjectionInfo, project, project_joints, project_motion
from humokit.optim.physics.sim import build_humanoid, has_mujoco, simulate_projection, track_motion

__all__ = [
    "BodyGeometry",
    "FeatureProjector",
    "PhysicsMetrics",
    "ProjectionInfo",
    "body_geometry",
    "build_humanoid",
    "compute_contacts",
    "contact_losses",
    "detect_contacts",
    "feature_projector",
    "generate_physical",
    "has_mujoco",
    "physics_metrics",
    "project",
    "project_features",
    "project_joints",
    "project_motion",
    "simulate_projection",
    "sole_heights",
    "track_motion",
    "with_contacts",
]
