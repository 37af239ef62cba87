"""What the viewer can open, and reading motions from files.

Kinds: ``"motion"`` (``.npz`` humokit/AMASS motion; ``.bvh``, ``.fbx``,
``.gltf`` and skinned, animated ``.glb`` retargeted to the canonical skeleton
by :func:`humokit.motion.importer.load_motion`), ``"glb"`` (other binary glTF, shown as is), ``"splats"``
(3DGS Gaussian ``.ply``), ``"mesh"`` (any other ``.ply``/``.obj``/``.stl``).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Literal

from humokit.errors import FileFormatError, InputError
from humokit.motion.motion import Motion

FileKind = Literal["motion", "glb", "splats", "mesh"]
SUFFIXES = {".npz": "motion", ".bvh": "motion", ".fbx": "motion", ".gltf": "motion", ".glb": "glb_or_motion",
            ".ply": "splats_or_mesh", ".obj": "mesh", ".stl": "mesh"}


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
        raise InputError(f"{p}: cannot view {p.suffix or 'files without a suffix'}; use .npz, .bvh, .fbx, .glb/.gltf, .ply, .obj or .stl")
    if kind == "splats_or_mesh":
        return "splats" if is_gaussian_ply(p) else "mesh"
    if kind == "glb_or_motion":
        return "motion" if _glb_is_animated(p) else "glb"
    return kind  # type: ignore[return-value]


def load_motion(path: str | Path) -> Motion:
    """Read a motion with humokit's one loader (:func:`humokit.motion.importer.load_motion`):
    ``.npz`` as is, ``.bvh``/``.fbx``/``.gltf``/animated ``.glb`` retargeted to the canonical skeleton."""
    from humokit.motion.importer import load_motion as _load

    return _load(Path(path).expanduser())


def _glb_is_animated(p: Path) -> bool:
    """True when a binary glTF has both a skin and an animation (read from its JSON chunk only)."""
    import json

    try:
        with open(p, "rb") as f:
            head = f.read(20)
            if len(head) < 20 or head[:4] != b"glTF":
                return False
            n, kind = struct.unpack("<II", head[12:20])
            if kind != 0x4E4F534A or n > 64 << 20:
                return False
            doc = json.loads(f.read(n))
    except (OSError, ValueError):
        return False
    return bool(doc.get("skins")) and bool(doc.get("animations"))


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
