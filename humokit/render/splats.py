"""Reader for Gaussian-splat ``.ply`` files in the standard 3DGS layout.

The format (Kerbl et al. 2023 training output): a binary little-endian PLY
whose ``vertex`` element has float properties ``x y z`` (centres),
``f_dc_0..2`` (degree-0 spherical-harmonic colour), ``opacity`` (logit),
``scale_0..2`` (log standard deviations) and ``rot_0..3`` (unnormalised
quaternion, **wxyz**); other properties (normals, ``f_rest_*``) are ignored.

Colour: ``rgb = 0.5 + SH_C0 * f_dc`` clipped to [0, 1]; opacity: sigmoid;
covariance ``Sigma = R diag(exp(scale))^2 R^T``. Axes are the file's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from humokit.errors import FileFormatError

SH_C0 = 0.28209479177387814
_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
_REQUIRED = ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
             "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3")  # fmt: skip


@dataclass(frozen=True)
class GaussianSplats:
    """Gaussians ready for display.

    Attributes:
        centers: ``(N, 3)`` float32 positions (file units, usually metres).
        covariances: ``(N, 3, 3)`` float32 covariance matrices.
        rgbs: ``(N, 3)`` float32 colours in [0, 1].
        opacities: ``(N, 1)`` float32 in [0, 1].
    """

    centers: np.ndarray
    covariances: np.ndarray
    rgbs: np.ndarray
    opacities: np.ndarray

    @property
    def num_gaussians(self) -> int:
        return int(self.centers.shape[0])


def is_gaussian_ply(path: str | Path) -> bool:
    """True when ``path`` is a PLY whose header has the 3DGS vertex properties."""
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError:
        return False
    if not head.startswith(b"ply"):
        return False
    text = head.split(b"end_header", 1)[0].decode("latin-1")
    props = {ln.split()[-1] for ln in text.splitlines() if ln.startswith("property")}
    return all(p in props for p in _REQUIRED)


def read_gaussian_ply(path: str | Path) -> GaussianSplats:
    """Read a standard 3DGS ``.ply`` file.

    Raises:
        FileFormatError: not a binary little-endian PLY with the 3DGS properties.
    """
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise FileFormatError(path, "not a PLY file (no 'ply' magic or 'end_header')")
    nl = data.find(b"\n", end)
    header = data[:end].decode("latin-1").splitlines()
    body = data[nl + 1 :]
    fmt = next((ln.split()[1] for ln in header if ln.startswith("format")), None)
    if fmt != "binary_little_endian":
        raise FileFormatError(path, f"Gaussian PLY must be binary_little_endian, got {fmt!r}")
    count, fields, element = None, [], None
    for lineno, ln in enumerate(header, start=1):
        parts = ln.split()
        if not parts:
            continue
        if parts[0] == "element":
            if element == "vertex":
                break  # vertex properties done; later elements are ignored
            element = parts[1]
            if element == "vertex":
                try:
                    count = int(parts[2])
                except (IndexError, ValueError):
                    raise FileFormatError(path, "bad 'element vertex' count", line=lineno) from None
            elif count is None:
                raise FileFormatError(path, f"element {element!r} before 'vertex' is not supported", line=lineno)
        elif parts[0] == "property" and element == "vertex":
            if parts[1] == "list" or parts[1] not in _PLY_TYPES:
                raise FileFormatError(path, f"unsupported vertex property {' '.join(parts[1:])!r}", line=lineno)
            fields.append((parts[2], "<" + _PLY_TYPES[parts[1]]))
    if count is None:
        raise FileFormatError(path, "no 'element vertex' in the header")
    names = [n for n, _ in fields]
    missing = [p for p in _REQUIRED if p not in names]
    if missing:
        raise FileFormatError(path, f"not a 3DGS Gaussian PLY: missing properties {', '.join(missing)}")
    dtype = np.dtype(fields)
    if len(body) < count * dtype.itemsize:
        raise FileFormatError(path, f"truncated: {count} Gaussians need {count * dtype.itemsize} bytes, got {len(body)}")
    v = np.frombuffer(body, dtype=dtype, count=count)

    def cols(*ks: str) -> np.ndarray:
        return np.stack([v[k].astype(np.float64) for k in ks], axis=-1)

    centers = cols("x", "y", "z")
    rgb = np.clip(0.5 + SH_C0 * cols("f_dc_0", "f_dc_1", "f_dc_2"), 0.0, 1.0)
    opacity = 1.0 / (1.0 + np.exp(-cols("opacity")))
    scales = np.exp(cols("scale_0", "scale_1", "scale_2"))
    q = cols("rot_0", "rot_1", "rot_2", "rot_3")
    q /= np.clip(np.linalg.norm(q, axis=-1, keepdims=True), 1e-12, None)
    R = _wxyz_to_rotmat(q)
    M = R * scales[:, None, :]
    cov = M @ np.transpose(M, (0, 2, 1))
    good = np.all(np.isfinite(centers), axis=1) & np.all(np.isfinite(cov.reshape(-1, 9)), axis=1)
    if not good.all():
        centers, cov, rgb, opacity = centers[good], cov[good], rgb[good], opacity[good]
    return GaussianSplats(
        centers=centers.astype(np.float32),
        covariances=cov.astype(np.float32),
        rgbs=rgb.astype(np.float32),
        opacities=opacity.astype(np.float32),
    )


def _wxyz_to_rotmat(q: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(N, 4)`` wxyz to rotation matrices ``(N, 3, 3)``."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )
