"""Sane bounds on sizes read from files or options, checked before anything is allocated.

One place for the numbers so ``--help`` texts, loaders and tests agree. They
are generous for real data: a one-hour capture at 120 fps (432,000 frames) in
humokit's or AMASS's ``.npz`` layout passes every check.
"""

from __future__ import annotations

import math

MIN_FPS = 0.1
"""Lowest frame rate accepted (Hz): one frame every 10 s."""
MAX_FPS = 1000.0
"""Highest frame rate accepted (Hz): the fastest optical mocap systems."""
MAX_FRAMES = 1_000_000
"""Most frames in one motion (2.3 h at 120 fps)."""
MAX_SECONDS = 3600.0
"""Longest motion a command generates or renders (s)."""

MAX_NPZ_ARRAY_BYTES = 2 * 2**30
"""Largest single array a motion ``.npz`` may declare (2 GiB; 1 M frames of AMASS float64 poses are 1.25 GB)."""
MAX_NPZ_TOTAL_BYTES = 4 * 2**30
"""Largest sum of declared array sizes in one ``.npz`` (4 GiB)."""
MAX_NPZ_RATIO = 100.0
"""Largest compression ratio of one member above :data:`NPZ_RATIO_FREE_BYTES` (real motion compresses < 10x)."""
NPZ_RATIO_FREE_BYTES = 64 * 2**20
"""Members up to this declared size are not ratio-checked."""


def fps_problem(fps: float) -> str | None:
    """Why ``fps`` is not an acceptable frame rate, or None."""
    try:
        f = float(fps)
    except (TypeError, ValueError):
        return f"frame rate must be a number, got {fps!r}"
    if not math.isfinite(f) or not MIN_FPS <= f <= MAX_FPS:
        return f"frame rate must be in [{MIN_FPS:g}, {MAX_FPS:g}] fps, got {f:g}"
    return None
