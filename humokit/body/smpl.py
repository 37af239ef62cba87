"""SMPL / SMPL-H / SMPL-X bodies through ``smplx``, for users who have the model files.

The files are licence-gated (register at the SMPL websites); point humokit at
them with ``model_path`` (a model file or a folder laid out as smplx expects:
``<dir>/smpl/SMPL_NEUTRAL.pkl`` ...) or the ``$HUMOKIT_SMPL_DIR`` variable.

humokit's canonical skeleton *is* SMPL's 22-joint body tree in SMPL's frame
(Y up, +Z forward), so canonical rotations are passed to smplx unchanged
(as rotation matrices, ``pose2rot=False``), with pose blend shapes applied by
smplx. Hand/jaw/eye joints stay in their rest pose. ``transl`` is chosen so
the pelvis lands on ``motion.root_position``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from humokit._paths import smpl_dir
from humokit.body.model import BodyModel, BodyOutput, RestBody
from humokit.errors import InputError, MissingDependencyError
from humokit.motion.motion import Motion
from humokit.motion.skeleton import NUM_JOINTS, PARENTS, default_skeleton, forward_kinematics, positions_to_offsets

_BODY_POSE_JOINTS = {"smpl": 23, "smplh": 21, "smplx": 21}


def _find_model(model_type: str, model_path: str | Path | None, gender: str) -> Path | None:
    base = Path(model_path) if model_path else smpl_dir()
    if base is None:
        return None
    if base.is_file():
        return base
    stem = {"smpl": "SMPL", "smplh": "SMPLH", "smplx": "SMPLX"}[model_type]
    for folder in (base / model_type, base):
        for ext in ("pkl", "npz"):
            cand = folder / f"{stem}_{gender.upper()}.{ext}"
            if cand.exists():
                return cand
    return None


def smpl_status(model_type: str) -> str:
    """``"ok (path)"`` when model files are found, else why not."""
    path = _find_model(model_type, None, "neutral")
    if path is None:
        return "no model files (set HUMOKIT_SMPL_DIR or pass --body-model-path)"
    return f"ok ({path})"


class SMPLBody(BodyModel):
    """An SMPL-family body; shape = betas ``(B,)``."""

    def __init__(
        self,
        model_type: str = "smpl",
        model_path: str | Path | None = None,
        gender: str = "neutral",
        num_betas: int = 10,
    ) -> None:
        if model_type not in _BODY_POSE_JOINTS:
            raise InputError(f"unknown SMPL model type {model_type!r}")
        path = _find_model(model_type, model_path, gender)
        if path is None:
            where = model_path or smpl_dir() or "(none given)"
            raise InputError(
                f"{model_type}: no model file found in {where}; download it from the SMPL website and "
                "pass --body-model-path or set HUMOKIT_SMPL_DIR"
            )
        try:
            import smplx
        except ImportError:
            raise MissingDependencyError("smplx", "smpl") from None
        self.name = model_type
        self.model_type = model_type
        self.path = path
        kwargs: dict[str, object] = dict(model_type=model_type, gender=gender, num_betas=num_betas, ext=path.suffix[1:])
        if model_type in ("smplh", "smplx"):
            kwargs.update(use_pca=False, flat_hand_mean=True)
        try:
            from humokit._quiet import stdout_to_stderr

            with stdout_to_stderr():  # smplx prints its notes ("You are using a SMPL model...") on stdout
                self.model = smplx.create(str(path), **kwargs)
        except Exception as exc:  # smplx raises assorted errors on bad files
            raise InputError(f"{path}: cannot load {model_type} model ({type(exc).__name__}: {exc})") from None
        self.model.eval()
        self.num_betas = num_betas
        self.faces = torch.as_tensor(np.asarray(self.model.faces, dtype=np.int64))
        W = self.model.lbs_weights.detach().double()  # (V, J_model)
        parents = self.model.parents.tolist()
        table = np.arange(W.shape[1])
        for j in range(NUM_JOINTS, W.shape[1]):  # hands, jaw, eyes -> nearest body ancestor
            p = j
            while p >= NUM_JOINTS:
                p = parents[p]
            table[j] = p
        W22 = torch.zeros(W.shape[0], NUM_JOINTS, dtype=torch.float64)
        W22.index_add_(1, torch.from_numpy(table), W)
        self.weights = (W22 / W22.sum(1, keepdim=True)).float()

    def _betas(self, shape: object | None) -> torch.Tensor:
        b = torch.zeros(1, self.num_betas)
        if shape is not None:
            arr = torch.as_tensor(np.asarray(shape, dtype=np.float32)).reshape(-1)[: self.num_betas]
            if not torch.all(torch.isfinite(arr)):
                raise InputError(f"{self.model_type}: betas contain NaN or inf")
            b[0, : arr.numel()] = arr
        return b

    def shape_from_motion(self, motion: Motion) -> object | None:
        return motion.betas

    def _call(self, R: torch.Tensor, transl: torch.Tensor, betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        T = R.shape[0]
        nb = _BODY_POSE_JOINTS[self.model_type]
        eye = torch.eye(3, dtype=R.dtype).expand(T, 1, 3, 3)
        body = R[:, 1:NUM_JOINTS]
        if nb > NUM_JOINTS - 1:  # SMPL's two hand joints
            body = torch.cat([body, eye.expand(T, nb - (NUM_JOINTS - 1), 3, 3)], dim=1)
        kwargs: dict[str, torch.Tensor] = {}
        if self.model_type in ("smplh", "smplx"):
            kwargs["left_hand_pose"] = eye.expand(T, 15, 3, 3)
            kwargs["right_hand_pose"] = eye.expand(T, 15, 3, 3)
        if self.model_type == "smplx":
            kwargs.update(jaw_pose=eye, leye_pose=eye, reye_pose=eye, expression=torch.zeros(T, self.model.num_expression_coeffs))
        out = self.model(
            betas=betas.expand(T, -1),
            global_orient=R[:, :1],
            body_pose=body,
            transl=transl,
            pose2rot=False,
            **kwargs,
        )
        return out.vertices, out.joints[:, :NUM_JOINTS]

    def rest(self, shape: object | None = None) -> RestBody:
        betas = self._betas(shape)
        R = torch.eye(3).expand(1, NUM_JOINTS, 3, 3)
        with torch.no_grad():
            v, j = self._call(R, torch.zeros(1, 3), betas)
        joints = j[0].double().numpy()
        skel = default_skeleton().with_offsets(positions_to_offsets(joints))
        return RestBody(
            vertices=v[0],
            faces=self.faces,
            joints=j[0],
            weights=self.weights,
            R_rest_to_canonical=torch.eye(3).expand(NUM_JOINTS, 3, 3).clone(),
            skeleton=skel,
        )

    def forward(self, motion: Motion, *, shape: object | None = None, root_scale: float | str = "auto") -> BodyOutput:
        if motion.num_frames == 0:
            raise InputError("body: the motion has no frames")
        shape = shape if shape is not None else self.shape_from_motion(motion)
        rest = self.rest(shape)
        scale = self.root_scale_for(rest, motion) if root_scale == "auto" else float(root_scale)
        R = torch.from_numpy(motion.rotations)
        root = torch.from_numpy(motion.root_position) * scale
        J0 = rest.joints[0]
        verts, joints = self._call(R, root - J0, self._betas(shape))
        offsets = torch.as_tensor(rest.skeleton.offsets, dtype=R.dtype)
        _, R_world = forward_kinematics(R, root, offsets, PARENTS)
        return BodyOutput(vertices=verts, joints=joints, R_world=R_world, faces=self.faces)
