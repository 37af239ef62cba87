"""Start-up cost: ``humokit --help`` and a BVH export import none of the heavy back-ends.

Timing goals live in ``benchmarks/cli.py``; here we check the cause (which
modules a fresh process loads), which does not depend on machine load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HEAVY = ("torch", "roma", "anny", "warp", "mediapipe", "scipy.spatial", "pygltflib", "viser", "av")
ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(args: list[str]) -> list[str]:
    code = (
        "import sys, json\n"
        "from humokit.cli import cli\n"
        f"try:\n    cli.main({args!r}, prog_name='humokit', standalone_mode=False)\n"
        "except SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_help_imports_no_heavy_module():
    assert _loaded_after(["--help"]) == []


def test_bvh_export_imports_no_heavy_module(tmp_path):
    from humokit.motion.motion import Motion

    src = tmp_path / "m.npz"
    Motion.rest(10, 20.0).save(str(src))
    assert _loaded_after(["export", str(src), "-o", str(tmp_path / "m.bvh")]) == []
    assert (tmp_path / "m.bvh").stat().st_size > 0


def test_listing_help_matches_each_command():
    """The one-liners ``humokit --help`` shows without importing a command equal the command's own."""
    from humokit.cli import LAZY_COMMANDS, LAZY_HELP, cli

    import click

    ctx = click.Context(cli)
    assert set(LAZY_HELP) == set(LAZY_COMMANDS)
    for name in LAZY_COMMANDS:
        cmd = cli.get_command(ctx, name)
        assert cmd.get_short_help_str(limit=1000) == LAZY_HELP[name], name


@pytest.mark.parametrize("order", ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX", "xyz", "zxy", "yzx"])
def test_numpy_euler_twin_equals_roma(order):
    torch = pytest.importorskip("torch")
    import roma

    from humokit.motion.rotations import euler_to_rotmat, rotmat_to_euler, rotvec_to_rotmat

    rng = np.random.default_rng(0)
    R = rotvec_to_rotmat(rng.normal(size=(200, 3)))
    R = np.concatenate([R, roma.euler_to_rotmat(order, torch.tensor([[0.3, np.pi / 2, 0.7], [0.1, -np.pi / 2, 0.2]])).numpy()])
    ang = rotmat_to_euler(R.astype(np.float64), order)
    want = roma.rotmat_to_euler(order, torch.from_numpy(R[:200].astype(np.float64))).numpy()
    np.testing.assert_allclose(ang[:200], want, atol=1e-9)
    back = roma.euler_to_rotmat(order, torch.from_numpy(ang)).numpy()
    np.testing.assert_allclose(back, R, atol=1e-6)
    np.testing.assert_allclose(euler_to_rotmat(ang, order), back, atol=1e-12)
