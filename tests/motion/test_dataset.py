"""Dataset builder (on a tiny generated folder) and the HumanML3D-format loader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from humokit.motion.bvh import save_bvh
from humokit.motion.dataset import MotionDataset, build_dataset, split_takes
from humokit.motion.features import FEATURE_DIM, save_mean_std
from humokit.motion.texts import ClipLabels, clip_texts, mirror_text
from test_features import _walking_motion  # tests/motion is on sys.path under pytest


def test_humanml3d_folder_loads(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "new_joint_vecs").mkdir()
    (tmp_path / "texts").mkdir()
    for i, T in enumerate((80, 150, 30)):
        np.save(tmp_path / "new_joint_vecs" / f"{i:06d}.npy", rng.normal(size=(T, FEATURE_DIM)).astype(np.float32))
    (tmp_path / "texts" / "000000.txt").write_text("a person walks.#a/DET person/NOUN walk/VERB#0.0#0.0\n")
    (tmp_path / "texts" / "000001.txt").write_text(
        "a person runs.#a/DET person/NOUN run/VERB#0.0#0.0\nthen jumps.#then/ADV jump/VERB#1.0#4.0\n"
    )
    (tmp_path / "texts" / "000002.txt").write_text("too short.#x/X#nan#nan\n")
    (tmp_path / "train.txt").write_text("000000\n000001\n000002\n")
    save_mean_std(tmp_path, np.zeros(FEATURE_DIM), np.full(FEATURE_DIM, 2.0))
    ds = MotionDataset(tmp_path, "train", seed=0)
    names = sorted(e[0] for e in ds.entries)
    assert names == ["000000", "000001", "000001#1.0#4.0"]  # 30-frame motion dropped, sub-window added
    sub = next(e for e in ds.entries if e[0] == "000001#1.0#4.0")
    assert len(sub[1]) == 60
    item = ds[names.index("000000") if ds.entries[0][0] == "000000" else 0]
    assert item.features.shape == (196, FEATURE_DIM)
    assert item.length % 4 == 0 and item.length <= 80
    assert np.all(item.features[item.length :] == 0)


def test_split_is_by_take_and_deterministic():
    recs = [{"take": f"t{i}", "labels": {"source": "s", "content": "walk" if i % 2 else "run"}} for i in range(40)]
    a, b = split_takes(recs, seed=1), split_takes(recs, seed=1)
    assert a == b
    counts = {s: sum(v == s for v in a.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 32, "val": 4, "test": 4}
    assert split_takes(recs, seed=2) != a


def test_texts_mirror():
    lab = ClipLabels("bandai-namco-2", "wave-left-hand", "elderly")
    texts = clip_texts(lab)
    assert len(set(texts)) == 3 and all("left" in t for t in texts)
    mirrored = clip_texts(lab.mirrored_labels())
    assert mirrored == [mirror_text(t) for t in texts]
    assert lab.mirrored_labels().content == "wave-right-hand"


def test_build_from_folder(tmp_path):
    src = tmp_path / "src" / "cmu" / "data" / "07"
    src.mkdir(parents=True)
    m = _walking_motion(T=90)
    # CMU naming needs the cmu_daz joint names: write a Bandai-named canonical file instead
    from humokit.motion.retarget import RetargetMap, register_retarget_map, retarget_maps

    names = m.skeleton.names
    register_retarget_map(RetargetMap("canonical_test", {n: ((n, 1.0),) for n in names}, scale=1.0))
    try:
        for i in range(3):
            save_bvh(m, src / f"dataset-2_walk_normal_{i:03d}.bvh", unit="m")
        (src / "dataset-2_walk_normal_009.bvh").write_text("HIERARCHY\nROOT x\n{\n")
        out = tmp_path / "out"
        res = build_dataset(tmp_path / "src", out, workers=1, progress=False)
        man = json.loads((out / "manifest.json").read_text())
        assert man["takes"] == 3 and len(man["skipped"]) == 1
        assert "dataset-2_walk_normal_009.bvh" in man["skipped"][0]["skipped"]
        all_names = sum((res.out.joinpath(f"{s}.txt").read_text().split() for s in ("train", "val", "test")), [])
        assert len(all_names) == 6 and sum(n.startswith("M") for n in all_names) == 3
        assert (out / "Mean.npy").exists()
        F = np.load(out / "new_joint_vecs" / f"{all_names[0]}.npy")
        assert F.shape[1] == FEATURE_DIM
        line = (out / "texts" / f"{all_names[0]}.txt").read_text().splitlines()[0]
        assert line.count("#") == 3 and line.endswith("#0.0#0.0")
        # a re-run skips finished takes and gives the same manifest counts
        again = build_dataset(tmp_path / "src", out, workers=1, progress=False)
        assert again.manifest["takes"] == 3
    finally:
        retarget_maps()  # registry copy; remove the test map
        from humokit.motion import retarget_maps as rt

        rt._REGISTRY.pop("canonical_test", None)


def test_build_reads_every_importable_format(tmp_path):
    """``data build`` goes through the same loader as ``humokit import``: GLB, unregistered BVH rigs, npz."""
    from rig_corpus import build_rig, rich_motion

    src = tmp_path / "src"
    src.mkdir()
    m = rich_motion(seconds=2.0)
    build_rig(m, "mixamo", extras=True).write(src / "07_01.glb")
    build_rig(m, "anonymous", extras=True, apose=True).write(src / "07_02.bvh")
    m.save(str(src / "07_03.npz"))
    res = build_dataset(src, tmp_path / "out", workers=1, progress=False)
    assert res.manifest["takes"] == 3 and not res.manifest["skipped"]
    F = [np.load(p) for p in sorted((tmp_path / "out" / "new_joint_vecs").glob("cmu_07_0?_w0.npy"))]
    assert len(F) == 3 and all(f.shape == F[0].shape for f in F)
    assert np.abs(F[0] - F[1]).max() < 1e-3 and np.abs(F[0] - F[2]).max() < 0.05
