"""``humokit dataset multiview``: documented layout; cameras reproject the rendered joints onto the skeleton images."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from humokit.cli import cli
from humokit.motion.builtin import builtin_motion
from humokit.motion.motion import Motion
from humokit.video.cameras import load_views, relative_extrinsics
from humokit.video.syncam.dataset import JOINT_COLORS


def _frames(path):
    import imageio.v2 as imageio

    with imageio.get_reader(path, format="FFMPEG") as r:
        return np.stack([f for f in r])


@pytest.mark.parametrize("layout", ["moving"])
def test_dataset_layout_and_reprojection(tmp_path, anny_body, layout):
    m = builtin_motion("walk", seconds=0.6)
    m = dataclasses.replace(m, meta={"text": "a person walks forward"})
    m.save(str(tmp_path / "walk.npz"))
    out = tmp_path / "ds"
    args = ["dataset", "multiview", str(tmp_path / "walk.npz"), "-o", str(out), "--scenes", "1", "--views", "2",
            "--frames", "5", "--size", "64x64", "--layout", layout, "--seed", "3"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "Warp" not in r.stdout
    scene = out / "scene_00000"
    names = sorted(p.name for p in scene.iterdir())
    assert names == ["cam_00.mp4", "cam_01.mp4", "cameras.json", "caption.txt", "motion.npz", "scene.json", "skeleton"]
    assert sorted(p.name for p in (scene / "skeleton").iterdir()) == ["cam_00.mp4", "cam_01.mp4"]
    assert (scene / "caption.txt").read_text().strip() == "a person walks forward"
    ds = json.loads((out / "dataset.json").read_text())
    assert ds["scenes"] == ["scene_00000"] and ds["settings"]["layout"] == layout
    info = json.loads((scene / "scene.json").read_text())
    assert set(info["phenotype"]) == {"gender", "age", "muscle", "weight", "height", "proportions"}
    rgb = _frames(scene / "cam_00.mp4")
    assert rgb.shape == (5, 64, 64, 3) and rgb.std() > 5

    # joints of the saved motion on the saved phenotype, projected with the saved cameras
    motion = Motion.load(str(scene / "motion.npz"))
    joints = anny_body.forward(motion, shape=info["phenotype"]).joints.detach().double().numpy()
    views = load_views(scene / "cameras.json")
    radius = info["joint_disc_radius"]
    checked = 0
    for v, traj in enumerate(views):
        assert len(traj) == 5
        sk = _frames(scene / "skeleton" / f"cam_{v:02d}.mp4")
        for t in range(5):
            cam = traj[t]
            uv = (joints[t] @ cam.R.T + cam.t) @ cam.K.T
            uv = uv[:, :2] / uv[:, 2:]
            for j in range(22):
                others = np.delete(uv, j, axis=0)
                alone = np.linalg.norm(others - uv[j], axis=1).min() > 2 * radius + 0.1  # discs cannot share a pixel
                inside = (uv[j] > radius + 1).all() and (uv[j] < 64 - radius - 1).all()
                if not (alone and inside):  # a nearer disc may cover part of it
                    continue
                rows, cols = np.nonzero(np.all(sk[t] == JOINT_COLORS[j], axis=-1))
                assert len(rows) >= 9, (v, t, j)
                centre = np.array([cols.mean() + 0.5, rows.mean() + 0.5])
                assert np.linalg.norm(centre - uv[j]) < 1.0, (v, t, j, centre, uv[j])
                checked += 1
    assert checked >= 0.25 * 2 * 5 * 22, checked
    # the adapter's numbers in the file are the converter's
    rel = relative_extrinsics(views)
    cams = json.loads((scene / "cameras.json").read_text())
    np.testing.assert_allclose(cams["views"]["view_01"][4]["relative_c2w_12"], rel[1, 4], atol=1e-9)

    # a rerun skips the finished scene; a bad input is one line, exit 2
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0 and "1 already there" in r.output
    r = CliRunner().invoke(cli, ["dataset", "multiview", str(tmp_path / "nope"), "-o", str(out)])
    assert r.exit_code == 2 and r.output.startswith("error:") and len(r.output.strip().splitlines()) == 1
