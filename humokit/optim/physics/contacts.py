"""Foot contact labels for motions on a body (the detector itself is :mod:`humokit.motion.contacts`).

Detector summary:

Contacts are ``(T, 4)`` bool in the order of :attr:`Motion.contacts`:
l_heel (left ankle joint), l_toe (left foot joint), r_heel, r_toe.

A foot joint is in contact when its sole (the joint minus its sole height,
see :mod:`humokit.optim.physics._body`) is both

- near the clip's own floor: within ``height`` of the low (5th percentile)
  sole height of all foot joints over the clip, so a clip that floats or
  sinks by a constant still gets its contacts; and within ``max_height`` of
  the ground plane, so a clip entirely in the air gets none; and
- slow: speed below ``speed`` m/s.

Hysteresis: a joint enters contact under these thresholds and leaves it only
when it exceeds ``release`` times them. Contacts shorter than ``min_frames``
are dropped, and gaps shorter than ``min_frames`` are filled.
"""

from __future__ import annotations

import numpy as np

from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.motion.contacts import _runs, contact_runs, detect_contacts  # noqa: F401  (re-exported)
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
