"""Fixtures for the priors tests (helpers live in priors_synth.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from priors_synth import make_dataset


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("t2m_data"))


@pytest.fixture(autouse=True)
def _threads() -> None:
    torch.set_num_threads(2)
