"""Physics projection for the text-to-motion samplers (PhysDiff-style).

The priors work on HumanML3D-style features (``(T, 263)``, 20 fps); the
projection works on joint positions. :func:`project_features` goes features
-> joints (:func:`~humokit.motion.features.features_to_joints`, all ``T + 1``
frames the features describe) -> :func:`~humokit.optim.physics.projection.project_joints`
-> features (:func:`~humokit.motion.features.joints_to_features`, same
skeleton). Position-derived channels are those of the projected joints; the
6D rotation channels, which a generator does not make exactly consistent
with its positions, change only by the difference the projection made
(rotations of the projected minus the unprojected joints), so joints the
projection did not touch keep their generated rotations.

:class:`FeatureProjector` wraps it for batches of *normalised* features and
is what the samplers take as ``projector``:

- diffusion: the clean estimate ``x0`` is projected at the chosen DDIM steps
  and the next steps continue from the projected estimate (PhysDiff; default
  here: once, 8 steps before the end of 20, chosen on the val split: later
  and repeated projections scored no better);
- masked tokens: the decoded motion is projected and re-encoded into tokens
  (all RVQ layers, or the base layer with the residual layers re-predicted),
  then decoded (``reencode``; off by default: on the val split re-encoding
  lowered R@1 while the final projection alone reached the same Phys-Err);
- every family: the final motion is projected once more (post-process).

What the projection may change is kept small, because every change of
the legs relative to the root moves the motion away from what the generator
meant (on the val split the text-retrieval loss of projection came from the
leg position and rotation channels; root path changes cost nothing): feet
keep their pitch (the retargeted training data stand on the toe joint with
the heel 2-3 cm above the canonical rest sole, and pulling such heels down
bent every generated standing knee), a sliding hold is re-anchored every
5 cm, and the whole-body height correction is smoothed so the leg IK takes
only the wobble.

The ground in feature space is the lowest foot sole of the clip (the
features' convention puts the lowest joint at height 0), so a clip keeps its
place; heights are re-floored by :func:`joints_to_features` exactly as the
training data were.

This module sits in ``optim`` (which may use the priors); the priors know
only a callable, so data flow stays motion -> optim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.features import FEATURE_DIM, ROT6D, features_to_joints, joints_to_features
from humokit.motion.plausibility import lowest_sole
from humokit.motion.skeleton import default_skeleton
from humokit.optim.physics.projection import project_joints

FPS = 20.0


def project_features(feats: np.ndarray, fps: float = FPS, **kwargs: object) -> np.ndarray:
    """Kinematic projection of un-normalised features ``(T, 263)`` -> ``(T, 263)`` float32.

    ``kwargs`` go to :func:`~humokit.optim.physics.projection.project_joints`
    (e.g. ``blend``, ``lock_height``). Clips shorter than 2 rows are returned
    unchanged.
    """
    F = np.asarray(feats, dtype=np.float32)
    if F.ndim != 2 or F.shape[1] != FEATURE_DIM:
        raise InputError(f"project_features: expected (T, {FEATURE_DIM}) features, got {F.shape}")
    if not np.isfinite(F).all():
        raise InputError("project_features: features contain NaN or inf")
    if len(F) < 2:
        return F.copy()
    J = features_to_joints(F, full=True).astype(np.float64)  # (T + 1, 22, 3)
    Y = project_joints(J, fps, ground=lowest_sole(J, default_skeleton().sole_heights()), **kwargs)  # type: ignore[arg-type]
    # position-derived channels (root, ric, velocities, contacts) come from the projected joints, so the
    # motion is exactly the projected one; generated rotation channels disagree with their own positions
    # (recomputing them from positions changes how the motion reads), so they only take the change the
    # projection made to them
    before = joints_to_features(J, uniform=False)
    after = joints_to_features(np.asarray(Y), uniform=False)
    out = after.copy()
    out[:, ROT6D] = F[:, ROT6D] + (after[:, ROT6D] - before[:, ROT6D])
    return out.astype(np.float32)


@dataclass(frozen=True)
class FeatureProjector:
    """Callable projecting a batch of normalised features ``(B, T, 263)`` (torch) with valid ``lengths (B,)``.

    Attributes:
        mean, std: ``(263,)`` the model's normaliser.
        fps: frames per second of the features.
        diffusion_steps: DDIM step indices counted from the end (1 = the last
            step) at which the diffusion sampler projects its ``x0`` estimate.
        reencode: how the masked-token sampler re-encodes the projected motion:
            ``"all"`` RVQ layers, the ``"base"`` layer (residual layers
            re-predicted), or None (projection after decoding only).
        blend, fix_slip, smooth, max_flight, soft_ik, root_smooth, keep_pitch, max_slide:
            passed to :func:`~humokit.optim.physics.projection.project_joints`.
            The defaults here (feet keep their pitch, holds re-anchored every
            5 cm of input slide, 0.1 s fades, body shift smoothed over 0.1 s)
            were chosen on the val split as the smallest loss of text
            retrieval (R@1) at Phys-Err < 4 mm; test-split figures come from
            ``benchmarks/t2m.py --physics``.
    """

    mean: np.ndarray
    std: np.ndarray
    fps: float = FPS
    diffusion_steps: tuple[int, ...] = (8,)
    reencode: str | None = None
    blend: float = 0.1
    fix_slip: bool = False
    smooth: float = 0.0
    max_flight: float = 0.5
    soft_ik: float = 0.0
    root_smooth: float = 0.1
    keep_pitch: bool = True
    max_slide: float = 0.05

    def __call__(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        mean, std = np.asarray(self.mean), np.asarray(self.std)
        for b in range(x.shape[0]):
            n = int(lengths[b])
            if n < 2:
                continue
            f = x[b, :n].detach().cpu().double().numpy() * std + mean
            p = project_features(f, self.fps, blend=self.blend, fix_slip=self.fix_slip, smooth=self.smooth,
                                 max_flight=self.max_flight, soft_ik=self.soft_ik, root_smooth=self.root_smooth,
                                 keep_pitch=self.keep_pitch, max_slide=self.max_slide)
            out[b, :n] = torch.as_tensor((p - mean) / std, dtype=x.dtype)
        return out


def feature_projector(model: str = "mask", checkpoints: str | None = None, **kwargs: object) -> FeatureProjector:
    """:class:`FeatureProjector` with the normaliser of a loaded generator family."""
    from humokit.priors.sampling import load_generator

    gen = load_generator(model, checkpoints)
    return FeatureProjector(gen.mean, gen.std, **kwargs)  # type: ignore[arg-type]


def generate_physical(text: str, model: str = "mask", seconds: float = 4.0, seed: int | None = None,
                      body: object | None = None, **kwargs: object) -> object:  # fmt: skip
    """:func:`humokit.priors.generate` with kinematic physics projection inside and after sampling.

    The features are projected inside sampling (:class:`FeatureProjector`);
    the motion on the canonical skeleton (whose fixed bone lengths move the
    feet of a generated clip by a few centimetres), or on ``body``'s own
    skeleton when one is given (a BodyModel or name: its limb proportions
    differ), is projected once more with
    :func:`~humokit.optim.physics.projection.project_motion`, unless keyframes
    fix joints exactly. Returns a grounded
    :class:`~humokit.motion.motion.Motion` whose contacts are the ones the
    projection held.
    """
    from humokit.optim.physics.projection import project_motion
    from humokit.priors.sampling import generate

    ck = kwargs.get("checkpoints")
    proj = feature_projector(model, str(ck) if ck else None)
    m = generate(text, model=model, seconds=seconds, seed=seed, projector=proj, **kwargs)  # type: ignore[arg-type]
    if kwargs.get("keyframes") is None:
        m = project_motion(m, body)  # type: ignore[assignment]
    return m
