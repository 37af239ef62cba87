"""Training pairs for the lifting network: mocap projected through random cameras with detector-shaped errors.

:func:`load_bank` reads a split of a humokit dataset (``<root>/<split>.txt``,
``motions/NAME.npz``; the train split for training, val for choices) into one
array of unit quaternions (each clip padded at both ends by repeating its first
and last frames; :func:`humokit.optim.lift.lift_keypoints` pads a track by reflection).
:func:`make_batch` then, per window:

1. poses the clip's skeleton with its bones jittered (``bone_jitter``, left and
   right alike) so the network sees more proportions than the mocap performers';
2. places a static camera like real footage: any azimuth, 2.5-9 m away (plus
   half the path's extent), 0.3-2.8 m high, looking at the body with the
   person off-centre by up to a third of the frame, rolled up to 6 degrees;
3. projects the detector's landmarks (:data:`humokit.optim.landmarks.MARKERS`,
   rigid points on the joints) with a pinhole camera;
4. with ``noise``, degrades them as MediaPipe does (:func:`detector_noise`):
   jitter (white and slow) that grows on occluded landmarks; self-occlusion
   from the geometry (far-side limbs in side views, an arm behind the torso,
   the face of a back view) lowering confidence, and an occluded wrist,
   elbow, hand or leg point often drawn on the other limb; hidden arm spans;
   the frame's lower edge cutting the legs; missing-frame bursts filled by
   interpolation at low confidence (what :func:`humokit.optim.track.clean_track`
   feeds the fit); short left/right swaps;
5. normalises by the person's box (:func:`humokit.optim.lift.normalise_keypoints`).

Targets are the 22 joints relative to the pelvis in camera axes (x right,
y down, z away), divided by the body's overall scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import roma
import torch

from humokit.errors import InputError
from humokit.motion.skeleton import PARENTS, forward_kinematics
from humokit.optim.landmarks import marker_positions, marker_table
from humokit.optim.lift import LIFT_NAMES, normalise_keypoints

_MJ, _MOFF = (lambda t: (torch.as_tensor(t[1]), torch.as_tensor(t[2], dtype=torch.float32)))(marker_table(LIFT_NAMES))
_MIRROR = np.array([LIFT_NAMES.index(n.replace("left", "#").replace("right", "left").replace("#", "right")) for n in LIFT_NAMES])
_IDX = {n: i for i, n in enumerate(LIFT_NAMES)}
_FACE = np.array([i for i, n in enumerate(LIFT_NAMES) if n in ("nose", "mouth_left", "mouth_right") or "eye" in n])
_LIMB = {  # side-specific landmarks that a far-side or behind-the-body view hides
    side: np.array([_IDX[f"{side}_{p}"] for p in ("elbow", "wrist", "pinky", "index", "thumb", "knee", "ankle", "heel", "foot_index")])
    for side in ("left", "right")
}
_ARM = {side: np.array([_IDX[f"{side}_{p}"] for p in ("elbow", "wrist", "pinky", "index", "thumb")]) for side in ("left", "right")}
_LEGS = np.array([_IDX[f"{s}_{p}"] for s in ("left", "right") for p in ("knee", "ankle", "heel", "foot_index")])
_SWAP_GROUPS = {
    "legs": ("knee", "ankle", "heel", "foot_index"),
    "arms": ("elbow", "wrist", "pinky", "index", "thumb"),
    "all": tuple({n.split("_", 1)[1] for n in LIFT_NAMES if n.startswith("left_")}),
}
# symmetric bone groups: (joint, mirror joint) pairs jittered by one factor
_BONE_GROUPS = ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21), (3,), (6,), (9,), (12,), (15,))


@dataclass(frozen=True)
class MocapBank:
    """Clips of one split, concatenated.

    Attributes:
        quats: ``(N, 22, 4)`` float32 unit quaternions (xyzw, roma's order) of the local rotations.
        root: ``(N, 3)`` float32 pelvis positions, metres.
        offsets: ``(C, 22, 3)`` float32 rest offsets of each clip's skeleton.
        starts: ``(C,)`` index in ``quats`` of each clip's first (padded) frame.
        lengths: ``(C,)`` real frames per clip; each clip occupies ``lengths + 2 * pad`` rows.
        pad: frames repeated at each end of a clip.
    """

    quats: np.ndarray
    root: np.ndarray
    offsets: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    pad: int

    @property
    def frames(self) -> int:
        return int(self.lengths.sum())

    def save(self, path: str | Path) -> None:
        from humokit._io import atomic_path

        with atomic_path(path) as tmp:
            np.savez(tmp, quats=self.quats, root=self.root, offsets=self.offsets, starts=self.starts,
                     lengths=self.lengths, pad=self.pad)

    @classmethod
    def load(cls, path: str | Path) -> "MocapBank":
        d = np.load(path, allow_pickle=False)
        return cls(d["quats"], d["root"], d["offsets"], d["starts"], d["lengths"], int(d["pad"]))


def bank_from_motions(motions: list, pad: int) -> MocapBank:
    """A :class:`MocapBank` from :class:`~humokit.motion.motion.Motion` objects (already at the training frame rate)."""
    if not motions:
        raise InputError("lift data: no motions")
    qs, roots, offs, starts, lens = [], [], [], [], []
    n = 0
    for m in motions:
        q = roma.rotmat_to_unitquat(torch.as_tensor(m.rotations, dtype=torch.float32)).numpy()
        r = np.asarray(m.root_position, dtype=np.float32)
        qs.append(np.concatenate([np.repeat(q[:1], pad, 0), q, np.repeat(q[-1:], pad, 0)]))
        roots.append(np.concatenate([np.repeat(r[:1], pad, 0), r, np.repeat(r[-1:], pad, 0)]))
        offs.append(np.asarray(m.skeleton.offsets, dtype=np.float32))
        starts.append(n)
        lens.append(m.num_frames)
        n += m.num_frames + 2 * pad
    return MocapBank(np.concatenate(qs), np.concatenate(roots), np.stack(offs), np.array(starts), np.array(lens), pad)


def load_bank(root: str | Path, split: str, *, pad: int, fps: float = 20.0, progress: bool = False) -> MocapBank:
    """Read ``<root>/<split>.txt`` motions (``motions/NAME.npz``), resampled to ``fps``."""
    from tqdm import tqdm

    from humokit.motion.dataset import split_names
    from humokit.motion.motion import Motion

    root = Path(root).expanduser()
    names = split_names(root, split)
    motions = []
    for nm in tqdm(names, desc=f"load {split}", disable=not progress):
        p = root / "motions" / f"{nm}.npz"
        if p.is_file():
            m = Motion.load(str(p))
            motions.append(m if abs(m.fps - fps) < 1e-6 else m.resample(fps))
    return bank_from_motions(motions, pad)


def sample_windows(bank: MocapBank, batch: int, length: int, out: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Random windows of ``length`` frames whose central ``out`` frames start on a real frame.

    Returns:
        ``(quats (B, L, 22, 4), root (B, L, 3), offsets (B, 22, 3), mask (B, out) real output frames)``.
    """
    ctx = (length - out) // 2
    if ctx > bank.pad:
        raise InputError(f"lift data: context {ctx} exceeds the bank's padding {bank.pad}")
    w = bank.lengths / bank.lengths.sum()
    clips = rng.choice(len(bank.lengths), size=batch, p=w)
    L = bank.lengths[clips]
    first = (rng.random(batch) * np.maximum(L - out + 1, 1)).astype(int)  # first output frame (real index)
    t = first[:, None] + np.arange(-ctx, length - ctx)[None]  # real-frame indices, may run past the padding
    t = np.clip(t, -bank.pad, L[:, None] - 1 + bank.pad)
    rows = bank.starts[clips][:, None] + bank.pad + t
    oi = first[:, None] + np.arange(out)[None]
    mask = oi < L[:, None]
    return bank.quats[rows], bank.root[rows], bank.offsets[clips], mask


def _jitter_offsets(offsets: np.ndarray, rng: np.random.Generator, bone_jitter: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-window bone-length jitter (left/right alike) and an overall scale in [0.88, 1.12]; returns (offsets, scale (B,))."""
    B = offsets.shape[0]
    f = np.ones((B, 22, 1), dtype=np.float32)
    for g in _BONE_GROUPS:
        f[:, list(g)] = (1.0 + rng.uniform(-bone_jitter, bone_jitter, (B, 1, 1))).astype(np.float32)
    scale = rng.uniform(0.88, 1.12, B).astype(np.float32)
    return offsets * f * scale[:, None, None], scale


def random_cameras(joints: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Static cameras like real footage for windows of world joints ``(B, L, 22, 3)``.

    Returns:
        ``(R (B, 3, 3) world-to-camera (OpenCV axes), C (B, 3) centres)``, metres.
    """
    B = joints.shape[0]
    root = joints[:, :, 0]
    mid = root.mean(1)
    extent = np.ptp(root[:, :, [0, 2]], axis=1).max(-1)
    dist = rng.uniform(2.5, 9.0, B) + 0.5 * extent
    az = rng.uniform(0, 2 * math.pi, B)
    height = rng.uniform(0.3, 2.8, B)
    eye = np.stack([mid[:, 0] + dist * np.sin(az), height, mid[:, 2] + dist * np.cos(az)], -1)
    target = np.stack([mid[:, 0], rng.uniform(0.6, 1.1, B) * np.clip(mid[:, 1] / 0.95, 0.5, 1.5), mid[:, 2]], -1)
    z = target - eye
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    up = np.array([0.0, 1.0, 0.0])
    x = np.cross(z, up)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    y = np.cross(z, x)
    R = np.stack([x, y, z], 1)  # rows: camera axes in world
    # person off-centre: turn the camera by up to ~1/3 of a 60-degree field, then roll
    yaw, tilt, roll = rng.uniform(-0.17, 0.17, B), rng.uniform(-0.12, 0.12, B), np.radians(rng.uniform(-6, 6, B))
    R = _rot(1, yaw) @ _rot(0, tilt) @ _rot(2, roll) @ R
    return R, eye


def _rot(axis: int, a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    M = np.zeros(a.shape + (3, 3))
    i, j = [k for k in range(3) if k != axis]
    M[..., axis, axis] = 1.0
    M[..., i, i], M[..., i, j], M[..., j, i], M[..., j, j] = c, -s, s, c
    return M


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average over axis 1 (frames), same length."""
    pad = [(0, 0)] * x.ndim
    pad[1] = (width // 2, width - 1 - width // 2)
    xp = np.pad(x, pad, mode="edge")
    c = np.cumsum(xp, axis=1)
    c = np.concatenate([np.zeros_like(c[:, :1]), c], 1)
    return (c[:, width:] - c[:, :-width]) / width


@dataclass(frozen=True)
class NoiseConfig:
    """Detector error model (fractions of the person's image height; probabilities per window)."""

    jitter: tuple[float, float] = (0.002, 0.012)
    occluded_jitter: float = 3.0
    other_limb: float = 0.5
    hide_arm: float = 0.15
    cut_legs: float = 0.08
    missing: float = 0.3
    swap: float = 0.2


def detector_noise(uv: np.ndarray, cam: np.ndarray, rng: np.random.Generator, cfg: NoiseConfig = NoiseConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Degrade clean projections like MediaPipe does.

    Args:
        uv: ``(B, L, K, 2)`` clean projections (normalised image coordinates), :data:`LIFT_NAMES` order.
        cam: ``(B, L, K, 3)`` the landmarks in camera axes, metres (for occlusion).
    Returns:
        ``(uv (B, L, K, 2), confidence (B, L, K))``.
    """
    B, L, K, _ = uv.shape
    size = np.ptp(uv[..., 1], axis=-1).clip(1e-4)  # (B, L) person height in the image
    s = size[..., None, None]
    # --- occlusion score from the geometry, in [0, 1]
    lr = (cam[:, :, _IDX["left_shoulder"]] - cam[:, :, _IDX["right_shoulder"]]) + (cam[:, :, _IDX["left_hip"]] - cam[:, :, _IDX["right_hip"]])
    lr /= np.linalg.norm(lr, axis=-1, keepdims=True).clip(1e-6)
    occ = np.zeros((B, L, K))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        far = np.clip((sign * lr[..., 2] - 0.35) / 0.45, 0.0, 1.0)  # this side turned away from the camera
        occ[:, :, _LIMB[side]] = np.maximum(occ[:, :, _LIMB[side]], far[..., None])
    torso = [_IDX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    tz = cam[:, :, torso, 2].mean(-1)
    tx0, tx1 = uv[:, :, torso, 0].min(-1), uv[:, :, torso, 0].max(-1)
    ty0, ty1 = uv[:, :, torso, 1].min(-1), uv[:, :, torso, 1].max(-1)
    margin = 0.05 * size
    inside = ((uv[..., 0] > (tx0 - margin)[..., None]) & (uv[..., 0] < (tx1 + margin)[..., None])
              & (uv[..., 1] > (ty0 - margin)[..., None]) & (uv[..., 1] < (ty1 + margin)[..., None]))
    behind = np.clip((cam[..., 2] - tz[..., None] - 0.03) / 0.1, 0.0, 1.0) * inside
    arms = np.concatenate([_ARM["left"], _ARM["right"]])
    occ[:, :, arms] = np.maximum(occ[:, :, arms], behind[:, :, arms])
    up = 0.5 * (cam[:, :, _IDX["left_shoulder"]] + cam[:, :, _IDX["right_shoulder"]]) - 0.5 * (cam[:, :, _IDX["left_hip"]] + cam[:, :, _IDX["right_hip"]])
    fwd = np.cross(lr, up)
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True).clip(1e-6)
    away = np.clip((fwd[..., 2] - 0.2) / 0.5, 0.0, 1.0)  # back view: the face is hidden
    occ[:, :, _FACE] = np.maximum(occ[:, :, _FACE], 0.7 * away[..., None])
    # hidden arm spans (an object, the frame edge)
    for b in np.nonzero(rng.random(B) < cfg.hide_arm)[0]:
        a, n = int(rng.integers(0, L)), int(rng.integers(10, 60))
        occ[b, a : a + n, _ARM["left" if rng.random() < 0.5 else "right"]] = 1.0
    thr = rng.uniform(0.15, 0.85, (B, 1, K))
    hidden = occ > thr
    # --- confidence
    conf = np.clip(rng.normal(0.93, 0.05, (B, 1, K)) + rng.normal(0, 0.03, (B, L, K)), 0.5, 1.0)
    low = np.clip(rng.uniform(0.05, 0.5, (B, 1, K)) + rng.normal(0, 0.08, (B, L, K)), 0.01, 0.6)
    conf = np.where(hidden, low, conf)
    # --- positions: jitter (white + slow), larger when hidden
    sig = rng.uniform(*cfg.jitter, (B, 1, 1, 1)) * np.where(hidden, cfg.occluded_jitter, 1.0)[..., None]
    noise = rng.normal(0, 1, (B, L, K, 2)) * 0.6 + _smooth(rng.normal(0, 1, (B, L, K, 2)), 7) * 0.8 * math.sqrt(7)
    out = uv + noise * sig * s
    # hidden landmarks drawn on the other limb
    other = hidden & (rng.random((B, 1, K)) < cfg.other_limb)
    out = np.where(other[..., None], out[:, :, _MIRROR] + rng.normal(0, 0.01, (B, 1, K, 2)) * s, out)
    # legs cut by the lower frame edge
    for b in np.nonzero(rng.random(B) < cfg.cut_legs)[0]:
        legs = _LEGS if rng.random() < 0.6 else _LEGS[[1, 2, 3, 5, 6, 7]]  # whole legs or below the knees
        conf[b][:, legs] = rng.uniform(0.0, 0.2, (L, len(legs)))
        out[b][:, legs] += rng.normal(0, 0.08, (1, len(legs), 2)) * s[b]
    # left/right swaps
    for b in np.nonzero(rng.random(B) < cfg.swap)[0]:
        for _ in range(int(rng.integers(1, 3))):
            a, n = int(rng.integers(0, L)), int(rng.integers(1, 7))
            parts = _SWAP_GROUPS[str(rng.choice(list(_SWAP_GROUPS)))]
            idx = np.array([_IDX[f"{sd}_{p}"] for p in parts for sd in ("left", "right")])
            out[b, a : a + n, idx] = out[b, a : a + n, _MIRROR[idx]]
            conf[b, a : a + n, idx] = conf[b, a : a + n, _MIRROR[idx]]
    # missing frames: filled by interpolation at low confidence (what clean_track gives the fit)
    for b in np.nonzero(rng.random(B) < cfg.missing)[0]:
        for _ in range(int(rng.integers(1, 4))):
            a, n = int(rng.integers(1, L - 1)), int(rng.integers(1, 11))
            e = min(a + n, L - 1)
            if e <= a:
                continue
            w = ((np.arange(a, e) - (a - 1)) / (e - (a - 1)))[:, None, None]
            out[b, a:e] = (1 - w) * out[b, a - 1] + w * out[b, e]
            conf[b, a:e] = np.minimum(conf[b, a:e], 0.1)
    conf *= rng.uniform(0.75, 1.0, (B, 1, 1))
    return out, conf


def make_batch(
    bank: MocapBank,
    batch: int,
    length: int,
    out: int,
    rng: np.random.Generator,
    *,
    noise: NoiseConfig | None = NoiseConfig(),
    bone_jitter: float = 0.08,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One training batch.

    Returns:
        ``(inputs (B, length, K, 3), targets (B, out, 22, 3), mask (B, out))``: targets are
        pelvis-relative camera-axes joints divided by the body's overall scale, metres.
    """
    q, root, offs, mask = sample_windows(bank, batch, length, out, rng)
    offs, scale = _jitter_offsets(offs, rng, bone_jitter)
    root = root * scale[:, None, None]
    with torch.no_grad():
        Rl = roma.unitquat_to_rotmat(torch.as_tensor(q))
        J, Rw = forward_kinematics(Rl, torch.as_tensor(root), torch.as_tensor(offs)[:, None], PARENTS)
        M = marker_positions(J, Rw, _MJ, _MOFF * torch.as_tensor(scale)[:, None, None, None])
    J, M = J.numpy().astype(np.float64), M.numpy().astype(np.float64)
    R, C = random_cameras(J, rng)
    Jc = (J - C[:, None, None]) @ R.transpose(0, 2, 1)[:, None]
    Mc = (M - C[:, None, None]) @ R.transpose(0, 2, 1)[:, None]
    uv = Mc[..., :2] / Mc[..., 2:3].clip(0.1)
    if noise is not None:
        uv, conf = detector_noise(uv, Mc, rng, noise)
    else:
        conf = np.ones(uv.shape[:-1])
    x = normalise_keypoints(uv, conf)
    ctx = (length - out) // 2
    tgt = (Jc - Jc[..., :1, :])[:, ctx : ctx + out] / scale[:, None, None, None]
    return torch.as_tensor(x), torch.as_tensor(tgt, dtype=torch.float32), torch.as_tensor(mask)
