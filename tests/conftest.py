"""Shared fixtures: one Anny body per test session, generated SMPL-format files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TQDM_DISABLE", "1")

SMPL_PARENTS_24 = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]


@pytest.fixture(scope="session")
def anny_body():
    """The Anny body (its cache is built on first use on a machine; ~1 s afterwards)."""
    from humokit.body import create_body

    return create_body("anny")


def write_fake_smpl(path: Path, num_vertices: int = 6890, num_faces: int = 13776, seed: int = 0) -> dict:
    """Write a model file in SMPL's real pickle format with random contents.

    Keys and shapes follow the released ``SMPL_NEUTRAL.pkl``: ``v_template (V,3)``,
    ``shapedirs (V,3,10)``, ``posedirs (V,3,207)``, ``J_regressor`` (scipy
    sparse 24xV), ``weights (V,24)``, ``kintree_table (2,24)``, ``f (F,3)``.
    Vertices are scattered around the canonical joints so the regressed joints
    form a human skeleton.
    """
    import scipy.sparse as sp

    from humokit.motion.skeleton import default_skeleton

    rng = np.random.default_rng(seed)
    joints22 = default_skeleton().rest_positions()
    hands = joints22[[20, 21]] + np.array([[0.08, 0, 0], [-0.08, 0, 0]])
    joints = np.concatenate([joints22, hands])
    owner = np.arange(num_vertices) % 24
    v_template = joints[owner] + rng.normal(scale=0.02, size=(num_vertices, 3))
    rows, cols, vals = [], [], []
    for j in range(24):
        idx = np.nonzero(owner == j)[0]
        rows += [j] * len(idx)
        cols += idx.tolist()
        vals += [1.0 / len(idx)] * len(idx)
    J_regressor = sp.csc_matrix((vals, (rows, cols)), shape=(24, num_vertices))
    weights = np.zeros((num_vertices, 24))
    weights[np.arange(num_vertices), owner] = 0.8
    par = np.array([max(p, 0) for p in SMPL_PARENTS_24])
    weights[np.arange(num_vertices), par[owner]] += 0.2
    kintree = np.array([[4294967295 if p < 0 else p for p in SMPL_PARENTS_24], list(range(24))], dtype=np.int64)
    faces = rng.integers(0, num_vertices, size=(num_faces, 3)).astype(np.uint32)
    data = {
        "v_template": v_template,
        "shapedirs": rng.normal(scale=0.01, size=(num_vertices, 3, 10)),
        "posedirs": rng.normal(scale=0.001, size=(num_vertices, 3, 207)),
        "J_regressor": J_regressor,
        "weights": weights,
        "kintree_table": kintree,
        "f": faces,
        "bs_type": "lrotmin",
        "bs_style": "lbs",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(data, fh, protocol=2)
    return data


@pytest.fixture(scope="session")
def fake_smpl_dir(tmp_path_factory) -> Path:
    """A folder laid out as smplx expects: ``<dir>/smpl/SMPL_NEUTRAL.pkl``."""
    root = tmp_path_factory.mktemp("smpl_models")
    write_fake_smpl(root / "smpl" / "SMPL_NEUTRAL.pkl")
    return root
