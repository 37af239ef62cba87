"""A walking body is turned to face its direction of travel; other motions are left alone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from humokit.motion.builtin import builtin_motion
from humokit.optim.heading import facing, heading_correction, turn_root


def _walk():
    return builtin_motion("walk", seconds=4, fps=20)


def test_a_body_turned_off_its_path_is_turned_back():
    m = _walk()
    base = heading_correction(m.joints(), m.fps)
    assert np.abs(base).max() < math.radians(4.0)  # the clean walk already faces its path
    off = math.radians(9.0)
    turned = turn_root(m, np.full(m.num_frames, off))
    J = turned.joints()
    assert np.allclose(J[:, 0], m.joints()[:, 0], atol=1e-5)  # turned about the pelvis
    fix = heading_correction(J, m.fps)
    mid = slice(20, 60)
    assert np.median(fix[mid] - base[mid]) == pytest.approx(-off, abs=math.radians(1.0))
    back = turn_root(turned, fix)
    d = np.angle(np.exp(1j * (facing(back.joints()) - facing(m.joints()))))
    assert np.abs(np.median(d[mid])) < math.radians(1.5) + np.abs(np.median(base[mid]))


def test_standing_side_steps_and_backward_walks_are_not_turned():
    m = _walk()
    still = m.replace(root_position=np.repeat(m.root_position[:1], m.num_frames, 0))
    assert np.all(heading_correction(still.joints(), m.fps) == 0)
    for angle in (90.0, 180.0):  # facing across or against the travel: not a forward walk
        side = turn_root(m, np.full(m.num_frames, math.radians(angle)))
        assert np.abs(heading_correction(side.joints(), m.fps)).max() < 1e-9
