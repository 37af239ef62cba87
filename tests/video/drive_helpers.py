"""Helpers shared by the ``humokit drive`` tests: read a PNG folder, run the command."""

from __future__ import annotations

import glob

import numpy as np
from click.testing import CliRunner


def pngs(folder) -> np.ndarray:
    """The ``*.png`` frames of ``folder`` in name order, RGB, ``(T, H, W, 3)`` uint8."""
    import imageio.v2 as imageio

    return np.stack([imageio.imread(p)[..., :3] for p in sorted(glob.glob(str(folder / "*.png")))])


def run_drive(*args):
    """``humokit drive ARGS`` through click's runner (arguments may be paths)."""
    from humokit.cli import cli

    return CliRunner().invoke(cli, ["drive", *map(str, args)])
