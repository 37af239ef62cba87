"""AMASS-style ``.npz`` export: SMPL parameters only.

Keys: ``poses (T, 156)`` float32 SMPL-H axis-angle (root orientation, 21 body
joints, 30 zero hand joints; radians), ``trans (T, 3)`` metres, ``betas``
``(B,)`` (the motion's, or 16 zeros), ``mocap_framerate`` (float), ``gender``
(``"neutral"``/``"male"``/``"female"``).

Axis conversion (humokit Y up, +Z forward -> AMASS Z up): with
``R_c = R_ZUP_TO_YUP`` (-90 deg about X, ``(x, y, z) -> (x, z, -y)``),
``R_root_amass = R_c^T R_root`` and ``trans = R_c^T p_pelvis - J0`` where
``J0`` is the skeleton's pelvis rest offset; body joint rotations are
unchanged (SMPL's own joint frames). Reading back
(:func:`humokit.motion.io_npz.amass_to_motion`) inverts this exactly when
given the same ``J0``. See :mod:`humokit.motion.io_npz`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from humokit._io import atomic_path
from humokit.errors import InputError
from humokit.motion.io_npz import motion_to_amass
from humokit.motion.motion import Motion

AMASS_KEYS = ("poses", "trans", "betas", "mocap_framerate", "gender")


def save_amass(motion: Motion, path: str | Path) -> Path:
    """Write only the AMASS keys of ``motion`` to ``path`` (``.npz``, atomic)."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise InputError(f"{path}: AMASS files must end in .npz")
    arrays = motion_to_amass(motion)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{k: arrays[k] for k in AMASS_KEYS})
    return path
