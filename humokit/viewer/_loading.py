"""What the viewer can open, and reading motions from files.

Kinds: ``"motion"`` (``.npz`` humokit/AMASS motion, ``.bvh`` retargeted to
the canonical skeleton), ``"glb"`` (binary glTF shown as is), ``"splats"``
(3DGS Gaussian ``.ply``), ``"mesh"`` (any other ``.ply``/``.obj``/``.stl``).
Optional producers (:mod:`humokit.motion.bvh`, :mod:`humokit.motion.retarget`)
are imported on use and reported with a one-line error when missing.
"""

from __future__ import annotations

import importlib
import struct
from pathlib import Path
from typing import Literal

from humokit.errors import FileFormatError, HumokitError, InputError, MissingDependencyError
from humokit.motion.motion import Motion

FileKind = Literal["motion", "glb", "splats", "mesh"]
SUFFIXES = {".npz": "motion", ".bvh": "motion", ".glb": "glb", ".ply": "splats_or_mesh", ".obj": "mesh", ".stl": "mesh"}


def classify(path: str | Path) -> FileKind:
    """The kind of a viewable file, from its suffix (and PLY header).

    Raises:
        InputError: the file does not exist or has an unsupported suffix.
    """
    from humokit.render.splats import is_gaussian_ply

    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    kind = SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise InputError(f"{p}: cannot view {p.suffix or 'files without a suffix'}; use .npz, .bvh, .glb or .ply")
    if kind == "splats_or_mesh":
        return "splats" if is_gaussian_ply(p) else "mesh"
    return kind  # type: ignore[return-value]


def load_motion(path: str | Path) -> Motion:
    """Read a motion: ``.npz`` via :meth:`Motion.load`, ``.bvh`` via ``load_bvh`` + retargeting."""
    p = Path(path).expanduser()
    if p.suffix.lower() == ".npz":
        try:
            return Motion.load(p)
        except HumokitError:
            raise
        except Exception as exc:  # numpy/zip errors on corrupt files
            raise FileFormatError(p, f"cannot read motion ({type(exc).__name__}: {exc})") from exc
    if p.suffix.lower() == ".bvh":
        return _load_bvh_motion(p)
    raise InputError(f"{p}: not a motion file (.npz or .bvh)")


def _load_bvh_motion(p: Path) -> Motion:
    try:
        bvh = importlib.import_module("humokit.motion.bvh")
    except ImportError:
        raise MissingDependencyError("BVH reading (humokit.motion.bvh)", "bvh") from None
    try:
        retarget = importlib.import_module("humokit.motion.retarget")
    except ImportError:
        raise HumokitError(f"{p}: BVH retargeting (humokit.motion.retarget) is not available in this humokit") from None
    clip = bvh.load_bvh(p)
    fn = getattr(retarget, "retarget", None)
    if not callable(fn):
        raise HumokitError(f"{p}: humokit.motion.retarget has no retarget() function")
    motion = fn(clip, fps=clip.fps, meta={"source": str(p)})
    if not isinstance(motion, Motion):
        raise HumokitError(f"{p}: humokit.motion.retarget.retarget did not return a Motion")
    return motion


def read_glb(path: str | Path) -> bytes:
    """The bytes of a binary glTF file after checking its 12-byte header."""
    p = Path(path).expanduser()
    data = p.read_bytes()
    if len(data) < 12 or data[:4] != b"glTF":
        raise FileFormatError(p, "not a binary glTF file (missing 'glTF' magic)")
    version, length = struct.unpack("<II", data[4:12])
    if version != 2:
        raise FileFormatError(p, f"glTF version {version} is not supported (need 2)")
    if length > len(data):
        raise FileFormatError(p, f"truncated: header says {length} bytes, file has {len(data)}")
    return data
