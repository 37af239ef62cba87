"""Bone names of known body rigs, keyed by canonical joint name (pure data, no body model needed).

:data:`ANNY_JOINT_MAP`: the Anny bone whose head each of the 22 canonical joints sits at. The
Anny body (:mod:`humokit.body.anny`) is built from it; the retargeting registry
(:mod:`humokit.motion.retarget`) and the BVH export rigs read it without loading Anny.
"""

from __future__ import annotations

ANNY_JOINT_MAP: dict[str, str] = {
    "pelvis": "root",
    "left_hip": "upperleg01.L",
    "right_hip": "upperleg01.R",
    "spine1": "spine03",
    "left_knee": "lowerleg01.L",
    "right_knee": "lowerleg01.R",
    "spine2": "spine02",
    "left_ankle": "foot.L",
    "right_ankle": "foot.R",
    "spine3": "spine01",
    "left_foot": "toe3-1.L",
    "right_foot": "toe3-1.R",
    "neck": "neck01",
    "left_collar": "clavicle.L",
    "right_collar": "clavicle.R",
    "head": "head",
    "left_shoulder": "upperarm01.L",
    "right_shoulder": "upperarm01.R",
    "left_elbow": "lowerarm01.L",
    "right_elbow": "lowerarm01.R",
    "left_wrist": "wrist.L",
    "right_wrist": "wrist.R",
}
