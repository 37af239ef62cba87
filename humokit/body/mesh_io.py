"""Writing meshes (.ply, .obj, .glb) with trimesh, atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from humokit._io import atomic_path
from humokit.errors import InputError

MESH_SUFFIXES = (".ply", ".obj", ".glb")


def save_mesh(path: str | Path, vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None = None) -> None:
    """Write one triangle mesh; format from the suffix.

    Args:
        vertices: ``(V, 3)`` metres. faces: ``(F, 3)`` int. colors: optional ``(V, 3|4)`` uint8.
    """
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise InputError(f"{path}: unsupported mesh format {path.suffix!r}; use {', '.join(MESH_SUFFIXES)}")
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or not np.all(np.isfinite(v)):
        raise InputError(f"{path}: vertices must be finite (V, 3), got {v.shape}")
    mesh = trimesh.Trimesh(v, np.asarray(faces), vertex_colors=colors, process=False)
    with atomic_path(path) as tmp:
        mesh.export(tmp, file_type=path.suffix.lower().lstrip("."))
