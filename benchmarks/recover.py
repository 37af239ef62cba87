"""Motion recovery benchmark: accuracy on rendered videos with 3D truth, robustness on real videos, speed.

    python benchmarks/recover.py [--motions 4] [--frames 100] [--data /root/humokit_data/v1]
                                 [--split test|val] [--videos ../shared/data/videos]
                                 [--heights 1.5,1.9,1.7,1.6] [--physics kinematic|none]
                                 [--keep DIR] [--set fit_option=value ...] [--json out.json]
                                 [--focal 0.7] [--save-fits DIR]

Choose settings on ``--split val`` only; ``test`` (the default) is for the final
numbers. ``--keep DIR`` keeps the rendered videos, their truth and the raw
keypoint tracks, and reuses them on the next run with the same split, seed and
frames (only the fit runs again). ``--set`` overrides :class:`FitConfig`
fields (``--set w_occluded=10``) for comparing settings.

(a) **Rendered truth.** Split motions of the mocap dataset (``<data>/<split>.txt``,
    ``motions/*.npz``; the built-in walk/squat when the dataset is missing) are
    cut to ``--frames``-frame segments, posed on the shaded Anny body (motion
    ``i`` on the Anny phenotype ``--heights[i % n]`` metres tall, its root
    trajectory scaled with the body; ``default`` = Anny's default 1.63 m) and
    rendered with :mod:`humokit.render.raster` from a random static camera
    (3-5 m plus half the trajectory extent, 0-25 degrees elevation, any azimuth, focal = max(w, h), or
    ``--focal`` times that with the distance scaled alike) over a
    plain and a cluttered background, then recovered with the full pipeline
    (MediaPipe keypoints -> cleaning -> fit). Scored against the rendered body's
    joints: MPJPE (camera frame, pelvis aligned), PA-MPJPE, W-MPJPE (100-frame
    segments aligned on their first two frames, as in TRAM/WHAM), acceleration
    error and foot skating with the physics module's one definition
    (:func:`humokit.optim.physics.metrics.skate`, PhysDiff: mean horizontal
    displacement per frame pair of foot joints whose sole is within 1 cm of
    the ground in both frames, mm), measured the same way on the truth (the
    mocap's own skating is shown beside it); world path length error (pelvis
    on the ground plane, sampled every 0.2 s, clips whose truth path is over
    0.5 m), WA-MPJPE (one alignment of the whole clip) and the angle between the two-frame and the
    whole-clip alignments (``turn``: how far the first frames' orientation disagrees with the path, which
    W-MPJPE then swings along the whole path), fitted body height vs the rendered one, depth ratio (median fitted
    / true pelvis depth in the camera) and left/right swaps (frames where the
    fitted legs or arms are closer to the truth's mirror image than to the truth).
(b) **Real videos** (``--videos``): 2D reprojection error of the fitted body
    vs the detected keypoints (pixels and % of the person's height), jitter
    (m/s^3) and foot skating.
(c) **Speed**: CPU frames/s of each stage (decode, keypoints, cleaning, fit, physics
    projection and refinement); "keypoints" counts decoding and the detector, "after keypoints"
    everything after it (wall clock, and per second of the process's own CPU time, which a busy
    shared machine disturbs less).
(d) **Fit settings** (``--baseline``): every rendered clip is fitted again from the same keypoints
    with the earlier fit settings (:data:`BASELINE_FIT`: 6D rotations, windows of 120 frames, lifting
    prior weight 1; the other speed-ups, one-level-at-a-time kinematics, one axis-angle conversion per
    step and one BLAS thread, are in both) and the table compares accuracy and fit speed in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from humokit.body import create_body
from humokit.motion.dataset import split_names
from humokit.motion.motion import Motion
from humokit.motion.skeleton import Skeleton
from humokit.optim import metrics as M
from humokit.optim.fit import FitConfig
from humokit.optim.preview import write_mp4
from humokit.optim.recover import Recovery, recover_track, recover_video
from humokit.optim.scale import BodyFamily, stature
from humokit.optim.people import detect_track
from humokit.optim.track import KeypointTrack
from humokit.render.camera import Camera, look_at
from humokit.render.raster import rasterize, shade

W, H = 640, 480


def _background(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "plain":
        g = np.linspace(200, 150, H)[:, None, None] * np.ones((1, W, 3))
        return g.astype(np.uint8)
    img = Image.new("RGB", (W, H), tuple(int(c) for c in rng.integers(60, 200, 3)))
    d = ImageDraw.Draw(img)
    d.rectangle([0, int(H * 0.55), W, H], fill=tuple(int(c) for c in rng.integers(40, 160, 3)))
    for _ in range(40):
        x, y = rng.integers(0, W), rng.integers(0, H)
        w, h = rng.integers(10, 160), rng.integers(10, 160)
        col = tuple(int(c) for c in rng.integers(0, 255, 3))
        (d.rectangle if rng.random() < 0.5 else d.ellipse)([x, y, x + w, y + h], fill=col)
    for _ in range(15):
        d.line([tuple(rng.integers(0, W, 1).tolist() + rng.integers(0, H, 1).tolist()),
                tuple(rng.integers(0, W, 1).tolist() + rng.integers(0, H, 1).tolist())],
               fill=tuple(int(c) for c in rng.integers(0, 255, 3)), width=int(rng.integers(2, 8)))
    arr = np.asarray(img.filter(ImageFilter.GaussianBlur(1.0))).astype(np.float32)
    arr += rng.normal(scale=8.0, size=arr.shape)
    return arr.clip(0, 255).astype(np.uint8)


def _random_camera(joints: np.ndarray, rng: np.random.Generator, focal: float | None = None) -> Camera:
    root = joints[:, 0]
    target = np.array([root[:, 0].mean(), 0.9, root[:, 2].mean()])
    extent = float(np.ptp(root[:, [0, 2]], axis=0).max())
    dist = rng.uniform(3.0, 5.0) + 0.5 * extent
    el, az = math.radians(rng.uniform(0, 25)), rng.uniform(0, 2 * math.pi)
    f = float(focal) if focal else float(max(W, H))  # default: max(w, h), the field-of-view prior's focal
    # a longer lens films from further away: the person keeps about the same image size
    dist = 0.5 * extent + (dist - 0.5 * extent) * f / max(W, H)
    eye = target + dist * np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    fov = 2 * math.degrees(math.atan(0.5 * H / f))
    return look_at(eye, target, fov_y=fov, width=W, height=H)


def render_truth_video(path: Path, motion: Motion, bg: str, seed: int,
                       phenotype: dict | None = None, focal: float | None = None) -> tuple[np.ndarray, Camera, float]:
    """Render ``motion`` on Anny (``phenotype``, default Anny's) through a camera of ``focal`` pixels (default
    ``max(w, h)``); returns (truth joints (T,22,3) of the rendered body, camera, seconds)."""
    t0 = time.perf_counter()
    body = create_body("anny")
    out = body.forward(motion, shape=phenotype)
    joints = out.joints.numpy()
    rng = np.random.default_rng(seed)
    cam = _random_camera(joints, rng, focal)
    back = _background(bg, rng)
    skin = torch.tensor([0.85, 0.68, 0.58]).expand(out.vertices.shape[1], 3)
    frames = []
    for t in range(len(joints)):
        v = out.vertices[t]
        ras = rasterize(v, out.faces, cam)
        sh = shade(ras, v, out.faces, cam, vertex_colors=skin, ambient=0.3)
        img = back.copy()
        m = ras.mask.numpy()
        img[m] = (sh.rgb.numpy()[m] * 255).astype(np.uint8)
        frames.append(img)
    write_mp4(path, frames, fps=motion.fps)
    return joints, cam, time.perf_counter() - t0


def _test_motions(data: Path, n: int, frames: int, seed: int, split_name: str = "test") -> list[tuple[str, Motion]]:
    names = []
    if (data / f"{split_name}.txt").exists():
        names = [n for n in split_names(data, split_name) if not n.startswith("M")]
    out: list[tuple[str, Motion]] = []
    if names:
        rng = np.random.default_rng(seed)
        # prefer locomotion and varied actions: spread the picks over the (sorted) list
        order = rng.permutation(len(names))
        for i in order:
            p = data / "motions" / f"{names[i]}.npz"
            if not p.exists():
                continue
            m = Motion.load(str(p))
            if m.num_frames < frames:
                continue
            s = int(rng.integers(0, m.num_frames - frames + 1))
            out.append((names[i], m.slice(s, s + frames)))
            if len(out) >= n:
                break
    if not out:
        from humokit.motion.builtin import builtin_motion

        for nm in ("walk", "squat", "wave")[:n]:
            out.append((f"builtin:{nm}", builtin_motion(nm, seconds=frames / 20, fps=20)))
    return out


BASELINE_FIT = {"rotations": "6d", "window": 120, "w_lift": 1.0}
"""The fit's settings before it was made faster (``--baseline`` compares them in the same run)."""


def _stage_fps(rows: list[dict]) -> dict[str, float]:
    frames = sum(r["frames"] for r in rows)
    tot = {k: sum(r["timings"].get(k, 0.0) for r in rows) for k in ("decode", "detect", "clean", "init", "fit", "physics")}
    out = {k: frames / v if v > 0 else float("inf") for k, v in tot.items()}
    kp = tot["decode"] + tot["detect"]
    out["keypoints"] = frames / kp if kp > 0 else float("inf")
    fit_all = tot["clean"] + tot["init"] + tot["fit"] + tot["physics"]
    out["after keypoints"] = frames / fit_all if fit_all > 0 else float("inf")
    cpu = sum(r.get("cpu_s", 0.0) for r in rows)
    if cpu > 0:
        out["after keypoints, CPU"] = frames / cpu
    return out


def _timed_recovery(raw: KeypointTrack, **kw: object) -> tuple[Recovery, float]:
    """:func:`recover_track` and the CPU seconds the process spent in it."""
    c0 = time.process_time()
    rec = recover_track(raw, **kw)  # type: ignore[arg-type]
    return rec, time.process_time() - c0


def _scores(rec: Recovery, gt: np.ndarray, cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """World and camera-frame joints of the fit and the truth over the fitted span: ``(P, G, Pc, Gc)``."""
    P = rec.fit.motion.joints()
    s0 = rec.track.start  # the motion starts where the person is first reliably seen
    n = min(len(P), len(gt) - s0)
    P, G = P[:n], gt[s0 : s0 + n]
    return P, G, P @ rec.fit.camera.R.T + rec.fit.camera.t, G @ cam.R.T + cam.t


def skate_mm(joints: np.ndarray, skeleton: Skeleton) -> float:
    """PhysDiff foot skating (mm) of ``joints (T, 22, 3)`` with the sole heights of ``skeleton``."""
    return M.foot_skate(joints, skeleton.sole_heights())


def path_length(joints: np.ndarray, fps: float, every_s: float = 0.2) -> float:
    """Length (m) of the pelvis path on the ground plane of ``joints (T, 22, 3)``, sampled every ``every_s``."""
    step = max(1, int(round(fps * every_s)))
    p = joints[::step, 0][:, [0, 2]]
    if (len(joints) - 1) % step:
        p = np.concatenate([p, joints[-1:, 0][:, [0, 2]]])
    return float(np.linalg.norm(np.diff(p, axis=0), axis=-1).sum())


_MIRROR = [0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20]
_LIMBS = {"legs": [4, 5, 7, 8, 10, 11], "arms": [18, 19, 20, 21]}


def lr_swaps(pred_cam: np.ndarray, gt_cam: np.ndarray, *, margin: float = 0.5, min_error: float = 0.1) -> int:
    """Frames where the fitted legs or arms match the truth's left/right mirror better than the truth.

    Camera-frame joints ``(T, 22, 3)``, pelvis aligned; a limb group is swapped when its error against the
    truth with left and right exchanged is below ``margin`` x its error against the truth, and that error is
    over ``min_error`` metres.
    """
    p = pred_cam - pred_cam[:, :1]
    g = gt_cam - gt_cam[:, :1]
    gm = g[:, _MIRROR]
    bad = np.zeros(len(p), dtype=bool)
    for idx in _LIMBS.values():
        e = np.linalg.norm(p[:, idx] - g[:, idx], axis=-1).mean(-1)
        em = np.linalg.norm(p[:, idx] - gm[:, idx], axis=-1).mean(-1)
        bad |= (em < margin * e) & (e > min_error)
    return int(bad.sum())


def _pelvis_px(rec: Recovery, n: int) -> float:
    """Median image distance (px) between the saved motion's projected mid-hip and the detected mid-hip."""
    names = rec.track.names
    if "left_hip" not in names or "right_hip" not in names:
        return float("nan")
    from humokit.render.camera import project

    J = rec.fit.motion.joints()[:n]
    uvp, _ = project(rec.fit.camera, 0.5 * (J[:, 1] + J[:, 2]))
    uv = 0.5 * (rec.track.uv[:n, names.index("left_hip")] + rec.track.uv[:n, names.index("right_hip")])
    d = np.linalg.norm(uvp - uv, axis=-1)[rec.fit.detected[:n]]
    return float(np.median(d)) if len(d) else float("nan")


def _config(items: list[str]) -> FitConfig:
    """FitConfig with ``KEY=VALUE`` overrides (values parsed as Python literals)."""
    import ast
    import dataclasses

    fields = {f.name for f in dataclasses.fields(FitConfig)}
    kw = {}
    for it in items:
        key, _, val = it.partition("=")
        if key not in fields:
            raise SystemExit(f"--set: unknown FitConfig field {key!r}")
        kw[key] = ast.literal_eval(val)
    return FitConfig(**kw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--motions", type=int, default=4, help="test-split motions to render")
    ap.add_argument("--frames", type=int, default=100, help="frames per rendered segment")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("HUMOKIT_DATA", "/root/humokit_data/v1")))
    ap.add_argument("--videos", type=Path,
                    default=Path(os.environ.get("HUMOKIT_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared")) / "data" / "videos")
    ap.add_argument("--backgrounds", default="plain,cluttered")
    ap.add_argument("--split", choices=("test", "val"), default="test",
                    help="which split's motions to render (tune on val, report test)")
    ap.add_argument("--keep", type=Path, default=None,
                    help="keep rendered videos, truth and raw keypoints here and reuse them")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a FitConfig field (repeatable)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    ap.add_argument("--save-fits", type=Path, default=None,
                    help="write each clip's fitted and true world joints and cameras here (fit_<clip>.npz)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--heights", default="1.5,1.9,1.7,1.6",
                    help="rendered body heights in metres, one per motion in turn ('default' = Anny's default body)")
    ap.add_argument("--physics", choices=("kinematic", "none"), default="kinematic")
    ap.add_argument("--focal", type=float, default=None,
                    help="render with this focal length as a multiple of max(w, h) (e.g. 0.7, 1.5; default 1): "
                         "the recovery is not told it and measures it or keeps its prior")
    ap.add_argument("--clips", default=None,
                    help="comma-separated indices of the motions to run (default: all --motions)")
    ap.add_argument("--heading", action="store_true",
                    help="turn walking bodies to face their direction of travel (recover_track heading=True)")
    ap.add_argument("--baseline", action="store_true",
                    help="also fit every rendered clip with the earlier, slower fit settings (BASELINE_FIT) and compare")
    ap.add_argument("--known-camera-height", action="store_true",
                    help="give the fit the rendered camera's true height (the scale cue a user can measure)")
    args = ap.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    body = create_body("anny")
    skel = body.rest(body.default_shape()).skeleton
    family = BodyFamily.anny(body)
    heights = [None if h.strip() == "default" else float(h) for h in args.heights.split(",")]
    config = _config(args.set)
    results: dict[str, list[dict]] = {"rendered": [], "real": []}
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="humokit_recover_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)

    # (a) rendered truth
    motions = _test_motions(args.data, args.motions, args.frames, args.seed, args.split)
    only = None if args.clips is None else {int(c) for c in args.clips.split(",")}
    for mi, (name, motion) in enumerate(motions):
        if only is not None and mi not in only:
            continue
        h_want = heights[mi % len(heights)]
        if h_want is None:
            phen, skel_true = None, skel
        else:
            skel_true, phen = family.at(h_want)
        for bg in args.backgrounds.split(","):
            stem = f"{args.split}_s{args.seed}_f{args.frames}_{mi}_{bg}" + ("" if h_want is None else f"_h{h_want:.2f}")
            stem += f"_fx{args.focal:.2f}" if args.focal not in (None, 1.0) else ""
            vid = workdir / f"truth_{stem}.mp4"
            cache = workdir / f"truth_{stem}.npz"
            track_path = workdir / f"track_{stem}.npz"
            if args.keep is not None and cache.exists() and track_path.exists() and str(np.load(cache)["name"]) == name:
                d = np.load(cache)
                gt, t_render = d["joints"], 0.0
                cam = Camera(d["K"], d["R"], d["t"], int(d["size"][0]), int(d["size"][1]))
                raw: KeypointTrack | None = KeypointTrack.load(track_path)
                raw = KeypointTrack(raw.names, raw.uv, raw.confidence, raw.world, raw.found, raw.fps, raw.width,
                                    raw.height, {k: float(v) for k, v in zip(d["timing_keys"], d["timing_values"])})
            else:
                gt, cam, t_render = render_truth_video(vid, motion, bg, seed=args.seed * 1000 + mi, phenotype=phen,
                                                       focal=None if args.focal is None else args.focal * max(W, H))
                raw = None
            row = {"name": name, "background": bg, "frames": len(gt), "render_s": t_render}
            try:
                if raw is None:
                    raw = detect_track(vid, progress=False)
                    if args.keep is not None:
                        raw.save(track_path)
                        np.savez(cache, name=name, joints=gt, K=cam.K, R=cam.R, t=cam.t, size=[cam.width, cam.height],
                                 timing_keys=list(raw.timings), timing_values=list(raw.timings.values()))
                cfg = config
                if args.known_camera_height:
                    import dataclasses

                    cfg = dataclasses.replace(config, camera_height=float(cam.center[1]))
                rec, cpu_s = _timed_recovery(raw, skeleton=skel, config=cfg, progress=False, physics=args.physics,
                                             body=body, heading=args.heading)
                if args.baseline:
                    import dataclasses

                    rec_b, cpu_b = _timed_recovery(raw, skeleton=skel, config=dataclasses.replace(cfg, **BASELINE_FIT),
                                                   progress=False, physics=args.physics, body=body,
                                                   heading=args.heading)
                    Pb, Gb, Pbc, Gbc = _scores(rec_b, gt, cam)
                    row["baseline"] = {"pa_mpjpe": M.pa_mpjpe(Pb, Gb), "accel": M.accel_error(Pbc, Gbc),
                                       "frames": len(Pb), "timings": rec_b.timings, "cpu_s": cpu_b}
            except Exception as exc:  # a failed recovery is a result too
                row["error"] = str(exc)
                results["rendered"].append(row)
                print(f"  {name} [{bg}]: FAILED {exc}")
                continue
            P, G, Pc, Gc = _scores(rec, gt, cam)
            n = len(P)
            fps = rec.fit.motion.fps
            lp, lg = path_length(P, fps), path_length(G, fps)
            det = rec.fit.detected
            row.update({
                "mpjpe": M.mpjpe(Pc, Gc), "pa_mpjpe": M.pa_mpjpe(P, G), "w_mpjpe": M.w_mpjpe(P, G, segment=100),
                "wa_mpjpe": M.wa_mpjpe(P, G), "turn2f_deg": M.first_frames_turn(P, G),
                "accel": M.accel_error(Pc, Gc), "skate": skate_mm(P, rec.fit.motion.skeleton),
                "skate_truth": skate_mm(G, skel_true),
                "path_m": lp, "path_truth_m": lg, "path_err_pct": 100 * (lp - lg) / lg if lg > 0.5 else float("nan"),
                "height_fit": stature(rec.fit.motion.skeleton), "height_truth": stature(skel_true),
                "size_cues": {c.name: c.height for c in (rec.fit.size.cues if rec.fit.size else ())},
                "depth_ratio": float(np.median(Pc[:, 0, 2] / Gc[:, 0, 2])),
                "swaps": lr_swaps(Pc, Gc),
                "reproj_px": rec.fit.mean_reprojection(),
                "pelvis_px": _pelvis_px(rec, n),
                "found": float(rec.raw_track.found.mean()), "timings": rec.timings, "cpu_s": cpu_s,
                "cam_height_err": abs(float(rec.fit.camera.center[1] - (cam.center[1] - 0.0))),
                "pitch": math.degrees(math.asin(-float(rec.fit.camera.R[2, 1]))),
                "pitch_truth": math.degrees(math.asin(-float(cam.R[2, 1]))),
                "cam_height": float(rec.fit.camera.center[1]), "cam_height_truth": float(cam.center[1]),
                "focal": float(rec.fit.camera.K[0, 0]), "focal_truth": float(cam.K[0, 0]),
                "focal_source": rec.focal.source if rec.focal is not None else "",
            })
            results["rendered"].append(row)
            if args.save_fits is not None:
                args.save_fits.mkdir(parents=True, exist_ok=True)
                np.savez(args.save_fits / f"fit_{stem}.npz", pred=P, gt=G, pred_R=rec.fit.camera.R,
                         pred_t=rec.fit.camera.t, pred_K=rec.fit.camera.K, gt_R=cam.R, gt_t=cam.t, gt_K=cam.K,
                         fps=fps, start=rec.track.start)
            cues = ", ".join(f"{k} {v:.2f}" for k, v in row["size_cues"].items())
            print(f"  {name} [{bg}]: PA-MPJPE {row['pa_mpjpe']:.1f} mm, MPJPE {row['mpjpe']:.1f}, "
                  f"W-MPJPE {row['w_mpjpe']:.1f} (WA {row['wa_mpjpe']:.1f}, first frames turned {row['turn2f_deg']:.1f} deg), path {lp:.2f} m (truth {lg:.2f}), height {row['height_fit']:.2f} m "
                  f"(truth {row['height_truth']:.2f}; {cues}), depth x{row['depth_ratio']:.3f}, "
                  f"skate {row['skate']:.1f} (truth {row['skate_truth']:.1f}), swaps {row['swaps']}, "
                  f"pitch {row['pitch']:.1f} (truth {row['pitch_truth']:.1f}) deg, camera height {row['cam_height']:.2f} "
                  f"(truth {row['cam_height_truth']:.2f}) m, focal {row['focal']:.0f} px {row['focal_source']} "
                  f"(truth {row['focal_truth']:.0f})", flush=True)

    # (b) real videos
    if not args.skip_real and args.videos.is_dir():
        for vid in sorted(args.videos.glob("*.mp4")):
            try:
                c0 = time.process_time()
                rec = recover_video(vid, skeleton=skel, config=config, progress=False, physics=args.physics, body=body)
                cpu_s = time.process_time() - c0 - sum(rec.timings.get(k, 0.0) for k in ("decode", "detect"))
            except Exception as exc:
                results["real"].append({"name": vid.name, "error": str(exc), "frames": 0, "timings": {}})
                print(f"  {vid.name}: FAILED {exc}")
                continue
            P = rec.fit.motion.joints()
            track = rec.raw_track
            good = track.confidence > 0.3
            hts = [np.ptp(track.uv[t][good[t]][:, 1]) for t in range(track.num_frames) if good[t].sum() > 3]
            err = rec.fit.reprojection_error[rec.fit.detected]  # frames with a detection (others are NaN)
            row = {"name": vid.name, "frames": len(P), "found": float(track.found.mean()),
                   "reproj_px": float(np.median(err)), "reproj_pct": float(np.median(err) / np.median(hts) * 100),
                   "jitter": M.jitter(P, rec.fit.motion.fps), "skate": skate_mm(P, rec.fit.motion.skeleton), "timings": rec.timings,
                   "cpu_s": cpu_s,
                   "size": f"{track.width}x{track.height}"}
            results["real"].append(row)
            print(f"  {vid.name}: reprojection {row['reproj_px']:.1f} px ({row['reproj_pct']:.1f} %), "
                  f"skate {row['skate']:.1f} mm", flush=True)

    # tables
    ok = [r for r in results["rendered"] if "error" not in r]
    print(f"\n(a) rendered {args.split}-split motions with 3D truth (mm; accel mm/frame^2)")
    print(f"{'motion':<30} {'bg':<9} {'MPJPE':>6} {'PA-MPJPE':>8} {'W-MPJPE':>7} {'WA':>5} {'turn':>4} {'path%':>6} {'h fit':>5} "
          f"{'h true':>6} {'accel':>5} {'skate':>5} {'gt sk':>5} {'swaps':>5} {'reproj':>6} {'found':>5}")
    for r in results["rendered"]:
        if "error" in r:
            print(f"{r['name'][:30]:<30} {r['background']:<9} FAILED: {r['error']}")
            continue
        print(f"{r['name'][:30]:<30} {r['background']:<9} {r['mpjpe']:6.1f} {r['pa_mpjpe']:8.1f} {r['w_mpjpe']:7.1f} "
              f"{r['wa_mpjpe']:5.0f} {r['turn2f_deg']:4.1f} "
              f"{r['path_err_pct']:6.1f} {r['height_fit']:5.2f} {r['height_truth']:6.2f} {r['accel']:5.1f} "
              f"{r['skate']:5.1f} {r['skate_truth']:5.1f} {r['swaps']:5d} {r['reproj_px']:6.1f} {r['found']:5.2f}")
    if ok:
        keys = ("mpjpe", "pa_mpjpe", "w_mpjpe", "wa_mpjpe", "turn2f_deg", "accel", "skate", "skate_truth", "found", "reproj_px")
        mean = {k: float(np.mean([r[k] for r in ok])) for k in keys}
        paths = [abs(r["path_err_pct"]) for r in ok if math.isfinite(r["path_err_pct"])]
        mean["abs_path_err_pct"] = float(np.mean(paths)) if paths else float("nan")
        mean["abs_height_err_pct"] = float(np.mean([abs(r["height_fit"] / r["height_truth"] - 1) * 100 for r in ok]))
        mean["swaps"] = float(sum(r["swaps"] for r in ok))
        mean["abs_focal_err_pct"] = float(np.mean([abs(r["focal"] / r["focal_truth"] - 1) * 100 for r in ok]))
        print(f"{'mean':<30} {'':<9} {mean['mpjpe']:6.1f} {mean['pa_mpjpe']:8.1f} {mean['w_mpjpe']:7.1f} "
              f"{mean['wa_mpjpe']:5.0f} {mean['turn2f_deg']:4.1f} "
              f"{mean['abs_path_err_pct']:6.1f} {'':>5} {'':>6} {mean['accel']:5.1f} {mean['skate']:5.1f} "
              f"{mean['skate_truth']:5.1f} {int(mean['swaps']):5d} {mean['reproj_px']:6.1f} {mean['found']:5.2f}")
        print(f"  (path% and height: mean |error| {mean['abs_path_err_pct']:.1f} % over clips with a path > 0.5 m, "
              f"{mean['abs_height_err_pct']:.1f} %; focal mean |error| {mean['abs_focal_err_pct']:.1f} %; targets PA-MPJPE < 45, W-MPJPE < 150, |path| < 5 %, accel < 6, "
              f"skate <= truth, swaps 0)")
        results["rendered_mean"] = mean  # type: ignore[assignment]
    if results["real"]:
        print("\n(b) real videos (no 3D truth)")
        print(f"{'video':<34} {'size':>10} {'frames':>6} {'found':>6} {'reproj px':>9} {'% height':>8} {'jitter':>7} {'skate':>6}")
        for r in results["real"]:
            if "error" in r:
                print(f"{r['name']:<34} FAILED: {r['error']}")
                continue
            print(f"{r['name']:<34} {r['size']:>10} {r['frames']:6d} {r['found']:6.2f} {r['reproj_px']:9.1f} "
                  f"{r['reproj_pct']:8.1f} {r['jitter']:7.1f} {r['skate']:6.1f}")
    all_rows = [r for r in results["rendered"] + results["real"] if "error" not in r]
    if all_rows:
        sp = _stage_fps(all_rows)
        print(f"\n(c) CPU speed, frames/s (torch threads {torch.get_num_threads()}, "
              f"{os.cpu_count()} cores visible, shared machine)")
        for k, v in sp.items():
            print(f"  {k:<22} {v:8.1f}")
        print("  (target: after keypoints >= 15 frames/s on the 2 cores)")
        results["speed_fps"] = sp  # type: ignore[assignment]
    with_b = [r for r in ok if "baseline" in r]
    if with_b:
        base = [r["baseline"] for r in with_b]
        print(f"\n(d) fit settings on the same {len(with_b)} clips' keypoints (after keypoints: wall / CPU frames/s)")
        print(f"{'settings':<48} {'PA-MPJPE':>8} {'accel':>6} {'fit fps':>8} {'CPU fps':>8}")
        for label, rows in (("baseline " + ", ".join(f"{k}={v}" for k, v in BASELINE_FIT.items()), base),
                            ("current" + (" (" + ", ".join(args.set) + ")" if args.set else ""), with_b)):
            s = _stage_fps(rows)
            print(f"{label[:48]:<48} {np.mean([r['pa_mpjpe'] for r in rows]):8.1f} {np.mean([r['accel'] for r in rows]):6.1f} "
                  f"{s['after keypoints']:8.1f} {s.get('after keypoints, CPU', float('nan')):8.1f}")
        results["baseline_fit"] = {"settings": BASELINE_FIT, "speed_fps": _stage_fps(base),  # type: ignore[assignment]
                                   "pa_mpjpe": float(np.mean([r["pa_mpjpe"] for r in base])),
                                   "accel": float(np.mean([r["accel"] for r in base]))}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
