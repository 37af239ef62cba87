"""Kinematic projection: a fast, differentiable correction towards physical plausibility.

Given joint positions and foot contacts (detected with hysteresis when not
given), :func:`project_joints`

1. **root height**: shifts each frame vertically so the lowest contacting
   sole touches the ground (removes Float and Penetrate in contact frames);
   frames without contact take the shift interpolated from the contact
   frames around them, raised further when they would go through the ground;
2. **foot locking**: each contacting foot joint is held where its contact
   began (x/z); vertically a foot moves as a whole so that its lowest
   contacting sole is on the ground (its pitch is kept); corrections fade
   out over ``blend`` seconds after the contact ends (smoothstep) so nothing
   pops;
3. **root trajectory**: where a locked foot is out of the leg's reach the
   whole body moves towards it (smoothed over ``blend``);
4. **leg IK**: analytic two-bone IK (hip-knee-ankle, knee kept in its plane)
   places the ankle on its target with the original bone lengths; the toe
   follows the ankle, then goes to its own target when it is in contact.

Everything is torch arithmetic on the joint positions, so gradients flow
from the output to the input (contacts are discrete). It runs as a post-
process (:func:`project_motion`), as a projection step inside diffusion
sampling (call :func:`project_joints` on the predicted clean joints of a
batch ``(B, T, 22, 3)`` at the chosen steps), and its targets define the
loss terms of :mod:`humokit.optim.physics.losses`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.motion.rotations import rotation_between
from humokit.motion.skeleton import FOOT_JOINTS, NUM_JOINTS, PARENTS, forward_kinematics
from humokit.optim.physics._body import JOINT_RADII, check_joints, sole_heights
from humokit.motion.contacts import _runs, contact_runs, detect_contacts

LEGS = ((1, 4, 7, 10), (2, 5, 8, 11))  # (hip, knee, ankle, toe) left, right


@dataclass(frozen=True)
class ProjectionInfo:
    """What :func:`project_joints` did (for reports and tests).

    Attributes:
        contacts: ``(T, 4)`` bool contacts used.
        root_shift: ``(T, 3)`` translation applied to the whole body per frame, metres.
        warnings: one-line notes (e.g. no contact found).
    """

    contacts: np.ndarray
    root_shift: np.ndarray
    warnings: tuple[str, ...] = ()


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _clearance(foot: np.ndarray, floor: np.ndarray, held: np.ndarray, fps: float, clear: float,
               min_speed: float = 0.05) -> np.ndarray:  # fmt: skip
    """``(T,)`` upward lift of a whole foot so that where it is not held and moves, it clears the ground.

    ``foot`` ``(T, 2, 3)`` ankle and toe positions, ``floor`` ``(T, 2)`` the
    height each joint has when standing on the ground, ``held`` ``(T, 2)``
    bool; a joint moving faster than ``min_speed`` m/s (x/z) that is not held
    is raised to ``clear`` metres above its floor (speed: the larger of the
    steps into and out of the frame). Held frames are never lifted (they are
    in contact).
    """
    h = foot[..., 1] - floor  # (T, 2)
    d = np.linalg.norm(np.diff(foot[..., [0, 2]], axis=0), axis=-1) * fps
    pad = np.zeros((1, h.shape[1]))
    v = np.maximum(np.concatenate([pad, d]), np.concatenate([d, pad]))
    need = np.where(~held & (v > min_speed) & (h < clear), clear - h, 0.0).max(axis=1)
    return np.where(held.any(axis=1), 0.0, need)


def _gaussian_matrix(T: int, sigma: float) -> np.ndarray:
    """``(T, T)`` row-normalised Gaussian smoothing matrix (``sigma`` in frames; edges renormalised)."""
    t = np.arange(T, dtype=np.float64)
    K = np.exp(-0.5 * ((t[:, None] - t[None, :]) / max(sigma, 1e-6)) ** 2)
    return K / K.sum(axis=1, keepdims=True)


def _fill_between(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values (T,)`` over frames where ``known`` is False (ends held)."""
    t = np.arange(len(values))
    if not known.any():
        return np.zeros_like(values)
    return np.interp(t, t[known], values[known])


def _split_sliding(
    runs: list[tuple[int, int]], foot: np.ndarray, max_slide: float, gap: int = 1
) -> list[tuple[int, int]]:
    """Contact runs cut where the foot ``(T, 3)`` has moved more than ``max_slide`` (x/z) from where the run began.

    A label that holds a foot still while the motion carries it away (e.g.
    contact channels predicted by a generator) would otherwise drag the body
    along; the rest of such a run, after ``gap`` free frames to blend, is a
    new hold where the foot then is.
    """
    out = []
    todo = list(runs)
    while todo:
        a, b = todo.pop(0)
        drift = np.linalg.norm(foot[a:b, [0, 2]] - foot[a, [0, 2]], axis=-1)
        over = np.nonzero(drift > max_slide)[0]
        if not len(over):
            out.append((a, b))
            continue
        cut = a + int(over[0])
        out.append((a, cut))
        if cut + gap < b:  # the foot is held again where it is, after a gap to fade between the two holds
            todo.insert(0, (cut + gap, b))
    return [(a, b) for a, b in out if b > a]


def _foot_drop(h: np.ndarray, contacts: np.ndarray, keep_pitch: bool) -> np.ndarray:
    """``(T, 4)`` vertical correction of each contacting foot joint, from sole heights above the ground ``h (T, 4)``.

    ``keep_pitch``: a foot moves vertically as a whole, so that its lowest
    contacting sole touches the ground and the other joint keeps its height
    above it (a flat foot of the data convention, or a heel slightly raised,
    is not flattened onto the skeleton's rest sole heights); otherwise each
    contacting joint goes to the ground on its own.
    """
    if not keep_pitch:
        return -h
    out = np.zeros_like(h)
    for a in (0, 2):  # (ankle, toe) of each foot
        c = contacts[:, a : a + 2]
        low = np.where(c, h[:, a : a + 2], np.inf).min(axis=1)
        out[:, a : a + 2] = np.where(c, -low[:, None], 0.0)
    return out


def _foot_corrections(
    P: np.ndarray, contacts: np.ndarray, sole: np.ndarray, ground: float, nb: int, max_slide: float = 0.1,
    keep_pitch: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Per foot joint target correction ``(T, 4, 3)`` and its weight ``(T, 4)`` in [0, 1].

    ``sole`` is ``(T, 4)`` per-frame sole heights; contact runs are cut where
    the foot slides more than ``max_slide`` metres (:func:`_split_sliding`).
    """
    T = P.shape[0]
    feet = P[:, list(FOOT_JOINTS)]
    delta = np.zeros((T, 4, 3))
    weight = np.zeros((T, 4))
    dy = _foot_drop(feet[..., 1] - sole - ground, contacts, keep_pitch)
    for k, runs in enumerate(contact_runs(contacts)):
        for a, b in _split_sliding(runs, feet[:, k], max_slide, gap=max(nb, 1)):
            delta[a:b, k, 0] = feet[a, k, 0] - feet[a:b, k, 0]
            delta[a:b, k, 2] = feet[a, k, 2] - feet[a:b, k, 2]
            delta[a:b, k, 1] = dy[a:b, k]
            weight[a:b, k] = 1.0
            # fade the end correction out after the contact and the hold in before it
            for i in range(1, nb + 1):
                w = float(_smoothstep(np.array(1.0 - i / (nb + 1))))
                if b - 1 + i < T and weight[b - 1 + i, k] < w:
                    delta[b - 1 + i, k] = delta[b - 1, k]
                    weight[b - 1 + i, k] = w
                if a - i >= 0 and weight[a - i, k] < w:
                    # the foot comes down onto where it will be held (landing, not sliding in)
                    delta[a - i, k] = feet[a, k] - feet[a - i, k]
                    delta[a - i, k, 1] = delta[a, k, 1]
                    weight[a - i, k] = w
    return delta, weight


def stance_contacts(
    P: np.ndarray,
    sole: np.ndarray,
    fps: float,
    ground: float = 0.0,
    tolerance: float = 0.02,
    max_height: float = 0.3,
    max_speed: float = 1.5,
) -> np.ndarray:
    """``(T, 4)`` bool: the joints of the lower foot where that foot is on the clip's floor.

    Per frame, the foot (heel + toe joints) whose lowest sole is lower is the
    stance foot when that sole is within ``tolerance`` metres of the clip's
    floor (5th percentile of the lowest sole, so a clip that floats by a
    constant still has stance feet) and within ``max_height`` of the ground;
    its joints within ``tolerance`` of the floor count as contacts. Unlike
    :func:`detect_contacts` this ignores speed, so a foot that slides along the
    floor (a common artefact of generated motion) is recognised as a stance
    foot that must be held, unless it moves faster than ``max_speed`` m/s
    (no stance foot moves like that). ``P`` ``(T, 22, 3)``, ``sole`` ``(T, 4)``.
    """
    h = P[:, list(FOOT_JOINTS), 1] - sole - ground  # (T, 4)
    left, right = h[:, 0:2].min(axis=1), h[:, 2:4].min(axis=1)  # (T,) lowest sole of each foot
    floor = float(np.percentile(np.minimum(left, right), 5)) if len(h) else 0.0
    rel = np.where(np.abs(h) < max_height, h - floor, np.inf)
    left_lower = left <= right
    out = np.zeros(h.shape, dtype=bool)
    out[:, 0:2] = left_lower[:, None] & (rel[:, 0:2] < tolerance)
    out[:, 2:4] = ~left_lower[:, None] & (rel[:, 2:4] < tolerance)
    if len(P) > 1:
        speed = np.linalg.norm(np.gradient(P[:, list(FOOT_JOINTS)], axis=0), axis=-1) * fps
        out &= speed < max_speed
    return out


def _long_flights(contacts: np.ndarray, fps: float, max_flight: float) -> np.ndarray:
    """``(T,)`` bool: frames inside contact-free stretches longer than ``max_flight`` seconds."""
    out = np.zeros(len(contacts), dtype=bool)
    for a, b in _runs(~contacts.any(axis=1)):
        if (b - a) / fps > max_flight:
            out[a:b] = True
    return out


def _root_slip_correction(P: np.ndarray, contacts: np.ndarray, nb: int) -> np.ndarray:
    """``(T, 3)`` horizontal root offsets that cancel the sliding of contacting feet.

    Per frame the x/z displacement of the least-moving foot joint in contact
    in both this and the previous frame is the slip (the planted one: a
    rolling heel or toe moves while the other holds); the root's velocity is reduced
    by it (smoothed over ``nb`` frames so the body's path stays smooth) and
    integrated (an exponential moving average, causal, so frames before the slip
    are not moved). A planted foot then stays planted and the body travels only as
    far as its steps carry it.
    """
    T = P.shape[0]
    vel = np.zeros((T, 3))
    if T < 2:
        return vel
    feet = P[:, list(FOOT_JOINTS)]
    both = contacts[1:] & contacts[:-1]  # (T-1, 4)
    disp = (feet[1:] - feet[:-1]) * np.array([1.0, 0.0, 1.0])
    # the least-moving contacting joint is the one planted (a rolling heel or toe moves while the other holds)
    size = np.where(both, np.linalg.norm(disp, axis=-1), np.inf)
    k = size.argmin(axis=1)
    slip = np.where(both.any(axis=1)[:, None], disp[np.arange(T - 1), k], 0.0)
    vel[1:, [0, 2]] = -slip[:, [0, 2]]
    if nb > 0:  # causal smoothing: frames before a slip starts stay where they were
        from scipy.signal import lfilter

        a = 1.0 / (1.0 + nb / 3.0)
        vel = lfilter([a], [1.0, a - 1.0], vel, axis=0)
    return np.cumsum(vel, axis=0)


def _root_height_shift(
    P: np.ndarray, contacts: np.ndarray, sole: np.ndarray, lowest: np.ndarray, ground: float
) -> np.ndarray:
    """``(T,)`` vertical shift: contact soles ``(T, 4)`` to the ground, the lowest point ``(T,)`` not through it."""
    feet_h = P[:, list(FOOT_JOINTS), 1] - sole - ground  # (T, 4)
    lowest = lowest - ground
    cf = contacts.any(axis=1)
    hc = np.where(contacts, feet_h, np.inf).min(axis=1)
    shift = _fill_between(np.where(cf, -hc, 0.0), cf)
    return np.maximum(shift, -lowest)


def _two_bone_ik(
    hip: torch.Tensor, knee: torch.Tensor, ankle: torch.Tensor, target: torch.Tensor, eps: float = 1e-6,
    soft: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Knee and ankle ``(..., 3)`` putting the ankle on ``target`` with the original bone lengths.

    The knee stays in the plane of the original leg (its bend direction is
    the original knee's offset from the hip-target line); unreachable targets
    are approached along the hip-target direction. ``soft`` (metres) eases
    the reach over the last ``soft`` before full extension (soft IK): the
    knee of a nearly straight leg otherwise swings by centimetres for
    millimetres of target motion, which shows as jerk; the ankle then falls
    short of targets in that band by at most ``soft * e^-1``.
    """
    l1 = (knee - hip).norm(dim=-1, keepdim=True)
    l2 = (ankle - knee).norm(dim=-1, keepdim=True)
    d_vec = target - hip
    d_raw = d_vec.norm(dim=-1, keepdim=True).clamp_min(eps)
    u = d_vec / d_raw
    lo = (l1 - l2).abs() + 1e-4
    hi = l1 + l2 - 1e-4
    if soft > 0:
        start = hi - soft
        eased = start + soft * (1 - torch.exp(-(d_raw - start).clamp_min(0.0) / soft))
        d_raw = torch.where(d_raw > start, eased, d_raw)
    d = torch.minimum(torch.maximum(d_raw, lo), hi)
    a = (l1 * l1 - l2 * l2 + d * d) / (2 * d)
    h = (l1 * l1 - a * a).clamp_min(0.0).sqrt()
    pole = knee - hip
    pole = pole - (pole * u).sum(-1, keepdim=True) * u
    pn = pole.norm(dim=-1, keepdim=True)
    # a straight original leg has no bend direction: bend forward (+Z turned by the hip-target line)
    fwd = torch.zeros_like(u)
    fwd[..., 2] = 1.0
    fwd = fwd - (fwd * u).sum(-1, keepdim=True) * u
    pole = torch.where(pn > 1e-4, pole / pn.clamp_min(eps), fwd / fwd.norm(dim=-1, keepdim=True).clamp_min(eps))
    new_knee = hip + a * u + h * pole
    new_ankle = hip + d * u
    return new_knee, new_ankle


def _toe_above_ground(ankle: torch.Tensor, direction: torch.Tensor, length: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """Toe at ``length (T,1)`` from ``ankle`` along ``direction``, turned up in its vertical plane so ``y >= floor (T,1)``."""
    d = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    toe = ankle + length * d
    low = toe[..., 1:2] < floor
    dy = torch.minimum(floor - ankle[..., 1:2], length)
    r = (length * length - dy * dy).clamp_min(1e-12).sqrt()
    hz = d * torch.tensor([1.0, 0.0, 1.0], dtype=d.dtype, device=d.device)
    hz = hz / hz.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    lifted = ankle + r * hz + dy * torch.tensor([0.0, 1.0, 0.0], dtype=d.dtype, device=d.device)
    return torch.where(low, lifted, toe)


def project_joints(
    joints: torch.Tensor | np.ndarray,
    fps: float,
    *,
    contacts: np.ndarray | None = None,
    sole: np.ndarray | None = None,
    lowest: np.ndarray | None = None,
    ground: float = 0.0,
    blend: float = 0.15,
    lock_height: float = 0.01,
    fix_slip: bool = False,
    smooth: float = 0.0,
    max_flight: float = 0.5,
    soft_ik: float = 0.0,
    root_smooth: float = 0.0,
    keep_pitch: bool = True,
    max_slide: float = 0.1,
    return_info: bool = False,
) -> torch.Tensor | np.ndarray | tuple[torch.Tensor | np.ndarray, ProjectionInfo]:
    """Project joint positions onto physically plausible ground contact.

    Args:
        joints: ``(T, 22, 3)`` or ``(B, T, 22, 3)`` joint positions, metres,
            Y up; torch (differentiable) or numpy (returned as numpy).
        fps: frames per second.
        contacts: ``(T, 4)`` / ``(B, T, 4)`` bool foot contacts (default: detected).
        sole: ``(4,)`` or per-frame ``(T, 4)`` sole heights of the foot joints
            (default: canonical skeleton); per-frame values come from a posed mesh.
        lowest: ``(T,)`` height of the lowest body point per frame (e.g. the
            lowest mesh vertex); default the joints minus their radii.
        ground: ground plane height, metres.
        blend: seconds over which foot corrections fade in/out around contacts.
        lock_height: foot joints whose sole is this close to the ground after
            the height correction, and slow, are locked too (so no foot slides
            on the ground), metres.
        smooth: first low-pass the joint trajectories with a Gaussian of
            this standard deviation, seconds (0: off); removes frame-to-frame
            jitter that no contact handling can make plausible.
        fix_slip: move the root so that feet in contact stop sliding
            (:func:`_root_slip_correction`) before they are locked. Off by
            default: only where both feet are down (standing, double
            support); elsewhere the root path is kept and a sliding stance
            foot is held in place (cut into new holds every 0.1 m) or lifted
            clear.
        max_flight: seconds; with detected contacts, a longer stretch without
            any contact gets the lowest foot on the floor as its stance foot
            however fast it slides (held, so a glide becomes short steps).
        soft_ik: metres of soft IK before full leg extension (see :func:`_two_bone_ik`).
        root_smooth: low-pass the whole-body shift (height and slip
            correction) with a Gaussian of this standard deviation, seconds
            (0: off); the leg IK then absorbs the rest, so the body does not
            bob with every generated foot wobble.
        keep_pitch: a contacting foot is moved vertically as a whole so its
            lowest contacting sole touches the ground, keeping the other
            joint's height above it (:func:`_foot_drop`); False puts every
            contacting joint at its own sole height (flattens feet onto the
            skeleton's rest foot).
        max_slide: metres a held foot may have slid in the input before its
            hold is released and it is held again where it then is (a glide
            becomes short steps); labels given in ``contacts`` are held
            however far.
        return_info: also return :class:`ProjectionInfo` (a list for batches).
    Returns:
        Projected joints, same shape and type as ``joints`` (and the info).
    """
    was_numpy = not isinstance(joints, torch.Tensor)
    X = torch.as_tensor(np.asarray(joints, dtype=np.float64)) if was_numpy else joints
    if X.ndim == 4:
        outs, infos = [], []
        for b in range(X.shape[0]):
            cb = None if contacts is None else np.asarray(contacts)[b]
            o, i = project_joints(X[b], fps, contacts=cb, sole=sole, ground=ground, blend=blend,
                                  lock_height=lock_height, fix_slip=fix_slip, smooth=smooth,
                                  max_flight=max_flight, soft_ik=soft_ik, root_smooth=root_smooth,
                                  keep_pitch=keep_pitch, max_slide=max_slide, return_info=True)  # type: ignore[misc]
            outs.append(o)
            infos.append(i)
        Y = torch.stack(outs)
        res = Y.numpy() if was_numpy else Y
        return (res, infos) if return_info else res  # type: ignore[return-value]
    check_joints(X, "project_joints")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"project_joints: fps must be positive, got {fps}")
    if not max_slide > 0 or root_smooth < 0:
        raise InputError(f"project_joints: max_slide must be > 0 and root_smooth >= 0, got {max_slide}, {root_smooth}")
    if smooth > 0 and X.shape[0] > 2:
        K = torch.as_tensor(_gaussian_matrix(X.shape[0], smooth * fps), dtype=X.dtype, device=X.device)
        X = torch.einsum("ts,sjc->tjc", K, X)
    P = X.detach().cpu().double().numpy()
    T = P.shape[0]
    s = sole_heights() if sole is None else np.asarray(sole, dtype=np.float64)
    s = np.broadcast_to(s, (T, 4)).copy() if s.shape in ((4,), (T, 4)) else None
    if s is None:
        raise InputError(f"project_joints: sole must have shape (4,) or ({T}, 4)")
    warnings: list[str] = []
    given = contacts is not None  # labels given by the caller are held however far the foot slid
    if contacts is None:
        contacts = detect_contacts(P, fps, sole=np.median(s, axis=0), ground=ground) | stance_contacts(P, s, fps, ground)
        # nobody stays in the air for long: in long contact-free stretches the lowest foot on the floor is
        # a stance foot however fast it slides (held where it lands, the body keeping its path: a glide
        # becomes short steps)
        forced = _long_flights(contacts, fps, max_flight)[:, None] & stance_contacts(P, s, fps, ground, max_speed=np.inf)
        contacts = contacts | forced
    contacts = np.asarray(contacts, dtype=bool)
    if contacts.shape != (T, 4):
        raise InputError(f"project_joints: contacts must have shape ({T}, 4), got {contacts.shape}")
    if not contacts.any():
        warnings.append("no foot contact found: only lifted out of the ground, feet not locked")
    if lowest is None:
        radii = np.broadcast_to(JOINT_RADII, (T, NUM_JOINTS)).copy()
        radii[:, list(FOOT_JOINTS)] = s
        lowest = (P[..., 1] - radii).min(axis=1)
    lowest = np.asarray(lowest, dtype=np.float64).reshape(-1)
    if lowest.shape != (T,):
        raise InputError(f"project_joints: lowest must have shape ({T},), got {lowest.shape}")
    nb = max(int(round(blend * fps)), 0)

    # 1. root height
    shift = np.zeros((T, 3))
    shift[:, 1] = _root_height_shift(P, contacts, s, lowest, ground)
    if fix_slip and contacts.any():
        shift += _root_slip_correction(P, contacts, nb)
    else:
        # both feet down (standing, double support): the body moves only with its feet
        double = contacts[:, 0:2].any(axis=1) & contacts[:, 2:4].any(axis=1)
        slip_frames = contacts & double[:, None]
        if slip_frames.any():
            shift += _root_slip_correction(P, slip_frames, nb)
    if root_smooth > 0 and T > 2:
        from scipy.ndimage import gaussian_filter1d

        shift = gaussian_filter1d(shift, sigma=root_smooth * fps, axis=0, mode="nearest")
        shift[:, 1] = np.maximum(shift[:, 1], ground - lowest)
    P1 = P + shift[:, None, :]
    # 2. foot targets; slow feet left on the ground are held too
    lock = contacts.copy()
    if lock_height > 0 and T > 1:
        feet = P1[:, list(FOOT_JOINTS)]
        speed = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * fps
        lock |= (feet[..., 1] - s - ground < lock_height) & (speed < 1.0)
    delta, weight = _foot_corrections(P1, lock, s, ground, nb, max_slide=np.inf if given else max_slide,
                                      keep_pitch=keep_pitch)
    # the contacts the projection holds (runs cut for sliding are not in contact)
    held_contacts = weight >= 0.999
    # 3. root trajectory: move horizontally where a target is out of reach
    targets = P1[:, list(FOOT_JOINTS)] + delta * weight[..., None]
    horiz = np.zeros((T, 3))
    for side, (hip, knee, ankle, _toe) in enumerate(LEGS):
        reach = np.linalg.norm(P1[:, knee] - P1[:, hip], axis=-1) + np.linalg.norm(P1[:, ankle] - P1[:, knee], axis=-1)
        v = targets[:, 2 * side] - P1[:, hip]
        dist = np.linalg.norm(v, axis=-1)
        excess = np.clip(dist - (reach - 2e-4), 0.0, None)
        need = v / np.maximum(dist, 1e-9)[:, None] * excess[:, None]
        horiz = np.where(np.abs(need) > np.abs(horiz), need, horiz)
    if nb > 0 and np.abs(horiz).max() > 0:
        from scipy.ndimage import gaussian_filter1d

        smooth = gaussian_filter1d(horiz, sigma=nb / 2.0, axis=0, mode="nearest")
        horiz = np.where(np.abs(smooth) >= np.abs(horiz), smooth, horiz)
    shift = shift + horiz

    # torch part (differentiable w.r.t. joints)
    sh = torch.as_tensor(shift, dtype=X.dtype, device=X.device)
    Y = X + sh[:, None, :]
    # correction to each foot joint's target, relative to the shifted body
    dt = torch.as_tensor(delta - horiz[:, None, :], dtype=X.dtype, device=X.device)
    cols = [Y[:, j] for j in range(NUM_JOINTS)]
    for side, (hip, knee, ankle, toe) in enumerate(LEGS):
        ka, kt = 2 * side, 2 * side + 1
        wa = torch.as_tensor(weight[:, ka], dtype=X.dtype)[:, None]
        wt = torch.as_tensor(weight[:, kt], dtype=X.dtype)[:, None]
        # each joint blends towards its own target by its weight, and follows the other
        # joint's correction for the rest (heel raised: the ankle moves with the held toe)
        d_ankle = wa * dt[:, ka] + (1 - wa) * wt * dt[:, kt]
        d_toe = wt * dt[:, kt] + (1 - wt) * wa * dt[:, ka]
        target = Y[:, ankle] + d_ankle
        # the heel does not go through the floor either
        heel_floor = torch.as_tensor(ground + s[:, ka], dtype=X.dtype, device=X.device)
        target = torch.cat([target[:, :1], torch.maximum(target[:, 1:2], heel_floor[:, None]), target[:, 2:]], dim=1)
        new_knee, new_ankle = _two_bone_ik(Y[:, hip], Y[:, knee], Y[:, ankle], target, soft=soft_ik)
        foot_vec = Y[:, toe] - Y[:, ankle]
        toe_goal = Y[:, toe] + d_toe
        # toe: keep the foot vector, turned towards its own target where it is held
        want = toe_goal - new_ankle
        want_n = want / want.norm(dim=-1, keepdim=True).clamp_min(1e-9)
        held = foot_vec.norm(dim=-1, keepdim=True) * want_n
        mixed = wt * held + (1 - wt) * foot_vec
        floor_t = torch.as_tensor(ground + s[:, kt], dtype=X.dtype, device=X.device)[:, None]
        new_toe = _toe_above_ground(new_ankle, mixed, foot_vec.norm(dim=-1, keepdim=True), floor_t)
        if lock_height > 0 and T > 1:
            # 5. clearance: a foot that is not held and moves must not touch the ground
            lift = _clearance(torch.stack([new_ankle, new_toe], 1).detach().cpu().double().numpy(),
                              s[:, [ka, kt]] + ground, held_contacts[:, [ka, kt]], fps, lock_height + 0.002)
            if lift.any():
                up = torch.zeros_like(new_ankle)
                up[:, 1] = torch.as_tensor(lift, dtype=X.dtype, device=X.device)
                new_knee, lifted = _two_bone_ik(Y[:, hip], new_knee, new_ankle, new_ankle + up, soft=soft_ik)
                new_toe = new_toe + (lifted - new_ankle)
                new_ankle = lifted
        cols[knee], cols[ankle], cols[toe] = new_knee, new_ankle, new_toe
    out = torch.stack(cols, dim=1)
    info = ProjectionInfo(contacts=held_contacts, root_shift=shift, warnings=tuple(warnings))
    res = out.numpy() if was_numpy else out
    return (res, info) if return_info else res


def joints_to_motion(motion: Motion, joints: np.ndarray) -> Motion:
    """Motion whose legs and root follow projected ``joints (T, 22, 3)``, other rotations kept.

    Root: the pelvis moves to the projected pelvis. Legs: each bone's world
    rotation is turned minimally from its old direction to its new one (hip,
    then knee, then ankle), so twist about the bones is preserved.
    """
    R_local = torch.from_numpy(motion.rotations).double()
    off = torch.from_numpy(motion.skeleton.offsets).double()
    P_new = torch.as_tensor(joints, dtype=torch.float64)
    _, Rw = forward_kinematics(R_local, torch.from_numpy(motion.root_position).double(), off, PARENTS)
    R_new = R_local.clone()
    for hip, knee, ankle, toe in LEGS:
        Rw_parent = Rw[:, PARENTS[hip]]
        Rw_cur = Rw_parent @ R_local[:, hip]
        for j, c in ((hip, knee), (knee, ankle), (ankle, toe)):
            cur_dir = (Rw_cur @ off[c].unsqueeze(-1)).squeeze(-1)
            Rw_j = rotation_between(cur_dir, P_new[:, c] - P_new[:, j]) @ Rw_cur
            R_new[:, j] = Rw_parent.transpose(-1, -2) @ Rw_j
            Rw_parent = Rw_j
            Rw_cur = Rw_j @ R_local[:, c]
    return motion.replace(rotations=R_new.float().numpy(), root_position=P_new[:, 0].float().numpy())


def project_motion(
    motion: Motion,
    body: object | None = None,
    *,
    ground: float = 0.0,
    blend: float = 0.15,
    contacts: np.ndarray | None = None,
    use_stored_contacts: bool = False,
    return_info: bool = False,
) -> Motion | tuple[Motion, ProjectionInfo]:
    """Kinematic projection of a :class:`Motion` (see :func:`project_joints`).

    ``body`` (BodyModel, name or None) supplies sole heights from its mesh.
    Contacts: ``contacts`` when given, else the motion's own labels when
    ``use_stored_contacts`` (labels predicted by a generator are often wrong,
    so the default is to detect them from the kinematics); the result stores
    the contacts used.
    """
    from humokit.optim.physics._body import resolve_body

    if not isinstance(motion, Motion):
        raise InputError(f"project_motion: expected a Motion, got {type(motion).__name__}")
    if motion.num_frames == 0:
        raise InputError("project_motion: the motion has no frames")
    bm = resolve_body(body)
    if contacts is None and use_stored_contacts:
        contacts = motion.contacts
    scale = 1.0
    source = motion
    if bm is None:
        sole: np.ndarray = sole_heights(motion.skeleton)
        lowest = None
    else:
        # project on the body's own skeleton (its limb proportions differ: a foot held on the
        # canonical skeleton slides on the body); the body poses it identically (root scale 1)
        rest = bm.rest(bm.shape_from_motion(motion))  # type: ignore[attr-defined]
        scale = bm.root_scale_for(rest, motion)  # type: ignore[attr-defined]
        motion = motion.replace(skeleton=rest.skeleton, root_position=(motion.root_position * scale).astype(np.float32))
        sole, lowest = mesh_soles(bm, motion)
    out = motion
    for it in range(2 if bm is not None else 1):
        if it > 0:  # the mesh moved with the legs: measure it again
            sole, lowest = mesh_soles(bm, out)
        with torch.no_grad():
            J = torch.from_numpy(out.joints()).double()
            Y, info = project_joints(J, motion.fps, contacts=contacts, sole=sole, lowest=lowest, ground=ground,  # type: ignore[misc]
                                     blend=blend, return_info=True)
        out = joints_to_motion(out, Y.numpy()).replace(contacts=info.contacts)
        contacts = info.contacts  # the second pass keeps the first one's contacts
    if bm is not None:
        out = out.replace(skeleton=source.skeleton, root_position=(out.root_position / scale).astype(np.float32))
    return (out, info) if return_info else out


def mesh_soles(body: object, motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame sole heights ``(T, 4)`` and lowest body point ``(T,)`` of a posed mesh, in motion space.

    The body is posed with ``motion`` (its root scaled by the body's
    ``root_scale_for``); heights of the lowest vertex of each foot part and of
    the whole mesh are divided by that scale so that moving the motion's root
    by ``d`` moves them by ``d``. ``sole[t, k]`` = motion foot joint height
    minus the height of the lowest vertex of that foot's part.
    """
    shape = body.shape_from_motion(motion)  # type: ignore[attr-defined]
    rest = body.rest(shape)  # type: ignore[attr-defined]
    scale = body.root_scale_for(rest, motion)  # type: ignore[attr-defined]
    labels = torch.from_numpy(rest.part_labels())
    with torch.no_grad():
        V = body.forward(motion, shape=shape).vertices[..., 1].double()  # type: ignore[attr-defined]
    low_parts = torch.stack([V[:, labels == j].min(dim=1).values for j in FOOT_JOINTS], dim=1).numpy() / scale
    lowest = V.min(dim=1).values.numpy() / scale
    feet_y = motion.joints()[:, list(FOOT_JOINTS), 1].astype(np.float64)
    return feet_y - low_parts, lowest


def project(x: Motion | torch.Tensor | np.ndarray, fps: float | None = None, **kwargs: object) -> object:
    """:func:`project_motion` for a Motion, :func:`project_joints` for joint positions."""
    if isinstance(x, Motion):
        return project_motion(x, **kwargs)  # type: ignore[arg-type]
    if fps is None:
        raise InputError("project: give fps with joint positions")
    return project_joints(x, fps, **kwargs)  # type: ignore[arg-type]
