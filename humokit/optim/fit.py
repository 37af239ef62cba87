"""Temporal body fit: a keypoint track -> a world-grounded canonical :class:`Motion` and a camera.

Steps (:func:`fit_track`):

1. **Warm start.** 3D landmarks (metric, hip-centred, camera axes) are rescaled
   to the skeleton's size, mapped to the 22 joints
   (:func:`humokit.optim.landmarks.joints_from_landmarks`) and placed in the
   camera by solving each frame's translation against the 2D landmarks
   (:func:`humokit.optim.camera_model.solve_translation`). Gravity is the
   confidence-weighted mean body axis (mid-ankle -> mid-shoulder) in camera
   axes, which gives the camera pitch and roll; the ground ``y = 0`` is put
   under the lowest feet, which gives the camera height. Analytic IK
   (:func:`humokit.motion.skeleton.inverse_kinematics`) turns the joints into
   rotations.
2. **Optimisation** (torch, Adam) of per-frame 6D rotations, root trajectory,
   a global skeleton scale and (in the first window) camera pitch, roll and
   height, in overlapping windows (bounded memory; each window starts from the
   previous one's overlap and is tied to it). Loss, each term divided by its
   tolerance squared (see :class:`FitConfig`):

   - 2D: robust (pseudo-Huber) reprojection error of the body markers
     (:data:`humokit.optim.landmarks.MARKERS`) in units of the person's
     height in pixels, weighted by :func:`visibility_weight` of the landmark
     confidence (occluded landmarks count for nothing);
   - 3D: hip-centred marker positions vs the detector's 3D landmarks,
     weighted by confidence (floored at ``min_weight_3d``);
   - pose prior (the shipped mixture of Gaussians learned from mocap,
     :func:`~humokit.optim.pose_gmm.default_pose_prior`, by default, or any
     :class:`~humokit.optim.priors.MotionPrior`) and joint limits; a
     stronger prior on arms whose elbow and wrist are unseen (occluded);
   - smoothness: joint accelerations and root acceleration;
   - contacts (second stage): feet estimated in contact
     (:func:`~humokit.optim.contacts.estimate_contacts` on the first pass,
     or still in the image, :func:`~humokit.optim.contacts.image_still_feet`,
     and not above the other foot) do not slide and rest on the ground
     plane; no foot goes below the ground. Planted feet that do not slide
     give a walk its stride along the camera ray, which the detector's 3D
     landmarks flatten.

   Between the passes the camera pitch, roll and height are re-estimated from
   the contacts (:func:`refine_ground`; a walk in depth gives the pitch) and
   the 3D landmarks are turned by the same change of gravity.

After the fit the world origin is moved under the first frame's pelvis.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import roma
import torch
from tqdm import tqdm

from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.motion.rotations import slerp_rotmat
from humokit.motion.skeleton import FOOT_JOINTS, JOINT_NAMES, Skeleton, default_skeleton, forward_kinematics, inverse_kinematics
from humokit.optim.camera_model import camera_rotation, intrinsics_matrix, make_camera, pitch_roll_from_up, project_torch, solve_translation
from humokit.optim.contacts import FOOT_REST_HEIGHTS, estimate_contacts, image_still_feet
from humokit.optim.physics.losses import contact_losses
from humokit.optim.landmarks import joints_from_landmarks, marker_positions, marker_table
from humokit.optim.heading import swing_loss
from humokit.optim.lift import align_rotations, joint_markers, lift_for_fit, lift_prior_loss, lift_weight
from humokit.optim.pose_gmm import default_pose_prior
from humokit.optim.scale import HEIGHT_PRIOR, BodyFamily, BodySize, SizeCue, estimate_body_size, stature

REFERENCE_STATURE = 1.626  # metres: the default Anny body, on which the marker offsets were measured
from humokit.optim.priors import GaussianPosePrior, MotionPrior, joint_limit_loss, unseen_pose_loss
from humokit.optim.track import KeypointTrack, one_euro
from humokit.render.camera import Camera

_J = {n: i for i, n in enumerate(JOINT_NAMES)}
_BONES = ((1, 4), (4, 7), (2, 5), (5, 8), (16, 18), (18, 20), (17, 19), (19, 21))  # thighs, shins, arms


@dataclass(frozen=True)
class FitConfig:
    """Settings of :func:`fit_track`. ``sigma_*`` are tolerances: each loss term is divided by its square.

    Attributes:
        window, overlap: frames per optimisation window and frames shared by consecutive windows. A step
            costs about 16 ms plus a little per frame on one core, so long windows are cheaper per frame
            (600 frames in one window took 2.5x less time than in windows of 120; memory stays small).
        iters_pose, iters_contact: Adam iterations without / with contact terms.
        lr: Adam learning rate.
        rotations: how the optimiser holds the joint rotations: ``"axis_angle"`` (the coordinates of the
            pose prior and joint limits, so no conversion per step; ~25 % faster per step) or ``"6d"``
            (the two first matrix columns, the earlier default).
        sigma_2d: reprojection tolerance as a fraction of the person's height in pixels.
        sigma_3d: tolerance on 3D landmarks, metres.
        w_prior, w_limits: weights of the pose prior and joint limits.
        w_occluded: weight of the pose prior on the shoulder and elbow of an arm whose elbow and
            wrist are unseen (:func:`~humokit.optim.priors.unseen_pose_loss`): with no evidence in
            the image the arm goes to the prior's relaxed pose instead of the detector's guess.
        sigma_accel: joint acceleration tolerance, m/s^2.
        sigma_slide: contact foot speed tolerance, m/s; sigma_ground: contact height tolerance, m.
        sigma_scale: tolerance of log skeleton scale around its warm-start value.
        contact_speed: feet slower than this (m/s) and near the ground are taken as in contact.
        visible: ``(lo, hi)`` landmark confidences between which the 2D weight rises from 0 to 1
            (:func:`visibility_weight`): occluded landmarks (MediaPipe visibility < 0.5) are often
            drawn on another limb in 2D (e.g. a hidden wrist on the visible one).
        min_weight_3d: floor of the 3D landmark weight of a detected landmark (the 3D term is
            weighted by raw confidence, at least this).
        fit_camera: re-estimate camera pitch, roll and height from foot contacts between the passes (:func:`refine_ground`).
        keep_roll: in that re-estimate, correct the pitch alone from the line of contacts of a walk in depth
            (the roll is seen in the image; the detector's 3D landmarks lean towards an upright,
            level-camera body, so it is the pitch that comes out too low).
        retilt_3d: after the re-estimate, turn the 3D landmarks by the same change of gravity.
        align_3d: compare the 3D landmarks up to one rotation per window (Kabsch, not differentiated):
            the detector's 3D gives the pose, the 2D term and the ground give its orientation in the camera.
        still_speed: feet slower than this in the image (person heights per second,
            :func:`~humokit.optim.contacts.image_still_feet`) and within ``still_height`` metres of
            the lower foot are also in contact in the second pass; 0 turns the image cue off.
        still_final: also use that cue for the output contacts (the physics projection locks them).
        lift: use the learned temporal prior (:mod:`humokit.optim.lift`, the shipped lifting network):
            a prior term (``w_lift``) on the pelvis-relative joints in camera axes, compared after a
            per-frame rotation (``align_lift``: the network gives the articulation, the image the
            orientation), each joint weighted by ``sigma_lift^2 / (sigma_lift^2 + std^2)`` with ``std``
            the network's own error estimate (high for hidden arms, missing frames); off, or without
            the weights, the fit is as before. On the val renders (3 clips, plain background)
            PA-MPJPE 53.5 -> 46.1 mm, elbows and wrists 114 -> 96 mm.
        w_lift: weight of that term. On 6 val renders (3 motions, plain and cluttered) PA-MPJPE
            47.3 / 44.8 / 43.5 / 43.7 mm with weights 1 / 2 / 4 / 8 (walks gained most: 61 -> 53 mm); 4 is
            the default.
        sigma_lift: tolerance of the lift term, metres (0.03 and 0.05 were equal on val).
        align_lift: compare with the lifted pose turned onto the fitted one per frame (articulation only).
        lift_init: also start from the lifted pose (turned onto the detector's 3D). Off by default: on
            the val renders the prior term alone gave PA-MPJPE 46.1 mm against 46.9 with the lifted
            start, and on exact synthetic tracks the lifted start (~130 mm from the truth on the
            default skeleton) left the fit at 28-51 mm instead of < 20.
        prior: pose/motion prior (default :func:`~humokit.optim.pose_gmm.default_pose_prior`: the
            shipped :class:`~humokit.optim.pose_gmm.GMMPosePrior`; on the val renders it gave
            PA-MPJPE 59.4 -> 57.9 mm over the hand-set :class:`GaussianPosePrior`).
        estimate_size: size the body from the clip first (:func:`~humokit.optim.scale.estimate_body_size`,
            the detector's metric 3D limbs and a height prior) and fit that skeleton at a fixed size;
            False keeps the given skeleton's size.
        size_sigma_3d: tolerance (log units) of the detector-3D size cue; height_prior: ``(metres, log
            sigma)`` of the stature prior, or None.
        fit_scale: also optimise a global skeleton scale in the first window (tied to the detector's
            3D size with ``sigma_scale``); a monocular image does not constrain it (the previous default).
        iters_refine: Adam iterations of the joint refinement after the kinematic physics projection
            (``physics="kinematic"``, learning rate ``lr_refine``): 2D, 3D, priors and contacts, with the
            projected contact feet as anchors (``sigma_anchor`` metres), so the saved motion still lies on
            the person in the image. Off (0) by default: on the val walk it brought the 2D error back
            (2.4 -> 1.6 px) but also the foot skating the projection had removed (0.1 -> 26-30 mm; with
            2 mm anchors 13.7 mm), so the saved motion is the projection's and its own 2D error is reported.
        sigma_lean: tolerance on the trunk's lean from gravity (sine of the pelvis -> neck angle to the
            vertical), robust (pseudo-Huber): the image does not see a lean towards or away from the camera,
            and without this term the body keeps the lean of the warm start's gravity (a walk in depth seen
            from above came out leaning ~20 degrees and 16 % too far); 0 turns it off.
        fit_pitch: optimise the camera pitch and height with the body in the first window of the contact
            pass (the trunk's lean and the contact feet on the ground then tell the pitch); off by default: on the
            val walk seen from 9 m whose pitch came out 4 degrees low it did not move (the 2D term holds the body).
        horizon: between the passes, take the camera pitch and height from the rows of the heels and
            shoulders when the person's image size changes enough (a walk in depth,
            :func:`~humokit.optim.camera_model.horizon_from_walk`) and slide the body along the rays onto
            that ground.
        sigma_swing_deg: tolerance (degrees) of the pelvis's fast turn about the vertical away from its own
            smoothed facing (``swing_s`` seconds, :func:`~humokit.optim.heading.swing_loss`); 0 turns it off.
            The image barely sees the pelvis's yaw: without this term the fitted pelvis of the val walks swung
            12 deg (sd, camera frame) over each gait cycle against the truth's 6.5-7, 6-7 deg off it; with 6 deg,
            7-8 deg and 2-4 deg off, with PA-MPJPE and W-MPJPE unchanged (38.7 mm, 225 -> 226 mm; 3 deg was
            no better), so the W-MPJPE turn of walks does not come from the pelvis.
        camera_height: the camera's known height above the ground, metres: it fixes the scene's scale, so
            the fitted scene (body, path, camera) is scaled to put the camera there (the image is unchanged
            by a uniform scaling about a ground point below the camera) and the body's height follows.
    """

    window: int = 600
    overlap: int = 16
    iters_pose: int = 200
    iters_contact: int = 160
    lr: float = 0.02
    rotations: str = "axis_angle"
    sigma_2d: float = 0.008
    sigma_3d: float = 0.2
    w_prior: float = 0.2
    w_limits: float = 10.0
    w_occluded: float = 10.0
    sigma_accel: float = 20.0
    sigma_root_accel: float = 8.0
    sigma_slide: float = 0.05
    sigma_ground: float = 0.02
    sigma_scale: float = 0.05
    sigma_overlap: float = 0.005
    contact_speed: float = 0.6
    visible: tuple[float, float] = (0.3, 0.7)
    min_weight_3d: float = 0.3
    fit_camera: bool = True
    keep_roll: bool = True
    retilt_3d: bool = True
    align_3d: bool = True
    still_speed: float = 0.25
    still_height: float = 0.1
    still_final: bool = False
    lift: bool = True
    w_lift: float = 4.0
    sigma_lift: float = 0.05
    align_lift: bool = True
    lift_init: bool = False
    prior: MotionPrior | None = None
    estimate_size: bool = True
    size_sigma_3d: float = 0.08
    height_prior: tuple[float, float] | None = HEIGHT_PRIOR
    fit_scale: bool = False
    iters_refine: int = 0
    lr_refine: float = 0.005
    sigma_anchor: float = 0.02
    camera_height: float | None = None
    sigma_lean: float = 0.3
    fit_pitch: bool = False
    horizon: bool = True
    sigma_swing_deg: float = 6.0
    swing_s: float = 0.25

    def __post_init__(self) -> None:
        if self.window < 4 or not 0 <= self.overlap < self.window // 2:
            raise InputError(f"fit: need window >= 4 and 0 <= overlap < window/2, got {self.window}, {self.overlap}")
        if self.rotations not in ("axis_angle", "6d"):
            raise InputError(f"fit: rotations must be 'axis_angle' or '6d', got {self.rotations!r}")
        if self.iters_pose < 0 or self.iters_contact < 0:
            raise InputError("fit: iteration counts must be >= 0")
        if self.iters_refine < 0:
            raise InputError("fit: iteration counts must be >= 0")
        if self.camera_height is not None and not (math.isfinite(self.camera_height) and self.camera_height > 0):
            raise InputError(f"fit: camera_height must be a positive number of metres, got {self.camera_height}")
        if not 0.0 <= self.visible[0] < self.visible[1] <= 1.0 or not 0.0 <= self.min_weight_3d <= 1.0:
            raise InputError(f"fit: need 0 <= visible[0] < visible[1] <= 1 and 0 <= min_weight_3d <= 1, "
                             f"got {self.visible}, {self.min_weight_3d}")


@dataclass(frozen=True)
class FitResult:
    """A recovered motion.

    Attributes:
        motion: world-grounded canonical motion (ground y = 0, metres), contacts filled.
        camera: the fitted static camera (image size of the video).
        confidence: ``(T,)`` per-frame confidence in [0, 1] (landmark confidence x fit quality; 0 without
            a detection), measured on ``motion`` as returned (after the physics step).
        reprojection_error: ``(T,)`` mean 2D marker error of ``motion``, pixels (confidence-weighted);
            NaN on frames without a detection.
        scale: skeleton stature relative to the input skeleton.
        timings: seconds per stage (``init``, ``fit``, ``physics``).
        size: the estimated body size (height, skeleton, Anny phenotype, cues), or None.
    """

    motion: Motion
    camera: Camera
    confidence: np.ndarray
    reprojection_error: np.ndarray
    scale: float
    timings: dict[str, float] = field(default_factory=dict)
    size: BodySize | None = None

    @property
    def detected(self) -> np.ndarray:
        """``(T,)`` bool: frames with a detection (a finite reprojection error)."""
        return np.isfinite(self.reprojection_error)

    def mean_reprojection(self) -> float:
        """Mean reprojection error over frames with a detection, pixels (NaN when there are none)."""
        d = self.detected
        return float(self.reprojection_error[d].mean()) if d.any() else float("nan")


# ----------------------------------------------------------------------------- warm start


@dataclass
class _Init:
    R_local: np.ndarray  # (T,22,3,3)
    root: np.ndarray  # (T,3) world
    pitch: float
    roll: float
    height: float
    scale: float
    rel3d: np.ndarray | None  # (T,M,3) scaled 3D landmarks at the marker columns, camera axes, hip-centred


def visibility_weight(conf: np.ndarray, band: tuple[float, float] = (0.3, 0.7)) -> np.ndarray:
    """2D fitting weight from landmark confidence ``(...)`` in [0, 1]: smoothstep from ``band[0]`` to ``band[1]``."""
    lo, hi = band
    x = np.clip((np.asarray(conf, dtype=np.float64) - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _bone_sum(J: np.ndarray) -> np.ndarray:
    return sum(np.linalg.norm(J[..., a, :] - J[..., b, :], axis=-1) for a, b in _BONES)  # type: ignore[return-value]


def warm_start(track: KeypointTrack, K: np.ndarray, skeleton: Skeleton, cols: np.ndarray, weights: np.ndarray,
               fit_scale: bool = True, lifted: np.ndarray | None = None) -> _Init:
    """Initial motion, camera and scale from the track's 3D (or, without them, 2D) landmarks.

    The 3D landmarks are rescaled to the skeleton's size; ``fit_scale`` also takes the detector's size as
    the initial skeleton scale (else the skeleton keeps its size, scale 1). ``lifted`` ``(T, 22, 3)``
    (pelvis-relative camera-axes joints of the lifting network at the skeleton's size) replaces the
    detector's 3D as the pose, turned onto it per frame.
    """
    T = track.num_frames
    uv = track.uv[:, cols]
    conf = track.confidence[:, cols] * weights
    rest = skeleton.rest_positions()
    if track.world is not None and np.isfinite(track.world).any():
        W = np.nan_to_num(track.world)
        J_mp = joints_from_landmarks(W, track.names, skeleton)
        ratio = _bone_sum(rest) / np.clip(_bone_sum(J_mp), 1e-6, None)
        good = track.confidence.mean(1) > 0.3
        k = float(np.median(ratio[good] if good.any() else ratio))
        scale = float(np.clip(1.0 / k, 0.85, 1.2)) if fit_scale else 1.0  # the detector's metric size, relative
        P_rel = W * k  # landmarks at the skeleton's size
        if "left_hip" in track.names and "right_hip" in track.names:
            mid = 0.5 * (P_rel[:, track.index("left_hip")] + P_rel[:, track.index("right_hip")])
            P_rel = P_rel - mid[:, None]
        J_rel = J_mp * k
    else:  # standing rest pose facing the camera (camera axes: x right, y down, z away)
        flip = np.array([-1.0, -1.0, -1.0])
        J_rel = np.broadcast_to((rest - 0.5 * (rest[1] + rest[2])) * flip, (T, 22, 3)).copy()
        from humokit.optim.landmarks import MARKERS

        P_rel = np.zeros((T, len(track.names), 3))
        for i, n in enumerate(track.names):
            if n in MARKERS:
                j, off, _ = MARKERS[n]
                jj = skeleton.names.index(j)
                P_rel[:, i] = (rest[jj] + np.asarray(off) - 0.5 * (rest[1] + rest[2])) * flip
        scale = 1.0
    P_tau = P_rel
    if lifted is not None:  # learned temporal prior: its pose (turned onto the detector's 3D), placed by its joints
        L = lifted - 0.5 * (lifted[:, 1:2] + lifted[:, 2:3])  # skeleton size, like the 3D landmarks above
        if track.world is not None and np.isfinite(track.world).any():
            Lt, Jt = torch.as_tensor(L), torch.as_tensor(J_rel)
            L = (Lt @ align_rotations(Lt, Jt, torch.ones(Lt.shape[:2], dtype=Lt.dtype)).transpose(-1, -2)).numpy()
        J_rel = L
        P_tau = joint_markers(J_rel, track.names)
    # place in the camera: per-frame translation, smoothed
    tau = solve_translation(P_tau[:, cols], uv, conf, K)
    fin = np.isfinite(tau).all(-1)
    tau = one_euro(tau[:, None], np.ones((T, 1)) * fin[:, None], track.fps, min_cutoff=1.0, beta=0.3)[:, 0]
    J_cam = J_rel + tau[:, None]
    # gravity: mean body axis
    w = np.clip(track.confidence.mean(1), 1e-3, None)[:, None]
    axis = (0.5 * (J_cam[:, 16] + J_cam[:, 17]) - 0.5 * (J_cam[:, 7] + J_cam[:, 8]))
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True).clip(1e-9)
    up = (w * axis).sum(0)
    pitch, roll = pitch_roll_from_up(up)
    R = camera_rotation(torch.tensor(pitch, dtype=torch.float64), torch.tensor(roll, dtype=torch.float64)).numpy()
    J_w = J_cam @ R  # world axes, camera at the origin
    feet = J_w[:, list(FOOT_JOINTS), 1] - scale * FOOT_REST_HEIGHTS
    ground = float(np.percentile(feet.min(1), 10))
    J_w[..., 1] -= ground
    offsets = torch.as_tensor(skeleton.offsets * scale, dtype=torch.float64)
    R_local, root = inverse_kinematics(torch.as_tensor(J_w), offsets, skeleton.parents)
    return _Init(R_local.numpy(), root.numpy(), pitch, roll, -ground, scale, P_rel[:, cols])


# ----------------------------------------------------------------------------- optimisation


def _pseudo_huber(r2: torch.Tensor, delta: float) -> torch.Tensor:
    return delta**2 * (torch.sqrt(1.0 + r2 / delta**2) - 1.0)


class _Problem:
    """Data and fixed settings shared by all windows."""

    def __init__(self, track: KeypointTrack, K: np.ndarray, skeleton: Skeleton, cfg: FitConfig,
                 device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        cols, mj, moff, mw = marker_table(track.names)
        self.cols = cols
        dev = self.device
        self.mj = torch.as_tensor(mj, dtype=torch.long, device=dev)
        # marker offsets were measured on the default Anny body: they scale with the body's height
        self.moff = torch.as_tensor(moff * stature(skeleton) / REFERENCE_STATURE, dtype=torch.float32, device=dev)
        uv = track.uv[:, cols]
        raw = np.where(np.isfinite(uv).all(-1), track.confidence[:, cols], 0.0)
        self.uv = torch.as_tensor(np.nan_to_num(uv), dtype=torch.float32, device=dev)
        self.conf = torch.as_tensor(visibility_weight(raw, cfg.visible) * mw, dtype=torch.float32, device=dev)
        self.conf3d = torch.as_tensor(np.clip(raw, cfg.min_weight_3d, None) * (raw > 0) * mw, dtype=torch.float32,
                                      device=dev)
        names = [track.names[c] for c in cols]
        # per frame, how unseen each arm is (1 - visibility weight of its best-seen elbow/wrist landmark)
        occ_joints: list[int] = []
        occ: list[np.ndarray] = []
        for side in ("left", "right"):
            ks = [names.index(f"{side}_{p}") for p in ("elbow", "wrist") if f"{side}_{p}" in names]
            if ks:
                unseen = 1.0 - visibility_weight(raw[:, ks].max(1), cfg.visible)
                occ_joints += [_J[f"{side}_shoulder"], _J[f"{side}_elbow"]]
                occ += [unseen, unseen]
        self.occ_joints = occ_joints
        self.occ = torch.as_tensor(np.stack(occ, 1), dtype=torch.float32, device=dev) if occ else None
        self.hips = (names.index("left_hip"), names.index("right_hip")) if "left_hip" in names and "right_hip" in names else None
        good = (track.confidence[:, cols] > 0.3) & np.isfinite(uv).all(-1)
        heights = [np.ptp(uv[t][good[t]][:, 1]) for t in range(len(uv)) if good[t].sum() >= 3]
        self.px_scale = float(np.median(heights)) if heights else float(track.height) / 2
        self.px_scale = max(self.px_scale, 8.0)
        self.K = torch.as_tensor(K, dtype=torch.float32, device=dev)
        self.offsets = torch.as_tensor(skeleton.offsets, dtype=torch.float32, device=dev)
        self.rest_positions = skeleton.rest_positions()
        self.floor = skeleton.rest_positions()[0, 1] + skeleton.floor_height()
        self.size_ratio = stature(skeleton) / REFERENCE_STATURE
        self.parents = skeleton.parents
        self.fps = track.fps
        self.cfg = cfg
        self.prior = cfg.prior if cfg.prior is not None else default_pose_prior()
        g = self.prior if isinstance(self.prior, GaussianPosePrior) else GaussianPosePrior()
        self.prior_mean, self.prior_std = g.mean, g.std
        self.weights = mw
        # learned temporal prior (humokit.optim.lift): lifted joints (T, 22, 3) and their weights (T, 22)
        self.lifted = lift_for_fit(track.names, track.uv, track.confidence, track.fps, skeleton) if cfg.lift else None
        self.lift = None if self.lifted is None else (
            torch.as_tensor(self.lifted.joints, dtype=torch.float32, device=device),
            torch.as_tensor(lift_weight(self.lifted.std, cfg.sigma_lift), dtype=torch.float32, device=device))


def _decode6d(x6: torch.Tensor) -> torch.Tensor:
    """``(..., 6)`` (first two matrix columns) -> ``(..., 3, 3)`` rotation."""
    return roma.special_gramschmidt(x6.unflatten(-1, (2, 3)).transpose(-1, -2))


def _fit_window(
    pb: _Problem,
    sl: slice,
    R0: torch.Tensor,
    root0: torch.Tensor,
    cam: tuple[float, float, float],
    log_scale: torch.Tensor,
    log_scale0: float,
    optimise_scale: bool,
    rel3d: torch.Tensor | None,
    fixed: torch.Tensor | None,
    iters: int,
    contacts: np.ndarray | None,
    bar: object | None = None,
    anchor: torch.Tensor | None = None,
    lr: float | None = None,
    cam_opt: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Optimise one window; returns ``(R_local (n,22,3,3), root (n,3))`` on the CPU; ``bar.update(1)`` per step.

    The window's tensors live on ``pb.device``. ``anchor`` ``(n, 4, 3)``: positions the foot joints in
    contact (``contacts``) are pulled to, tolerance ``sigma_anchor``. ``cam_opt``: scalar tensors
    ``(pitch, height)`` of the camera, optimised with the body (the roll stays ``cam[1]``).
    """
    cfg = pb.cfg
    fps = pb.fps
    dev = pb.device
    n = R0.shape[0]
    axis_angle = cfg.rotations == "axis_angle"
    if axis_angle:  # the priors' own coordinates: no conversion per step
        x6 = roma.rotmat_to_rotvec(R0.to(torch.float64)).to(torch.float32).to(dev).requires_grad_(True)
    else:
        x6 = R0[..., :, :2].transpose(-1, -2).reshape(n, 22, 6).to(dev).clone().requires_grad_(True)
    root = root0.to(dev).clone().requires_grad_(True)
    if fixed is not None:
        fixed = fixed.to(dev)
    if rel3d is not None:
        rel3d = rel3d.to(dev)
    params: list[torch.Tensor] = [x6, root] + ([log_scale] if optimise_scale else []) + list(cam_opt or ())
    uv = pb.uv[sl]
    conf = pb.conf[sl]
    csum = conf.sum().clamp_min(1e-6)
    rest_h = torch.as_tensor(FOOT_REST_HEIGHTS, dtype=torch.float32, device=dev)
    pitch, roll, height = cam
    Rc0 = camera_rotation(torch.tensor(pitch), torch.tensor(roll)).to(torch.float32).to(dev)
    C0 = torch.tensor([0.0, height, 0.0], device=dev)
    cm = torch.as_tensor(contacts, dtype=torch.float32, device=dev) if contacts is not None else None
    if anchor is not None:
        anchor = anchor.to(dev)
    feet = list(FOOT_JOINTS)

    def objective() -> torch.Tensor:
        s = torch.exp(log_scale)
        Rc, C = Rc0, C0
        if cam_opt is not None:
            Rc = camera_rotation(cam_opt[0], torch.tensor(roll)).to(torch.float32).to(dev)
            C = torch.stack([torch.zeros(()), cam_opt[1], torch.zeros(())]).to(torch.float32).to(dev)
        if axis_angle:
            rv, R = x6, roma.rotvec_to_rotmat(x6)
        else:
            R = _decode6d(x6)
            rv = roma.rotmat_to_rotvec(R)  # (n, 22, 3): shared by the pose prior, joint limits and unseen-arm prior
        J, Rw = forward_kinematics(R, root, pb.offsets * s, pb.parents)
        M = marker_positions(J, Rw, pb.mj, pb.moff * s)
        uvp = project_torch(M, Rc, C, pb.K)
        r2 = ((uvp - uv) / pb.px_scale).pow(2).sum(-1).clamp_max(100.0)
        loss = (conf * _pseudo_huber(r2, cfg.sigma_2d * 3)).sum() / csum * conf.shape[1] / cfg.sigma_2d**2
        if rel3d is not None and pb.hips is not None:
            Mc = (M - C) @ Rc.T
            Mc = Mc - 0.5 * (Mc[:, pb.hips[0]] + Mc[:, pb.hips[1]])[:, None]
            c3 = pb.conf3d[sl]
            target = rel3d[sl]
            if cfg.align_3d:
                target = target @ _aligning_rotation(target, Mc.detach(), c3).T
            d2 = (Mc - target).pow(2).sum(-1)
            loss = loss + (c3 * d2).sum() / c3.sum().clamp_min(1e-6) * c3.shape[1] / cfg.sigma_3d**2
        loss = loss + cfg.w_prior * pb.prior(R, root, fps, rotvec=rv) + cfg.w_limits * joint_limit_loss(R, rotvec=rv)
        if pb.occ is not None and cfg.w_occluded > 0:
            loss = loss + cfg.w_occluded * unseen_pose_loss(R, pb.occ[sl], pb.occ_joints, pb.prior_mean, pb.prior_std,
                                                            rotvec=rv)
        if pb.lift is not None and cfg.w_lift > 0:
            loss = loss + cfg.w_lift * lift_prior_loss((J - C) @ Rc.T, pb.lift[0][sl] * s, pb.lift[1][sl],
                                                       cfg.sigma_lift, align=cfg.align_lift)
        if n >= 3:
            acc = (J[2:] - 2 * J[1:-1] + J[:-2]) * fps**2
            loss = loss + acc.pow(2).sum(-1).sum(-1).mean() / cfg.sigma_accel**2
            racc = (root[2:] - 2 * root[1:-1] + root[:-2]) * fps**2
            loss = loss + racc.pow(2).sum(-1).mean() / cfg.sigma_root_accel**2
        if cfg.sigma_lean > 0:
            trunk = J[:, 12] - J[:, 0]
            h2 = (trunk[:, 0].pow(2) + trunk[:, 2].pow(2)) / trunk.pow(2).sum(-1).clamp_min(1e-8)
            loss = loss + _pseudo_huber(h2 / cfg.sigma_lean**2, 1.0).mean()
        if cm is not None:
            # the physics module's contact terms (normalised per frame here)
            cl = contact_losses(J, cm, sole=s * rest_h)
            loss = loss + cl["penetration"] * J.shape[1] / cfg.sigma_ground**2
            if n >= 2:
                w_slide = (cm[1:] * cm[:-1]).sum() / n
                loss = loss + cl["skate"] * fps**2 * w_slide / cfg.sigma_slide**2
            loss = loss + cl["contact_height"] * cm.sum() / n / cfg.sigma_ground**2
            if anchor is not None:
                d2 = (J[:, feet] - anchor).pow(2).sum(-1)
                loss = loss + (cm * d2).sum() / n / cfg.sigma_anchor**2
        if cfg.sigma_swing_deg > 0 and n >= 3:
            loss = loss + swing_loss(J, fps, smooth_s=cfg.swing_s) / math.radians(cfg.sigma_swing_deg) ** 2
        if fixed is not None:
            k = fixed.shape[0]
            loss = loss + (J[:k] - fixed).pow(2).sum(-1).sum(-1).mean() * k / n / cfg.sigma_overlap**2
        if optimise_scale:
            loss = loss + (log_scale - log_scale0) ** 2 / cfg.sigma_scale**2
        return loss

    opt = torch.optim.Adam(params, lr=cfg.lr if lr is None else lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 if i < 0.6 * iters else 0.3)
    for _ in range(iters):
        if bar is not None:
            bar.update(1)  # type: ignore[attr-defined]
        opt.zero_grad()
        objective().backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        R = roma.rotvec_to_rotmat(x6) if axis_angle else _decode6d(x6)
        return R.cpu(), root.detach().cpu().clone()


def _aligning_rotation(src: torch.Tensor, dst: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``(3, 3)`` rotation ``R`` minimising ``sum w |R src - dst|^2`` over points ``(..., 3)`` with weights ``(...)`` (Kabsch)."""
    H = (dst * weight[..., None]).reshape(-1, 3).T @ src.reshape(-1, 3)
    U, _, Vt = torch.linalg.svd(H)
    one = torch.ones((), dtype=H.dtype, device=H.device)
    D = torch.diag(torch.stack([one, one, torch.sign(torch.det(U @ Vt))]))
    return U @ D @ Vt


def _windows(T: int, window: int, overlap: int) -> list[tuple[int, int]]:
    if T <= window:
        return [(0, T)]
    out = []
    s = 0
    while True:
        e = min(s + window, T)
        if T - e < overlap + 4 and e < T:  # avoid a tiny last window
            e = T
        out.append((s, e))
        if e >= T:
            return out
        s = e - overlap


def refine_ground(
    joints: np.ndarray,
    contacts: np.ndarray,
    cam: tuple[float, float, float],
    scale: float,
    *,
    min_spread: float = 0.25,
    max_tilt_deg: float = 30.0,
    keep_roll: bool = True,
    min_depth_slope: float = 0.3,
) -> tuple[float, float, float]:
    """Re-estimate gravity and ground from feet in contact.

    The sole points under contact feet (world ``joints (T, 22, 3)``,
    ``contacts (T, 4)``) are taken to camera axes. If they spread along a line
    (standard deviation > ``min_spread`` metres) the up vector is made
    perpendicular to it (``keep_roll``: by changing the pitch alone, the roll
    being well seen in the image, as long as the line runs in depth, its unit
    direction's camera-z component above ``min_depth_slope``; otherwise by the
    smallest change of up, or not at all with ``keep_roll``); if they also spread sideways, up becomes the fitted
    plane's normal. Changes larger than ``max_tilt_deg`` are rejected. The
    camera height is the median distance of the sole points below the camera.

    Returns:
        ``(pitch, roll, height)`` of the camera.
    """
    pitch, roll, height = cam
    Rc = camera_rotation(torch.tensor(pitch, dtype=torch.float64), torch.tensor(roll, dtype=torch.float64)).numpy()
    C = np.array([0.0, height, 0.0])
    up = Rc[:, 1]
    Xc = (joints[:, list(FOOT_JOINTS)] - C) @ Rc.T  # (T, 4, 3)
    sole = Xc - (scale * FOOT_REST_HEIGHTS)[None, :, None] * up
    pts = sole[np.asarray(contacts, dtype=bool)]
    if len(pts) < 8:
        return cam
    mu = pts.mean(0)
    _, sv, Vt = np.linalg.svd(pts - mu, full_matrices=False)
    spread = sv / math.sqrt(len(pts))
    u = up.copy()
    if spread[0] > min_spread:
        e1 = Vt[0]
        u = up - (up @ e1) * e1 if not keep_roll else up.copy()
        if keep_roll and abs(e1[2]) > min_depth_slope:
            # up (sin r cos p, -cos r cos p, -sin p) perpendicular to the contact line, roll kept:
            # cos p (sin r e1x - cos r e1y) = sin p e1z
            p_line = math.atan((math.sin(roll) * e1[0] - math.cos(roll) * e1[1]) / e1[2])
            u = np.array([math.sin(roll) * math.cos(p_line), -math.cos(roll) * math.cos(p_line), -math.sin(p_line)])
        if spread[1] > min_spread:
            nrm = Vt[2] * np.sign(Vt[2] @ up)
            if math.degrees(math.acos(np.clip(nrm @ up, -1, 1))) < max_tilt_deg:
                u = nrm
        u = u / np.linalg.norm(u)
    if math.degrees(math.acos(np.clip(u @ up, -1, 1))) > max_tilt_deg:
        u = up
    d = float(np.median(pts @ u))
    p, r = pitch_roll_from_up(u)
    return p, r, max(-d, 0.05)


def _low_feet(joints: np.ndarray, scale: float, max_height: float) -> np.ndarray:
    """``(T, 4)`` foot joints whose sole is within ``max_height`` metres of the frame's lowest sole."""
    sole = joints[:, list(FOOT_JOINTS), 1] - scale * FOOT_REST_HEIGHTS
    return sole - sole.min(1, keepdims=True) < max_height


def _contacts(joints: np.ndarray, fps: float, scale: float, still: np.ndarray | None, cfg: FitConfig) -> np.ndarray:
    """Contacts for the second pass: slow and low feet, or feet still in the image and not above the other foot."""
    c = estimate_contacts(joints, fps, scale=scale, max_speed=cfg.contact_speed)
    if still is not None:
        c = c | (still & _low_feet(joints, scale, cfg.still_height))
    return c


def _up_correction(old: tuple[float, float, float], new: tuple[float, float, float]) -> torch.Tensor:
    """``(3, 3)`` camera-axes rotation taking world up of camera ``old`` to that of camera ``new``."""
    from humokit.motion.rotations import rotation_between

    Ro = camera_rotation(torch.tensor(old[0]), torch.tensor(old[1])).to(torch.float32)
    Rn = camera_rotation(torch.tensor(new[0]), torch.tensor(new[1])).to(torch.float32)
    return rotation_between(Ro[:, 1], Rn[:, 1])


def _reexpress(R_all: torch.Tensor, root_all: torch.Tensor, old: tuple[float, float, float],
               new: tuple[float, float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Same body in the camera, world frame of camera ``new`` instead of ``old``."""
    Ro = camera_rotation(torch.tensor(old[0]), torch.tensor(old[1])).to(torch.float32)
    Rn = camera_rotation(torch.tensor(new[0]), torch.tensor(new[1])).to(torch.float32)
    Co = torch.tensor([0.0, old[2], 0.0])
    Cn = torch.tensor([0.0, new[2], 0.0])
    A = Rn.T @ Ro
    R_all = R_all.clone()
    R_all[:, 0] = A @ R_all[:, 0]
    root = (root_all - Co) @ A.T + Cn
    return R_all, root


def _ground_depth_factor(track: KeypointTrack, R_local: torch.Tensor, root: torch.Tensor, height: float,
                         scale: float, pb: _Problem, *, min_seen: float = 0.5,
                         max_change: tuple[float, float] = (0.75, 1.33)) -> float | None:
    """Factor ``k`` that, applied to the body's size and its distance from a camera at ``height`` metres
    (the image stays the same), puts its lowest soles (10th percentile over frames) on the ground ``y = 0``.

    None when the feet are not seen (ankle confidence >= 0.5 in fewer than ``min_seen`` of the found
    frames: a close-up's feet say nothing about the ground), lie above the camera, or when ``k`` is
    outside ``max_change`` (the shared camera's height or pitch is then more likely wrong than the
    size estimate); the body scale stays in [0.6, 1.3].
    """
    names = track.names
    ankles = [names.index(n) for n in ("left_ankle", "right_ankle") if n in names]
    f = track.found
    if not ankles or not f.any() or float((track.confidence[f][:, ankles] >= 0.5).any(1).mean()) < min_seen:
        return None
    with torch.no_grad():
        J, _ = forward_kinematics(R_local, root, pb.offsets.cpu() * scale, pb.parents)
    sole = J.numpy()[:, list(FOOT_JOINTS), 1] - scale * FOOT_REST_HEIGHTS
    low = float(np.percentile(sole.min(1)[f], 10))
    if low >= height - 0.05:
        return None
    k = height / (height - low)
    if not max_change[0] <= k <= max_change[1]:
        return None
    return float(np.clip(k, 0.6 / scale, 1.3 / scale))


def fit_track(
    track: KeypointTrack,
    *,
    focal: float | None = None,
    skeleton: Skeleton | None = None,
    config: FitConfig | None = None,
    progress: bool = True,
    family: BodyFamily | None = None,
    physics: str = "none",
    body: object | None = None,
    device: str | torch.device = "cpu",
    camera: tuple[float, float, float] | None = None,
) -> FitResult:
    """Fit a world-grounded motion and a static camera to a (cleaned) keypoint track.

    Args:
        track: landmarks of one person (see :func:`humokit.optim.track.clean_track`).
        focal: focal length in pixels (default ``max(width, height)``, a 53-degree horizontal field of view
            for a landscape image, :func:`~humokit.optim.camera_model.intrinsics_matrix`).
        skeleton: body proportions to fit (default canonical adult).
        config: optimisation settings; with ``estimate_size`` (default) the body is first sized from the
            clip (:mod:`humokit.optim.scale`) within ``family`` (default: ``skeleton`` scaled; the
            recovery passes Anny's phenotype family).
        physics: ``"kinematic"``: after the fit, the kinematic physics projection
            (:func:`humokit.optim.physics.project_motion`: contact feet locked, soles on the ground,
            ``body`` gives the sole heights) followed by a joint refinement that keeps the 2D error
            (``config.iters_refine``); ``"none"``: the fit's own contact terms only.
        device: torch device of the optimisation (``"cpu"``, ``"cuda"``...).
        camera: ``(pitch, roll, height)`` (radians, metres) to hold fixed instead of estimating them
            (another person's fit in the same video: one ground for all); when the feet are seen, the
            known ground then sets the body's distance and size (:func:`_ground_depth_factor`) within
            0.75-1.33x of the size estimate.
    Returns:
        :class:`FitResult`, its reprojection error and confidence measured on the returned motion.
    """
    if physics not in ("kinematic", "none"):
        raise InputError(f"fit: physics must be 'kinematic' or 'none', got {physics!r}")
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: thread hand-offs cost more than they save (50x on a busy machine)
    try:
        with threadpool_limits(1):  # the same for numpy/scipy's BLAS (a 200 x 100 SVD took 2.3 s on a loaded machine)
            return _fit_track(track, focal, skeleton, config or FitConfig(), progress, family, physics, body,
                              torch.device(device), camera)
    finally:
        torch.set_num_threads(threads)


def _run_passes(pb: _Problem, track: KeypointTrack, init: _Init, cfg: FitConfig, passes: list[int],
                state: dict, bar: object) -> None:
    """The windowed optimisation passes (``0``: pose, ``1``: contacts, ``2``: refinement); updates ``state``."""
    wins = _windows(track.num_frames, cfg.window, cfg.overlap)
    log_scale, log_scale0 = state["log_scale"], state["log_scale0"]
    for pass_idx in passes:
        iters = (cfg.iters_pose, cfg.iters_contact, cfg.iters_refine)[pass_idx]
        R_all, root_all, cam, rel3d = state["R"], state["root"], state["cam"], state["rel3d"]
        contacts, anchor = state.get("contacts"), state.get("anchor")
        if pass_idx == 1:
            sc = float(torch.exp(log_scale))
            with torch.no_grad():
                J, _ = forward_kinematics(R_all, root_all, pb.offsets.cpu() * sc, pb.parents)
            contacts = _contacts(J.numpy(), track.fps, sc, state["still"], cfg)
            if cfg.fit_camera:
                cam0 = cam
                for _ in range(2):
                    new = refine_ground(J.numpy(), contacts, cam, sc, keep_roll=cfg.keep_roll)
                    R_all, root_all = _reexpress(R_all, root_all, cam, new)
                    cam = new
                    with torch.no_grad():
                        J, _ = forward_kinematics(R_all, root_all, pb.offsets.cpu() * sc, pb.parents)
                    contacts = _contacts(J.numpy(), track.fps, sc, state["still"], cfg)
                hz = _horizon_camera(track, pb, sc, cam) if cfg.horizon else None
                if hz is not None:
                    # a walk in depth: the upright body's rows give pitch and height; the body keeps its place
                    # in the image but slides along the rays until its lowest sole is on the new ground
                    R_all, root_all = _reexpress(R_all, root_all, cam, hz)
                    cam = hz
                    R_all, root_all = _onto_ground(R_all, root_all, pb, sc, cam, track.fps)
                    with torch.no_grad():
                        J, _ = forward_kinematics(R_all, root_all, pb.offsets.cpu() * sc, pb.parents)
                    contacts = _contacts(J.numpy(), track.fps, sc, state["still"], cfg)
                state["horizon"] = hz
                if rel3d is not None and cfg.retilt_3d:
                    # the detector's 3D landmarks lean with its own guess of gravity: turn them by the correction
                    A = _up_correction(cam0, cam)
                    rel3d = rel3d @ A.T
        prev_end = 0
        for wi, (s, e) in enumerate(wins):
            sl = slice(s, e)
            fixed = None
            k = max(prev_end - s, 0) if wi > 0 else 0
            if k:
                with torch.no_grad():
                    sc = float(torch.exp(log_scale))
                    fixed, _ = forward_kinematics(R_all[s:prev_end], root_all[s:prev_end], pb.offsets.cpu() * sc,
                                                  pb.parents)
                if pass_idx == 0:  # continue the previous window's trajectory from the warm start
                    delta = root_all[prev_end - 1] - torch.as_tensor(init.root[prev_end - 1], dtype=torch.float32)
                    root_all[prev_end:e] = torch.as_tensor(init.root[prev_end:e], dtype=torch.float32) + delta
            cam_opt = None
            if pass_idx == 1 and wi == 0 and cfg.fit_pitch:
                cam_opt = (torch.tensor(cam[0], dtype=torch.float32, requires_grad=True),
                           torch.tensor(cam[2], dtype=torch.float32, requires_grad=True))
            R_w, root_w = _fit_window(pb, sl, R_all[sl], root_all[sl], cam, log_scale, log_scale0,
                                      cfg.fit_scale and pass_idx == 0 and wi == 0, rel3d, fixed, iters,
                                      None if contacts is None else contacts[sl], bar,
                                      None if anchor is None else anchor[sl],
                                      cfg.lr_refine if pass_idx == 2 else cfg.lr, cam_opt)
            if cam_opt is not None:
                new = (float(cam_opt[0]), cam[1], max(float(cam_opt[1]), 0.05))
                if e < len(R_all):  # frames not fitted yet keep their place in the camera
                    R_all[e:], root_all[e:] = _reexpress(R_all[e:], root_all[e:], cam, new)
                cam = new
            log_scale.requires_grad_(False)
            if k:
                a = torch.linspace(0.0, 1.0, k + 2)[1:-1]
                R_all[s:prev_end] = torch.as_tensor(slerp_rotmat(R_all[s:prev_end], R_w[:k], a[:, None].expand(k, 22)),
                                                    dtype=torch.float32)
                root_all[s:prev_end] = (1 - a[:, None]) * root_all[s:prev_end] + a[:, None] * root_w[:k]
            R_all[s + k : e] = R_w[k:]
            root_all[s + k : e] = root_w[k:]
            prev_end = e
        state.update(R=R_all, root=root_all, cam=cam, rel3d=rel3d, contacts=contacts)


def _fit_track(track: KeypointTrack, focal: float | None, skeleton: Skeleton | None, cfg: FitConfig,
               progress: bool, family: BodyFamily | None, physics: str, body: object | None,
               device: torch.device, camera: tuple[float, float, float] | None = None) -> FitResult:
    if track.num_frames == 0:
        raise InputError("fit: the keypoint track has no frames")
    if focal is not None and not (math.isfinite(focal) and focal > 0):
        raise InputError(f"fit: focal must be a positive number of pixels, got {focal}")
    skel0 = skeleton or default_skeleton()
    t0 = time.perf_counter()
    size = None
    skel = skel0
    if cfg.estimate_size:
        size = estimate_body_size(track.world, track.confidence, track.names, family or BodyFamily(skel0),
                                  sigma_3d=cfg.size_sigma_3d, prior=cfg.height_prior)
        skel = size.skeleton
    K = intrinsics_matrix(track.width, track.height, focal)
    pb = _Problem(track, K, skel, cfg, device)
    init = warm_start(track, K, skel, pb.cols, pb.weights, fit_scale=cfg.fit_scale,
                      lifted=pb.lifted.joints if pb.lifted is not None and cfg.lift_init else None)
    t1 = time.perf_counter()
    log_scale0 = math.log(init.scale)
    state: dict = {
        "log_scale": torch.tensor(log_scale0, dtype=torch.float32, device=device, requires_grad=True),
        "log_scale0": log_scale0,
        "rel3d": torch.as_tensor(init.rel3d, dtype=torch.float32) if init.rel3d is not None else None,
        "R": torch.as_tensor(init.R_local, dtype=torch.float32).clone(),
        "root": torch.as_tensor(init.root, dtype=torch.float32).clone(),
        "cam": (init.pitch, init.roll, init.height),
        "still": (image_still_feet(track.uv, track.confidence, track.names, track.fps, max_speed=cfg.still_speed)
                  if cfg.still_speed > 0 else None),
    }
    if camera is not None:  # a shared camera: the same body in the camera, expressed in its world, held fixed
        cfg = replace(cfg, fit_camera=False, fit_pitch=False)
        fixed_cam = (float(camera[0]), float(camera[1]), float(camera[2]))
        state["R"], state["root"] = _reexpress(state["R"], state["root"], state["cam"], fixed_cam)
        state["cam"] = fixed_cam
        k = _ground_depth_factor(track, state["R"], state["root"], fixed_cam[2], init.scale, pb)
        if k is not None:  # the known ground gives the depth: scale body and distance together (same image)
            C = torch.tensor([0.0, fixed_cam[2], 0.0])
            state["root"] = C + k * (state["root"] - C)
            init.scale *= k
            log_scale0 = math.log(init.scale)
            state["log_scale0"] = log_scale0
            state["log_scale"] = torch.tensor(log_scale0, dtype=torch.float32, device=device, requires_grad=True)
            state["rel3d"] = state["rel3d"] * k if state["rel3d"] is not None else None
        init.R_local, init.root = state["R"].numpy().copy(), state["root"].numpy().copy()
    refine = physics == "kinematic" and cfg.iters_refine > 0
    nwin = len(_windows(track.num_frames, cfg.window, cfg.overlap))
    # one tick per optimiser step of every window and pass: feedback within a second even for a single window
    bar = tqdm(total=nwin * (cfg.iters_pose + cfg.iters_contact + (cfg.iters_refine if refine else 0)), desc="fit",
               unit="step", **({} if progress else {"disable": True}))  # fmt: skip
    _run_passes(pb, track, init, cfg, [0, 1], state, bar)
    if cfg.camera_height is not None:
        skel, size = _to_camera_height(state, skel, size, cfg.camera_height, family)
        pb = _Problem(track, K, skel, cfg, device)
    t2 = time.perf_counter()
    scale = float(torch.exp(state["log_scale"]))
    skel_fit = skel.scaled(scale)
    cam = state["cam"]
    contacts = _final_contacts(state, pb, track, cfg, scale)
    if physics == "kinematic":
        # the kinematic projection locks contact feet on the ground; the refinement brings the body back onto
        # the person in the image with those feet as anchors (contact terms inside the optimisation)
        moved = _project(state, skel_fit, contacts, track.fps, body)
        state["R"] = torch.as_tensor(moved.rotations, dtype=torch.float32).clone()
        state["root"] = torch.as_tensor(moved.root_position, dtype=torch.float32).clone()
        if refine:
            with torch.no_grad():
                J, _ = forward_kinematics(state["R"], state["root"], pb.offsets.cpu() * scale, pb.parents)
            state["contacts"] = contacts
            state["anchor"] = J[:, list(FOOT_JOINTS)].clone()
            _run_passes(pb, track, init, cfg, [2], state, bar)
    bar.close()
    t3 = time.perf_counter()
    R_all, root_all = state["R"], state["root"]
    # outputs: world origin under the first pelvis
    shift = root_all[0].clone()
    shift[1] = 0.0
    root_all = root_all - shift
    center = np.array([0.0, cam[2], 0.0]) - shift.numpy().astype(np.float64)
    camera = make_camera(K, cam[0], cam[1], center, track.width, track.height)
    R_np = roma.special_procrustes(R_all.to(torch.float64)).numpy().astype(np.float32)
    meta = {"source": "humokit recover", "focal": f"{K[0, 0]:.2f}"}
    if size is not None:
        meta["height_m"] = f"{stature(skel_fit):.3f}"
        if size.phenotype is not None:
            import json

            meta["anny_phenotype"] = json.dumps(size.phenotype)
    motion = Motion(R_np, root_all.numpy(), track.fps, skeleton=skel_fit, contacts=contacts, meta=meta)
    err, conf = _frame_quality(motion, camera, track, pb, scale)
    return FitResult(motion, camera, conf, err, stature(skel_fit) / stature(skel0),
                     {"init": t1 - t0, "fit": t2 - t1, "physics": t3 - t2}, size)


def _horizon_camera(track: KeypointTrack, pb: _Problem, scale: float,
                    cam: tuple[float, float, float]) -> tuple[float, float, float] | None:
    """``(pitch, roll, height)`` from the rows of the heels and shoulders over a walk in depth
    (:func:`~humokit.optim.camera_model.horizon_from_walk`), or None; the roll is kept."""
    from humokit.optim.camera_model import horizon_from_walk

    names = track.names
    need = ("left_heel", "right_heel", "left_shoulder", "right_shoulder")
    if any(n not in names for n in need):
        return None
    i = [names.index(n) for n in need]
    uv = track.uv
    v_foot = np.fmax(uv[:, i[0], 1], uv[:, i[1], 1])
    v_top = 0.5 * (uv[:, i[2], 1] + uv[:, i[3], 1])
    w = np.clip(track.confidence[:, i].min(1), 0.0, 1.0) * track.found
    rest = pb.rest_positions * scale
    floor = pb.floor * scale
    heel = 0.044 * scale * pb.size_ratio  # MediaPipe's heel above the sole (marker table)
    top = float(0.5 * (rest[16, 1] + rest[17, 1]) - floor) - heel
    K = pb.K.cpu().numpy().astype(np.float64)
    out = horizon_from_walk(v_foot, v_top, w, K, top)
    if out is None or abs(out[0] - cam[0]) > math.radians(20):
        return None
    return out[0], cam[1], out[1] + heel


def _onto_ground(R_all: torch.Tensor, root_all: torch.Tensor, pb: _Problem, scale: float,
                 cam: tuple[float, float, float], fps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The body stood up and put on the ground of camera ``cam``; returns ``(R_local, root)``.

    Per frame, the trunk's lean towards or away from the camera (which the image does not see) is removed
    by a turn about the lowest sole (the sideways lean, which the image sees, stays); then the body moves
    along the viewing ray of that sole until it is on the ground. Both are smoothed over about a second
    (medians), so steps and short flights keep their height."""
    from scipy.ndimage import median_filter

    from humokit.motion.rotations import rotation_between

    k = max(3, int(round(fps)) | 1)
    C = np.array([0.0, cam[2], 0.0])
    with torch.no_grad():
        J, _ = forward_kinematics(R_all, root_all, pb.offsets.cpu() * scale, pb.parents)
    J = J.numpy().astype(np.float64)

    def lowest(J: np.ndarray) -> np.ndarray:
        soles = J[:, list(FOOT_JOINTS)].copy()
        soles[..., 1] -= scale * FOOT_REST_HEIGHTS
        return soles[np.arange(len(J)), soles[..., 1].argmin(1)]

    low = lowest(J)
    ray = low - C
    ray[:, 1] = 0.0
    ray /= np.linalg.norm(ray, axis=-1, keepdims=True).clip(1e-9)
    trunk = J[:, 12] - J[:, 0]
    trunk /= np.linalg.norm(trunk, axis=-1, keepdims=True).clip(1e-9)
    lean = median_filter((trunk * ray).sum(-1), size=min(k, len(J) | 1), mode="nearest")
    upright = trunk - lean[:, None] * ray
    Q = rotation_between(torch.as_tensor(trunk, dtype=torch.float32), torch.as_tensor(upright, dtype=torch.float32))
    R_all = R_all.clone()
    R_all[:, 0] = Q @ R_all[:, 0]
    lo = torch.as_tensor(low, dtype=torch.float32)
    root_all = lo + ((root_all - lo)[:, None] @ Q.transpose(-1, -2))[:, 0]
    with torch.no_grad():
        J, _ = forward_kinematics(R_all, root_all, pb.offsets.cpu() * scale, pb.parents)
    low = lowest(J.numpy().astype(np.float64))
    denom = C[1] - low[:, 1]
    mu = np.where(denom > 1e-3, C[1] / np.maximum(denom, 1e-3), 1.0)
    mu = np.clip(mu, 0.5, 2.0)
    mu = median_filter(mu, size=min(k, len(mu) | 1), mode="nearest")
    shift = (mu - 1.0)[:, None] * (low - C)
    return R_all, root_all + torch.as_tensor(shift, dtype=root_all.dtype)


def _to_camera_height(state: dict, skel: Skeleton, size: BodySize | None, camera_height: float,
                      family: BodyFamily | None) -> tuple[Skeleton, BodySize]:
    """Scale the fitted scene (skeleton, root path, camera height, 3D targets) so the camera is ``camera_height``
    metres above the ground; returns the scaled skeleton and the body size it implies."""
    p, r, h = state["cam"]
    k = camera_height / max(h, 1e-6)
    state["cam"] = (p, r, camera_height)
    state["root"] = state["root"] * k
    if state["rel3d"] is not None:
        state["rel3d"] = state["rel3d"] * k
    skel = skel.scaled(k * float(torch.exp(state["log_scale"])))
    state["log_scale"] = torch.zeros((), device=state["log_scale"].device)
    height = stature(skel)
    cues = (size.cues if size is not None else ()) + (SizeCue("camera height", height, 0.0),)
    phenotype = family.at(height)[1] if family is not None else None
    return skel, BodySize(height, skel, 0.0, cues, phenotype)


def _final_contacts(state: dict, pb: _Problem, track: KeypointTrack, cfg: FitConfig, scale: float) -> np.ndarray:
    """Output foot contacts ``(T, 4)`` of the fitted motion (speed and height; ``still_final``: image cue too)."""
    with torch.no_grad():
        J, _ = forward_kinematics(state["R"], state["root"], pb.offsets.cpu() * scale, pb.parents)
    contacts = estimate_contacts(J.numpy(), track.fps, scale=scale)
    if state["still"] is not None and cfg.still_final:
        contacts = contacts | (state["still"] & _low_feet(J.numpy(), scale, cfg.still_height))
    return contacts


def _project(state: dict, skeleton: Skeleton, contacts: np.ndarray, fps: float, body: object | None) -> Motion:
    """The kinematic physics projection of the current fit (fit's world frame, contacts locked)."""
    from humokit.optim.physics import project_motion

    R_np = roma.special_procrustes(state["R"].to(torch.float64)).numpy().astype(np.float32)
    m = Motion(R_np, state["root"].numpy(), fps, skeleton=skeleton, contacts=contacts)
    if m.num_frames < 2:
        return m
    return project_motion(m, body, contacts=contacts, use_stored_contacts=True)  # type: ignore[return-value]


def _frame_quality(motion: Motion, camera: Camera, track: KeypointTrack, pb: _Problem, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame reprojection error of ``motion`` (pixels; NaN without a detection) and confidence in [0, 1].

    A frame counts as detected when the (cleaned) track found the person there and at least one body marker
    has a 2D weight; gap-filled frames have neither and get NaN error and confidence 0.
    """
    with torch.no_grad():
        J, Rw = motion.fk()
        M = marker_positions(J, Rw, pb.mj.cpu(), pb.moff.cpu() * scale)
    from humokit.render.camera import project

    uvp, _ = project(camera, M.numpy())
    uv = pb.uv.cpu().numpy()
    c = pb.conf.cpu().numpy() / pb.weights
    d = np.linalg.norm(np.nan_to_num(uvp, nan=1e6) - uv, axis=-1)
    seen = track.found & (c.sum(1) > 1e-6)
    err = np.where(seen, (c * d).sum(1) / np.clip(c.sum(1), 1e-6, None), np.nan)
    raw = track.confidence[:, pb.cols]
    detect_conf = np.clip(raw.mean(1), 0.0, 1.0) * seen
    fit_q = np.exp(-np.nan_to_num(err) / (0.05 * pb.px_scale))
    return err, np.clip(detect_conf * fit_q, 0.0, 1.0)


def frame_quality(motion: Motion, camera: Camera, track: KeypointTrack,
                  config: FitConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame reprojection error (pixels, NaN without a detection) and confidence of any ``motion`` of the
    person in ``track`` seen through ``camera``, measured as :func:`fit_track` measures its own result (for a
    motion changed after the fit)."""
    cfg = replace(config or FitConfig(), lift=False)
    pb = _Problem(track, camera.K, motion.skeleton, cfg)
    return _frame_quality(motion, camera, track, pb, 1.0)
