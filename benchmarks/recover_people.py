"""Every-person recovery benchmark: a rendered two-person scene with crossing paths, and real multi-person videos.

    python benchmarks/recover_people.py [--pairs 2] [--frames 100] [--split val|test] [--data DIR]
                                        [--videos ../shared/data/videos] [--keep DIR] [--json out.json]

Choose settings on ``--split val``; ``test`` (the default) is for the final figures.

(a) **Rendered truth.** Per pair, two split motions (the ones whose pelvis
    travels furthest, :func:`benchmarks.recover._test_motions` candidates)
    are posed on two Anny bodies of different phenotypes and colours, turned
    so they walk towards each other along the image's x axis, one 1.5 m
    behind the other, and rendered as one mesh (the z-buffer gives the
    occlusion while they cross) from one static camera over a plain
    background. ``humokit recover --person all``'s pipeline
    (:func:`humokit.optim.recover.recover_people`) recovers them. Each
    recovered track's frames are labelled with the truth person whose
    projected shoulders and hips lie nearest its landmarks: **switches** are
    label changes inside a track, and each truth person is scored on the
    track that carries it longest: coverage, PA-MPJPE (mm), and the error of
    the distance between the two pelvises in the shared world frame (mm).
(b) **Real videos** (``--videos``, the multi-person clips): tracks, frames,
    dropouts, partial-body flags, and jump suspects (a track's hip centre
    moving more than half a body height between consecutive found frames,
    the 2D signature of an identity switch) plus the fitted pelvis's top
    speed (m/s).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recover import H, W, _background, _test_motions  # noqa: E402  (the single-person benchmark's helpers)

from humokit.body import create_body  # noqa: E402
from humokit.motion.motion import Motion  # noqa: E402
from humokit.optim import metrics as M  # noqa: E402
from humokit.optim.keypoints import MEDIAPIPE_NAMES  # noqa: E402
from humokit.optim.preview import write_mp4  # noqa: E402
from humokit.optim.recover import PeopleRecovery, recover_people, recover_people_tracks  # noqa: E402
from humokit.optim.track import KeypointTrack  # noqa: E402
from humokit.render.camera import Camera, look_at, project  # noqa: E402
from humokit.render.raster import rasterize, shade  # noqa: E402

SHAPES = ({"gender": 0.2, "height": 0.6}, {"gender": 0.8, "height": 0.35, "weight": 0.6})
SKIN = ((0.85, 0.68, 0.58), (0.50, 0.36, 0.28))
GAP_Z = 1.5  # metres between the two paths, in depth


def _people_tracks(video: Path, keep: bool) -> list[KeypointTrack]:
    """Every person's raw keypoint track in ``video``; with ``keep``, saved beside it (``<stem>.people<i>.npz``)
    and reused on the next run with the same video (only the recovery runs again)."""
    from humokit.optim.people import detect_people

    saved = sorted(video.parent.glob(f"{video.stem}.people*.npz"))
    if keep and saved and all(p.stat().st_mtime >= video.stat().st_mtime for p in saved):
        return [KeypointTrack.load(p) for p in saved]
    tracks = list(detect_people(str(video), progress=False).tracks)
    if keep:
        for p in saved:
            p.unlink()
        for i, tr in enumerate(tracks):
            tr.save(video.parent / f"{video.stem}.people{i}.npz")
    return tracks


def _yaw(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _placed(joints: np.ndarray, verts: np.ndarray, direction: float, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn a posed body about +Y so its travel points along ``direction * x`` and its mid-clip pelvis is at ``centre``."""
    d = joints[-1, 0] - joints[0, 0]
    heading = math.atan2(d[0], d[2]) if np.hypot(d[0], d[2]) > 0.2 else 0.0
    R = _yaw(direction * math.pi / 2 - heading)  # +Z heading -> +X (direction 1) or -X (-1)
    j, v = joints @ R.T, verts @ R.T
    mid = j[len(j) // 2, 0]
    off = np.array([centre[0] - mid[0], 0.0, centre[2] - mid[2]])
    return j + off, v + off


def render_pair(path: Path, motions: list[Motion], seed: int) -> tuple[list[np.ndarray], Camera]:
    """Render two motions on two Anny bodies crossing paths; returns (truth joints per person (T, 22, 3), camera)."""
    body = create_body("anny")
    T = min(m.num_frames for m in motions)
    joints, verts, faces = [], [], None
    for k, m in enumerate(motions):
        out = body.forward(m.slice(0, T), shape={**body.default_shape(), **SHAPES[k]})
        j, v = _placed(out.joints.numpy(), out.vertices.numpy(), 1.0 if k == 0 else -1.0, np.array([0.0, 0.0, GAP_Z * k]))
        joints.append(j)
        verts.append(v)
        faces = out.faces
    rng = np.random.default_rng(seed)
    extent = max(float(np.ptp(j[:, 0, 0])) for j in joints)
    target = np.array([0.0, 0.9, GAP_Z / 2])
    dist = 4.5 + 0.6 * extent
    el = math.radians(rng.uniform(5, 15))
    eye = target + dist * np.array([0.0, math.sin(el), -math.cos(el)])
    fov = 2 * math.degrees(math.atan(0.5 * H / max(W, H)))
    cam = look_at(eye, target, fov_y=fov, width=W, height=H)
    back = _background("plain", rng)
    nv = verts[0].shape[1]
    F = torch.cat([faces, faces + nv])
    colours = torch.cat([torch.tensor(SKIN[k], dtype=torch.float32).expand(nv, 3) for k in range(2)])
    frames = []
    for t in range(T):
        v = torch.as_tensor(np.concatenate([verts[0][t], verts[1][t]]), dtype=torch.float32)
        ras = rasterize(v, F, cam)
        sh = shade(ras, v, F, cam, vertex_colors=colours, ambient=0.3)
        img = back.copy()
        msk = ras.mask.numpy()
        img[msk] = (sh.rgb.numpy()[msk] * 255).astype(np.uint8)
        frames.append(img)
    write_mp4(path, frames, fps=motions[0].fps)
    return joints, cam


def _torso_2d(uv: np.ndarray) -> np.ndarray:
    """``(T, 4, 2)`` shoulders and hips of MediaPipe-named landmarks."""
    return uv[:, [MEDIAPIPE_NAMES.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]]


def score_pair(res: PeopleRecovery, truth: list[np.ndarray], cam: Camera) -> dict:
    """Identity labels, switches, coverage, PA-MPJPE and inter-person distance error of one rendered pair."""
    T = len(truth[0])
    gt2d = [project(cam, j[:, [16, 17, 1, 2]])[0] for j in truth]  # shoulders and hips, (T, 4, 2)
    heights = np.min([np.ptp(project(cam, j)[0][..., 1], axis=1) for j in truth], axis=0)  # (T,) px
    # frames where the two torsos overlap on the image cannot say who is who: not labelled
    clear = np.linalg.norm(gt2d[0] - gt2d[1], axis=-1).mean(-1) > 0.35 * heights
    tracks = []
    for r in res.people:
        s = r.track.start
        raw = r.raw_track
        f = np.nonzero(raw.found[s:s + r.track.num_frames])[0] + s
        f = f[clear[f]]
        lab = np.array([np.argmin([np.nanmean(np.linalg.norm(_torso_2d(raw.uv[t:t + 1])[0] - g[t], axis=-1)) for g in gt2d])
                        for t in f])
        switches = int((np.diff(lab) != 0).sum()) if len(lab) > 1 else 0
        tracks.append({"start": s, "frames": r.fit.motion.num_frames, "found": f, "labels": lab, "switches": switches})
    row: dict = {"tracks": len(res.people), "switches": sum(t["switches"] for t in tracks), "people": []}
    joints_world = []
    for p in range(len(truth)):
        counts = [int((t["labels"] == p).sum()) for t in tracks]
        k = int(np.argmax(counts)) if counts else -1
        if k < 0 or counts[k] == 0:
            row["people"].append({"found": 0.0})
            joints_world.append(None)
            continue
        r, t = res.people[k], tracks[k]
        P = r.fit.motion.joints()
        G = truth[p][t["start"]:t["start"] + len(P)]
        n = min(len(P), len(G))
        row["people"].append({"track": k, "coverage": int(r.raw_track.found.sum()) / T, "pa_mpjpe": M.pa_mpjpe(P[:n], G[:n]),
                              "mpjpe": M.mpjpe(P[:n] @ r.fit.camera.R.T + r.fit.camera.t, G[:n] @ cam.R.T + cam.t),
                              "partial": bool(r.report.partial) if r.report else False})
        full = np.full((T, 22, 3), np.nan)
        full[t["start"]:t["start"] + n] = P[:n]
        joints_world.append(full)
    if all(j is not None for j in joints_world):
        d_rec = np.linalg.norm(joints_world[0][:, 0] - joints_world[1][:, 0], axis=-1)
        d_gt = np.linalg.norm(truth[0][:, 0] - truth[1][:, 0], axis=-1)
        ok = np.isfinite(d_rec)
        row["distance_err_mm"] = float(np.mean(np.abs(d_rec[ok] - d_gt[ok])) * 1000) if ok.any() else float("nan")
    return row


def _pairs(data: Path, n: int, frames: int, seed: int, split: str) -> list[tuple[str, Motion, str, Motion]]:
    """``n`` pairs of split motions, the ones whose pelvis travels furthest over ``frames`` frames."""
    pool = _test_motions(data, 6 * n, frames, seed, split)
    travel = [float(np.linalg.norm((m.joints()[-1, 0] - m.joints()[0, 0])[[0, 2]])) for _, m in pool]
    order = np.argsort(travel)[::-1]
    picks = [pool[i] for i in order[: 2 * n]]
    return [(picks[2 * i][0], picks[2 * i][1], picks[2 * i + 1][0], picks[2 * i + 1][1]) for i in range(len(picks) // 2)]


def real_video_rows(videos: list[Path], skel, body) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = []
    for vid in videos:
        try:
            res = recover_people(vid, skeleton=skel, body=body, progress=False)
        except Exception as exc:  # a failed recovery is a result too
            rows.append({"name": vid.name, "error": str(exc)})
            continue
        people = []
        for i, r in enumerate(res.people):
            raw = r.raw_track
            f = np.nonzero(raw.found)[0]
            hip = 0.5 * (raw.uv[f, MEDIAPIPE_NAMES.index("left_hip")] + raw.uv[f, MEDIAPIPE_NAMES.index("right_hip")])
            top = np.nanmin(raw.uv[f][..., 1], axis=1)
            bot = np.nanmax(raw.uv[f][..., 1], axis=1)
            height = float(np.nanmedian(bot - top))
            step = np.linalg.norm(np.diff(hip, axis=0), axis=-1) / np.diff(f)
            jumps = int((step > 0.5 * height).sum())
            root = r.fit.motion.joints()[:, 0]
            speed = np.linalg.norm(np.diff(root[:, [0, 2]], axis=0), axis=-1) * r.fit.motion.fps
            rep = r.report
            people.append({"person": i, "span": list(rep.span) if rep else None, "found": int(rep.found) if rep else 0,
                           "dropouts": len(rep.dropouts) if rep else 0, "unseen": rep.unseen if rep else [],
                           "jumps": jumps, "max_speed": float(np.percentile(speed, 99)) if len(speed) else 0.0,
                           "warnings": r.warnings})
        rows.append({"name": vid.name, "tracks": len(res.people), "skipped": len(res.skipped), "people": people,
                     "reference": res.reference})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("HUMOKIT_DATA", "/root/humokit_data/v1")))
    ap.add_argument("--videos", type=Path,
                    default=Path(os.environ.get("HUMOKIT_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared")) / "data" / "videos")
    ap.add_argument("--real", default="mmhuman3d_multi_person_demo.mp4,mmaction2_demo_skeleton.mp4")
    ap.add_argument("--split", choices=("test", "val"), default="test")
    ap.add_argument("--keep", type=Path, default=None, help="keep the rendered videos and truth here, and reuse them")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-render", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    body = create_body("anny")
    skel = body.rest(body.default_shape()).skeleton
    work = args.keep or Path(tempfile.mkdtemp(prefix="humokit_people_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"rendered": [], "real": []}
    if not args.skip_render:
        for i, (na, ma, nb, mb) in enumerate(_pairs(args.data, args.pairs, args.frames, args.seed, args.split)):
            vid = work / f"pair_{args.split}_s{args.seed}_f{args.frames}_{i}.mp4"
            cache = vid.with_suffix(".npz")
            if args.keep is not None and cache.exists() and str(np.load(cache)["name"]) == f"{na} x {nb}":
                d = np.load(cache)  # reuse the render (only the recovery runs again)
                truth = [d["joints0"], d["joints1"]]
                cam = Camera(d["K"], d["R"], d["t"], int(d["size"][0]), int(d["size"][1]))
            else:
                truth, cam = render_pair(vid, [ma, mb], seed=args.seed * 100 + i)
                np.savez(cache, name=f"{na} x {nb}", joints0=truth[0], joints1=truth[1], K=cam.K, R=cam.R, t=cam.t,
                         size=[cam.width, cam.height])
            try:
                tracks = _people_tracks(vid, args.keep is not None)
                res = recover_people_tracks(tracks, skeleton=skel, body=body, progress=False)
                row = {"pair": f"{na} x {nb}", **score_pair(res, truth, cam)}
            except Exception as exc:
                row = {"pair": f"{na} x {nb}", "error": str(exc)}
            results["rendered"].append(row)
            print(json.dumps(row, default=float), flush=True)
    if not args.skip_real:
        vids = [args.videos / n for n in args.real.split(",") if (args.videos / n).exists()]
        results["real"] = real_video_rows(vids, skel, body)
    print(f"\n(a) rendered two-person scenes, {args.split} split (crossing paths, one camera; mm)")
    print(f"{'pair':<44} {'tracks':>6} {'switch':>6} {'cover A':>7} {'cover B':>7} {'PA A':>6} {'PA B':>6} {'dist err':>8}")
    for r in results["rendered"]:
        if "error" in r:
            print(f"{r['pair'][:44]:<44} FAILED: {r['error']}")
            continue
        a, b = r["people"]
        print(f"{r['pair'][:44]:<44} {r['tracks']:6d} {r['switches']:6d} {a.get('coverage', 0):7.2f} "
              f"{b.get('coverage', 0):7.2f} {a.get('pa_mpjpe', float('nan')):6.1f} {b.get('pa_mpjpe', float('nan')):6.1f} "
              f"{r.get('distance_err_mm', float('nan')):8.0f}")
    if results["real"]:
        print("\n(b) real multi-person videos (no 3D truth)")
        for r in results["real"]:
            if "error" in r:
                print(f"{r['name']}: FAILED {r['error']}")
                continue
            print(f"{r['name']}: {r['tracks']} tracks ({r['skipped']} skipped), camera set by person{r['reference']}")
            for p in r["people"]:
                print(f"  person{p['person']}: frames {p['span'][0]}-{p['span'][1] - 1}, found {p['found']}, "
                      f"dropouts {p['dropouts']}, jumps {p['jumps']}, pelvis speed p99 {p['max_speed']:.2f} m/s, "
                      f"unseen {','.join(p['unseen']) or '-'}")
                for w in p["warnings"]:
                    print(f"    warning: {w}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
