"""Resuming training never runs code planted in an output folder (``weights_only`` loads)."""

from __future__ import annotations

import os
import types

import pytest
import torch

from humokit.errors import FileFormatError


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def _plant(path, tmp_path):
    torch.save({"model": {}, "opt": {}, "step": 0, "best": 0.0, "elapsed": 0.0, "x": _Payload()}, path)
    return tmp_path / "PWNED"


def test_prior_training_state_is_not_unpickled(tmp_path, monkeypatch):
    from humokit.priors.train import load_train_state

    monkeypatch.chdir(tmp_path)
    p = tmp_path / "train_state.pt"
    marker = _plant(p, tmp_path)
    with pytest.raises(FileFormatError, match="train_state.pt"):
        load_train_state(p)
    assert not marker.exists()
    torch.save({"model": {"w": torch.ones(2)}, "opt": {"state": {}}, "step": 3, "best": float("inf"), "elapsed": 1.0}, p)
    assert load_train_state(p)["step"] == 3


def test_avatar_checkpoint_is_not_unpickled(tmp_path, monkeypatch):
    from humokit.avatars.fit import _load_checkpoint

    monkeypatch.chdir(tmp_path)
    p = tmp_path / "ck.pt"
    marker = _plant(p, tmp_path)
    with pytest.raises(FileFormatError, match="ck.pt"):
        _load_checkpoint(p, types.SimpleNamespace(dev="cpu"))
    assert not marker.exists()
