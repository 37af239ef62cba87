"""FBX reading through Blender (``bpy``, extra ``humokit[blender]``): FBX -> glTF -> skeleton clip.

Blender's FBX importer (the reference implementation outside Autodesk's SDK)
runs in a subprocess (:mod:`humokit.motion._blender_fbx`) and exports the
armature and its animation as glTF, which :func:`humokit.motion.gltf_read.load_gltf_clip`
reads: so FBX and glTF share one reader. Blender converts Z-up FBX scenes to
glTF's Y up and keeps the file's unit scale on the armature node.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

from humokit.errors import FileFormatError, MissingDependencyError
from humokit.motion.bvh import BvhClip

_SCRIPT = Path(__file__).with_name("_blender_fbx.py")


def has_bpy() -> bool:
    """True when Blender's Python module ``bpy`` is importable (FBX reading)."""
    return importlib.util.find_spec("bpy") is not None


def load_fbx_clip(path: str | Path, *, timeout: float = 600.0) -> BvhClip:
    """The skeleton and animation of an FBX file as a clip (glTF axes, metres; see the module docstring)."""
    from humokit.motion.gltf_read import load_gltf_clip

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(path, "no such file")
    if not has_bpy():
        raise MissingDependencyError("FBX import needs Blender's Python module 'bpy' (Python 3.11, bpy==4.2.*)", "blender")
    with tempfile.TemporaryDirectory(prefix="humokit_fbx_") as tmp:
        glb = Path(tmp) / "scene.glb"
        proc = subprocess.run([sys.executable, str(_SCRIPT), str(path.resolve()), str(glb)],
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
        if proc.returncode != 0 or not glb.is_file():
            lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
            err = next((ln[len("error: "):] for ln in reversed(lines) if ln.startswith("error: ")), None)
            raise FileFormatError(path, err or f"Blender could not read it ({lines[-1] if lines else proc.returncode})")
        return load_gltf_clip(glb)
