"""Control signals, multi-view output and the ``humokit render`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from humokit.errors import InputError
from humokit.render.camera import CameraTrajectory, look_at, project
from humokit.render.controls import (
    PART_PALETTE,
    clip_length,
    depth_to_image,
    normals_to_image,
    parse_size,
    pose_clip,
    render_frame,
    render_view,
)
from humokit.render.keypoints import OPENPOSE18_COLORS, OPENPOSE18_NAMES, body_keypoints
from humokit.render.multiview import render_multiview, view_cameras


@pytest.fixture(scope="module")
def walk_clip(anny_body):
    from humokit.motion.builtin import builtin_motion

    return pose_clip(builtin_motion("walk", seconds=0.2, fps=25).slice(0, 5), anny_body)


def test_encodings():
    n = np.array([[[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]])
    img = normals_to_image(n, np.ones((1, 3), bool))
    np.testing.assert_array_equal(img[0, 0], [128, 128, 255])  # facing the camera: blue
    np.testing.assert_array_equal(img[0, 1], [255, 128, 128])  # facing image-left: red
    np.testing.assert_array_equal(img[0, 2], [128, 255, 128])  # facing up: green
    d = np.array([[2.0, 3.0, 0.0]])
    im = depth_to_image(d, d > 0)
    assert im[0, 0] == 255 and im[0, 1] == 32 and im[0, 2] == 0  # near bright, background black
    assert PART_PALETTE.shape == (22, 3) and len({tuple(c) for c in PART_PALETTE}) == 22


def test_clip_rules():
    assert clip_length(100) == 97 and clip_length(1) == 1 and clip_length(81, 81) == 81
    with pytest.raises(InputError):
        clip_length(100, 80)
    with pytest.raises(InputError):
        clip_length(10, 13)
    assert parse_size("832x480") == (832, 480)
    for bad in ("500x500", "0x16", "abc", "512"):
        with pytest.raises(InputError):
            parse_size(bad)


def test_skeleton_image_joints_land_on_projected_keypoints(walk_clip):
    cam = look_at([0.4, 1.0, 3.2], [0, 0.9, 0.1], width=256, height=256)
    fr = render_frame(walk_clip, 2, cam, ("pose",))
    img = fr["pose"]
    kp3 = body_keypoints(walk_clip.joints[2].numpy(), walk_clip.vertices[2].numpy(), walk_clip.landmarks)
    uv, _ = project(cam, kp3)
    ys, xs = np.mgrid[0:256, 0:256]
    for name in ("right_wrist", "left_wrist", "right_elbow", "left_elbow", "right_knee", "left_knee",
                 "right_ankle", "left_ankle"):
        i = OPENPOSE18_NAMES.index(name)
        near = (np.abs(xs + 0.5 - uv[i, 0]) < 6) & (np.abs(ys + 0.5 - uv[i, 1]) < 6)
        blob = near & np.all(img == OPENPOSE18_COLORS[i], axis=-1)
        assert blob.sum() > 10, name
        centre = np.array([xs[blob].mean() + 0.5, ys[blob].mean() + 0.5])
        assert np.linalg.norm(centre - uv[i]) < 1.0, name


def test_face_points_hidden_from_behind(walk_clip):
    back = look_at([0, 1.0, -3.0], [0, 0.9, 0], width=128, height=128)
    front = look_at([0, 1.0, 3.0], [0, 0.9, 0], width=128, height=128)
    kb = render_frame(walk_clip, 0, back, ("pose",))["_pose_kp"]
    kf = render_frame(walk_clip, 0, front, ("pose",))["_pose_kp"]
    vis = lambda kp, n: int(kp[OPENPOSE18_NAMES.index(n), 2])  # noqa: E731
    assert all(vis(kf, n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"))
    assert not any(vis(kb, n) for n in ("nose", "left_eye", "right_eye"))
    side = look_at([3.0, 1.0, 0.0], [0, 0.9, 0], width=128, height=128)  # the body's left side
    ks = render_frame(walk_clip, 0, side, ("pose",))["_pose_kp"]
    assert vis(ks, "left_ear") and vis(ks, "left_eye") and not vis(ks, "right_ear")
    assert kb[OPENPOSE18_NAMES.index("left_wrist"), 2] == 1
    # seen from behind, the body's left wrist is on the image's left
    assert kb[OPENPOSE18_NAMES.index("left_wrist"), 0] < 64 < kb[OPENPOSE18_NAMES.index("right_wrist"), 0]


def test_render_view_files(walk_clip, tmp_path):
    import imageio.v3 as iio

    cams = view_cameras("moving", 1, walk_clip, width=64, height=48)[0]
    paths = render_view(tmp_path / "v", walk_clip, cams, signals=("rgb", "depth", "parts", "mask", "pose"),
                        plucker=True, metric_depth=True)
    assert iio.imread(paths["rgb"]).shape == (5, 48, 64, 3)
    D = np.load(paths["depth_m"]).astype(np.float32)
    assert D.shape == (5, 48, 64) and D.max() > 0
    depth_png = iio.imread(tmp_path / "v" / "depth" / "00000.png")
    fg = D[0] > 0
    assert (depth_png[~fg] == 0).all()
    near, far = np.unravel_index(np.where(fg, D[0], np.inf).argmin(), D[0].shape), np.unravel_index(D[0].argmax(), D[0].shape)
    assert depth_png[near] > depth_png[far]
    P = np.load(paths["plucker"])["plucker"]
    assert P.shape == (5, 6, 48, 64)
    cj = json.loads(paths["cameras"].read_text())
    assert len(cj["frames"]) == 5 and np.array(cj["frames"][0]["world_to_camera"]).shape == (3, 4)
    kp = json.loads((tmp_path / "v" / "pose_json" / "00004_keypoints.json").read_text())
    assert len(kp["people"][0]["pose_keypoints_2d"]) == 54
    with pytest.raises(InputError):
        render_view(tmp_path / "w", walk_clip, cams, signals=("rgb", "sparkles"))
    with pytest.raises(InputError):
        render_view(tmp_path / "w", walk_clip, CameraTrajectory.static(cams[0], 3))


def test_multiview_shares_timestamps(walk_clip, tmp_path):
    views = view_cameras("hemisphere", 3, walk_clip, width=32, height=32, seed=1)
    render_multiview(tmp_path, walk_clip, views, signals=("mask",), layout="hemisphere")
    cj = json.loads((tmp_path / "cameras.json").read_text())
    assert sorted(cj["views"]) == ["view_00", "view_01", "view_02"]
    times = [[f["time"] for f in cj["views"][v]] for v in sorted(cj["views"])]
    assert times[0] == times[1] == times[2] == cj["timestamps"]
    np.testing.assert_allclose(np.array(cj["views"]["view_00"][0]["relative_world_to_camera"]), np.eye(3, 4), atol=1e-9)
    for v in range(3):
        assert len(list((tmp_path / f"view_{v:02d}" / "mask").glob("*.png"))) == 5
    traj = json.loads((tmp_path / "trajectory.json").read_text())
    assert len(traj["people"][0]["frames"]) == 5


def test_cli_render(tmp_path, walk_clip):
    from humokit.cli import cli
    from humokit.motion.builtin import builtin_motion

    builtin_motion("walk", seconds=0.4, fps=20).save(str(tmp_path / "m.npz"))
    runner = CliRunner()
    res = runner.invoke(cli, ["render", str(tmp_path / "m.npz"), "--views", "2", "--layout", "ring", "-o",
                              str(tmp_path / "out"), "--size", "64x48", "--frames", "5", "--signals", "rgb,mask,coco"])
    assert res.exit_code == 0, res.output
    for v in ("view_00", "view_01"):
        assert (tmp_path / "out" / v / "rgb.mp4").exists()
        assert len(list((tmp_path / "out" / v / "coco").glob("*.png"))) == 5
    res = runner.invoke(cli, ["render", str(tmp_path / "m.npz"), "-o", str(tmp_path / "o2"), "--size", "50x50"])
    assert res.exit_code == 2 and "multiples of 16" in res.output
    res = runner.invoke(cli, ["render", str(tmp_path / "m.npz"), "-o", str(tmp_path / "o3"), "--frames", "6"])
    assert res.exit_code == 2 and "1 + 4k" in res.output
    res = runner.invoke(cli, ["render", str(tmp_path / "m.npz"), "-o", str(tmp_path / "o4"), "--size", "32x32",
                              "--frames", "1", "--views", "1", "--avatar", "gaussians", "--signals", "rgb"])
    assert res.exit_code == 0, res.output
