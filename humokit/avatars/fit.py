"""Training a :class:`~humokit.avatars.gaussian_avatar.GaussianAvatar` from posed, calibrated frames.

Inputs (:class:`AvatarFrames`): RGB frames, optional person masks, one camera
per frame and the body pose of each frame (canonical ``R_local``, root).
:func:`train_avatar` optimises, with Adam, the avatar's Gaussians (face-frame
offsets, rotations, log scales, opacity logits, SH colour, optional pose
correction) and, optionally, a per-frame pose correction (axis-angle
``dR`` right-multiplied onto every joint's local rotation, plus a root
offset). Loss per step (one random frame, :class:`AvatarTrainConfig` weights):

- photometric ``(1 - w_ssim) L1 + w_ssim (1 - SSIM)`` (11x11 Gaussian window, sigma 1.5);
- mask ``w_mask * mean |alpha - mask|`` when masks are given;
- regularisers: ``w_offset * mean |offset|^2 / s0^2`` (``s0`` = initial
  in-plane scale), ``w_scale * mean relu(scale - 3 s0) / s0`` (no needles or
  blobs), ARAP-style local rigidity ``w_rigid * mean |d_i - d_j|^2 / s0^2`` over
  the 6 rest-pose nearest neighbours (``d`` = canonical displacement from
  the surface: neighbours move together, so novel poses don't tear), pose
  correction magnitude, and ``w_pose * mean |dR|^2`` on the refined poses.

Densification and pruning follow 3DGS: the screen-space gradient of each
Gaussian's mean (in NDC units, averaged over the steps that saw it) above
``grad_threshold`` clones small Gaussians and splits large ones in two (new
means sampled from the Gaussian, scales / 1.6), up to ``max_gaussians``;
Gaussians whose opacity falls below ``prune_opacity`` are removed. Adam's
moments follow the Gaussians they belong to.

Determinism: one ``torch.Generator`` (seeded) picks frames and split
samples; resuming from a :func:`save_checkpoint` file continues the same
sequence.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from humokit._io import atomic_path
from humokit.avatars.gaussian_avatar import (
    GaussianAvatar,
    PoseCorrection,
    face_frames,
    pose_on_mesh,
    posed_mesh,
    render_avatar,
)
from humokit.errors import FileFormatError, InputError
from humokit.render.camera import CameraTrajectory

_GAUSS = ("offsets", "quats", "log_scales", "opacity_logits", "sh")


@dataclass(frozen=True)
class AvatarFrames:
    """Training data.

    Attributes:
        images: ``(T, H, W, 3)`` uint8 RGB.
        masks: ``(T, H, W)`` float32 in [0, 1] (person = 1) or None.
        cameras: :class:`CameraTrajectory` of T cameras of size W x H.
        R_local: ``(T, 22, 3, 3)`` canonical local rotations; root: ``(T, 3)`` pelvis, metres.
        background: RGB in [0, 1] behind the person in ``images`` where ``masks`` is 0
            (frames are composited onto it when masks are given).
    """

    images: np.ndarray
    masks: np.ndarray | None
    cameras: CameraTrajectory
    R_local: np.ndarray
    root: np.ndarray
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        im = np.asarray(self.images)
        if im.ndim != 4 or im.shape[3] != 3 or im.dtype != np.uint8:
            raise InputError(f"avatar frames: images must be (T, H, W, 3) uint8, got {im.shape} {im.dtype}")
        T, H, W = im.shape[:3]
        if T == 0:
            raise InputError("avatar frames: no frames")
        if len(self.cameras) != T or (self.cameras.width, self.cameras.height) != (W, H):
            raise InputError(f"avatar frames: need {T} cameras of {W}x{H}, got {len(self.cameras)} of "
                             f"{self.cameras.width}x{self.cameras.height}")
        if np.asarray(self.R_local).shape != (T, 22, 3, 3) or np.asarray(self.root).shape != (T, 3):
            raise InputError(f"avatar frames: poses must be (T, 22, 3, 3) and (T, 3) with T = {T}")
        if self.masks is not None and np.asarray(self.masks).shape != (T, H, W):
            raise InputError(f"avatar frames: masks must be ({T}, {H}, {W}), got {np.asarray(self.masks).shape}")

    @property
    def num_frames(self) -> int:
        return int(self.images.shape[0])

    def subset(self, idx: np.ndarray | list[int]) -> "AvatarFrames":
        idx = np.asarray(idx, dtype=np.int64)
        cams = CameraTrajectory(self.cameras.K[idx], self.cameras.R[idx], self.cameras.t[idx],
                                self.cameras.width, self.cameras.height)
        return AvatarFrames(self.images[idx], None if self.masks is None else self.masks[idx], cams,
                            self.R_local[idx], self.root[idx], self.background)


@dataclass(frozen=True)
class AvatarTrainConfig:
    """Settings of :func:`train_avatar` (learning rates per Adam group; weights of the loss terms).

    ``refine_poses`` turns on per-frame pose refinement (for noisy recovered poses).
    ``densify_every = 0`` disables densification and pruning. ``device``:
    ``"cpu"``, ``"cuda"`` (renders with gsplat when installed) or ``"auto"``
    (CUDA when available). ``threads``: torch
    CPU threads while training (1 by default: the splatting path is many small
    ops, and with other jobs on the cores two threads were measured 10x slower).
    """

    iters: int = 2000
    lr_offsets: float = 5e-4
    lr_quats: float = 2e-3
    lr_scales: float = 5e-3
    lr_opacity: float = 3e-2
    lr_sh: float = 1e-2
    lr_correction: float = 1e-3
    lr_pose: float = 2e-3
    w_ssim: float = 0.2
    w_mask: float = 0.1
    w_offset: float = 1e-3
    w_scale: float = 1e-2
    w_rigid: float = 1e-2
    w_correction: float = 1e-3
    w_pose: float = 1e-2
    refine_poses: bool = False
    pose_from: int = 100
    densify_every: int = 100
    densify_from: int = 200
    densify_until: int = 1500
    grad_threshold: float = 2e-4
    prune_opacity: float = 0.01
    max_gaussians: int = 20000
    lr_decay: float = 0.1
    cull_backfaces: bool = True
    seed: int = 0
    threads: int = 1
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.iters < 0:
            raise InputError(f"avatar training: iters must be >= 0, got {self.iters}")
        if not 0.0 <= self.w_ssim <= 1.0:
            raise InputError(f"avatar training: w_ssim must be in [0, 1], got {self.w_ssim}")


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_avatar` returns.

    Attributes:
        avatar: the trained avatar (detached).
        R_local, root: ``(T, 22, 3, 3)``, ``(T, 3)`` refined poses (the inputs when not refined).
        history: per logged step ``{"iter", "loss", "psnr", "num_gaussians", "seconds"}``.
        seconds: wall time of this call.
    """

    avatar: GaussianAvatar
    R_local: np.ndarray
    root: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------------------
# Image metrics


def _gauss_window(size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2
    w = torch.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of images ``(H, W, C)`` in [0, 1] (Wang et al.: 11x11 Gaussian window, sigma 1.5, 'valid')."""
    x = a.permute(2, 0, 1)[None]
    y = b.permute(2, 0, 1)[None].to(x.dtype)
    C = x.shape[1]
    w = _gauss_window(dtype=x.dtype)
    kx = w.reshape(1, 1, 1, -1).expand(C, 1, 1, -1)
    ky = w.reshape(1, 1, -1, 1).expand(C, 1, -1, 1)

    def blur(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(torch.nn.functional.conv2d(z, kx, groups=C), ky, groups=C)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean()


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """PSNR (dB) of images in [0, 1], over ``mask`` pixels when given."""
    d = (a.detach().double() - b.detach().double()) ** 2
    if mask is not None:
        d = d[mask]
    mse = float(d.mean()) if d.numel() else 0.0
    return 99.0 if mse <= 1e-12 else -10.0 * math.log10(mse)


# ---------------------------------------------------------------------------
# Training state


def _rotvec_to_rotmat(r: torch.Tensor) -> torch.Tensor:
    import roma

    return roma.rotvec_to_rotmat(r)


def _neighbours(avatar: GaussianAvatar, k: int = 6) -> torch.Tensor:
    """``(N, k)`` nearest Gaussians in the rest pose (surface points)."""
    from scipy.spatial import cKDTree

    tri = avatar.rest.vertices.detach()[avatar.rest.faces[avatar.face_ids]]
    pts = torch.einsum("nk,nkc->nc", avatar.bary.detach(), tri).cpu().numpy()
    k = min(k, max(len(pts) - 1, 1))
    _, idx = cKDTree(pts).query(pts, k=k + 1)
    return torch.from_numpy(np.asarray(idx)[:, 1:].reshape(len(pts), k)).to(torch.int64).to(avatar.bary.device)


class _State:
    """Leaf tensors, optimiser and densification statistics of one training run."""

    def __init__(self, avatar: GaussianAvatar, frames: AvatarFrames, cfg: AvatarTrainConfig,
                 device: torch.device = torch.device("cpu")) -> None:
        self.cfg = cfg
        self.dev = device
        avatar = avatar.to(device)
        self.avatar = avatar
        self.p: dict[str, torch.Tensor] = {k: getattr(avatar, k).detach().clone().requires_grad_(True) for k in _GAUSS}
        self.corr: dict[str, torch.Tensor] = {}
        if avatar.correction is not None:
            self.corr = {k: v.detach().clone().requires_grad_(True) for k, v in avatar.correction.tensors().items()}
        T = frames.num_frames
        self.dR = torch.zeros(T, 22, 3, device=device, requires_grad=True)
        self.droot = torch.zeros(T, 3, device=device, requires_grad=True)
        self.fid = avatar.face_ids.clone()
        self.bary = avatar.bary.clone()
        self.s0 = float(torch.exp(avatar.log_scales[:, :2]).median())
        self.iter = 0
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self._build_optimizer()
        self._reset_stats()
        self.nbr = _neighbours(self.current())

    def _build_optimizer(self) -> None:
        c = self.cfg
        lr = {"offsets": c.lr_offsets, "quats": c.lr_quats, "log_scales": c.lr_scales,
              "opacity_logits": c.lr_opacity, "sh": c.lr_sh}
        groups = [{"params": [self.p[k]], "lr": lr[k], "name": k} for k in _GAUSS]
        groups += [{"params": [v], "lr": c.lr_correction, "name": "corr_" + k} for k, v in self.corr.items()]
        groups += [{"params": [self.dR, self.droot], "lr": c.lr_pose, "name": "pose"}]
        self.opt = torch.optim.Adam(groups, eps=1e-15)
        for gr in self.opt.param_groups:
            gr["base_lr"] = gr["lr"]

    def _reset_stats(self) -> None:
        n = self.p["offsets"].shape[0]
        self.grad_acc = torch.zeros(n, device=self.dev)
        self.grad_cnt = torch.zeros(n, device=self.dev)

    def current(self) -> GaussianAvatar:
        corr = PoseCorrection(**self.corr) if self.corr else None
        return replace(self.avatar, face_ids=self.fid, bary=self.bary, correction=corr, **self.p)

    def pose(self, t: int, frames: AvatarFrames) -> tuple[torch.Tensor, torch.Tensor]:
        R = torch.as_tensor(frames.R_local[t], dtype=torch.float32, device=self.dev)
        root = torch.as_tensor(frames.root[t], dtype=torch.float32, device=self.dev)
        if self.cfg.refine_poses:
            R = R @ _rotvec_to_rotmat(self.dR[t])
            root = root + self.droot[t]
        return R, root

    # -- densification ------------------------------------------------------
    def _reindex(self, idx: torch.Tensor, new_values: dict[str, torch.Tensor]) -> None:
        """Keep/duplicate Gaussians ``idx`` (with values overridden by ``new_values``), Adam moments included."""
        by_name = {gr["name"]: gr for gr in self.opt.param_groups}
        tensors = dict(self.p)
        if "basis" in self.corr:
            tensors["corr_basis"] = self.corr["basis"]
        for name, old in tensors.items():
            gr = by_name[name]
            state = self.opt.state.pop(old, {})
            val = new_values.get(name, old.detach().index_select(0, idx))
            new = val.detach().clone().requires_grad_(True)
            for key in ("exp_avg", "exp_avg_sq"):
                if key in state:
                    state[key] = state[key].index_select(0, idx).clone()
            gr["params"] = [new]
            if state:
                self.opt.state[new] = state
            if name.startswith("corr_"):
                self.corr["basis"] = new
            else:
                self.p[name] = new
        self.fid = self.fid.index_select(0, idx)
        self.bary = self.bary.index_select(0, idx)
        self.nbr = _neighbours(self.current())
        self._reset_stats()

    def densify(self) -> None:
        cfg = self.cfg
        with torch.no_grad():
            avg = self.grad_acc / self.grad_cnt.clamp_min(1)
            op = torch.sigmoid(self.p["opacity_logits"])
            keep = op >= cfg.prune_opacity
            big = torch.exp(self.p["log_scales"]).amax(1) > 1.5 * self.s0
            hot = (avg > cfg.grad_threshold) & keep
            room = max(cfg.max_gaussians - int(keep.sum()), 0)
            hot_idx = torch.nonzero(hot).squeeze(1)
            if hot_idx.numel() > room:
                hot_idx = hot_idx[torch.argsort(avg[hot_idx], descending=True)[:room]]
            split = hot_idx[big[hot_idx]]
            clone = hot_idx[~big[hot_idx]]
            base = torch.nonzero(keep).squeeze(1)
            idx = torch.cat([base, clone, split])
            vals = {k: v.detach().index_select(0, idx).clone() for k, v in self.p.items()}
            if split.numel():
                # split: the parent (kept in `base`) and its copy both move to samples of the Gaussian, scales / 1.6
                from humokit.render.gaussians import quat_to_rotmat

                ns = split.numel()
                rows_copy = torch.arange(idx.numel() - ns, idx.numel(), device=self.dev)
                pos_base = torch.searchsorted(base, split)  # parent row inside `base` (base is sorted)
                for rows in (pos_base, rows_copy):
                    Rq = quat_to_rotmat(vals["quats"][rows])
                    s = torch.exp(vals["log_scales"][rows])
                    z = torch.randn(ns, 3, generator=self.gen).to(self.dev)
                    vals["offsets"][rows] = self.p["offsets"].detach()[split] + (Rq @ (s * z)[..., None])[..., 0]
                    vals["log_scales"][rows] = self.p["log_scales"].detach()[split] - math.log(1.6)
            self._reindex(idx, vals)
        return None


# ---------------------------------------------------------------------------
# Checkpoints


def save_checkpoint(path: str | Path, state: _State) -> None:
    """Everything needed to resume (atomic)."""
    data = {
        "iter": state.iter, "p": {k: v.detach() for k, v in state.p.items()},
        "corr": {k: v.detach() for k, v in state.corr.items()}, "dR": state.dR.detach(), "droot": state.droot.detach(),
        "fid": state.fid, "bary": state.bary, "opt": state.opt.state_dict(), "gen": state.gen.get_state(),
        "grad_acc": state.grad_acc, "grad_cnt": state.grad_cnt, "s0": state.s0,
    }
    with atomic_path(path) as tmp:
        torch.save(data, tmp)


def _load_checkpoint(path: str | Path, state: _State) -> None:
    try:
        d = torch.load(path, weights_only=True, map_location=state.dev)  # tensors and plain types only
    except Exception as exc:  # noqa: BLE001
        raise FileFormatError(path, f"not a readable avatar checkpoint ({exc})") from None
    if d["dR"].shape != state.dR.shape:
        raise InputError(f"{path}: checkpoint was made for {d['dR'].shape[0]} frames, these data have {state.dR.shape[0]}")
    state.p = {k: v.clone().requires_grad_(True) for k, v in d["p"].items()}
    state.corr = {k: v.clone().requires_grad_(True) for k, v in d["corr"].items()}
    state.dR = d["dR"].clone().requires_grad_(True)
    state.droot = d["droot"].clone().requires_grad_(True)
    state.fid, state.bary, state.s0 = d["fid"], d["bary"], d["s0"]
    state._build_optimizer()
    state.opt.load_state_dict(d["opt"])
    for gr in state.opt.param_groups:
        gr.setdefault("base_lr", gr["lr"])
    state.gen.set_state(d["gen"].cpu())
    state.grad_acc, state.grad_cnt = d["grad_acc"], d["grad_cnt"]
    state.iter = int(d["iter"])
    state.nbr = _neighbours(state.current())


# ---------------------------------------------------------------------------
# The loop


def _frame_tensors(frames: AvatarFrames, t: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor | None]:
    img = torch.from_numpy(frames.images[t]).to(device=device, dtype=torch.float32) / 255.0
    m = None
    if frames.masks is not None:
        m = torch.from_numpy(np.asarray(frames.masks[t], dtype=np.float32)).to(device)
        bg = torch.tensor(frames.background, dtype=torch.float32, device=device)
        img = img * m[..., None] + (1 - m[..., None]) * bg
    return img, m


def avatar_loss(state: _State, frames: AvatarFrames, t: int) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
    """Loss of frame ``t`` (see the module docstring); returns ``(loss, parts, means2d)``."""
    cfg = state.cfg
    av = state.current()
    R, root = state.pose(t, frames)
    V = posed_mesh(av.rest, R[None], root[None])[0]
    posed = pose_on_mesh(av, V, R)
    cam = frames.cameras[t]
    out = render_avatar(posed, cam, background=frames.background, cull_backfaces=cfg.cull_backfaces)
    gt, mask = _frame_tensors(frames, t, state.dev)
    l1 = (out.rgb - gt).abs().mean()
    loss = (1 - cfg.w_ssim) * l1
    if cfg.w_ssim > 0:
        loss = loss + cfg.w_ssim * (1 - ssim(out.rgb, gt))
    if mask is not None and cfg.w_mask > 0:
        loss = loss + cfg.w_mask * (out.alpha - mask).abs().mean()
    s0 = state.s0
    off = state.p["offsets"]
    loss = loss + cfg.w_offset * (off**2).sum(-1).mean() / s0**2
    loss = loss + cfg.w_scale * torch.relu(torch.exp(state.p["log_scales"]) - 3 * s0).mean() / s0
    if cfg.w_rigid > 0:
        R0 = face_frames(av.rest.vertices[av.rest.faces[state.fid]])
        d = (R0 @ off[..., None])[..., 0]
        loss = loss + cfg.w_rigid * ((d[:, None, :] - d[state.nbr]) ** 2).sum(-1).mean() / s0**2
    if state.corr:
        loss = loss + cfg.w_correction * (av.correction(R) ** 2).sum(-1).mean() / s0**2
    if cfg.refine_poses:
        loss = loss + cfg.w_pose * ((state.dR[t] ** 2).sum() + (state.droot[t] ** 2).sum() / 0.05**2)
    return loss, {"l1": float(l1.detach()), "psnr": psnr(out.rgb, gt)}, out.means2d


def train_avatar(
    avatar: GaussianAvatar,
    frames: AvatarFrames,
    config: AvatarTrainConfig | None = None,
    *,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 200,
    resume: bool = False,
    progress: bool = True,
    time_limit: float | None = None,
    max_steps: int | None = None,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Optimise ``avatar`` on ``frames`` (see the module docstring).

    Args:
        checkpoint: file to write every ``checkpoint_every`` steps and at the end.
        resume: continue from ``checkpoint`` when it exists.
        time_limit: stop after this many seconds (the result is still valid).
        max_steps: stop after this many steps of this call (train in resumable chunks).
        callback: called as ``callback(iteration, stats)`` every 25 steps.
    """
    from tqdm import tqdm

    cfg = config or AvatarTrainConfig()
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, int(cfg.threads)))
    torch.manual_seed(cfg.seed)
    t_start = time.perf_counter()
    try:
        dev = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available()
                           else "cpu" if cfg.device == "auto" else cfg.device)
        state = _State(avatar, frames, cfg, dev)
        if resume and checkpoint is not None and Path(checkpoint).exists():
            _load_checkpoint(checkpoint, state)
        history: list[dict[str, float]] = []
        T = frames.num_frames
        W, H = frames.cameras.width, frames.cameras.height
        ndc = torch.tensor([W / 2.0, H / 2.0], device=dev)
        run_loss, run_psnr = 0.0, 0.0
        steps = 0
        bar = tqdm(total=cfg.iters, initial=state.iter, desc="avatar", unit="it", leave=False,
                   **({} if progress else {"disable": True}))
        while state.iter < cfg.iters:
            if time_limit is not None and time.perf_counter() - t_start > time_limit:
                break
            if max_steps is not None and steps >= max_steps:
                break
            it = state.iter
            frac = it / max(cfg.iters, 1)
            for gr in state.opt.param_groups:  # exponential decay of the position/pose rates
                if gr["name"] in ("offsets", "pose"):
                    gr["lr"] = gr["base_lr"] * cfg.lr_decay ** frac
            t = int(torch.randint(T, (1,), generator=state.gen))
            loss, parts, means2d = avatar_loss(state, frames, t)
            state.opt.zero_grad(set_to_none=True)
            loss.backward()
            if not (cfg.refine_poses and it >= cfg.pose_from):
                state.dR.grad = None
                state.droot.grad = None
            state.opt.step()
            with torch.no_grad():
                if means2d.grad is not None:
                    g = (means2d.grad.reshape(-1, 2) * ndc).norm(dim=-1)
                    seen = g > 0
                    state.grad_acc += torch.where(seen, g, torch.zeros_like(g))
                    state.grad_cnt += seen.to(torch.float32)
            state.iter += 1
            lv = float(loss.detach())
            run_loss = 0.9 * run_loss + 0.1 * lv if steps else lv
            run_psnr = 0.9 * run_psnr + 0.1 * parts["psnr"] if steps else parts["psnr"]
            steps += 1
            if (cfg.densify_every and cfg.densify_from <= state.iter <= cfg.densify_until
                    and state.iter % cfg.densify_every == 0):
                state.densify()
            if state.iter % 25 == 0 or state.iter == cfg.iters:
                rec = {"iter": state.iter, "loss": run_loss, "psnr": run_psnr,
                       "num_gaussians": float(state.p["offsets"].shape[0]), "seconds": time.perf_counter() - t_start}
                history.append(rec)
                bar.set_postfix(loss=f"{run_loss:.4f}", psnr=f"{run_psnr:.2f}", n=int(rec["num_gaussians"]))
                if callback is not None:
                    callback(state.iter, rec)
            if checkpoint is not None and checkpoint_every and state.iter % checkpoint_every == 0:
                save_checkpoint(checkpoint, state)
            bar.update(1)
        bar.close()
        if checkpoint is not None:
            save_checkpoint(checkpoint, state)
        with torch.no_grad():
            R_ref = np.stack([state.pose(i, frames)[0].cpu().numpy() for i in range(T)]).astype(np.float32)
            root_ref = np.stack([state.pose(i, frames)[1].cpu().numpy() for i in range(T)]).astype(np.float32)
        return TrainResult(state.current().detach().to("cpu"), R_ref, root_ref, history, time.perf_counter() - t_start)
    finally:
        torch.set_num_threads(threads)


def evaluate_avatar(
    avatar: GaussianAvatar,
    frames: AvatarFrames,
    *,
    R_local: np.ndarray | None = None,
    root: np.ndarray | None = None,
    threads: int = 1,
) -> dict[str, float]:
    """Mean PSNR / SSIM over ``frames`` (full image and person bounding box) and render frames/s.

    ``psnr_fg`` is over pixels where the ground truth or the render has the
    person (mask or alpha > 0.01); masks come from ``frames.masks`` when present.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        return _evaluate(avatar, frames, R_local, root)
    finally:
        torch.set_num_threads(old)


def _evaluate(avatar: GaussianAvatar, frames: AvatarFrames, R_local: np.ndarray | None,
              root: np.ndarray | None) -> dict[str, float]:
    ps, ss, pf, secs = [], [], [], 0.0
    with torch.no_grad():
        for t in range(frames.num_frames):
            R = torch.as_tensor(R_local[t] if R_local is not None else frames.R_local[t], dtype=torch.float32)
            rt = torch.as_tensor(root[t] if root is not None else frames.root[t], dtype=torch.float32)
            t0 = time.perf_counter()
            V = posed_mesh(avatar.rest, R[None], rt[None])[0]
            out = render_avatar(pose_on_mesh(avatar, V, R), frames.cameras[t], background=frames.background)
            secs += time.perf_counter() - t0
            gt, m = _frame_tensors(frames, t)
            img = out.rgb.clamp(0, 1)
            ps.append(psnr(img, gt))
            ss.append(float(ssim(img, gt)))
            fg = out.alpha > 0.01
            if m is not None:
                fg = fg | (m > 0.5)
            pf.append(psnr(img, gt, fg))
    return {"psnr": float(np.mean(ps)), "ssim": float(np.mean(ss)), "psnr_fg": float(np.mean(pf)),
            "frames": frames.num_frames, "render_fps": frames.num_frames / max(secs, 1e-9)}
