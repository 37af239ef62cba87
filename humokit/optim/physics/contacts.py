"""Foot contact labels for motions on a body.

The detector itself (heights of the foot soles, speeds, hysteresis) is
:func:`humokit.motion.contacts.detect_contacts`; here the sole heights come
from the body's mesh when a body is given.
"""

from __future__ import annotations

import numpy as np

from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.motion.contacts import detect_contacts  # noqa: F401  (re-exported)
from humokit.optim.physics._body import as_joints, body_geometry, resolve_body, sole_heights


def compute_contacts(motion: Motion, body: object | None = None, **kwargs: object) -> np.ndarray:
    """``(T, 4)`` bool foot contacts of a motion (see :func:`detect_contacts` for ``kwargs``).

    ``body`` (a BodyModel, a name like ``"anny"`` or None) supplies the sole
    heights from its mesh; None uses the motion skeleton's defaults.
    """
    if not isinstance(motion, Motion):
        raise InputError(f"compute_contacts: expected a Motion, got {type(motion).__name__}")
    if motion.num_frames == 0:
        raise InputError("compute_contacts: the motion has no frames")
    bm = resolve_body(body)
    sole = body_geometry(bm, motion).sole if bm is not None else sole_heights(motion.skeleton)
    joints, fps = as_joints(motion, None, "compute_contacts")
    return detect_contacts(joints, fps, sole=sole, **kwargs)  # type: ignore[arg-type]


def with_contacts(motion: Motion, body: object | None = None, *, overwrite: bool = False, **kwargs: object) -> Motion:
    """The motion with :attr:`Motion.contacts` filled by :func:`compute_contacts` (kept if present)."""
    if motion.contacts is not None and not overwrite:
        return motion
    return motion.replace(contacts=compute_contacts(motion, body, **kwargs))
