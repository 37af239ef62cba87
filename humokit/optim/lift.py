"""Learned temporal prior: a 2D -> 3D lifting network over windows of keypoints.

:class:`LiftNet` is a VideoPose3D-style stack of dilated temporal convolutions
(filter widths ``3, 3, 3, 3``: a receptive field of 81 frames, 4 s at 20 fps).
Its input per frame is the detector's landmarks (:data:`LIFT_NAMES`, MediaPipe's
33, by name; landmarks a detector does not emit read confidence 0) as
``(x, y, confidence)``, where ``(x, y)`` are normalised by the person's box
(:func:`normalise_keypoints`: centred on the mid-hip, divided by a rolling
median of the box size). Its output per frame is

- the 22 canonical joints relative to the pelvis, in camera axes (x right,
  y down, z away from the camera), metres, for a body of the training
  skeletons' size (the overall scale is not observable from box-normalised
  2D; callers rescale to their skeleton, :func:`rescale_to_skeleton`);
- a per-joint standard deviation (metres) of that estimate, trained as a
  Gaussian likelihood of the network's own error: high on joints the input
  leaves open (hidden arms, missing frames).

The network is trained on mocap projected through random cameras with
detector-shaped noise (:mod:`humokit.optim.lift_data`,
``python -m humokit.optim.lift_train``); the shipped weights are
``humokit/checkpoints/lift/model.safetensors`` (see the checkpoints README).
:func:`humokit.optim.fit.fit_track` uses it as the warm start and as a prior
term (``FitConfig.lift``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from humokit.errors import FileFormatError, InputError
from humokit.motion.skeleton import PARENTS, Skeleton
from humokit.optim.keypoints import MEDIAPIPE_NAMES

LIFT_NAMES: tuple[str, ...] = MEDIAPIPE_NAMES
SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "lift"
_HIPS = (LIFT_NAMES.index("left_hip"), LIFT_NAMES.index("right_hip"))
_BOX_RADIUS = 40  # frames either side for the rolling median of the box size
_MIN_CONF = 0.3  # landmarks above this confidence define the box


@dataclass(frozen=True)
class LiftConfig:
    """Architecture of :class:`LiftNet`.

    Attributes:
        filters: temporal filter widths; the receptive field is their product.
        channels: hidden channels.
        dropout: dropout probability (training only).
        joints: output joints (22 canonical).
        inputs: input landmarks (:data:`LIFT_NAMES`).
        fps: frame rate of the training data; :func:`lift_track` resamples other rates to it.
    """

    filters: tuple[int, ...] = (3, 3, 3, 3)
    channels: int = 256
    dropout: float = 0.15
    joints: int = 22
    inputs: int = len(LIFT_NAMES)
    fps: float = 20.0

    @property
    def receptive_field(self) -> int:
        return int(np.prod(self.filters))

    @property
    def pad(self) -> int:
        """Frames of context each side of an output frame."""
        return (self.receptive_field - 1) // 2


class LiftNet(nn.Module):
    """Dilated temporal convolutions: ``(B, T, K, 3)`` keypoints -> ``(B, T - rf + 1, J, 3)`` joints and ``(..., J)`` log std.

    Valid convolutions (no padding): each output frame sees ``receptive_field``
    input frames centred on it. :func:`lift_keypoints` pads the ends of a
    sequence by reflecting it about its first and last frames.
    """

    def __init__(self, cfg: LiftConfig = LiftConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        C = cfg.channels
        self.expand = nn.Conv1d(cfg.inputs * 3, C, cfg.filters[0], bias=False)
        self.expand_bn = nn.BatchNorm1d(C, momentum=0.1)
        self.drop = nn.Dropout(cfg.dropout)
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        self.dil: list[int] = []
        d = cfg.filters[0]
        for f in cfg.filters[1:]:
            self.convs.append(nn.Conv1d(C, C, f, dilation=d, bias=False))
            self.bns.append(nn.BatchNorm1d(C, momentum=0.1))
            self.convs.append(nn.Conv1d(C, C, 1, bias=False))
            self.bns.append(nn.BatchNorm1d(C, momentum=0.1))
            self.dil.append((f - 1) * d // 2)
            d *= f
        self.head = nn.Conv1d(C, cfg.joints * 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, K, 3)`` -> ``(joints (B, T', J, 3), log_std (B, T', J))``, ``T' = T - receptive_field + 1``."""
        B, T = x.shape[:2]
        if T < self.cfg.receptive_field:
            raise InputError(f"lift: need at least {self.cfg.receptive_field} frames, got {T}")
        h = x.reshape(B, T, -1).transpose(1, 2)
        h = self.drop(torch.relu(self.expand_bn(self.expand(h))))
        for i, cut in enumerate(self.dil):
            res = h[:, :, cut : h.shape[2] - cut]
            h = self.drop(torch.relu(self.bns[2 * i](self.convs[2 * i](h))))
            h = res + self.drop(torch.relu(self.bns[2 * i + 1](self.convs[2 * i + 1](h))))
        out = self.head(h).transpose(1, 2)  # (B, T', J*4)
        J = self.cfg.joints
        joints = out[..., : 3 * J].unflatten(-1, (J, 3))
        log_std = out[..., 3 * J :].clamp(-6.0, 2.0)
        return joints, log_std


# ----------------------------------------------------------------------------- input normalisation


@contextmanager
def _nan_quiet() -> Iterator[None]:
    """Silence numpy's all-NaN slice warnings (an all-NaN slice gives NaN, which is handled)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _rolling_median(x: np.ndarray, radius: int) -> np.ndarray:
    """``(..., T)`` -> median over ``t - radius .. t + radius`` (ends repeated), ignoring NaN."""
    pad = [(0, 0)] * (x.ndim - 1) + [(radius, radius)]
    xp = np.pad(x, pad, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(xp, 2 * radius + 1, axis=-1)
    with _nan_quiet():
        return np.nanmedian(win, axis=-1)


def normalise_keypoints(uv: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """Network input from pixels (or any image-plane units).

    Args:
        uv: ``(..., T, K, 2)`` keypoints in :data:`LIFT_NAMES` order (NaN where unknown).
        conf: ``(..., T, K)`` confidences in [0, 1] (0 where unknown).
    Returns:
        ``(..., T, K, 3)`` float32: ``(x, y)`` relative to the mid-hip, divided by the
        rolling median (81 frames) of the person's box size (larger side of the
        box around landmarks with confidence > 0.3), and the confidence.
    """
    uv = np.asarray(uv, dtype=np.float64)
    c = np.where(np.isfinite(uv).all(-1), np.nan_to_num(np.asarray(conf, dtype=np.float64)), 0.0).clip(0.0, 1.0)
    good = c > _MIN_CONF
    masked = np.where(good[..., None], uv, np.nan)
    with _nan_quiet():
        size = np.nanmax(np.nanmax(masked, -2) - np.nanmin(masked, -2), -1)  # (..., T)
    size = np.where(good.sum(-1) >= 4, size, np.nan)
    if np.isnan(size).all(-1).any():  # nothing confident anywhere: use every finite landmark
        fin = np.where(np.isfinite(uv), uv, np.nan)
        with _nan_quiet():
            alt = np.nanmax(np.nanmax(fin, -2) - np.nanmin(fin, -2), -1)
        size = np.where(np.isnan(size).all(-1, keepdims=True), alt, size)
    scale = _rolling_median(size, _BOX_RADIUS)
    # frames farther than the radius from any box: nearest known value
    scale = np.where(np.isfinite(scale), scale, np.nanmedian(size, -1, keepdims=True) if np.isfinite(size).any() else 1.0)
    scale = np.nan_to_num(scale, nan=1.0).clip(1e-6, None)
    center = 0.5 * (uv[..., _HIPS[0], :] + uv[..., _HIPS[1], :])
    fc = np.isfinite(center).all(-1)
    if not fc.all():  # fall back to the mean finite landmark
        with _nan_quiet():
            alt = np.nanmean(np.where(np.isfinite(uv), uv, np.nan), -2)
        center = np.where(fc[..., None], center, np.nan_to_num(alt))
    xy = (uv - center[..., None, :]) / scale[..., None, None]
    xy = np.where(c[..., None] > 0, np.nan_to_num(xy), 0.0).clip(-4.0, 4.0)
    return np.concatenate([xy, c[..., None]], -1).astype(np.float32)


def track_inputs(names: tuple[str, ...] | list[str], uv: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A detector's ``uv (T, K', 2)``, ``conf (T, K')`` by name -> :data:`LIFT_NAMES` order ``(T, K, 2)``, ``(T, K)``."""
    T = uv.shape[0]
    out_uv = np.full((T, len(LIFT_NAMES), 2), np.nan)
    out_c = np.zeros((T, len(LIFT_NAMES)))
    idx = {n: i for i, n in enumerate(names)}
    if "left_hip" not in idx or "right_hip" not in idx:
        raise InputError("lift: the keypoints need left_hip and right_hip")
    for k, n in enumerate(LIFT_NAMES):
        if n in idx:
            out_uv[:, k] = uv[:, idx[n]]
            out_c[:, k] = conf[:, idx[n]]
    return out_uv, out_c


# ----------------------------------------------------------------------------- inference


@dataclass(frozen=True)
class Lifted:
    """Lifted 3D pose of one track.

    Attributes:
        joints: ``(T, 22, 3)`` joints relative to the pelvis, camera axes (x right, y down, z away), metres
            (training-skeleton size; see :func:`rescale_to_skeleton`).
        std: ``(T, 22)`` the network's own error estimate per joint, metres.
    """

    joints: np.ndarray
    std: np.ndarray


@torch.no_grad()
def lift_keypoints(model: LiftNet, inputs: np.ndarray, *, chunk: int = 2000) -> Lifted:
    """Run ``model`` over a whole sequence of normalised inputs ``(T, K, 3)``.

    The ends are padded by reflection (frames ``p .. 1`` before the first, mirrored likewise after the
    last; ``p`` = half the receptive field), so an end frame of a walk sees the walk on both sides; sequences
    of ``p`` frames or fewer repeat their end frames. With repeated end frames the lifted walks' first and
    last frames were 20-100 mm (PA-MPJPE) worse than the middle on the val renders of ``benchmarks/recover.py``.
    """
    x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
    if x.ndim != 3 or x.shape[1:] != (model.cfg.inputs, 3):
        raise InputError(f"lift: inputs must be (T, {model.cfg.inputs}, 3), got {tuple(x.shape)}")
    T = x.shape[0]
    if T == 0:
        raise InputError("lift: no frames")
    p = model.cfg.pad
    if T > p:
        xp = torch.cat([x[1 : p + 1].flip(0), x, x[-p - 1 : -1].flip(0)])
    else:
        xp = torch.cat([x[:1].expand(p, -1, -1), x, x[-1:].expand(p, -1, -1)])
    was = model.training
    model.eval()
    js, ss = [], []
    for s in range(0, T, chunk):
        e = min(s + chunk, T)
        j, ls = model(xp[s : e + 2 * p][None])
        js.append(j[0])
        ss.append(ls[0].exp())
    model.train(was)
    return Lifted(torch.cat(js).numpy().astype(np.float64), torch.cat(ss).numpy().astype(np.float64))


def _resample(x: np.ndarray, t_src: np.ndarray, t_new: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``x (T, ...)`` along time, per column over its finite samples (NaN if none)."""
    flat = x.reshape(len(x), -1)
    out = np.full((len(t_new), flat.shape[1]), np.nan)
    for k in range(flat.shape[1]):
        ok = np.isfinite(flat[:, k])
        if ok.any():
            out[:, k] = np.interp(t_new, t_src[ok], flat[ok, k])
    return out.reshape((len(t_new),) + x.shape[1:])


def lift_track(names: tuple[str, ...] | list[str], uv: np.ndarray, conf: np.ndarray, model: LiftNet | None = None,
               *, fps: float | None = None) -> Lifted:
    """Lift a detector track (``uv (T, K', 2)`` pixels and ``conf (T, K')`` in ``names`` order) with ``model`` (default: shipped).

    A track at another rate than the network's (``fps``) is lifted at the network's rate and interpolated back.
    """
    model = model if model is not None else load_lifter()
    u, c = track_inputs(names, np.asarray(uv, dtype=np.float64), np.asarray(conf, dtype=np.float64))
    T = len(u)
    if fps is None or abs(fps - model.cfg.fps) < 1e-3 or T < 2:
        return lift_keypoints(model, normalise_keypoints(u, c))
    t_src = np.arange(T) / fps
    t_net = np.arange(0.0, t_src[-1] + 1e-9, 1.0 / model.cfg.fps)
    out = lift_keypoints(model, normalise_keypoints(_resample(u, t_src, t_net), np.nan_to_num(_resample(c, t_src, t_net))))
    if len(t_net) < 2:
        return Lifted(np.repeat(out.joints[:1], T, 0), np.repeat(out.std[:1], T, 0))
    return Lifted(_resample(out.joints, t_net, t_src), _resample(out.std, t_net, t_src))


def bone_sum(joints: np.ndarray, parents: tuple[int, ...] = PARENTS) -> np.ndarray:
    """``(..., 22, 3)`` -> ``(...)`` sum of bone lengths (limbs and spine), metres."""
    J = np.asarray(joints)
    return sum(np.linalg.norm(J[..., j, :] - J[..., p, :], axis=-1) for j, p in enumerate(parents) if p >= 0)  # type: ignore[return-value]


def rescale_to_skeleton(lifted: Lifted, skeleton: Skeleton) -> Lifted:
    """Lifted joints and std scaled so the median bone sum matches ``skeleton``'s rest pose."""
    k = float(bone_sum(skeleton.rest_positions()) / max(float(np.median(bone_sum(lifted.joints))), 1e-6))
    return Lifted(lifted.joints * k, lifted.std * k)


# ----------------------------------------------------------------------------- weights


def save_lifter(model: LiftNet, folder: str | Path, *, extra: dict | None = None, half: bool = True) -> None:
    """Write ``model.safetensors`` (float16 unless ``half=False``) and ``config.json`` into ``folder`` (atomic per file)."""
    from safetensors.torch import save_file

    from humokit._io import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sd = {k: (v.half() if half and v.is_floating_point() else v).contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file(sd, str(tmp))
    cfg = {"kind": "lift", **asdict(model.cfg), **(extra or {})}
    with atomic_path(folder / "config.json") as tmp:
        Path(tmp).write_text(json.dumps(cfg, indent=1))


def load_lifter(folder: str | Path | None = None) -> LiftNet:
    """A :class:`LiftNet` in eval mode from ``folder`` (default: the shipped ``checkpoints/lift``)."""
    return _load(str(Path(folder) if folder is not None else SHIPPED))


@lru_cache(maxsize=4)
def _load(folder: str) -> LiftNet:
    from safetensors.torch import load_file

    p = Path(folder)
    if not (p / "model.safetensors").is_file() or not (p / "config.json").is_file():
        raise FileFormatError(p, "no lifting network here (model.safetensors and config.json)")
    try:
        meta = json.loads((p / "config.json").read_text())
        names = {f for f in LiftConfig.__dataclass_fields__}
        cfg = LiftConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in meta.items() if k in names})
        model = LiftNet(cfg)
        sd = load_file(str(p / "model.safetensors"))
        model.load_state_dict({k: v.to(model.state_dict()[k].dtype) for k, v in sd.items()})
    except (ValueError, KeyError, RuntimeError, OSError, TypeError) as e:
        raise FileFormatError(p, f"cannot load the lifting network: {e}") from None
    return model.eval()


def has_shipped_lifter() -> bool:
    """True when the shipped weights are present."""
    return (SHIPPED / "model.safetensors").is_file()


# ----------------------------------------------------------------------------- use in the fit


def lift_for_fit(names: tuple[str, ...] | list[str], uv: np.ndarray, conf: np.ndarray, fps: float, skeleton: Skeleton,
                 folder: str | Path | None = None) -> Lifted | None:
    """Lifted joints at ``skeleton``'s size (scale 1) for :func:`humokit.optim.fit.fit_track`, or None without weights or hips."""
    if folder is None and not has_shipped_lifter():
        return None
    if "left_hip" not in names or "right_hip" not in names:
        return None
    return rescale_to_skeleton(lift_track(names, uv, conf, load_lifter(folder), fps=fps), skeleton)


def lift_weight(std: np.ndarray, sigma: float) -> np.ndarray:
    """Prior weight in (0, 1] from the network's std ``(...)``: ``sigma^2 / (sigma^2 + std^2)``."""
    return sigma**2 / (sigma**2 + np.asarray(std) ** 2)


def align_rotations(src: torch.Tensor, dst: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``(n, 3, 3)`` per-frame rotations ``R`` minimising ``sum_j w |R src_j - dst_j|^2`` (Kabsch; points ``(n, J, 3)``, weights ``(n, J)``)."""
    H = (dst * weight[..., None]).transpose(-1, -2) @ src  # (n, 3, 3); a plain matmul, no einsum path search
    U, _, Vt = torch.linalg.svd(H)
    d = torch.sign(torch.det(U @ Vt))
    D = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
    return U @ D @ Vt


def lift_prior_loss(joints_cam: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, sigma: float,
                    *, align: bool = True) -> torch.Tensor:
    """Weighted squared distance of pelvis-relative joints to the lifted ones, per frame, over ``sigma^2``.

    Args:
        joints_cam: ``(n, 22, 3)`` fitted joints in camera axes, metres.
        target: ``(n, 22, 3)`` lifted pelvis-relative joints (already at the fit's scale).
        weight: ``(n, 22)`` from :func:`lift_weight`.
        align: turn the target onto the fitted pose per frame first (rotation about the pelvis, not
            differentiated): the network then constrains the articulation (knee bend, arm pose) and the
            image and the other terms give the body's orientation, which the network gets ~15-20
            degrees wrong on real detections.
    """
    rel = joints_cam - joints_cam[:, :1]
    if align:
        with torch.no_grad():
            R = align_rotations(target, rel.detach(), weight)
        target = target @ R.transpose(-1, -2)
    d2 = (rel - target).pow(2).sum(-1)
    return (weight * d2).sum() / max(joints_cam.shape[0], 1) / sigma**2


def joint_markers(joints: np.ndarray, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """``(T, K, 3)`` landmark positions from ``joints (T, 22, 3)`` for the joint-type landmarks (NaN for others)."""
    from humokit.motion.skeleton import JOINT_NAMES
    from humokit.optim.landmarks import MARKERS

    out = np.full((joints.shape[0], len(names), 3), np.nan)
    for i, n in enumerate(names):
        if n in MARKERS and not any(MARKERS[n][1]):
            out[:, i] = joints[:, JOINT_NAMES.index(MARKERS[n][0])]
    return out
