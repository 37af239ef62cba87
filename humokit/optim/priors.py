"""Pose/motion priors and joint limits for fitting, and the hook for learned priors.

A prior is any callable ``prior(R_local (T, 22, 3, 3), root (T, 3), fps) ->
scalar tensor`` (smaller = more plausible), see :class:`MotionPrior`. The
fitter adds ``weight * prior(...)`` to its loss. :class:`GaussianPosePrior`
is the simple default (independent per-joint Gaussians on local axis-angle
around a relaxed standing pose). A learned motion model plugs in through
:class:`LearnedMotionPrior`, which wraps any object with
``log_prob(motion_features) -> (B,)`` (e.g. the text-to-motion CVAE of
:mod:`humokit.priors`) and a ``features(R_local, root, fps)`` function
turning the fitted window into that model's input; its negative
log-likelihood per frame becomes the loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import roma
import torch

from humokit.motion.skeleton import JOINT_NAMES

_J = {n: i for i, n in enumerate(JOINT_NAMES)}


class MotionPrior(Protocol):
    """``(R_local (T, 22, 3, 3), root (T, 3) metres, fps) -> scalar`` loss (lower = more plausible).

    ``rotvec`` ``(T, 22, 3)``: the axis-angle of ``R_local`` when the caller already has it (a prior that
    works on axis-angle uses it instead of converting again; others ignore it).
    """

    def __call__(self, R_local: torch.Tensor, root: torch.Tensor, fps: float, *,
                 rotvec: torch.Tensor | None = None) -> torch.Tensor: ...


def _default_mean_and_std() -> tuple[torch.Tensor, torch.Tensor]:
    """Relaxed standing pose (arms down, slight knee/elbow flex) and per-joint std (radians)."""
    mean = torch.zeros(22, 3)
    mean[_J["left_shoulder"]] = torch.tensor([0.0, 0.0, -1.1])
    mean[_J["right_shoulder"]] = torch.tensor([0.0, 0.0, 1.1])
    mean[_J["left_elbow"]] = torch.tensor([0.0, -0.3, 0.0])
    mean[_J["right_elbow"]] = torch.tensor([0.0, 0.3, 0.0])
    mean[_J["left_knee"]] = torch.tensor([0.2, 0.0, 0.0])
    mean[_J["right_knee"]] = torch.tensor([0.2, 0.0, 0.0])
    std = torch.full((22, 3), 0.8)
    for n in ("spine1", "spine2", "spine3"):
        std[_J[n]] = torch.tensor([0.35, 0.25, 0.2])
    for n in ("left_collar", "right_collar"):
        std[_J[n]] = torch.tensor([0.15, 0.2, 0.2])
    for n in ("neck", "head"):
        std[_J[n]] = torch.tensor([0.4, 0.5, 0.3])
    for n in ("left_knee", "right_knee"):
        std[_J[n]] = torch.tensor([1.2, 0.12, 0.12])
    for n in ("left_elbow", "right_elbow"):
        std[_J[n]] = torch.tensor([0.6, 1.2, 0.15])
    for n in ("left_ankle", "right_ankle"):
        std[_J[n]] = torch.tensor([0.5, 0.3, 0.25])
    for n in ("left_foot", "right_foot"):
        std[_J[n]] = torch.tensor([0.3, 0.1, 0.1])
    for n in ("left_wrist", "right_wrist"):
        std[_J[n]] = torch.tensor([0.6, 0.6, 0.6])
    std[_J["pelvis"]] = torch.tensor([1e3, 1e3, 1e3])  # global orientation: free
    return mean, std


class GaussianPosePrior:
    """Independent Gaussians on each joint's local axis-angle (root orientation excluded).

    Loss = mean over frames of ``sum_j ||(rotvec_j - mean_j) / std_j||^2 / 2``.
    """

    def __init__(self, mean: torch.Tensor | None = None, std: torch.Tensor | None = None) -> None:
        m, s = _default_mean_and_std()
        self.mean = m if mean is None else torch.as_tensor(mean, dtype=torch.float32)
        self.std = s if std is None else torch.as_tensor(std, dtype=torch.float32)

    def __call__(self, R_local: torch.Tensor, root: torch.Tensor, fps: float, *,
                 rotvec: torch.Tensor | None = None) -> torch.Tensor:
        rv = roma.rotmat_to_rotvec(R_local[:, 1:]) if rotvec is None else rotvec[:, 1:]
        z = (rv - self.mean[1:].to(rv)) / self.std[1:].to(rv)
        return 0.5 * (z**2).sum(dim=(-1, -2)).mean()


class LearnedMotionPrior:
    """Adapter: a learned model with ``log_prob`` becomes a fitting prior.

    Args:
        model: object with ``log_prob(x) -> (B,)`` log-density (nats), e.g. the
            motion CVAE.
        features: ``(R_local (T,22,3,3), root (T,3), fps) -> x`` building the
            model's input batch from the window being fitted (differentiable).
        frames_per_item: frames represented by one item of ``x`` (the loss is
            divided by it so weights are per frame).
    """

    def __init__(self, model: object, features: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor],
                 frames_per_item: int = 1) -> None:
        if not hasattr(model, "log_prob"):
            raise TypeError("LearnedMotionPrior: the model needs a log_prob method")
        self.model = model
        self.features = features
        self.frames_per_item = max(1, int(frames_per_item))

    def __call__(self, R_local: torch.Tensor, root: torch.Tensor, fps: float, *,
                 rotvec: torch.Tensor | None = None) -> torch.Tensor:
        x = self.features(R_local, root, fps)
        return -self.model.log_prob(x).mean() / self.frames_per_item  # type: ignore[attr-defined]


def unseen_pose_loss(
    R_local: torch.Tensor,
    unseen: torch.Tensor,
    joints: list[int],
    mean: torch.Tensor,
    std: torch.Tensor,
    *,
    rotvec: torch.Tensor | None = None,
) -> torch.Tensor:
    """Gaussian pose prior on chosen joints, weighted per frame by how unseen they are.

    Args:
        R_local: ``(T, 22, 3, 3)`` local rotations.
        unseen: ``(T, len(joints))`` in [0, 1]: 1 where the image gives no evidence for the joint.
        joints: joint indices; mean, std: ``(22, 3)`` axis-angle mean and std (radians).
        rotvec: ``(T, 22, 3)`` axis-angle of ``R_local`` when the caller already has it (saves a conversion).
    Returns:
        Mean over frames of ``sum_j unseen * ||(rotvec_j - mean_j) / std_j||^2``.
    """
    rv = roma.rotmat_to_rotvec(R_local[:, joints]) if rotvec is None else rotvec[:, joints]
    z = ((rv - mean[joints].to(rv)) / std[joints].to(rv)).pow(2).sum(-1)
    return (unseen.to(z) * z).sum(-1).mean()


_OPEN = 1e3  # radians: no limit


def _limit_table() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(lo, hi, weight)``, each ``(22, 3)``: axis-angle bounds of :func:`joint_limit_loss` and their weights."""
    lo = torch.full((22, 3), -_OPEN)
    hi = torch.full((22, 3), _OPEN)
    w = torch.zeros(22, 3)
    for n in ("left_knee", "right_knee"):  # flexion +X; little twist or sideways bend
        j = _J[n]
        lo[j], hi[j], w[j] = torch.tensor([-0.05, -0.2, -0.2]), torch.tensor([2.6, 0.2, 0.2]), torch.tensor([1.0, 0.5, 0.5])
    for n, sgn in (("left_elbow", -1.0), ("right_elbow", 1.0)):  # flexion sgn * Y in [-0.05, 2.7]
        j = _J[n]
        y = sorted((sgn * -0.05, sgn * 2.7))
        lo[j], hi[j], w[j] = torch.tensor([-_OPEN, y[0], -0.3]), torch.tensor([_OPEN, y[1], 0.3]), torch.tensor([0.0, 1.0, 0.5])
    for n in ("spine1", "spine2", "spine3"):
        j = _J[n]
        lo[j], hi[j], w[j] = -torch.tensor([0.8, 0.6, 0.5]), torch.tensor([0.8, 0.6, 0.5]), torch.ones(3)
    return lo, hi, w


_LIMITS = _limit_table()


def joint_limit_loss(R_local: torch.Tensor, *, rotvec: torch.Tensor | None = None) -> torch.Tensor:
    """Hinge-joint limits: knees and elbows bend one way, with little sideways rotation.

    Conventions (T-pose frames): knee flexion is +X rotation (shin swings
    back); left elbow flexion is -Y, right elbow +Y (forearm swings forward).
    ``rotvec`` ``(T, 22, 3)``: the axis-angle of ``R_local`` when the caller already has it.
    Returns the mean over frames of weighted squared violations (radians^2).
    """
    rv = roma.rotmat_to_rotvec(R_local) if rotvec is None else rotvec
    lo, hi, w = (a.to(rv) for a in _LIMITS)
    v = torch.relu(lo - rv).pow(2) + torch.relu(rv - hi).pow(2)
    return (w * v).sum((-1, -2)).mean()
