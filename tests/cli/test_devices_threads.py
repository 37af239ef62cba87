"""One ``--threads`` (same default everywhere) and ``--device`` on the heavy commands (issue 22, item 6)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from humokit._cli_options import check_device, default_threads, resolve_device
from humokit.cli import cli
from humokit.errors import InputError

HEAVY = [["generate", "x"], ["recover", "v.mp4"], ["avatar", "train", "v.mp4"], ["avatar", "render", "a", "m.npz"],
         ["render", "m.npz"]]
WITH_DEVICE = HEAVY  # recover too (issue 21: the fit runs on the device)


@pytest.mark.parametrize("cmd", HEAVY, ids=lambda c: " ".join(c[:2]))
def test_same_threads_option_everywhere(cmd):
    res = CliRunner().invoke(cli, [*cmd, "--help"])
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    assert f"--threads N CPU threads [default: all CPUs available, here {default_threads()}]." in text


@pytest.mark.parametrize("cmd", WITH_DEVICE, ids=lambda c: " ".join(c[:2]))
def test_device_option(cmd, tmp_path):
    res = CliRunner().invoke(cli, [*cmd, "--help"])
    assert "--device DEVICE" in res.output and "auto (CUDA when a GPU is present)" in " ".join(res.output.split())


def test_device_resolution():
    torch = pytest.importorskip("torch")
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(InputError, match="--device must be"):
        check_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_generate_rejects_bad_threads_before_loading(tmp_path):
    res = CliRunner().invoke(cli, ["generate", "a person walks", "-o", str(tmp_path / "m.npz"), "--threads", "0"])
    assert res.exit_code == 2 and "--threads" in res.output and "Traceback" not in res.output


class _Bar:
    made: list["_Bar"] = []

    def __init__(self, total=None, disable=False, **kw):
        self.total, self.disable, self.n, self.kw = total, disable, 0, kw
        _Bar.made.append(self)

    def update(self, n=1):
        self.n += n

    def close(self):
        pass


def test_fit_shows_progress_for_a_single_window(monkeypatch):
    """Recovery's fitting stage reports its optimiser steps even when the clip is one window."""
    import humokit.optim.fit as fit_mod

    monkeypatch.setattr(fit_mod, "tqdm", _Bar)
    from humokit.motion.builtin import builtin_motion
    from humokit.optim.fit import FitConfig, fit_track
    from humokit.render.camera import look_at

    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "optim"))
    from _synth import synthetic_track

    gt = builtin_motion("walk", seconds=0.5, fps=30)
    cam = look_at(gt.joints()[0, 0] + np.array([3.0, 0.8, 4.5]), gt.joints()[0, 0], width=320, height=240)
    track = synthetic_track(gt, cam)
    fit_track(track, config=FitConfig(iters_pose=6, iters_contact=4), progress=True)
    bar = _Bar.made[-1]
    assert not bar.disable and bar.kw["desc"] == "fit"
    assert bar.total == bar.n == 10  # every optimiser step of the single window ticks
