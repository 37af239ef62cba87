"""The person's size from a whole clip: what fixes metric scale in a monocular video.

A pinhole image cannot tell a 1.5 m person from a 1.9 m one 27 % further
away (with the camera height scaled alike): the reprojection error, the ground
plane and the foot contacts are all unchanged when the whole scene is scaled.
So the size comes from cues that carry metres, combined as independent
Gaussians in ``log(height)`` (:func:`combine_cues`):

- **detector 3D** (:func:`metric_landmark_height`): the limb lengths of the
  detector's metric 3D landmarks (MediaPipe's ``world`` output), median over
  the confident frames of the clip, turned into a standing height through the
  body family's own limb-to-height ratio (Anny's proportions change with its
  height). MediaPipe's metres are learned from people of ordinary size, so
  its tolerance (``FitConfig.size_sigma_3d``) is set from the val renders;
  a truly metric source (a synthetic or multi-view track) earns a small one.
- **height prior**: adult stature, ``N(log 1.70 m, 0.055)`` (about +-9 cm).

The estimate picks the body: for Anny, the phenotype ``height`` whose rest
skeleton has that stature (:class:`BodyFamily`), so the limb proportions
follow Anny's model at that size; for a plain skeleton, the skeleton scaled.

Stature is measured on the skeleton (:func:`stature`: rest head joint above
the sole, times :data:`HEAD_TO_STATURE`), so a fit without a mesh still has a
height in metres; for Anny it matches the mesh height within 1 % from 1.3 to 1.95 m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from humokit.motion.skeleton import JOINT_NAMES, Skeleton

_J = {n: i for i, n in enumerate(JOINT_NAMES)}
# thighs, shins, upper arms, forearms: bones that the detector's landmarks span end to end
LIMB_BONES: tuple[tuple[int, int], ...] = ((1, 4), (4, 7), (2, 5), (5, 8), (16, 18), (18, 20), (17, 19), (19, 21))
# standing height / rest head-joint height above the sole (Anny mesh heights 1.32-1.93 m: 1.131-1.115)
HEAD_TO_STATURE = 1.12
HEIGHT_PRIOR = (1.70, 0.055)  # adult stature: mean metres, log standard deviation


def stature(skeleton: Skeleton) -> float:
    """Standing height (metres) of a skeleton: rest head joint above the sole x :data:`HEAD_TO_STATURE`."""
    pos = skeleton.rest_positions()
    return float((pos[_J["head"], 1] - pos[0, 1] - skeleton.floor_height()) * HEAD_TO_STATURE)


def limb_sum(joints: np.ndarray) -> np.ndarray:
    """Summed length of the eight :data:`LIMB_BONES` of joints ``(..., 22, 3)``; ``(...)`` metres."""
    return bone_lengths(joints, LIMB_BONES).sum(-1)


@dataclass(frozen=True)
class SizeCue:
    """One cue's estimate of the standing height: ``height`` metres with tolerance ``sigma`` in log units."""

    name: str
    height: float
    sigma: float


@dataclass(frozen=True)
class BodySize:
    """The person's estimated size.

    Attributes:
        height: standing height, metres.
        skeleton: the body's rest skeleton at that height.
        sigma: combined tolerance in log units (about the relative error).
        cues: the cues that went in.
        phenotype: Anny phenotype of that body (``height`` set), or None for a plain skeleton.
        betas: SMPL shape coefficients ``(B,)`` of that body (:class:`SMPLFamily`), else None.
    """

    height: float
    skeleton: Skeleton
    sigma: float
    cues: tuple[SizeCue, ...] = ()
    phenotype: dict[str, float] | None = field(default=None)
    betas: np.ndarray | None = field(default=None)


def combine_cues(cues: list[SizeCue] | tuple[SizeCue, ...]) -> tuple[float, float]:
    """Product of the cues as Gaussians in ``log(height)``: ``(height metres, sigma)``."""
    if not cues:
        raise ValueError("combine_cues: no cues")
    w = np.array([1.0 / c.sigma**2 for c in cues])
    mu = float((w * np.log([c.height for c in cues])).sum() / w.sum())
    return math.exp(mu), float(1.0 / math.sqrt(w.sum()))


class BodyFamily:
    """Skeletons of one body at any standing height.

    ``BodyFamily(skeleton)`` scales a fixed skeleton; ``BodyFamily.anny(body)``
    follows Anny's phenotype ``height`` (other phenotype values as given), whose
    limb proportions change with the height. ``limb_ratio(h)`` is the summed limb
    length of :data:`LIMB_BONES` over the stature at height ``h``.
    """

    def __init__(self, skeleton: Skeleton, body: object | None = None, phenotype: dict[str, float] | None = None,
                 samples: int = 5) -> None:
        self.base = skeleton
        self.body = body
        self.phenotype = dict(phenotype) if phenotype is not None else None
        self._table: list[tuple[float, float, float]] = []  # (phenotype height, stature, limb ratio)
        if body is not None and self.phenotype is not None:
            for p in np.linspace(0.15, 0.85, samples):
                sk = self._anny_skeleton(float(p))
                h = stature(sk)
                self._table.append((float(p), h, float(limb_sum(sk.rest_positions())) / h))

    @classmethod
    def anny(cls, body: object, phenotype: dict[str, float] | None = None) -> "BodyFamily":
        ph = dict(body.default_shape()) if phenotype is None else dict(phenotype)  # type: ignore[attr-defined]
        return cls(body.rest(ph).skeleton, body, ph)  # type: ignore[attr-defined]

    def _anny_skeleton(self, p: float) -> Skeleton:
        ph = dict(self.phenotype or {})
        ph["height"] = float(np.clip(p, 0.0, 1.0))
        return self.body.rest(ph).skeleton  # type: ignore[attr-defined]

    def limb_ratio(self, height: float) -> float:
        if not self._table:
            return float(limb_sum(self.base.rest_positions())) / stature(self.base)
        hs = [t[1] for t in self._table]
        return float(np.interp(height, hs, [t[2] for t in self._table]))

    def betas_at(self, height: float) -> np.ndarray | None:
        """SMPL betas of the body ``height`` metres tall (None: not an SMPL family)."""
        return None

    def at(self, height: float) -> tuple[Skeleton, dict[str, float] | None]:
        """``(skeleton, phenotype or None)`` of the body ``height`` metres tall."""
        if not self._table:
            return self.base.scaled(height / stature(self.base)), None
        ps, hs = [t[0] for t in self._table], [t[1] for t in self._table]
        # stature is close to linear in the phenotype height: interpolate, extrapolate along the end segments
        slope = (hs[-1] - hs[0]) / (ps[-1] - ps[0])
        p = float(np.interp(height, hs, ps)) if hs[0] <= height <= hs[-1] else (
            ps[0] + (height - hs[0]) / slope if height < hs[0] else ps[-1] + (height - hs[-1]) / slope)
        p = float(np.clip(p, 0.0, 1.0))
        for _ in range(2):  # one or two secant steps to the exact stature
            sk = self._anny_skeleton(p)
            h = stature(sk)
            if abs(h - height) < 1e-3:
                break
            p = float(np.clip(p + (height - h) / slope, 0.0, 1.0))
        sk = self._anny_skeleton(p)
        # outside Anny's range the last bit is a plain scale
        h = stature(sk)
        if abs(h - height) > 1e-3:
            sk = sk.scaled(height / h)
        ph = dict(self.phenotype or {})
        ph["height"] = round(p, 4)
        return sk, ph


def _confident_limb_joints(world: np.ndarray | None, confidence: np.ndarray, names: tuple[str, ...],
                           skeleton: Skeleton, min_confidence: float) -> np.ndarray | None:
    """Joints ``(F, 22, 3)`` of ``skeleton`` from the metric landmarks ``(T, K, 3)`` of the ``F`` frames whose
    limb landmarks (both sides' hip, knee, ankle, shoulder, elbow, wrist) are all finite and above
    ``min_confidence``; None when the track lacks those landmarks or fewer than 3 frames qualify."""
    from humokit.optim.landmarks import joints_from_landmarks

    need = [f"{s}_{p}" for s in ("left", "right") for p in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")]
    if world is None or any(n not in names for n in need):
        return None
    cols = [names.index(n) for n in need]
    ok = (confidence[:, cols] > min_confidence).all(1) & np.isfinite(world[:, cols]).all(-1).all(-1)
    if ok.sum() < 3:
        return None
    return joints_from_landmarks(np.nan_to_num(world[ok]), names, skeleton)


def metric_landmark_height(world: np.ndarray, confidence: np.ndarray, names: tuple[str, ...],
                           family: BodyFamily, *, min_confidence: float = 0.5) -> float | None:
    """Standing height implied by the limb lengths of metric 3D landmarks, or None when too few are seen.

    Args:
        world: ``(T, K, 3)`` metric landmarks (any origin, metres).
        confidence: ``(T, K)``; frames whose limb landmarks are all above ``min_confidence`` count.
    """
    J = _confident_limb_joints(world, confidence, names, family.base, min_confidence)
    if J is None:
        return None
    s = float(np.median(limb_sum(J)))
    # stature h with limb_sum = h * ratio(h): a few fixed-point steps (the ratio changes slowly with h)
    h = s / family.limb_ratio(stature(family.base))
    for _ in range(4):
        h = s / family.limb_ratio(h)
    return h


def estimate_body_size(world: np.ndarray | None, confidence: np.ndarray, names: tuple[str, ...],
                       family: BodyFamily, *, sigma_3d: float = 0.08,
                       prior: tuple[float, float] | None = HEIGHT_PRIOR) -> BodySize:
    """The person's height and skeleton from the clip's cues (see the module docstring).

    Args:
        world, confidence, names: the keypoint track's metric 3D landmarks ``(T, K, 3)`` (or None),
            confidences ``(T, K)`` and landmark names.
        family: the body to size (:class:`BodyFamily`).
        sigma_3d: tolerance of the detector-3D cue in log units (None or inf drops it).
        prior: ``(mean metres, log sigma)`` of the height prior, or None.
    """
    cues: list[SizeCue] = []
    if sigma_3d is not None and math.isfinite(sigma_3d) and world is not None:
        h3 = metric_landmark_height(world, confidence, names, family)
        if h3 is not None and 0.5 < h3 < 3.0:
            cues.append(SizeCue("detector 3D", h3, sigma_3d))
    if prior is not None:
        cues.append(SizeCue("height prior", prior[0], prior[1]))
    if not cues:
        h0 = stature(family.base)
        return BodySize(h0, family.base, float("inf"), (), family.phenotype)
    h, sig = combine_cues(cues)
    sk, ph = family.at(h)
    return BodySize(stature(sk), sk, sig, tuple(cues), ph, family.betas_at(h))


# bones whose lengths pick the SMPL shape: limbs, shoulder and hip widths, trunk (pelvis -> neck)
SHAPE_BONES: tuple[tuple[int, int], ...] = LIMB_BONES + ((16, 17), (1, 2), (0, 12))


def bone_lengths(joints: np.ndarray, bones: tuple[tuple[int, int], ...] = SHAPE_BONES) -> np.ndarray:
    """Lengths ``(..., len(bones))`` of ``bones`` in joints ``(..., 22, 3)``."""
    return np.stack([np.linalg.norm(joints[..., a, :] - joints[..., b, :], axis=-1) for a, b in bones], -1)


def landmark_proportions(world: np.ndarray | None, confidence: np.ndarray, names: tuple[str, ...],
                         skeleton: Skeleton, *, min_confidence: float = 0.5) -> np.ndarray | None:
    """The clip's body proportions: median lengths of :data:`SHAPE_BONES` of the detector's metric 3D
    landmarks ``(T, K, 3)`` over frames whose limb landmarks are confident, left and right averaged, over
    their sum; ``(len(SHAPE_BONES),)`` or None when fewer than 3 frames qualify."""
    J = _confident_limb_joints(world, confidence, names, skeleton, min_confidence)
    if J is None:
        return None
    L = np.median(bone_lengths(J), axis=0)
    return _symmetric(L) / L.sum()


def _symmetric(L: np.ndarray) -> np.ndarray:
    """Left and right limb bones of :data:`SHAPE_BONES` averaged (pairs 0/2, 1/3, 4/6, 5/7)."""
    L = np.array(L, dtype=np.float64)
    for a, b in ((0, 2), (1, 3), (4, 6), (5, 7)):
        L[..., a] = L[..., b] = 0.5 * (L[..., a] + L[..., b])
    return L


class SMPLFamily(BodyFamily):
    """Skeletons of an SMPL-family body (:class:`~humokit.body.smpl.SMPLBody`): the betas of a given stature.

    ``at(h)`` solves the betas (least squares, :func:`scipy.optimize.least_squares`) whose rest skeleton is
    ``h`` metres tall (:func:`stature`, within 0.5 %) and, when ``proportions`` are given (the clip's
    :func:`landmark_proportions`), whose :data:`SHAPE_BONES` lengths over their sum match them within
    ``sigma_proportion`` (relative), with the betas' own prior ``N(0, sigma_beta)``. The rest joints are
    linear in the betas (regressed from ``v_template + shapedirs @ betas``), so the solve is cheap.
    """

    def __init__(self, body: object, proportions: np.ndarray | None = None, *, sigma_proportion: float = 0.06,
                 sigma_beta: float = 1.5) -> None:
        import torch

        model = body.model  # type: ignore[attr-defined]
        with torch.no_grad():
            Jreg = model.J_regressor.double()[:22]
            v0 = model.v_template.double()
            dirs = model.shapedirs.double()  # (V, 3, B)
            self._j0 = (Jreg @ v0).numpy()
            self._dirs = torch.einsum("jv,vcb->jcb", Jreg, dirs).numpy()  # (22, 3, B)
        self.num_betas = int(self._dirs.shape[-1])
        self.proportions = None if proportions is None else np.asarray(proportions, dtype=np.float64)
        self.sigma_proportion = sigma_proportion
        self.sigma_beta = sigma_beta
        self._cache: dict[float, np.ndarray] = {}
        super().__init__(body.rest().skeleton)  # type: ignore[attr-defined]

    def skeleton_of(self, betas: np.ndarray) -> Skeleton:
        """Rest skeleton of the body with ``betas``."""
        from humokit.motion.skeleton import positions_to_offsets

        return self.base.with_offsets(positions_to_offsets(self._j0 + self._dirs @ np.asarray(betas, np.float64)))

    def betas_at(self, height: float) -> np.ndarray:
        key = round(float(height), 5)
        if key not in self._cache:
            self._cache[key] = self._solve(float(height))
        return self._cache[key].copy()

    def _solve(self, height: float) -> np.ndarray:
        from scipy.optimize import least_squares

        target = self.proportions

        def resid(b: np.ndarray) -> np.ndarray:
            sk = self.skeleton_of(b)
            r = [np.atleast_1d((stature(sk) / height - 1.0) / 0.005), b / self.sigma_beta]
            if target is not None:
                L = _symmetric(bone_lengths(sk.rest_positions()))
                r.append((L / L.sum() / target - 1.0) / self.sigma_proportion)
            return np.concatenate(r)

        sol = least_squares(resid, np.zeros(self.num_betas))
        return sol.x

    def at(self, height: float) -> tuple[Skeleton, dict[str, float] | None]:
        sk = self.skeleton_of(self.betas_at(height))
        h = stature(sk)
        if abs(h - height) > 0.01 * height:  # outside what the betas reach: the last bit is a plain scale
            sk = sk.scaled(height / h)
        return sk, None
