"""Motion ``.npz`` files: humokit's own keys plus AMASS-compatible keys in one file.

The public functions; the format (keys, AMASS axes and ``J0``) is described and implemented in
:mod:`humokit.motion._npz`, which sits below :class:`~humokit.motion.motion.Motion` so that
``Motion.save``/``Motion.load`` use it without an import cycle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from humokit.motion import _npz
from humokit.motion._npz import FORMAT_VERSION, R_ZUP_TO_YUP, motion_to_amass, save_npz
from humokit.motion.motion import Motion

__all__ = ["FORMAT_VERSION", "R_ZUP_TO_YUP", "amass_to_motion", "load_npz", "motion_to_amass", "save_npz"]


def amass_to_motion(data: dict[str, np.ndarray], *, source: str = "<arrays>", root_rest: np.ndarray | None = None) -> Motion:
    """Build a :class:`Motion` from AMASS-style arrays (see :mod:`humokit.motion._npz`)."""
    return _npz.amass_to_motion(data, Motion, source=source, root_rest=root_rest)


def load_npz(path: str | Path) -> Motion:
    """Read a humokit or AMASS-style ``.npz``; errors name the file and the problem."""
    return _npz.load_npz(path, Motion)
