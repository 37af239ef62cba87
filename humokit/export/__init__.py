"""humokit.export: write motions for animation tools and game engines.

``export_motion(motion, path, format=..., body=..., rig=...)`` writes BVH
(canonical / Anny / Mixamo rigs), glTF 2.0 binary (skinned body mesh plus
animation), FBX (through headless Blender, extra ``humokit[blender]``) and
AMASS-style ``.npz``. The CLI is ``humokit export``.
"""

from humokit.export.api import FORMATS, export_motion, expected_joints, resolve_format
from humokit.export.blender import has_blender
from humokit.export.rigged import RiggedAnimation, SkinnedMesh, prepare_export, top4_weights
from humokit.export.rigs import MIXAMO_JOINT_MAP, RIGS, ExportRig, rig_joint_names
from humokit.export.validate import has_gltf_validator, validate_gltf

__all__ = [
    "FORMATS",
    "MIXAMO_JOINT_MAP",
    "RIGS",
    "ExportRig",
    "RiggedAnimation",
    "SkinnedMesh",
    "expected_joints",
    "export_motion",
    "has_blender",
    "has_gltf_validator",
    "prepare_export",
    "resolve_format",
    "rig_joint_names",
    "top4_weights",
    "validate_gltf",
]
