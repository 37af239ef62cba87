"""Every person: identities through crossings, reliable spans and dropouts, partial bodies, one world frame."""

from __future__ import annotations

import json

import numpy as np
import pytest

from humokit.errors import InputError
from humokit.optim.keypoints import MEDIAPIPE_NAMES
from humokit.optim.people import (
    Candidate, PeopleTracker, body_visibility, dropouts, follow_people, hold_unseen_limbs, prepare_track,
    reliable_span, torso_histogram,
)
from humokit.optim.people import follow_person
from humokit.optim.track import KeypointTrack

from ._people_synth import COLOURS, FakeDetector, crossing_scene, paint

FPS = 20.0


def _hist(colour, rng):
    img = np.zeros((40, 40, 3), np.uint8)
    img[:] = colour
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    from humokit.optim.keypoints import PersonKeypoints

    uv = np.zeros((33, 2))
    idx = [MEDIAPIPE_NAMES.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    uv[idx] = [[35, 2], [5, 2], [30, 38], [8, 38]]
    conf = np.zeros(33)
    conf[idx] = 1.0
    return torso_histogram(img, PersonKeypoints(uv, conf), MEDIAPIPE_NAMES)


def _identity_paths(rows_per_track, scene):
    """For each output track, the set of true identities it was given (by matching landmarks exactly)."""
    out = []
    for rows in rows_per_track:
        ids = set()
        for t, p in rows.items():
            for ident, q in scene[t]:
                if np.allclose(np.nan_to_num(p.uv), np.nan_to_num(q.uv)):
                    ids.add(ident)
        out.append(ids)
    return out


@pytest.mark.parametrize("appearance", [True, False])
def test_crossing_pair_keeps_identities(appearance):
    """Two same-size people walk through each other (the back one hidden while boxes overlap): no swap."""
    scene = crossing_scene(40)
    assert any(len(s) == 1 for s in scene) and len(scene[0]) == 2  # a real occlusion happens
    rng = np.random.default_rng(0)
    hists = {i: _hist(COLOURS[i], rng) for i in (0, 1)}
    tracker = PeopleTracker(FPS)
    for t, seen in enumerate(scene):
        order = rng.permutation(len(seen))  # detection order carries no identity
        cands = [Candidate(seen[k][1], hists[seen[k][0]] if appearance else None) for k in order]
        tracker.update(t, cands)
    tracks = tracker.tracks()
    ids = _identity_paths(tracks, scene)
    assert len(tracks) == 2, ids
    assert sorted(map(sorted, ids)) == [[0], [1]]  # each track is one person, all the way
    assert all(len(r) >= 30 for r in tracks)  # both picked up again after the crossing


def test_swapped_colours_would_fool_appearance_only():
    """The crossing test can fail: identical clothes and no motion model would be ambiguous at the crossing;
    here a tracker that ignores motion (huge gate, no pose/IoU weight) with swapped histograms does swap."""
    from humokit.optim.people import TrackerConfig

    scene = crossing_scene(40)
    rng = np.random.default_rng(1)
    hists = {i: _hist(COLOURS[i], rng) for i in (0, 1)}
    cfg = TrackerConfig(w_iou=0.0, w_pose=0.0, w_appearance=1.0, gate=50.0)
    tracker = PeopleTracker(FPS, cfg)
    mid = len(scene) // 2
    for t, seen in enumerate(scene):
        # after the crossing the clothes are swapped: an appearance-only tracker follows the clothes
        cands = [Candidate(p, hists[i if t < mid else 1 - i]) for i, p in seen]
        tracker.update(t, cands)
    ids = _identity_paths(tracker.tracks(), scene)
    assert any(len(s) == 2 for s in ids)


def test_follow_people_with_sliding_tracker_keeps_identities():
    """Through the whole frame loop: the fake tracking mode slides onto the other person at the crossing."""
    scene = crossing_scene(40)
    frames = ((t, t / FPS, paint(scene[t], t)) for t in range(len(scene)))
    det = FakeDetector(scene)
    people = follow_people(frames, det, fps=FPS, progress=False)
    assert len(people.tracks) == 2
    for k, tr in enumerate(people.tracks):
        assert tr.num_frames == 40 and tr.found.sum() >= 30
        hip = 0.5 * (tr.uv[:, MEDIAPIPE_NAMES.index("left_hip")] + tr.uv[:, MEDIAPIPE_NAMES.index("right_hip")])
        x = hip[tr.found, 0]
        steps = np.diff(x)
        assert (np.sign(steps) == np.sign(steps[0])).all(), (k, x)  # never jumps back to the other walker
    # one-person mode on the same clip: never the other person
    frames = ((t, t / FPS, paint(scene[t], t)) for t in range(len(scene)))
    one = follow_person(frames, FakeDetector(scene), person=0, fps=FPS, progress=False)
    hip = 0.5 * (one.uv[:, MEDIAPIPE_NAMES.index("left_hip")] + one.uv[:, MEDIAPIPE_NAMES.index("right_hip")])
    f = np.nonzero(one.found)[0]
    assert np.abs(np.diff(hip[f, 0]) / np.diff(f)).max() < 15.0  # 9.2 px per frame: the walker's own speed


def test_clutter_never_holds_more_tracking_graphs_than_people_looked_for():
    """A cluttered background yields small false people that come and go; each followed track costs a
    tracking graph (about 100 MB in MediaPipe), so at most ``max_people`` are followed at once (a test clip
    grew to 20 GB before), and the two walkers still come out first with their identities."""
    from humokit.optim.keypoints import PersonKeypoints

    scene = crossing_scene(40)
    rng = np.random.default_rng(3)
    tiny = scene[0][0][1]
    for t in range(len(scene)):  # eight 10-20 px "people" per frame, each seen for a few frames
        for k in range(8):
            centre = np.array([40.0 + 70 * k, 60.0 + 40 * ((t // 4 + k) % 3)])
            s = rng.uniform(0.08, 0.15)
            uv = (tiny.uv - tiny.uv.mean(0)) * s + centre
            scene[t].append((2 + k, PersonKeypoints(uv, tiny.confidence, tiny.world)))

    class Graphs(FakeDetector):
        def __init__(self, scene):
            super().__init__(scene)
            self.live, self.most = set(), 0

        def detect(self, image, *, max_people=1):
            self.calls["detect"] += 1
            people = self._people(image)
            return sorted(people, key=lambda p: -np.ptp(p.uv[:, 1]))[:max_people]

        def track(self, image, roi, *, key=0):
            self.live.add(key)
            self.most = max(self.most, len(self.live))
            return super().track(image, roi, key=key)

        def forget(self, key):
            self.live.discard(key)

    det = Graphs(scene)
    frames = ((t, t / FPS, paint([x for x in scene[t] if x[0] < 2], t)) for t in range(len(scene)))
    people = follow_people(frames, det, fps=FPS, max_people=4, progress=False)
    assert 1 <= det.most <= 4
    assert len(people.tracks) >= 2
    for tr in people.tracks[:2]:
        hip = 0.5 * (tr.uv[:, MEDIAPIPE_NAMES.index("left_hip")] + tr.uv[:, MEDIAPIPE_NAMES.index("right_hip")])
        assert tr.found.sum() >= 30 and np.ptp(hip[tr.found, 1]) < 60  # a walker, not a tiny false person
        steps = np.diff(hip[tr.found, 0])
        assert (np.sign(steps) == np.sign(steps[0])).all()


def test_torso_histogram_separates_clothes():
    rng = np.random.default_rng(0)
    from humokit.optim.people import bhattacharyya

    red, red2, blue = _hist((200, 40, 40), rng), _hist((190, 50, 45), rng), _hist((40, 60, 200), rng)
    assert bhattacharyya(red, red2) < 0.3 < 0.8 < bhattacharyya(red, blue)


def _track(found, conf=None, uv=None):
    T = len(found)
    uv = np.tile(np.linspace(100, 300, 33)[None, :, None], (T, 1, 2)) if uv is None else uv
    conf = np.ones((T, 33)) if conf is None else conf
    return KeypointTrack(MEDIAPIPE_NAMES, np.where(np.asarray(found)[:, None, None], uv, np.nan),
                         np.where(np.asarray(found)[:, None], conf, 0.0), None, np.asarray(found, bool), FPS, 640, 480)


def test_lone_detection_is_not_a_start_and_dropouts_are_flagged():
    found = np.zeros(100, bool)
    found[3] = True  # one detection, then nothing for 1.3 s: no invented start
    found[30:60] = True
    found[75:95] = True  # a 0.75 s dropout in between
    assert reliable_span(found, FPS) == (30, 95)
    assert dropouts(found[30:95], FPS) == [(30, 45)]
    tr, rep = prepare_track(_track(found))
    assert tr.start == 30 and tr.num_frames == 65
    assert rep.span == (30, 95) and rep.dropouts == [(60, 75)] and rep.frames == 100
    text = " ".join(rep.warnings(FPS))
    assert "dropped out 3.00-3.75 s" in text and "frames 30-94 of 100" in text
    assert "before 1.50 s or after 4.75 s" in text
    with pytest.raises(InputError, match="no reliable detection"):
        prepare_track(_track(np.eye(1, 100, 50, dtype=bool)[0] | np.eye(1, 100, 70, dtype=bool)[0]))


def test_continuous_track_has_no_warnings():
    tr, rep = prepare_track(_track(np.ones(40, bool)))
    assert tr.start == 0 and rep.warnings(FPS) == [] and not rep.partial


def test_partial_body_flagged_and_held():
    """A close-up: legs below the frame (guessed outside the image, low visibility) -> flagged and held."""
    T = 30
    uv = np.zeros((T, 33, 2))
    uv[..., 0] = 320.0
    uv[..., 1] = np.linspace(50, 420, 33)
    legs = [MEDIAPIPE_NAMES.index(f"{s}_{p}") for s in ("left", "right") for p in ("knee", "ankle", "heel", "foot_index")]
    uv[:, legs, 1] = 600.0 + 40 * np.sin(np.arange(T))[:, None]  # invented walking legs, below the image
    conf = np.ones((T, 33))
    conf[:, legs] = 0.2
    world = np.zeros((T, 33, 3))
    world[..., 1] = np.linspace(-0.6, 0.9, 33)
    world[:, MEDIAPIPE_NAMES.index("left_shoulder")] = [0.2, -0.5, 0]
    world[:, MEDIAPIPE_NAMES.index("right_shoulder")] = [-0.2, -0.5, 0]
    world[:, MEDIAPIPE_NAMES.index("left_hip")] = [0.1, 0.0, 0]
    world[:, MEDIAPIPE_NAMES.index("right_hip")] = [-0.1, 0.0, 0]
    world[:, MEDIAPIPE_NAMES.index("left_knee")] = [0.1, 0.3, -0.3]  # a knee raised forward (invented)
    track = KeypointTrack(MEDIAPIPE_NAMES, uv, conf, world, np.ones(T, bool), FPS, 640, 480)
    vis = body_visibility(track)
    assert vis["left_leg"] == 0.0 and vis["right_leg"] == 0.0 and vis["torso"] == 1.0
    _, rep = prepare_track(track)
    assert rep.partial and sorted(rep.unseen) == ["left_leg", "right_leg"] and rep.edge == 1.0
    assert any("partial body" in w for w in rep.warnings(FPS))
    held = hold_unseen_limbs(track, rep.unseen)
    assert (held.confidence[:, legs] <= 0.01).all() and (held.confidence[:, 0] == 1.0).all()
    knee = held.world[:, MEDIAPIPE_NAMES.index("left_knee")]
    hip = held.world[:, MEDIAPIPE_NAMES.index("left_hip")]
    d = (knee - hip) / np.linalg.norm(knee - hip, axis=-1, keepdims=True)
    assert np.allclose(d, [0, 1, 0], atol=1e-6)  # straight down the torso axis (camera y is down), not raised


def test_people_share_one_world_frame(tmp_path):
    """Two people fitted separately land in one world frame: their distance is the true one, one ground."""
    from humokit.motion.builtin import builtin_motion
    from humokit.optim.fit import FitConfig
    from humokit.optim.recover import recover_people_tracks, save_people
    from humokit.render.camera import look_at

    from ._synth import synthetic_track

    a = builtin_motion("walk", seconds=1.0, fps=20)
    b = builtin_motion("squat", seconds=1.0, fps=20)  # a smaller person (0.8x), further back
    b = b.replace(skeleton=b.skeleton.scaled(0.8), root_position=b.root_position * 0.8 + np.array([1.5, 0, 1.5], np.float32))
    target = np.array([0.7, 0.9, 0.5])
    cam = look_at(target + np.array([1.0, 1.0, 5.0]), target, fov_y=2 * np.degrees(np.arctan(0.375)), width=640,
                  height=480)
    tb = synthetic_track(b, cam, seed=1)
    # the detector's metric 3D guesses an adult's size (as MediaPipe does): only the shared ground tells the depth
    tb = KeypointTrack(tb.names, tb.uv, tb.confidence, tb.world / 0.8, tb.found, tb.fps, tb.width, tb.height)
    res = recover_people_tracks([synthetic_track(a, cam), tb], skeleton=a.skeleton,
                                config=FitConfig(iters_pose=40, iters_contact=30), progress=False)
    assert len(res.people) == 2
    Pa, Pb = (r.fit.motion.joints() for r in res.people)
    true = np.linalg.norm(a.joints()[:, 0] - b.joints()[:, 0], axis=-1).mean()
    got = np.linalg.norm(Pa[:, 0] - Pb[:, 0], axis=-1).mean()
    assert abs(got - true) < 0.06 * true  # 16 % off when each depth comes from the detector's size guess
    assert abs(res.people[1].fit.scale - 0.8) < 0.05
    assert res.people[0].fit.camera is res.people[1].fit.camera
    for P in (Pa, Pb):
        assert np.percentile(P[:, [10, 11], 1].min(1), 10) < 0.08  # both stand on the one ground y = 0
    summary = save_people(res, tmp_path / "out", video="v.mp4")
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["camera.json", "person0.camera.json", "person0.npz", "person1.camera.json", "person1.npz"]
    cam_json = json.loads((tmp_path / "out" / "camera.json").read_text())
    assert cam_json == json.loads(json.dumps(summary)) and len(cam_json["people"]) == 2
    one = json.loads((tmp_path / "out" / "person1.camera.json").read_text())
    assert one["track"]["partial_body"] is False and one["frame_start"] == 0


def test_cli_person_all_writes_one_file_per_person(tmp_path, monkeypatch):
    """``humokit recover VIDEO --person all -o OUTDIR`` on a tiny video, with a fake detector (no MediaPipe)."""
    av = pytest.importorskip("av")
    from click.testing import CliRunner

    import humokit.optim.keypoints as kp
    from humokit.cli import cli

    n = 16
    scene = crossing_scene(n, occlude=False)
    video = tmp_path / "two.mp4"
    with av.open(str(video), "w") as c:
        s = c.add_stream("mpeg4", rate=int(FPS))
        s.width, s.height, s.pix_fmt = 640, 480, "yuv420p"
        for t in range(n):
            img = paint(scene[t], t)
            img[:32, :32] = 12 * t + 8  # the frame index, readable after compression
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    det = FakeDetector(scene, frame_of=lambda img: int(round((float(img[4:28, 4:28].mean()) - 8) / 12)))
    monkeypatch.setattr(kp, "create_detector", lambda name="mediapipe", **kw: det)
    import humokit.optim.recover as rc
    from humokit.optim.fit import FitConfig

    quick = FitConfig(iters_pose=20, iters_contact=10)  # the files are under test here, not the fit
    full = rc.recover_track
    monkeypatch.setattr(rc, "recover_track", lambda *a, **k: full(*a, **{**k, "config": quick}))
    out = tmp_path / "people"
    res = CliRunner().invoke(cli, ["recover", str(video), "--person", "all", "-o", str(out), "--body", "none",
                                   "--physics", "none"])
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["camera.json", "person0.camera.json", "person0.npz", "person1.camera.json", "person1.npz"]
    summary = json.loads((out / "camera.json").read_text())
    assert [p["frames"] for p in summary["people"]] == [n, n] and summary["skipped_tracks"] == []
    assert "person0" in res.output and "person1" in res.output
    assert not list(tmp_path.glob(".people*"))  # the staged folder is gone
    # a file target is refused in one line, nothing written
    bad = CliRunner().invoke(cli, ["recover", str(video), "--person", "all", "-o", str(tmp_path / "x.npz")])
    assert bad.exit_code == 2 and "error: " in bad.output and "folder" in bad.output
    assert not (tmp_path / "x.npz").exists()


def test_a_person_lost_while_hidden_is_stitched_back_and_others_are_not():
    from dataclasses import replace

    from humokit.optim.people import stitch_tracks, to_keypoint_track

    scene = crossing_scene(60, occlude=False)
    rows = [{t: dict(scene[t])[k] for t in range(60)} for k in (0, 1)]
    a, b = (to_keypoint_track(r, 60, MEDIAPIPE_NAMES, FPS, 640, 480) for r in rows)

    def part(tr, lo, hi):  # the track seen only on frames lo..hi-1
        keep = np.zeros(60, bool)
        keep[lo:hi] = True
        return replace(tr, uv=np.where(keep[:, None, None], tr.uv, np.nan),
                       confidence=np.where(keep[:, None], tr.confidence, 0.0), found=keep)

    out = stitch_tracks([part(a, 0, 25), b, part(a, 30, 60)], gate=0.6, gate_growth=1.0)
    assert len(out) == 2  # person 0's two pieces joined, person 1 untouched
    joined = next(t for t in out if t.found[0] and t.found[59] and not t.found[27])
    np.testing.assert_allclose(joined.uv[40], a.uv[40])
    assert any(np.array_equal(t.found, b.found) and np.allclose(t.uv[10], b.uv[10]) for t in out)
    # a piece that starts far from where person 0 was heading is someone else
    seen = a.uv[30][a.confidence[30] >= 0.5]
    size = float(np.ptp(seen, axis=0).max())
    far = replace(part(a, 30, 60), uv=part(a, 30, 60).uv + np.array([1.2 * size, 0.0]))
    assert len(stitch_tracks([part(a, 0, 25), far])) == 2
    # and one that starts after too long a gap stays apart
    assert len(stitch_tracks([part(a, 0, 10), part(a, 40, 60)], max_gap_s=1.0)) == 2
