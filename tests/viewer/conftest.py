"""Fixtures for viewer tests: a ViewerApp on a free loopback port, tiny files."""

from __future__ import annotations

import numpy as np
import pytest

viser = pytest.importorskip("viser", reason="viser (humokit[viewer]) is not installed")


@pytest.fixture
def app():
    from humokit.viewer import ViewerApp

    a = ViewerApp("127.0.0.1", 0, play=False)
    yield a
    a.stop()


@pytest.fixture
def gaussian_ply():
    """``gaussian_ply(path, centers, **kw)`` writes a tiny 3DGS PLY."""
    return write_gaussian_ply


def write_gaussian_ply(path, centers, *, log_scale=-3.0, rgb=(0.8, 0.2, 0.2), opacity_logit=2.0, extra=True):
    """A minimal binary 3DGS PLY (optionally with normals and f_rest like real files)."""
    centers = np.asarray(centers, dtype=np.float32)
    n = len(centers)
    names = ["x", "y", "z"] + (["nx", "ny", "nz"] if extra else []) + ["f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(6)] if extra else []
    names += ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    cols = {k: np.zeros(n, np.float32) for k in names}
    for i, k in enumerate("xyz"):
        cols[k] = centers[:, i]
    for i in range(3):
        cols[f"f_dc_{i}"][:] = (rgb[i] - 0.5) / 0.28209479177387814
        cols[f"scale_{i}"][:] = log_scale
    cols["opacity"][:] = opacity_logit
    cols["rot_0"][:] = 1.0
    header = "ply\nformat binary_little_endian 1.0\nelement vertex %d\n" % n
    header += "".join(f"property float {k}\n" for k in names) + "end_header\n"
    data = np.stack([cols[k] for k in names], axis=1).astype("<f4").tobytes()
    with open(path, "wb") as f:
        f.write(header.encode() + data)
