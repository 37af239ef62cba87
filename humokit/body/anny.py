"""Anny (NAVER, Apache-2.0; MakeHuman CC0 data shipped in the wheel) as humokit's default body.

Anny's own frame is Z up, -Y forward, +X left, metres; its rest pose is an
A-pose with 104 bones. humokit drives it with the canonical 22-joint skeleton:

1. each canonical joint sits at the head of one Anny bone (:data:`ANNY_JOINT_MAP`);
2. the skinning weights of every other Anny bone (fingers, toes, twist,
   extra spine and neck bones, eyes) go to its nearest mapped ancestor
   (toes to the ``*_foot`` joint);
3. :func:`~humokit.body.rest_alignment` turns the A-pose into the
   canonical T-pose, so a canonical rotation moves Anny's limb exactly as it
   moves the canonical skeleton's.

Shape is Anny's phenotype: ``gender``, ``age``, ``muscle``, ``weight``,
``height``, ``proportions`` in [0, 1] (0.5 = average).

The first ``anny.Anny()`` on a machine builds a cache of several hundred MB
(``$ANNY_CACHE_DIR``, default ``~/.cache/anny``) in minutes; later ones take
about a second. humokit keeps one instance per process.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Mapping

import numpy as np
import torch

from humokit.body.model import BodyModel, RestBody, rest_alignment
from humokit.errors import InputError, MissingDependencyError
from humokit.motion.motion import Motion
from humokit.motion.rig_tables import ANNY_JOINT_MAP
from humokit.motion.skeleton import JOINT_NAMES, NUM_JOINTS, default_skeleton

log = logging.getLogger(__name__)

# Anny's Z-up/-Y-forward frame -> humokit's Y-up/+Z-forward: (x, y, z) -> (x, z, -y)
R_ANNY_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# Anny bones whose skin follows a canonical joint other than their nearest mapped
# ancestor: the deltoid (shoulder01) moves with the upper arm, not the clavicle.
WEIGHT_ONLY_MAP: dict[str, str] = {"shoulder01.L": "left_shoulder", "shoulder01.R": "right_shoulder"}
PHENOTYPE_KEYS = ("gender", "age", "muscle", "weight", "height", "proportions")
DEFAULT_PHENOTYPE: dict[str, float] = {k: 0.5 for k in PHENOTYPE_KEYS}


def bone_to_joint_table(bone_labels: list[str], bone_parents: list[int]) -> np.ndarray:
    """``(B,)`` canonical joint index for every Anny bone (nearest mapped ancestor)."""
    by_bone = {b: JOINT_NAMES.index(j) for j, b in ANNY_JOINT_MAP.items()}
    table = np.full(len(bone_labels), -1, dtype=np.int64)
    for i, name in enumerate(bone_labels):
        if name in by_bone:
            table[i] = by_bone[name]
        elif name in WEIGHT_ONLY_MAP:
            table[i] = JOINT_NAMES.index(WEIGHT_ONLY_MAP[name])
        elif name.startswith("toe"):
            table[i] = JOINT_NAMES.index("left_foot" if name.endswith(".L") else "right_foot")
    for i in range(len(bone_labels)):  # parents precede children in Anny's rig
        if table[i] < 0:
            p = bone_parents[i]
            table[i] = table[p] if p >= 0 else 0
    return table


@functools.lru_cache(maxsize=1)
def _anny_model() -> object:
    from humokit._quiet import quiet_native

    try:
        import anny
    except ImportError:
        raise MissingDependencyError("the Anny body (package 'anny')", "anny") from None
    from anny.paths import get_anny_cache_path

    cache = get_anny_cache_path()
    first = not any(cache.glob("*/*.safetensors")) if cache.exists() else True
    if first:
        print(
            f"humokit: building the Anny body cache in {cache} (first use only, a few minutes)...",
            file=sys.stderr,
            flush=True,
        )
    t0 = time.time()
    logging.getLogger("anny").setLevel(logging.WARNING)
    with quiet_native():  # anny imports Warp here, whose banner goes to stdout and CUDA warning to fd 2
        model = anny.Anny()
    model.eval()
    log.info("Anny loaded in %.1f s", time.time() - t0)
    return model


class AnnyBody(BodyModel):
    """The Anny body driven by canonical motions (see module docstring)."""

    name = "anny"

    def __init__(self) -> None:
        self.model = _anny_model()
        m = self.model
        self.bone_labels: list[str] = list(m.bone_labels)  # type: ignore[attr-defined]
        self.bone_parents: list[int] = list(m.bone_parents)  # type: ignore[attr-defined]
        self.bone_to_joint = bone_to_joint_table(self.bone_labels, self.bone_parents)
        idx = m.vertex_bone_indices.long()  # type: ignore[attr-defined]
        w = m.vertex_bone_weights.double()  # type: ignore[attr-defined]
        V = idx.shape[0]
        W = torch.zeros(V, NUM_JOINTS, dtype=torch.float64)
        W.scatter_add_(1, torch.from_numpy(self.bone_to_joint)[idx], w)
        self.weights = W / W.sum(1, keepdim=True).clamp_min(1e-12)
        self.faces = m.faces.long().clone()  # type: ignore[attr-defined]
        self._joint_bones = [self.bone_labels.index(ANNY_JOINT_MAP[j]) for j in JOINT_NAMES]
        self._rest_cache: dict[tuple[float, ...], RestBody] = {}

    def default_shape(self) -> dict[str, float]:
        return dict(DEFAULT_PHENOTYPE)

    def shape_from_motion(self, motion: Motion) -> dict[str, float]:
        """The phenotype a recovery stored in ``motion.meta["anny_phenotype"]`` (JSON), else the default."""
        import json

        text = (motion.meta or {}).get("anny_phenotype")
        if text:
            try:
                return self.check_phenotype(json.loads(text))
            except (ValueError, TypeError, InputError):
                pass
        return self.default_shape()

    def uv_layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Anny's (MakeHuman) texture layout, v flipped from OBJ's bottom-left origin to glTF's top-left."""
        uv = self.model.texture_coordinates.detach().double().numpy().copy()  # type: ignore[attr-defined]
        uv[:, 1] = 1.0 - uv[:, 1]
        face_uv = self.model.face_texture_coordinate_indices.long().numpy().copy()  # type: ignore[attr-defined]
        return uv.astype(np.float32), face_uv.astype(np.int64)

    @staticmethod
    def check_phenotype(shape: Mapping[str, float] | None) -> dict[str, float]:
        ph = dict(DEFAULT_PHENOTYPE)
        for k, v in (shape or {}).items():
            if k not in PHENOTYPE_KEYS:
                raise InputError(f"anny: unknown phenotype {k!r}; use {', '.join(PHENOTYPE_KEYS)}")
            v = float(v)
            if not (0.0 <= v <= 1.0):
                raise InputError(f"anny: phenotype {k}={v} is outside [0, 1]")
            ph[k] = v
        return ph

    def rest_geometry(self, shape: Mapping[str, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Anny's shaped rest mesh and bone heads in humokit axes: ``((V,3), (104,3))`` float64."""
        ph = self.check_phenotype(shape)
        m = self.model
        with torch.no_grad():
            inputs = m.get_tensor_inputs(None, {k: torch.tensor([v], dtype=torch.float64) for k, v in ph.items()}, None, None)  # type: ignore[attr-defined]
            coeffs = m._get_phenotype_blendshape_coefficients(*inputs[1:])  # type: ignore[attr-defined]
            out = m.get_rest_model(coeffs)  # type: ignore[attr-defined]
        Rw = torch.as_tensor(R_ANNY_TO_WORLD)
        verts = out["rest_vertices"][0].double() @ Rw.T
        heads = out["rest_bone_heads"][0].double() @ Rw.T
        return verts, heads

    def rest(self, shape: object | None = None) -> RestBody:
        ph = self.check_phenotype(shape)  # type: ignore[arg-type]
        key = tuple(ph[k] for k in PHENOTYPE_KEYS)
        if key in self._rest_cache:
            return self._rest_cache[key]
        verts, heads = self.rest_geometry(ph)
        joints = heads[self._joint_bones].numpy()
        C, skel = rest_alignment(joints, default_skeleton())
        rest = RestBody(
            vertices=verts.float(),
            faces=self.faces,
            joints=torch.from_numpy(joints).float(),
            weights=self.weights.float(),
            R_rest_to_canonical=torch.from_numpy(C).float(),
            skeleton=skel,
        )
        if len(self._rest_cache) > 16:
            self._rest_cache.clear()
        self._rest_cache[key] = rest
        return rest
