"""Motion recovery with a moving camera: rendered truth over a textured 3D room, camera compensation on vs off.

    python benchmarks/recover_moving.py [--split val|test] [--motions 2] [--frames 100]
                                        [--moves follow-pan,handheld,orbit] [--keep DIR] [--json out.json]

Choose settings on ``--split val``; ``test`` (the default) is for the final numbers.

(a) **Rendered truth.** Split motions (as in ``benchmarks/recover.py``, whose helpers this script
    imports; segments whose pelvis travels at least 1 m first) are posed on the shaded Anny body inside a room whose ground and four walls are
    textured planes (:mod:`humokit.render.backdrop`), ray-cast through the same moving camera as
    the body, so the background moves with true perspective and parallax. Camera moves
    (start: 3-5 m away plus half the path, 5-20 degrees elevation, any azimuth, focal = max(w, h)):

    - ``follow-pan``: the camera stays put and turns to keep the (smoothed) pelvis in view, as a
      hand-held camera following a walker does;
    - ``handheld``: a static camera with smooth random shake (1 degree, 1 cm);
    - ``orbit``: a slow orbit of 30 degrees about the path's centre, looking at the pelvis
      (rotation and translation).

    The full pipeline runs once for the keypoints; the fit then runs with the camera's measured
    turns removed (``on``, :func:`humokit.optim.camera_motion.estimate_camera_motion`) and as if the
    camera were static (``off``). Scores: W-MPJPE (100-frame segments aligned on their first two
    frames), PA-MPJPE, path length error (horizontal pelvis path, % of the truth's), and the
    camera rotation error (degrees, each frame's camera rotation relative to the first frame's,
    estimated vs true; ``off`` assumes no rotation). WA-MPJPE (one similarity alignment of the whole
    clip, as WHAM/TRAM report it) is printed beside W-MPJPE: aligning on two frames makes W-MPJPE
    follow the body's tilt and heading in those frames as much as the path.
(b) **Real videos** (``--videos``): is the camera detected as moving (rotation, parallax), and at
    what cost (frames/s of the camera estimate at ``max_side`` 480).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recover import H, W, _config, _test_motions, skate_mm  # noqa: E402  (the static benchmark's helpers)

from humokit.body import create_body  # noqa: E402
from humokit.motion.motion import Motion  # noqa: E402
from humokit.optim import metrics as M  # noqa: E402
from humokit.optim.camera_motion import estimate_camera_motion, rotation_angle_deg  # noqa: E402
from humokit.optim.preview import write_mp4  # noqa: E402
from humokit.optim.recover import recover_track  # noqa: E402
from humokit.optim.track import KeypointTrack, detect_track  # noqa: E402
from humokit.render.backdrop import render_backdrop, room  # noqa: E402
from humokit.render.camera import CameraTrajectory, add_handheld_noise, look_at  # noqa: E402
from humokit.render.raster import rasterize, shade  # noqa: E402

MOVES = ("follow-pan", "handheld", "orbit")


def _smooth(x: np.ndarray, k: int) -> np.ndarray:
    pad = np.concatenate([np.repeat(x[:1], k, 0), x, np.repeat(x[-1:], k, 0)])
    ker = np.ones(2 * k + 1) / (2 * k + 1)
    return np.stack([np.convolve(pad[:, i], ker, mode="valid") for i in range(x.shape[1])], axis=1)


def camera_move(move: str, joints: np.ndarray, rng: np.random.Generator) -> CameraTrajectory:
    """The camera path of ``move`` for truth ``joints (T, 22, 3)``."""
    T = len(joints)
    root = joints[:, 0]
    centre = np.array([root[:, 0].mean(), 0.9, root[:, 2].mean()])
    extent = float(np.ptp(root[:, [0, 2]], axis=0).max())
    dist = rng.uniform(3.0, 5.0) + 0.5 * extent
    el, az = math.radians(rng.uniform(5, 20)), rng.uniform(0, 2 * math.pi)
    fov = 2 * math.degrees(math.atan(0.5 * H / max(W, H)))
    aim = _smooth(np.c_[root[:, 0], np.full(T, 0.9), root[:, 2]], 5)  # where a camera operator points

    def eye_at(a: float) -> np.ndarray:
        return centre + dist * np.array([math.cos(el) * math.sin(a), math.sin(el), math.cos(el) * math.cos(a)])

    if move == "follow-pan":
        cams = [look_at(eye_at(az), aim[t], fov_y=fov, width=W, height=H) for t in range(T)]
    elif move == "handheld":
        cam = look_at(eye_at(az), centre, fov_y=fov, width=W, height=H)
        traj = CameraTrajectory.static(cam, T)
        return add_handheld_noise(traj, rotation_std_deg=1.0, translation_std=0.01, smooth=5, seed=int(rng.integers(1 << 30)))
    elif move == "orbit":
        sweep = math.radians(30.0) * (1 if rng.random() < 0.5 else -1)
        cams = [look_at(eye_at(az + sweep * t / max(T - 1, 1)), aim[t], fov_y=fov, width=W, height=H) for t in range(T)]
    else:
        raise SystemExit(f"unknown move {move!r}; use {', '.join(MOVES)}")
    return CameraTrajectory.from_cameras(cams)


def render_moving_video(path: Path, motion: Motion, move: str, seed: int) -> tuple[np.ndarray, CameraTrajectory, float]:
    """Render ``motion`` on Anny inside a textured room through a moving camera; (truth joints, cameras, seconds)."""
    t0 = time.perf_counter()
    body = create_body("anny")
    out = body.forward(motion)
    joints = out.joints.numpy()
    rng = np.random.default_rng(seed)
    traj = camera_move(move, joints, rng)
    root = joints[:, 0]
    extent = float(np.ptp(root[:, [0, 2]], axis=0).max())
    planes = room((root[:, 0].mean(), 0.0, root[:, 2].mean()), size=2 * (6.0 + extent), seed=seed)
    skin = torch.tensor([0.85, 0.68, 0.58]).expand(out.vertices.shape[1], 3)
    frames = []
    for t in range(len(joints)):
        cam = traj[t]
        img, _ = render_backdrop(cam, planes)
        v = out.vertices[t]
        ras = rasterize(v, out.faces, cam)
        sh = shade(ras, v, out.faces, cam, vertex_colors=skin, ambient=0.3)
        m = ras.mask.numpy()
        img[m] = (sh.rgb.numpy()[m] * 255).astype(np.uint8)
        frames.append(img)
    write_mp4(path, frames, fps=motion.fps)
    return joints, traj, time.perf_counter() - t0


wa_mpjpe = M.wa_mpjpe


def path_length(P: np.ndarray) -> float:
    """Horizontal pelvis path length (metres) of joints ``(T, 22, 3)``."""
    return float(np.linalg.norm(np.diff(P[:, 0, [0, 2]], axis=0), axis=-1).sum())


def rotation_error_deg(est_R: np.ndarray | None, truth: CameraTrajectory) -> tuple[float, float]:
    """(mean, max) over frames of the angle between estimated and true rotations relative to frame 0."""
    Rt = np.einsum("tij,kj->tik", truth.R, truth.R[0])
    Re = np.repeat(np.eye(3)[None], len(Rt), 0) if est_R is None else np.einsum("tij,kj->tik", est_R, est_R[0])
    e = rotation_angle_deg(np.einsum("tij,tkj->tik", Re, Rt))
    return float(e.mean()), float(e.max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--motions", type=int, default=2, help="split motions to render (segments that travel first)")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("HUMOKIT_DATA", "/root/humokit_data/v1")))
    ap.add_argument("--videos", type=Path,
                    default=Path(os.environ.get("HUMOKIT_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared")) / "data" / "videos")
    ap.add_argument("--split", choices=("test", "val"), default="test")
    ap.add_argument("--moves", default=",".join(MOVES))
    ap.add_argument("--keep", type=Path, default=None, help="keep renders and keypoint tracks here and reuse them")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a FitConfig field")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-real", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    body = create_body("anny")
    skel = body.rest(body.default_shape()).skeleton
    config = _config(args.set)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="humokit_recover_moving_"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    # a camera that follows someone matters most when they travel: prefer segments whose pelvis moves >= 1 m
    pool = _test_motions(args.data, 8 * args.motions, args.frames, args.seed, args.split)
    travel = [path_length(m.joints()) for _, m in pool]
    order = sorted(range(len(pool)), key=lambda i: (travel[i] < 1.0, i))
    motions = [pool[i] for i in order[: args.motions]]
    for mi, (name, motion) in enumerate(motions):
        for move in args.moves.split(","):
            stem = f"moving_{args.split}_s{args.seed}_f{args.frames}_{mi}_{move}"
            vid, cache, track_path = workdir / f"{stem}.mp4", workdir / f"{stem}.npz", workdir / f"{stem}.track.npz"
            if args.keep is not None and cache.exists() and track_path.exists() and str(np.load(cache)["name"]) == name:
                d = np.load(cache)
                gt = d["joints"]
                traj = CameraTrajectory(d["K"], d["R"], d["t"], W, H)
                raw = KeypointTrack.load(track_path)
                t_detect = float(d["t_detect"])
            else:
                gt, traj, _ = render_moving_video(vid, motion, move, seed=args.seed * 1000 + mi * 10 + MOVES.index(move))
                t0 = time.perf_counter()
                raw = detect_track(vid, progress=False)
                t_detect = time.perf_counter() - t0
                if args.keep is not None:
                    raw.save(track_path)
                    np.savez(cache, name=name, joints=gt, K=traj.K, R=traj.R, t=traj.t, t_detect=t_detect)
            t0 = time.perf_counter()
            cm = estimate_camera_motion(vid, raw)
            t_cam = time.perf_counter() - t0
            row = {"name": name, "move": move, "frames": len(gt), "detected": cm.summary(), "moving": cm.moving,
                   "camera_fps": len(gt) / max(t_cam, 1e-9), "true_rotation_deg": rotation_error_deg(None, traj)[1]}
            for mode in ("on", "off"):
                t0 = time.perf_counter()
                rec = recover_track(raw, skeleton=skel, config=config, progress=False,
                                    camera_motion=cm if mode == "on" else None)
                t_fit = time.perf_counter() - t0
                P = rec.fit.motion.joints()
                n = min(len(P), len(gt))
                P, G = P[:n], gt[:n]
                lg, lp = path_length(G), path_length(P)
                rot_mean, rot_max = rotation_error_deg(rec.cameras.R if rec.cameras is not None else None, traj)
                row[mode] = {"w_mpjpe": M.w_mpjpe(P, G, segment=100), "wa_mpjpe": wa_mpjpe(P, G),
                             "pa_mpjpe": M.pa_mpjpe(P, G),
                             "path_err_pct": 100.0 * abs(lp - lg) / max(lg, 1e-6), "path_m": lp, "path_truth_m": lg,
                             "rot_err_mean": rot_mean, "rot_err_max": rot_max,
                             "skate": skate_mm(P, rec.fit.motion.skeleton), "fit_fps": n / t_fit}
            rows.append(row)
            on, off = row["on"], row["off"]
            print(f"  {name[:28]} [{move}]: {cm.summary()}\n"
                  f"    on : W-MPJPE {on['w_mpjpe']:.0f} mm, WA-MPJPE {on['wa_mpjpe']:.0f}, PA-MPJPE {on['pa_mpjpe']:.1f}, path {on['path_m']:.2f} m "
                  f"(truth {on['path_truth_m']:.2f}), rot err {on['rot_err_mean']:.2f}/{on['rot_err_max']:.2f} deg\n"
                  f"    off: W-MPJPE {off['w_mpjpe']:.0f} mm, WA-MPJPE {off['wa_mpjpe']:.0f}, PA-MPJPE {off['pa_mpjpe']:.1f}, path {off['path_m']:.2f} m, "
                  f"rot err {off['rot_err_mean']:.2f}/{off['rot_err_max']:.2f} deg", flush=True)

    print(f"\n(a) rendered {args.split}-split motions, moving cameras over a textured room "
          f"(mm; path error % of the truth's length; camera rotation error deg mean/max)")
    print(f"{'motion':<26} {'move':<11} {'true rot':>8} {'comp':>4} {'W-MPJPE':>8} {'WA-MPJPE':>8} {'PA-MPJPE':>9} "
          f"{'path %':>7} {'rot err':>12} {'moving?':>8}")
    for r in rows:
        for mode in ("on", "off"):
            s = r[mode]
            print(f"{r['name'][:26]:<26} {r['move']:<11} {r['true_rotation_deg']:8.1f} {mode:>4} {s['w_mpjpe']:8.0f} "
                  f"{s['wa_mpjpe']:8.0f} {s['pa_mpjpe']:9.1f} {s['path_err_pct']:7.1f} {s['rot_err_mean']:5.2f}/{s['rot_err_max']:<6.2f} "
                  f"{('yes' if r['moving'] else 'no') if mode == 'on' else '':>8}")
    summary: dict[str, dict[str, float]] = {}
    for move in args.moves.split(","):
        for mode in ("on", "off"):
            sel = [r[mode] for r in rows if r["move"] == move]
            if sel:
                summary[f"{move}/{mode}"] = {k: float(np.mean([s[k] for s in sel]))
                                             for k in ("w_mpjpe", "wa_mpjpe", "pa_mpjpe", "path_err_pct", "rot_err_mean",
                                                       "rot_err_max")}
    print(f"\n{'mean':<26} {'move':<11} {'comp':>4} {'W-MPJPE':>8} {'WA-MPJPE':>8} {'PA-MPJPE':>9} {'path %':>7} "
          f"{'rot err':>12}")
    for key, s in summary.items():
        move, mode = key.split("/")
        print(f"{'':<26} {move:<11} {mode:>4} {s['w_mpjpe']:8.0f} {s['wa_mpjpe']:8.0f} {s['pa_mpjpe']:9.1f} {s['path_err_pct']:7.1f} "
              f"{s['rot_err_mean']:5.2f}/{s['rot_err_max']:<6.2f}")
    if rows:
        print(f"camera estimate: {np.mean([r['camera_fps'] for r in rows]):.0f} frames/s (CPU, shared machine); "
              f"fit with compensation: {np.mean([r['on']['fit_fps'] for r in rows]):.1f} frames/s, "
              f"without: {np.mean([r['off']['fit_fps'] for r in rows]):.1f}")

    real: list[dict] = []
    if not args.skip_real and args.videos.is_dir():
        print("\n(b) real videos: is the camera moving?")
        for vid in sorted(args.videos.glob("*.mp4")):
            tp = workdir / f"real_{vid.stem}.track.npz"
            try:
                raw = KeypointTrack.load(tp) if args.keep is not None and tp.exists() else detect_track(vid, progress=False)
                if args.keep is not None:
                    raw.save(tp)
                t0 = time.perf_counter()
                cm = estimate_camera_motion(vid, raw)
                fps = raw.num_frames / max(time.perf_counter() - t0, 1e-9)
            except Exception as exc:  # a failure is a result too
                print(f"  {vid.name}: FAILED {exc}")
                real.append({"name": vid.name, "error": str(exc)})
                continue
            real.append({"name": vid.name, "frames": raw.num_frames, "size": f"{raw.width}x{raw.height}",
                         "moving": cm.moving, "summary": cm.summary(), "camera_fps": fps, **cm.to_dict()})
            print(f"  {vid.name:<34} {raw.width}x{raw.height} {raw.num_frames:4d} frames, {fps:5.0f} frames/s: {cm.summary()}")
    if args.json:
        args.json.write_text(json.dumps({"rendered": rows, "summary": summary, "real": real}, indent=1, default=float))


if __name__ == "__main__":
    main()
