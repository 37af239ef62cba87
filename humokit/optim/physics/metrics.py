"""Physical plausibility metrics of a motion, in millimetres, as PhysDiff defines them.

- **Penetrate**: per frame, depth of the lowest body point below the ground
  (0 when it is above ``-tolerance``); mean over all frames.
- **Float**: per frame with foot contact, height of the lowest body point
  above the ground (0 when below ``tolerance``); mean over contact frames.
- **Skate**: per pair of consecutive frames, the mean horizontal displacement
  of the foot joints whose sole is within ``contact_height`` of the ground in
  both frames (0 when none is); mean over all pairs.
- **Phys-Err**: Penetrate + Float + Skate.

"Lowest body point" is the lowest mesh vertex when a body model is given,
else the lowest of the joints minus their radius (foot joints: their sole
height, see :mod:`humokit.optim.physics._body`). PhysDiff and UHC use a 5 mm
tolerance for Penetrate and Float; so does this module.

Also: jerk (third time derivative of joint positions; per frame the largest
over the joints; its peak and the area under the curve, as FlowMDM measures
transitions), centre-of-mass support (fraction of contact frames whose CoM
ground projection lies inside the convex hull of the contacting foot soles,
2 cm margin) and bone-length drift (largest change of a bone's length from
its median length, mm).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.optim.physics._body import (
    FOOT,
    BodyGeometry,
    as_joints,
    body_geometry,
    default_geometry,
    resolve_body,
)
from humokit.optim.physics.contacts import detect_contacts
from humokit.motion.plausibility import bone_drift, jerk_curve, lowest_points, penetrate_float, skate  # noqa: F401

# Foot outline around the joints, metres: heel behind the ankle, tip beyond the toe joint, half width.
HEEL_BACK, TOE_FRONT, FOOT_HALF_WIDTH = 0.06, 0.06, 0.045


@dataclass(frozen=True)
class PhysicsMetrics:
    """Plausibility of one motion (see the module docstring for definitions).

    Attributes:
        penetrate: mean ground penetration, mm.
        float: mean floating in contact frames, mm.
        skate: mean foot skating per frame, mm.
        phys_err: penetrate + float + skate, mm.
        jerk_peak: largest joint jerk, m/s^3.
        jerk_area: area under the per-frame jerk curve, m/s^2.
        com_support: fraction of contact frames whose CoM is over the feet (nan: no contact frame).
        bone_drift: largest bone-length change from its median, mm.
        contact_fraction: fraction of frames with at least one foot contact.
        num_frames: frames measured.
        fps: frames per second.
        source: ``"mesh:<body>"`` or ``"joints"``, what the lowest point came from.
        warnings: one-line notes on what could not be measured.
    """

    penetrate: float
    float: float
    skate: float
    phys_err: float
    jerk_peak: float
    jerk_area: float
    com_support: float
    bone_drift: float
    contact_fraction: float
    num_frames: int
    fps: float
    source: str
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def __str__(self) -> str:
        rows = [
            ("Penetrate", f"{self.penetrate:.2f} mm"),
            ("Float", f"{self.float:.2f} mm"),
            ("Skate", f"{self.skate:.2f} mm"),
            ("Phys-Err", f"{self.phys_err:.2f} mm"),
            ("Jerk peak", f"{self.jerk_peak:.1f} m/s^3"),
            ("Jerk area", f"{self.jerk_area:.1f} m/s^2"),
            ("CoM support", f"{self.com_support:.3f}"),
            ("Bone drift", f"{self.bone_drift:.2f} mm"),
            ("Contact frames", f"{self.contact_fraction:.3f}"),
            ("Frames", f"{self.num_frames} @ {self.fps:g} fps ({self.source})"),
        ]
        lines = [f"{k:<15} {v}" for k, v in rows]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ------------------------------------------------------------ pure metrics


def _foot_points(joints_t: np.ndarray, contact_t: np.ndarray) -> np.ndarray:
    """Ground-plane ``(N, 2)`` x/z corners of the contacting parts of both feet."""
    pts = []
    for side in range(2):
        ankle, toe = joints_t[FOOT[2 * side], [0, 2]], joints_t[FOOT[2 * side + 1], [0, 2]]
        fwd = toe - ankle
        n = np.linalg.norm(fwd)
        fwd = fwd / n if n > 1e-6 else np.array([0.0, 1.0])
        lat = np.array([fwd[1], -fwd[0]]) * FOOT_HALF_WIDTH
        if contact_t[2 * side]:
            heel = ankle - HEEL_BACK * fwd
            pts += [heel + lat, heel - lat, ankle + lat, ankle - lat]
        if contact_t[2 * side + 1]:
            tip = toe + TOE_FRONT * fwd
            pts += [toe + lat, toe - lat, tip + lat, tip - lat]
    return np.array(pts).reshape(-1, 2)


def _inside_hull(p: np.ndarray, pts: np.ndarray, margin: float) -> bool:
    from scipy.spatial import ConvexHull, QhullError

    if len(pts) < 3:
        return False
    try:
        hull = ConvexHull(pts)
    except QhullError:
        return False
    # hull.equations: (n, 3) with n . x + d <= 0 inside
    return bool((hull.equations[:, :2] @ p + hull.equations[:, 2] <= margin).all())


def centre_of_mass(joints: np.ndarray, R_world: np.ndarray | None, geom: BodyGeometry) -> np.ndarray:
    """``(T, 3)`` whole-body centre of mass from segment masses (``R_world``: ``(T,22,3,3)`` or None)."""
    if R_world is None:
        # joints only: segment CoM half-way from the joint to its children
        from humokit.motion.skeleton import PARENTS

        com_seg = joints.copy()
        for j in range(joints.shape[1]):
            kids = [c for c, p in enumerate(PARENTS) if p == j]
            if kids:
                com_seg[:, j] = 0.5 * (joints[:, j] + joints[:, kids].mean(axis=1))
    else:
        com_seg = joints + np.einsum("tjab,jb->tja", R_world, geom.com_local)
    w = geom.masses / geom.masses.sum()
    return np.einsum("tja,j->ta", com_seg, w)


def com_support(com: np.ndarray, joints: np.ndarray, contacts: np.ndarray, *, margin: float = 0.02) -> float:
    """Fraction of contact frames whose CoM ``(T, 3)`` projects inside the support polygon (nan: none)."""
    frames = np.nonzero(contacts.any(axis=1))[0]
    if len(frames) == 0:
        return float("nan")
    ok = [_inside_hull(com[t, [0, 2]], _foot_points(joints[t], contacts[t]), margin) for t in frames]
    return float(np.mean(ok))


# ---------------------------------------------------------- public entry
def physics_metrics(
    motion: Motion | np.ndarray | torch.Tensor,
    body: object | None = None,
    *,
    fps: float | None = None,
    contacts: np.ndarray | None = None,
    ground: float = 0.0,
    tolerance: float = 0.005,
    contact_height: float = 0.01,
    shape: object | None = None,
) -> PhysicsMetrics:
    """Plausibility metrics of a motion or of joint positions.

    Args:
        motion: a :class:`Motion`, or ``(T, 22, 3)`` joint positions in metres
            (Y up) from a model that outputs joints (then give ``fps``).
        body: a BodyModel, a body name (``"anny"``) or None. With a body (and
            a Motion) the lowest point per frame is the lowest mesh vertex and
            masses come from its segment volumes; without, joints and
            anthropometric defaults are used.
        fps: frames per second of joint input (a Motion has its own).
        contacts: ``(T, 4)`` bool foot contacts deciding which frames count
            for Float and CoM support; default the motion's own, else
            :func:`~humokit.optim.physics.contacts.detect_contacts`.
        ground: height of the ground plane, metres.
        tolerance: Penetrate/Float dead band, metres (PhysDiff: 5 mm).
        contact_height: sole height under which a foot joint counts for Skate, metres.
        shape: body shape (default: the motion's betas or the body's default).
    Returns:
        :class:`PhysicsMetrics`.
    """
    warnings: list[str] = []
    bm = resolve_body(body)
    R_world = None
    if isinstance(motion, Motion) and bm is not None:
        if motion.num_frames == 0:
            raise InputError("physics_metrics: the motion has no frames")
        with torch.no_grad():
            out = bm.forward(motion, shape=shape)  # type: ignore[attr-defined]
        joints = out.joints.double().numpy()
        R_world = out.R_world.double().numpy()
        lowest = out.vertices[..., 1].min(dim=-1).values.double().numpy()
        geom = body_geometry(bm, motion)
        rate = motion.fps
        source = f"mesh:{getattr(bm, 'name', 'body')}"
    else:
        if bm is not None:
            warnings.append("joint positions have no mesh; measured on joints")
        joints, rate = as_joints(motion, fps, "physics_metrics")
        geom = default_geometry(motion.skeleton if isinstance(motion, Motion) else None)
        if isinstance(motion, Motion):
            R_world = motion.fk()[1].double().numpy()
        lowest = lowest_points(joints, geom.radii)
        source = "joints"
    T = joints.shape[0]
    if contacts is None and isinstance(motion, Motion) and motion.contacts is not None:
        contacts = motion.contacts
    if contacts is None:
        contacts = detect_contacts(joints, rate, sole=geom.sole, ground=ground)
    contacts = np.asarray(contacts, dtype=bool)
    if contacts.shape != (T, 4):
        raise InputError(f"physics_metrics: contacts must have shape ({T}, 4), got {contacts.shape}")
    cf = contacts.any(axis=1)
    if not cf.any():
        warnings.append("no foot contact in any frame: Float is 0 and CoM support is undefined")
    pen, flo = penetrate_float(lowest, cf, ground=ground, tolerance=tolerance)
    sk, n_pairs = skate(joints, geom.sole, ground=ground, contact_height=contact_height)
    if T > 1 and n_pairs == 0:
        warnings.append(f"no foot within {contact_height * 100:g} cm of the ground in consecutive frames: Skate is 0")
    jc = jerk_curve(joints, rate)
    if T < 4:
        warnings.append("fewer than 4 frames: jerk is 0")
    com = centre_of_mass(joints, R_world if geom.source == "mesh" else None, geom)
    return PhysicsMetrics(
        penetrate=pen,
        float=flo,
        skate=sk,
        phys_err=pen + flo + sk,
        jerk_peak=float(jc.max()) if len(jc) else 0.0,
        jerk_area=float(jc.sum() / rate) if len(jc) else 0.0,
        com_support=com_support(com, joints, contacts),
        bone_drift=bone_drift(joints),
        contact_fraction=float(cf.mean()),
        num_frames=T,
        fps=float(rate),
        source=source,
        warnings=tuple(warnings),
    )
