"""ViewerApp driven in-process (no browser): loading, timeline, errors, panels."""

from __future__ import annotations

import logging
import urllib.request

import numpy as np
import pytest

from humokit.errors import FileFormatError, InputError
from humokit.motion.builtin import builtin_motion
from humokit.motion.motion import Motion
from humokit.viewer import read_gaussian_ply
from humokit.viewer.app import has_generator


def _alive(app) -> bool:
    with urllib.request.urlopen(app.url, timeout=5) as r:
        return r.status == 200


def test_binds_loopback_by_default(app):
    assert app.host == "127.0.0.1" and app.port > 0
    assert _alive(app)


def test_add_motion_and_set_frame_moves_bones(app):
    m = builtin_motion("walk", seconds=1.0, fps=30)
    name = app.add_motion(m, "walk")
    assert name == "walk" and app.num_frames == 30
    body = app._tracks[0].handles["body"]
    assert len(body.bones) == 22
    app.set_frame(0)
    p0 = np.array([b.position for b in body.bones])
    skel0 = np.array(app._tracks[0].handles["skeleton"].points)
    app.set_frame(15)
    p1 = np.array([b.position for b in body.bones])
    assert app.frame == 15 and app._gui["frame"].value == 15
    assert np.abs(p1 - p0).max() > 0.05  # the body moved
    assert np.abs(np.array(app._tracks[0].handles["skeleton"].points) - skel0).max() > 0.05
    app.set_frame(10_000)  # clamped
    assert app.frame == 29


def test_side_by_side_and_unique_names(app):
    m = Motion.rest(5)
    assert app.add_motion(m, "a") == "a"
    assert app.add_motion(m, "a") == "a_2"
    assert set(app.motions) == {"a", "a_2"}
    assert app._gui["export_motion"].options == ("a", "a_2")


def test_motions_stand_in_separate_lanes_with_a_toggle(app):
    """Motions that all start at the origin (generated ones do) get disjoint lanes; the toggle overlays them."""
    walk = builtin_motion("walk", seconds=1.0)
    for name in ("a", "b", "c"):
        app.add_motion(walk, name)
    x = [tr.joints[..., 0] + tr.offset[0] for tr in app._tracks]  # world x of every joint of every frame
    for left, right in zip(x, x[1:]):
        assert left.max() + 2 * 0.15 < right.min()  # bodies (joints + the surface beyond them) never overlap
    assert all(np.allclose(tr.handles["frame"].position, tr.offset) for tr in app._tracks)
    app.set_side_by_side(False)
    assert all(np.allclose(tr.offset, 0) for tr in app._tracks) and app._gui["side_by_side"].value is False
    app.set_side_by_side(True)
    assert app._tracks[1].offset[0] > 0.5


def test_per_motion_visibility(app):
    app.add_motion(Motion.rest(5), "a")
    app.add_motion(Motion.rest(5), "b")
    app.set_visible("a", False)
    tr = app._tracks[0]
    assert tr.handles["frame"].visible is False and tr.handles["toggle"].value is False
    assert [t.name for t in app._visible_tracks()] == ["b"]
    tr.handles["toggle"].value = True  # the GUI checkbox
    app.set_visible("a", tr.handles["toggle"].value)
    assert tr.handles["frame"].visible is True
    with pytest.raises(InputError):
        app.set_visible("zzz", True)


@pytest.mark.parametrize("n", [1, 3])
def test_side_preset_frames_whole_bodies(app, n):
    """Seen from the side, one body or a row of three stands fully inside the view (head top to feet)."""
    from humokit.viewer._scene_math import camera_preset

    for name in ("a", "b", "c")[:n]:
        app.add_motion(builtin_motion("walk", seconds=1.0), name)
    app.set_frame(0)
    pose = app._camera_pose("side")
    from humokit.body import create_body

    v0 = create_body("anny").forward(app._tracks[0].motion).vertices[0].numpy()  # frame 0, own coordinates
    pts = np.concatenate([v0 + tr.offset for tr in app._tracks])
    f = pose.look_at - pose.position
    f = f / np.linalg.norm(f)
    r = np.cross(f, [0.0, 1.0, 0.0])
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    d = pts - pose.position
    t = np.tan(np.deg2rad(50.0) / 2)
    assert (np.abs(d @ u) / (d @ f) < t).all() and (np.abs(d @ r) / (d @ f) < t).all()
    assert camera_preset("side", pts).position[0] > pts[:, 0].max()


def test_different_lengths_share_a_timeline(app):
    app.add_motion(builtin_motion("walk", seconds=1.0, fps=30), "short")
    app.add_motion(builtin_motion("wave", seconds=2.0, fps=30), "long")
    assert app.num_frames == 60
    app.set_frame(45)  # past the end of the short clip: it loops
    assert app._tracks[0].shown == 15 and app._tracks[1].shown == 45


def test_playback_advances(app):
    app.add_motion(builtin_motion("walk", seconds=2.0, fps=30), "walk")
    app.set_frame(0)
    app.play(True)
    import time

    time.sleep(0.5)
    app.play(False)
    assert app.frame > 3
    assert app._tracks[0].shown == app._gui["frame"].value or app._gui["frame"].value > 3


def test_load_npz_glb_splats_mesh(app, tmp_path, gaussian_ply):
    import trimesh

    p = tmp_path / "clip.npz"
    builtin_motion("squat", seconds=0.5).save(p)
    assert app.load(p) == "clip"
    glb = tmp_path / "box.glb"
    glb.write_bytes(trimesh.creation.box().export(file_type="glb"))
    assert app.load(glb) == "box"
    ply = tmp_path / "gs.ply"
    gaussian_ply(ply, np.random.default_rng(0).normal(size=(50, 3)))
    assert app.load(ply) == "gs"
    mesh = tmp_path / "mesh.ply"
    trimesh.creation.icosphere().export(mesh)
    assert app.load(mesh) == "mesh"
    assert app.errors == []
    assert "clip" in app._gui["status"].content and "gs" in app._gui["status"].content


@pytest.mark.parametrize(
    "fname,content",
    [
        ("bad.npz", b"this is not a zip"),
        ("empty.npz", None),
        ("bad.glb", b"GIF89a not a glb"),
        ("bad.ply", b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0\n"),
        ("notes.txt", b"hello"),
        ("missing.npz", "missing"),
    ],
)
def test_bad_files_are_reported_and_viewer_keeps_running(app, tmp_path, caplog, fname, content):
    p = tmp_path / fname
    if content is None:
        np.savez(p, foo=np.zeros(3))
    elif content != "missing":
        p.write_bytes(content)
    with caplog.at_level(logging.ERROR, logger="humokit.viewer"):
        assert app.load(p) is None
    assert len(app.errors) == 1 and fname in app.errors[0]
    assert "Error" in app._gui["status"].content and fname in app._gui["status"].content
    assert any(fname in r.getMessage() for r in caplog.records)
    assert _alive(app)
    # still usable afterwards
    assert app.add_motion(Motion.rest(3), "ok") == "ok"


def test_load_raise_mode(app, tmp_path):
    with pytest.raises(InputError):
        app.load(tmp_path / "nope.npz", errors="raise")
    p = tmp_path / "x.glb"
    p.write_bytes(b"glTF\x02\x00\x00\x00\xff\xff\x00\x00")
    with pytest.raises(FileFormatError, match="truncated"):
        app.load(p, errors="raise")


def test_gaussian_reader_values(tmp_path, gaussian_ply):
    p = tmp_path / "g.ply"
    gaussian_ply(p, [[0, 1, 2], [3, 4, 5]], log_scale=np.log(0.1), rgb=(0.25, 0.5, 1.0), opacity_logit=0.0)
    g = read_gaussian_ply(p)
    assert g.num_gaussians == 2
    np.testing.assert_allclose(g.centers[1], [3, 4, 5])
    np.testing.assert_allclose(g.rgbs[0], [0.25, 0.5, 1.0], atol=1e-6)
    np.testing.assert_allclose(g.opacities, 0.5)
    np.testing.assert_allclose(g.covariances[0], np.eye(3) * 0.01, atol=1e-7)


def test_gaussian_reader_rejects_truncated(tmp_path, gaussian_ply):
    p = tmp_path / "g.ply"
    gaussian_ply(p, np.zeros((10, 3)))
    p.write_bytes(p.read_bytes()[:-20])
    with pytest.raises(FileFormatError, match="truncated"):
        read_gaussian_ply(p)


def test_generator_panel_only_when_priors_enabled(app):
    from humokit.viewer import ViewerApp

    assert "gen_go" not in app._gui  # viewer clients may not run the priors unless the user said so
    with ViewerApp("127.0.0.1", 0, play=False, allow_generate=True) as a:
        assert ("gen_go" in a._gui) == has_generator()


def test_export_without_exporter_reports(app, tmp_path, monkeypatch):
    import humokit.export as ex

    app.add_motion(Motion.rest(3), "m")
    monkeypatch.delattr(ex, "export_motion", raising=False)
    assert app.export("m", tmp_path, "bvh") is None
    assert "export" in app.errors[-1]
    calls = []
    monkeypatch.setattr(ex, "export_motion", lambda m, p, format: calls.append((p, format)), raising=False)
    out = app.export("m", tmp_path, "glb")
    assert out == tmp_path / "m.glb" and calls == [(out, "glb")]
    assert str(out) in app._gui["status"].content


def test_generate_code_path(app, monkeypatch):
    """The panel calls what ``humokit generate`` runs, with the seed and the physics switch."""
    import humokit.optim.physics.cli as pcli

    calls = []

    def fake(text, *, model, seconds, seed, physics):
        calls.append((text, model, seconds, seed, physics))
        return builtin_motion("walk", seconds=seconds)

    monkeypatch.setattr(pcli, "generate_motion", fake)
    assert app.generate("a person walks", model="cvae", seconds=1.0, seed=3) == "a person walks (cvae, seed 3)"
    assert calls == [("a person walks", "cvae", 1.0, 3, "kinematic")]
    monkeypatch.setattr(pcli, "generate_motion", lambda *a, **k: 1 / 0)
    assert app.generate("boom") is None and "ZeroDivisionError" in app.errors[-1]


def test_generate_panel_lists_the_real_models_and_checks_options():
    from humokit.priors.request import MODELS
    from humokit.viewer import ViewerApp

    app = ViewerApp("127.0.0.1", 0, play=False, allow_generate=True)
    try:
        _check_panel(app, MODELS)
    finally:
        app.stop()


def _check_panel(app, MODELS):
    assert app._gui["gen_model"].options == MODELS and "gen_seed" in app._gui and "gen_physics" in app._gui
    assert app.generate("a person walks", model="mask", seconds=30.0) is None
    assert "seconds must be between" in app.errors[-1]


def test_set_body_phenotype_and_layers(app):
    app.add_motion(builtin_motion("walk", seconds=0.5), "w")
    app.set_frame(5)
    h0 = app._tracks[0].joints[:, 15, 1].max()  # head height
    app.set_body("anny", {"height": 1.0})
    assert app._tracks[0].joints[:, 15, 1].max() > h0 + 0.05
    app._gui["layer_skeleton"].value = False
    assert app._tracks[0].handles["skeleton"].visible is False
    app._gui["layer_grid"].value = False
    assert app._grid.visible is False
    with pytest.raises(InputError):
        app.set_body("nosuchbody")


def test_server_skinning_streams_vertices():
    from humokit.viewer import ViewerApp

    with ViewerApp("127.0.0.1", 0, play=False, skinning="server") as a:
        a.add_motion(builtin_motion("walk", seconds=0.5), "w")
        a.set_frame(0)
        v0 = np.array(a._tracks[0].handles["body"].vertices)
        a.set_frame(10)
        v1 = np.array(a._tracks[0].handles["body"].vertices)
        assert v0.shape == (a._rest_body().num_vertices, 3)
        assert np.abs(v1 - v0).max() > 0.05


def test_public_host_warns(caplog):
    from humokit.viewer import ViewerApp

    with caplog.at_level(logging.WARNING, logger="humokit.viewer"):
        a = ViewerApp("0.0.0.0", 0, play=False)
        a.stop()
    assert any("0.0.0.0" in r.getMessage() for r in caplog.records)


def test_bvh_goes_through_retarget(app, tmp_path):
    """A BVH opens through humokit's one loader (retargeted at the file's frame rate)."""
    from humokit.motion.bvh import save_bvh

    p = tmp_path / "walk.bvh"
    save_bvh(builtin_motion("walk", seconds=0.5), p)
    assert app.load(p) == "walk"
    from humokit.viewer import _loading

    m = _loading.load_motion(p)
    assert m.fps == pytest.approx(30.0) and m.meta["retarget_map"] == "humokit_canonical"


def test_animated_glb_is_a_motion_other_glb_a_scene(tmp_path):
    import trimesh

    from humokit.viewer import _loading

    from humokit.export.gltf import write_glb
    from humokit.export.rigged import SkinnedMesh, prepare_export

    rig, _ = prepare_export(builtin_motion("walk", seconds=0.3))
    mesh = SkinnedMesh(np.zeros((3, 3), np.float32) + np.eye(3, dtype=np.float32) * 0.01, np.array([[0, 1, 2]]),
                       np.zeros((3, 4), np.int64), np.tile(np.array([1, 0, 0, 0], np.float32), (3, 1)))
    write_glb(tmp_path / "walk.glb", rig, mesh)
    box = tmp_path / "box.glb"
    box.write_bytes(trimesh.creation.box().export(file_type="glb"))
    assert _loading.classify(tmp_path / "walk.glb") == "motion" and _loading.classify(box) == "glb"
    assert _loading.load_motion(tmp_path / "walk.glb").num_frames == 9


def test_bvh_that_cannot_be_retargeted_is_reported(app, tmp_path):
    p = tmp_path / "odd.bvh"
    p.write_text(
        "HIERARCHY\nROOT hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
        " End Site\n {\n  OFFSET 0 10 0\n }\n}\nMOTION\nFrames: 2\nFrame Time: 0.033333\n0 90 0 0 0 0\n0 91 0 0 0 0\n"
    )
    assert app.load(p) is None
    assert "odd.bvh" in app.errors[-1]
    assert _alive(app)


def test_avatar_follows_the_timeline(app):
    """A Gaussian avatar performs its motion: one splat node per sampled frame, the current one visible."""
    from humokit.avatars.gaussian_avatar import init_avatar
    from humokit.body import create_body
    from humokit.motion.builtin import builtin_motion

    avatar = init_avatar(create_body("anny").rest(), num_gaussians=300, seed=0)
    motion = builtin_motion("walk", seconds=0.5, fps=20)
    name = app.add_avatar(avatar, motion, "me", every=2)
    av = app._avatars[0]
    assert len(av.nodes) == 5 and av.track.name == name
    assert not av.track.handles["body"].visible
    app.set_frame(0)
    assert [n.visible for n in av.nodes] == [True, False, False, False, False]
    app.set_frame(7)
    assert [n.visible for n in av.nodes] == [False, False, False, True, False]
    # the splats of different frames are at different places (the avatar walks)
    c0 = np.asarray(av.nodes[0].centers).mean(0)
    c3 = np.asarray(av.nodes[3].centers).mean(0)
    assert np.linalg.norm(c3 - c0) > 0.1
