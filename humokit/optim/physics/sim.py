"""A simulated humanoid (MuJoCo) built from a body mesh, tracking motions with PD control.

:func:`build_humanoid` turns a :class:`~humokit.body.RestBody` into a
MuJoCo model in humokit's world convention (Y up, gravity -Y, ground plane
y = 0): one rigid body per canonical joint in T-pose orientation, a free root
(pelvis) and ball joints with angle limits; each body carries a capsule fitted
to the mesh vertices that joint dominates (``RestBody.part_labels()``), with
the mass of that part's volume at human density. Foot capsules are laid
horizontally with their bottom at the lowest vertex of the foot, so they meet
the ground where the mesh does. Only body-ground contacts are simulated.

:func:`track_motion` drives every ball joint with PD torques towards the
motion's rotations and the root with a PD residual force and torque, and
reports per frame the tracking error, whether the character fell, and the
residual ("hand of god") force and torque the motion needs: by inverse
dynamics, the part of the root's required force that no set of ground
contact forces (friction pyramid, at capsule points touching the ground) can
supply (:func:`inverse_dynamics_residual`).

MuJoCo is optional (``pip install 'humokit[physics]'``); :func:`has_mujoco` probes it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import numpy as np

from humokit.errors import InputError, MissingDependencyError
from humokit.motion.motion import Motion
from humokit.motion.rotations import quat_to_rotmat, rotmat_to_quat
from humokit.motion.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from humokit.optim.physics._body import FOOT, GRAVITY, HUMAN_DENSITY, part_volumes, tpose_mesh

# Largest rotation of each ball joint from the T-pose, degrees.
JOINT_LIMITS = {
    "hip": 130, "knee": 160, "spine": 60, "ankle": 70, "foot": 60, "neck": 70, "collar": 40,
    "head": 70, "shoulder": 180, "elbow": 170, "wrist": 100,
}  # fmt: skip


def has_mujoco() -> bool:
    """Whether the ``mujoco`` package is importable."""
    return importlib.util.find_spec("mujoco") is not None


def _mujoco() -> Any:
    if not has_mujoco():
        raise MissingDependencyError("mujoco (physics simulation)", "physics")
    import mujoco

    return mujoco


def _limit(name: str) -> float:
    for key, deg in JOINT_LIMITS.items():
        if key in name:
            return float(deg)
    return 90.0


@dataclass(frozen=True)
class Capsule:
    """A capsule in its body's frame: end points ``a``, ``b`` (metres) and ``radius``."""

    a: np.ndarray
    b: np.ndarray
    radius: float


def fit_capsule(points: np.ndarray, axis: np.ndarray | None = None, *, flat_bottom: bool = False) -> Capsule:
    """Capsule around ``points (N, 3)`` along ``axis`` (default: principal direction).

    Radius: 70th percentile of the distance to the axis; length: 5th-95th
    percentile extent along it. ``flat_bottom`` (feet): the axis is laid
    horizontally, the length covers the 1st-99th percentile (heel to toe tip)
    and the capsule's bottom is put at the lowest point.
    """
    P = np.asarray(points, dtype=np.float64)
    c = P.mean(axis=0)
    Q = P - c
    if flat_bottom:
        _, _, vt = np.linalg.svd(Q[:, [0, 2]], full_matrices=False)
        u = np.array([vt[0, 0], 0.0, vt[0, 1]])
    elif axis is None:
        _, _, vt = np.linalg.svd(Q, full_matrices=False)
        u = vt[0]
    else:
        u = np.asarray(axis, dtype=np.float64)
    u = u / max(np.linalg.norm(u), 1e-9)
    t = Q @ u
    r = np.linalg.norm(Q - t[:, None] * u, axis=1)
    radius = float(np.clip(np.percentile(r, 70), 0.015, 0.15))
    t0, t1 = np.percentile(t, [1, 99] if flat_bottom else [5, 95])
    if flat_bottom:
        radius = float(np.clip(0.5 * (P[:, 1].max() - P[:, 1].min()), 0.015, 0.045))
        c = c.copy()
        c[1] = P[:, 1].min() + radius
    mid, half = 0.5 * (t0 + t1), max(0.5 * (t1 - t0) - radius, 0.005)
    return Capsule(c + (mid - half) * u, c + (mid + half) * u, radius)


@dataclass(frozen=True)
class Humanoid:
    """A MuJoCo humanoid for a body.

    Attributes:
        model: ``mujoco.MjModel``.
        xml: the MJCF it was compiled from.
        masses: ``(22,)`` segment masses, kg.
        capsules: one :class:`Capsule` (or None) per joint, in the joint's frame.
        skeleton: the body's canonical skeleton (T-pose offsets).
    """

    model: Any
    xml: str
    masses: np.ndarray
    capsules: tuple[Capsule | None, ...]
    skeleton: Any

    @property
    def total_mass(self) -> float:
        return float(self.model.body_subtreemass[self.body_ids[0]])

    @property
    def body_ids(self) -> np.ndarray:
        """``(22,)`` MuJoCo body id of each canonical joint (bodies are numbered depth-first)."""
        return np.array([self.model.body(n).id for n in JOINT_NAMES])

    @property
    def qpos_adr(self) -> np.ndarray:
        """``(22,)`` qpos address of each joint's quaternion (root: its position, quaternion at +3)."""
        return np.array([self.model.jnt_qposadr[self.model.body_jntadr[b]] for b in self.body_ids])

    @property
    def dof_adr(self) -> np.ndarray:
        """``(22,)`` qvel address of each joint (root: 6 dofs, others 3)."""
        return np.array([self.model.jnt_dofadr[self.model.body_jntadr[b]] for b in self.body_ids])

    @property
    def weight(self) -> float:
        """Body weight, N."""
        return self.total_mass * GRAVITY


def _fmt(v: np.ndarray) -> str:
    return " ".join(f"{x:.5f}" for x in v)


def build_humanoid(rest: Any | None = None, *, density: float = HUMAN_DENSITY, timestep: float = 1 / 600) -> Humanoid:
    """Build the MuJoCo humanoid of a rest body (default: the default Anny body).

    Args:
        rest: :class:`~humokit.body.RestBody`.
        density: kg/m^3 (human: 1000-1050).
        timestep: simulation step, seconds.
    """
    mujoco = _mujoco()
    if not (900 <= density <= 1200):
        raise InputError(f"build_humanoid: density {density} kg/m^3 is not a human density (1000-1050)")
    if rest is None:
        from humokit.body import create_body

        rest = create_body("anny").rest()
    verts, joints, faces = tpose_mesh(rest)
    labels = rest.part_labels()
    masses = part_volumes(verts, faces, labels) * density
    offsets = rest.skeleton.offsets
    # the toes are part of a rigid foot: a light toe body carrying the ground contact
    # destabilises the simulation, so the ankle body takes the whole foot
    masses = masses.copy()
    for ankle, toe in ((7, 10), (8, 11)):
        labels = np.where(labels == toe, ankle, labels)
        masses[ankle] += masses[toe]
        masses[toe] = 0.0
    caps: list[Capsule | None] = []
    for j in range(NUM_JOINTS):
        pts = verts[labels == j] - joints[j]
        if len(pts) < 8 or masses[j] <= 1e-3:
            caps.append(None)
            continue
        kids = [c for c, p in enumerate(PARENTS) if p == j]
        axis = None
        if len(kids) == 1 and j not in FOOT:
            axis = offsets[kids[0]]
        elif j in (0, 3, 6, 9, 12, 15):  # trunk and head: vertical
            axis = np.array([0.0, 1.0, 0.0])
        caps.append(fit_capsule(pts, axis, flat_bottom=j in FOOT))
    children: dict[int, list[int]] = {j: [] for j in range(NUM_JOINTS)}
    for j, p in enumerate(PARENTS):
        if p >= 0:
            children[p].append(j)

    def body_xml(j: int, depth: int) -> str:
        pad = "  " * depth
        pos = joints[0] if j == 0 else offsets[j]
        name = JOINT_NAMES[j]
        out = [f'{pad}<body name="{name}" pos="{_fmt(pos)}">']
        if j == 0:
            out.append(f'{pad}  <freejoint name="root"/>')
        else:
            out.append(f'{pad}  <joint name="{name}" type="ball" range="0 {_limit(name):g}" damping="1" armature="0.01"/>')
        cap = caps[j]
        if cap is not None:
            out.append(
                f'{pad}  <geom name="{name}" type="capsule" fromto="{_fmt(cap.a)} {_fmt(cap.b)}" '
                f'size="{cap.radius:.5f}" mass="{masses[j]:.5f}"/>'
            )
        for c in children[j]:
            out.append(body_xml(c, depth + 1))
        out.append(f"{pad}</body>")
        return "\n".join(out)

    xml = f"""<mujoco model="humokit_humanoid">
  <compiler angle="degree" autolimits="true" boundmass="0.05" boundinertia="0.0001"/>
  <option timestep="{timestep:.6f}" gravity="0 {-GRAVITY} 0" integrator="implicitfast"/>
  <default><geom contype="2" conaffinity="1" condim="3" friction="1.0 0.02 0.01"/></default>
  <worldbody>
    <geom name="ground" type="plane" size="50 50 0.1" zaxis="0 1 0" contype="1" conaffinity="1"/>
{body_xml(0, 2)}
  </worldbody>
</mujoco>
"""
    model = mujoco.MjModel.from_xml_string(xml)
    return Humanoid(model, xml, masses, tuple(caps), rest.skeleton)


# ------------------------------------------------------------------ tracking
@dataclass(frozen=True)
class TrackingResult:
    """What tracking a motion in simulation needed and achieved (per frame arrays).

    Attributes:
        residual_force: ``(T, 3)`` world force on the root that ground contacts
            cannot supply to the reference motion (inverse dynamics), N.
        residual_torque: ``(T, 3)`` the same for torque (root frame), N m.
        applied_force: ``(T, 3)`` root force the PD tracker actually applied, N.
        weight: body weight, N.
        tracking_error: ``(T,)`` mean distance between simulated and reference body origins, m.
        fell: whether the character fell (tracking error above ``fall_error``).
        fall_frame: first frame of the fall, or None.
        motion: the simulated motion (the input's skeleton and fps, sim root and
            rotations; its height is the simulated, grounded one).
        vertical_offset: metres added to the reference root height so its capsules meet the ground.
    """

    residual_force: np.ndarray
    residual_torque: np.ndarray
    applied_force: np.ndarray
    weight: float
    tracking_error: np.ndarray
    fell: bool
    fall_frame: int | None
    motion: Motion
    vertical_offset: float

    @property
    def force_fraction(self) -> np.ndarray:
        """``(T,)`` residual force magnitude as a fraction of body weight."""
        return np.linalg.norm(self.residual_force, axis=-1) / self.weight

    @property
    def median_force_fraction(self) -> float:
        return float(np.median(self.force_fraction))

    @property
    def mean_tracking_error(self) -> float:
        return float(self.tracking_error.mean())


def _wxyz(R: np.ndarray) -> np.ndarray:
    q = rotmat_to_quat(np.asarray(R, dtype=np.float64))
    return np.concatenate([q[..., 3:], q[..., :3]], axis=-1)


def _reference_qpos(humanoid: Humanoid, motion: Motion, scale: float) -> np.ndarray:
    T = motion.num_frames
    adr = humanoid.qpos_adr
    q = np.zeros((T, humanoid.model.nq))
    q[:, adr[0] : adr[0] + 3] = motion.root_position.astype(np.float64) * scale
    quats = _wxyz(motion.rotations)  # (T, 22, 4)
    q[:, adr[0] + 3 : adr[0] + 7] = quats[:, 0]
    for j in range(1, NUM_JOINTS):
        q[:, adr[j] : adr[j] + 4] = quats[:, j]
    return q


def _lowest_geom_points(mujoco: Any, model: Any, data: Any, qpos: np.ndarray) -> np.ndarray:
    """``(T,)`` lowest capsule surface height for each reference pose."""
    geoms = [g for g in range(model.ngeom) if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE]
    out = np.empty(len(qpos))
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        low = np.inf
        for g in geoms:
            c, R = data.geom_xpos[g], data.geom_xmat[g].reshape(3, 3)
            r, half = model.geom_size[g, 0], model.geom_size[g, 1]
            axis_y = R[1, 2] * half  # capsule axis is the geom's local z
            low = min(low, c[1] - abs(axis_y) - r)
        out[t] = low
    return out


def inverse_dynamics_residual(
    humanoid: Humanoid,
    qpos: np.ndarray,
    fps: float,
    *,
    contact_tol: float = 0.03,
    friction: float = 0.8,
) -> tuple[np.ndarray, np.ndarray]:
    """Root force and torque no ground contact can supply, per frame (inverse dynamics).

    For each reference frame, MuJoCo's inverse dynamics gives the generalized
    forces the motion needs; contact forces at the capsule end points within
    ``contact_tol`` of the ground (friction pyramid, coefficient ``friction``)
    are chosen by non-negative least squares to supply the root's 6 of them.
    What is left is the residual.

    Args:
        qpos: ``(T, nq)`` reference configurations (from the tracked motion).
        fps: frames per second.
    Returns:
        ``(force (T, 3) N world, torque (T, 3) N m root frame)``.
    """
    from scipy.optimize import nnls

    mujoco = _mujoco()
    m = humanoid.model
    d = mujoco.MjData(m)
    T = len(qpos)
    dt = 1.0 / fps
    qvel = np.zeros((T, m.nv))
    for t in range(T - 1):
        mujoco.mj_differentiatePos(m, qvel[t], dt, qpos[t], qpos[t + 1])
    qvel[-1] = qvel[-2]
    qacc = np.gradient(qvel, dt, axis=0)
    saved = m.opt.disableflags
    m.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT
    caps = [g for g in range(m.ngeom) if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE]
    dirs = np.array([[friction, 1, 0], [-friction, 1, 0], [0, 1, friction], [0, 1, -friction]])
    F = np.zeros((T, 3))
    tau = np.zeros((T, 3))
    jacp = np.zeros((3, m.nv))
    try:
        for t in range(T):
            d.qpos[:], d.qvel[:], d.qacc[:] = qpos[t], qvel[t], qacc[t]
            mujoco.mj_inverse(m, d)
            need = d.qfrc_inverse[0:6].copy()
            cols = []
            for g in caps:
                c, R = d.geom_xpos[g], d.geom_xmat[g].reshape(3, 3)
                r, half = m.geom_size[g, 0], m.geom_size[g, 1]
                for sign in (-1.0, 1.0):
                    p = c + sign * half * R[:, 2] - np.array([0.0, r, 0.0])
                    if p[1] > contact_tol:
                        continue
                    mujoco.mj_jac(m, d, jacp, None, p, m.geom_bodyid[g])
                    cols.append(jacp[:, 0:6].T @ dirs.T)  # (6, 4)
            if cols:
                A = np.concatenate(cols, axis=1)
                lam, _ = nnls(A, need, maxiter=200)
                need = need - A @ lam
            F[t], tau[t] = need[0:3], need[3:6]
    finally:
        m.opt.disableflags = saved
    return F, tau


def track_motion(
    humanoid: Humanoid,
    motion: Motion,
    *,
    contacts: np.ndarray | None = None,
    residual_limit: float | None = None,
    fall_error: float = 0.3,
    ground_align: bool = True,
    stiffness: float = 1.0,
) -> TrackingResult:
    """Track ``motion`` with PD control plus root residual force and torque.

    Args:
        humanoid: from :func:`build_humanoid`.
        motion: the motion (root trajectory scaled to the humanoid by pelvis height).
        contacts: ``(T, 4)`` foot contacts deciding which frames define the
            ground alignment (default: the motion's, else detected).
        residual_limit: cap on the residual force, in body weights (and on
            the torque, in body weight x 1 m); None: uncapped.
        fall_error: mean body-origin error, metres, counted as a fall.
        ground_align: shift the reference vertically so that, over contact
            frames, the median lowest capsule point is on the ground.
        stiffness: multiplier on the joint PD gains.
    Returns:
        :class:`TrackingResult`.
    """
    mujoco = _mujoco()
    if not isinstance(motion, Motion):
        raise InputError(f"track_motion: expected a Motion, got {type(motion).__name__}")
    if motion.num_frames < 2:
        raise InputError("track_motion: the motion needs at least 2 frames")
    m = humanoid.model
    d = mujoco.MjData(m)
    h_body = -humanoid.skeleton.floor_height()
    h_motion = -motion.skeleton.floor_height()
    scale = h_body / h_motion if h_motion > 1e-6 else 1.0
    qref = _reference_qpos(humanoid, motion, scale)
    T = motion.num_frames
    offset = 0.0
    if ground_align:
        if contacts is None:
            contacts = motion.contacts
        if contacts is None:
            from humokit.optim.physics.contacts import detect_contacts

            contacts = detect_contacts(motion.joints(), motion.fps)
        low = _lowest_geom_points(mujoco, m, d, qref)
        cf = np.asarray(contacts, dtype=bool).any(axis=1)
        offset = -float(np.median(low[cf])) if cf.any() else -float(low.min())
        qref[:, 1] += offset
    dt_frame = 1.0 / motion.fps
    vref = np.zeros((T, m.nv))
    for t in range(T - 1):
        mujoco.mj_differentiatePos(m, vref[t], dt_frame, qref[t], qref[t + 1])
    vref[-1] = vref[-2]

    # gains from the T-pose subtree masses and lever arms
    bid, dofs = humanoid.body_ids, humanoid.dof_adr
    mujoco.mj_resetData(m, d)  # T-pose
    mujoco.mj_forward(m, d)
    M = humanoid.total_mass
    kp = np.zeros(m.nv)
    kd = np.zeros(m.nv)
    kp[0:3] = M * (2 * np.pi * 3.0) ** 2
    kd[0:3] = 2 * np.sqrt(kp[0] * M)
    I_root = M * 0.3**2
    kp[3:6] = M * GRAVITY * 1.0 / 0.05
    kd[3:6] = 2 * np.sqrt(kp[3] * I_root)
    for j in range(1, NUM_JOINTS):
        b = bid[j]
        Msub = m.body_subtreemass[b]
        L = max(np.linalg.norm(d.subtree_com[b] - d.xpos[b]), 0.05)
        k = stiffness * (Msub * GRAVITY * L / 0.05 + 5.0)
        I_eff = Msub * L * L + 0.01
        dof = dofs[j]
        kp[dof : dof + 3] = k
        kd[dof : dof + 3] = 2 * np.sqrt(k * I_eff)
    # reference body origins (for the tracking error)
    ref_x = np.empty((T, NUM_JOINTS, 3))
    for t in range(T):
        d.qpos[:] = qref[t]
        mujoco.mj_kinematics(m, d)
        ref_x[t] = d.xpos[bid]

    m.dof_damping[:] = kd
    mujoco.mj_resetData(m, d)
    d.qpos[:] = qref[0]
    d.qvel[:] = vref[0]
    mujoco.mj_forward(m, d)
    sub = max(int(round(dt_frame / m.opt.timestep)), 1)
    h = dt_frame / sub
    err = np.zeros(m.nv)
    target = np.zeros(m.nq)
    F = np.zeros((T, 3))
    sim_q = np.zeros((T, m.nq))
    track = np.zeros(T)
    weight = M * GRAVITY
    fall_frame = None
    for t in range(T):
        sim_q[t] = d.qpos
        track[t] = np.linalg.norm(d.xpos[bid] - ref_x[t], axis=-1).mean()
        if fall_frame is None and track[t] > fall_error:
            fall_frame = t
        if t == T - 1:
            break
        acc_f = np.zeros(3)
        for s in range(sub):
            target[:] = qref[t]
            mujoco.mj_integratePos(m, target, vref[t], s * h)
            mujoco.mj_differentiatePos(m, err, 1.0, d.qpos, target)
            # the damping -kd * qvel is MuJoCo's implicit joint damping (stable for light twist axes)
            f = kp * err + kd * vref[t]
            if residual_limit is not None:
                cap = residual_limit * weight
                n = np.linalg.norm(f[0:3])
                if n > cap:
                    f[0:3] *= cap / n
                n = np.linalg.norm(f[3:6])
                if n > cap:
                    f[3:6] *= cap / n
            d.qfrc_applied[:] = f
            mujoco.mj_step(m, d)
            # residual = what the root PD applied, including its (implicit) damping part
            acc_f += f[0:3] - kd[0:3] * d.qvel[0:3]
        F[t] = acc_f / sub
    F[-1] = F[-2]
    sim_motion = _qpos_to_motion(humanoid, sim_q, motion, scale)
    m.dof_damping[:] = 0.0
    res_f, res_t = inverse_dynamics_residual(humanoid, qref, motion.fps)
    return TrackingResult(res_f, res_t, F, weight, track, fall_frame is not None, fall_frame, sim_motion, offset)


def _qpos_to_motion(humanoid: Humanoid, q: np.ndarray, like: Motion, scale: float) -> Motion:
    adr = humanoid.qpos_adr
    quats = np.stack([q[:, adr[0] + 3 : adr[0] + 7]] + [q[:, a : a + 4] for a in adr[1:]], axis=1)
    xyzw = np.concatenate([quats[..., 1:], quats[..., :1]], axis=-1)
    R = quat_to_rotmat(xyzw).astype(np.float32)
    root = q[:, adr[0] : adr[0] + 3].copy()  # grounded by the simulation
    return like.replace(rotations=R, root_position=(root / scale).astype(np.float32))


def simulate_projection(
    motion: Motion,
    humanoid: Humanoid | None = None,
    *,
    residual_limit: float | None = 0.3,
    max_error: float = 0.08,
    blend_frames: int = 5,
) -> tuple[Motion, TrackingResult]:
    """Replace a motion by its simulated tracking where the tracking succeeds.

    The motion is first projected kinematically (ground, foot locks), then
    tracked with the root residual capped at ``residual_limit`` body weights.
    Frames up to the first whose tracking error exceeds ``max_error`` metres
    take the simulated pose; later frames keep the kinematic projection, with
    a ``blend_frames`` cross-fade (rotation slerp, root lerp).

    Returns:
        ``(motion, tracking result)``.
    """
    import torch

    from humokit.motion.rotations import slerp_rotmat
    from humokit.optim.physics.projection import project_motion

    kin = project_motion(motion)
    hum = humanoid or build_humanoid()
    res = track_motion(hum, kin, contacts=kin.contacts, residual_limit=residual_limit)
    bad = np.nonzero(res.tracking_error > max_error)[0]
    cut = int(bad[0]) if len(bad) else kin.num_frames
    if cut >= kin.num_frames:
        return res.motion.replace(contacts=kin.contacts), res
    w = np.zeros(kin.num_frames)  # weight of the simulation
    w[:cut] = 1.0
    start = max(cut - blend_frames, 0)
    w[start:cut] = np.linspace(1.0, 0.0, cut - start + 2)[1:-1] if cut > start else w[start:cut]
    Rs, Rk = torch.from_numpy(res.motion.rotations), torch.from_numpy(kin.rotations)
    t = torch.from_numpy((1.0 - w).astype(np.float32))[:, None].expand(-1, NUM_JOINTS)
    R = slerp_rotmat(Rs, Rk, t).numpy()
    root = w[:, None] * res.motion.root_position + (1 - w[:, None]) * kin.root_position
    out = kin.replace(rotations=R.astype(np.float32), root_position=root.astype(np.float32))
    return out, res
