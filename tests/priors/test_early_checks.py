"""``humokit generate``: every option is checked before torch or a model loads (issue 22, item 7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "seconds": (["--seconds", "12"], "seconds must be between 0.4 and 9.8"),
    "short": (["--seconds", "0.1"], "seconds must be between"),
    # typed options (humokit._options) reject these while parsing, before anything runs
    "steps": (["--steps", "0"], "steps"),
    "guidance": (["--guidance", "-1"], "guidance"),
    "nan guidance": (["--guidance", "nan"], "guidance"),
    "seed": (["--seed", "-3"], "seed"),
    "keyframes": (["--keyframes", "{tmp}/missing.npz"], "keyframe file not found"),
    "bad keyframes": (["--keyframes", "{tmp}/bad.npz"], "not a readable .npz"),
    "edit mask alone": (["--edit-mask", "1:2"], "edit mask needs keyframes"),
    "edit mask": (["--keyframes", "{tmp}/kf.npz", "--edit-mask", "x:y"], "edit mask: cannot parse"),
    "checkpoints": (["--checkpoints", "{tmp}"], "no vq checkpoint here"),
    "output folder": (["-o", "{tmp}/nowhere/m.npz"], "output folder does not exist"),
    "empty text": (["--text-override"], "text prompt is empty"),
}


def _run(tmp_path: Path, args: list[str]) -> tuple[int, str, list[str]]:
    text = "a person walks"
    if args == ["--text-override"]:
        text, args = "  ", []
    if "-o" not in args:
        args = args + ["-o", str(tmp_path / "out.npz")]
    args = [a.format(tmp=tmp_path) for a in args]
    code = (
        "import sys, json\n"
        "from humokit.cli import cli\n"
        "try:\n"
        f"    cli.main({['generate', text, *args]!r}, prog_name='humokit')\n"
        "except SystemExit as e:\n"
        "    print(json.dumps([e.code, sorted(m for m in ('torch', 'anny', 'warp') if m in sys.modules)]))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    rc, heavy = json.loads(p.stdout.strip().splitlines()[-1])
    return rc, p.stderr, heavy


@pytest.mark.parametrize("case", list(CASES))
def test_bad_option_fails_before_loading(tmp_path, case):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    np.savez(tmp_path / "kf.npz", frames=np.array([0]), joints=np.zeros((1, 22, 3)))
    args, message = CASES[case]
    rc, err, heavy = _run(tmp_path, args)
    assert rc == 2, err
    assert "error: " in err.lower() and message in err and "Traceback" not in err, err
    assert heavy == [], f"loaded {heavy} before rejecting {case}"
    assert not (tmp_path / "out.npz").exists()


def test_generate_api_checks_before_loading(tmp_path):
    from humokit.errors import InputError
    from humokit.priors import generate

    with pytest.raises(InputError, match="steps"):
        generate("a person walks", seconds=2.0, steps=-1)
    with pytest.raises(InputError, match="no checkpoint folder here"):
        generate("a person walks", seconds=2.0, checkpoints=tmp_path / "nope")
