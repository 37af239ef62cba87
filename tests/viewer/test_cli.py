"""``humokit view`` as a user runs it: bad files are reported, the server keeps running."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

pytest.importorskip("viser", reason="viser (humokit[viewer]) is not installed")


def test_view_help_lists_options():
    from humokit.cli import cli

    res = CliRunner().invoke(cli, ["view", "--help"])
    assert res.exit_code == 0
    for opt in ("--body", "--port", "--host"):
        assert opt in res.output


def test_view_bad_file_keeps_running(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    proc = subprocess.Popen(
        [sys.executable, "-m", "humokit.cli", "view", str(bad), str(tmp_path / "missing.bvh"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        url = None
        t0 = time.time()
        while time.time() - t0 < 60 and url is None:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            m = re.search(r"humokit viewer at (http://127\.0\.0\.1:\d+)", line)
            url = m.group(1) if m else None
        assert url, f"viewer did not start: {proc.stderr.read() if proc.poll() is not None else ''}"
        with urllib.request.urlopen(url, timeout=5) as r:
            assert r.status == 200
        assert proc.poll() is None
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "bad.npz" in err and "missing.bvh" in err and "2 file(s) could not be opened" in err
