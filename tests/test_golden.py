"""Behaviour identity: a generated motion and a rendered frame equal the recorded golden values byte for byte.

The golden file was recorded with ``tests/data/make_golden.py`` before the package re-layout; it
also holds the sha256 of the checkpoint files it was made with, so a retrained checkpoint asks for
a new recording instead of reading as a regression.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
REGENERATE = "regenerate with `PYTHONPATH=$PWD python tests/data/make_golden.py`"


def _make_golden():
    spec = importlib.util.spec_from_file_location("make_golden", DATA / "make_golden.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def golden():
    return json.loads((DATA / "golden.json").read_text())


@pytest.fixture(scope="module")
def maker():
    return _make_golden()


def test_checkpoints_match_golden(golden, maker):
    now = maker.checkpoint_digests()
    changed = sorted(k for k in set(now) | set(golden["checkpoints_sha256"]) if now.get(k) != golden["checkpoints_sha256"].get(k))
    assert not changed, f"shipped checkpoint files changed since the golden values were recorded ({', '.join(changed)}): {REGENERATE}"


def test_generated_motion_and_frame_unchanged(golden, maker):
    if maker.checkpoint_digests() != golden["checkpoints_sha256"]:
        pytest.fail(f"shipped checkpoints differ from the ones the golden values were made with: {REGENERATE}")
    got = maker.compute()
    for key in ("motion_raw", "motion_physics", "frame"):
        assert got[key] == golden[key], f"{key} differs from tests/data/golden.json"
