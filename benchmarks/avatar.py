"""Gaussian avatar benchmark: synthetic ground truth, a real video, and CPU speed.

Run: ``python benchmarks/avatar.py synthetic|video|speed [options] [--out DIR]``.

- ``synthetic``: the Anny body painted by part with stripes
  (:func:`humokit.avatars.avatar_synthetic.pattern_colors`) performs a real
  mocap clip (``/root/humokit_data/v1/motions``; the built-in walk when
  absent) filmed by a camera circling it twice (mesh rasterizer, unlit
  albedo, 256x256). An avatar is trained on the first half of the frames;
  PSNR / SSIM are reported on the second half (held-out frames: new poses and
  new camera positions) and on held-out poses of clips from the test split
  seen by four ring cameras. ``psnr`` is over the full image (black
  background included, as in ZJU-MoCap protocols); ``psnr_fg`` only over
  pixels where the person is in the ground truth or the render. LPIPS is not
  reported: its network weights are not available offline.
- ``video``: ``humokit avatar train`` on a real video, then renders in novel
  poses (PNGs to look at) and the training-view PSNR.
- ``speed``: render frames/s of a 12k-Gaussian avatar (or ``--avatar DIR``) at 256x256 and 512x512
  (pair-list splatter, back-face culling) vs the tiled ``render_gaussians``, and
  one training step's time.

Results are printed and written to ``DIR/results_<mode>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

DATA = Path("/root/humokit_data/v1")
TRAIN_CLIP = "bn1_dance-short_normal_001_w0"
TEST_CLIPS = ("bn1_walk-back_sad_001_w0", "bn1_bow_feminine_001_w0")


def _motion(name: str, frames: int):  # type: ignore[no-untyped-def]
    from humokit.motion.builtin import builtin_motion
    from humokit.motion.motion import Motion

    p = DATA / "motions" / f"{name}.npz"
    if p.exists():
        m = Motion.load(str(p))
    else:
        m = builtin_motion("walk", seconds=frames / 20.0, fps=20)
    return m.slice(0, frames)


def _save_grid(path: Path, rows: list[np.ndarray]) -> None:
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.imwrite(path, np.concatenate(rows, axis=0))


def _renders(avatar, frames, idx):  # type: ignore[no-untyped-def]
    from humokit.avatars.gaussian_avatar import pose_on_mesh, render_avatar
    from humokit.body import pose_rest_body

    out = []
    with torch.no_grad():
        for t in idx:
            R = torch.as_tensor(frames.R_local[t])
            V = pose_rest_body(avatar.rest, R[None], torch.as_tensor(frames.root[t])[None]).vertices[0]
            img = render_avatar(pose_on_mesh(avatar, V, R), frames.cameras[t]).rgb.clamp(0, 1)
            out.append((img.numpy() * 255).round().astype(np.uint8))
    return out


def synthetic(args: argparse.Namespace) -> dict:
    from humokit.avatars.avatar_synthetic import orbit_cameras, pattern_colors, render_mesh_frames, synthetic_frames
    from humokit.avatars.fit import AvatarFrames, AvatarTrainConfig, evaluate_avatar, train_avatar
    from humokit.avatars.gaussian_avatar import init_avatar, save_avatar
    from humokit.body import create_body

    body = create_body("anny")
    rest = body.rest(body.default_shape())
    m = _motion(TRAIN_CLIP, args.frames)
    fr = synthetic_frames(rest, m, size=args.size, turns=2.0)
    T = fr.num_frames
    train, test = fr.subset(np.arange(T // 2)), fr.subset(np.arange(T // 2, T))
    if args.pose_noise > 0:  # corrupt the training poses (as monocular recovery would), images stay exact
        from dataclasses import replace

        from humokit.motion.rotations import rotvec_to_rotmat

        rng = np.random.default_rng(args.seed)
        noise = rng.normal(scale=np.radians(args.pose_noise), size=train.R_local.shape[:2] + (3,))
        dR = np.asarray(rotvec_to_rotmat(noise), dtype=np.float32)
        root = train.root + rng.normal(scale=0.01, size=train.root.shape).astype(np.float32)
        train = replace(train, R_local=(train.R_local @ dR).astype(np.float32), root=root)
    # held-out poses: other clips, 4 ring cameras
    cols = pattern_colors(rest)
    novel = []
    for name in TEST_CLIPS:
        mm = _motion(name, 40).slice(0, 40, 4)
        h = -rest.skeleton.floor_height() / -mm.skeleton.floor_height()
        root = (mm.root_position * h).astype(np.float32)
        for k, az in enumerate((0.0, 90.0, 180.0, 270.0)):
            cams = orbit_cameras(root.astype(np.float64), size=args.size, turns=0.0, start_azimuth=az)
            imgs, masks = render_mesh_frames(rest, cols, mm.rotations, root, cams)
            novel.append(AvatarFrames(imgs, masks, cams, mm.rotations, root))
    av = init_avatar(rest, num_gaussians=args.gaussians, sh_degree=args.sh_degree, seed=args.seed)
    cfg = AvatarTrainConfig(iters=args.iters, seed=args.seed, threads=args.threads or 1, densify_until=int(0.6 * args.iters),
                            max_gaussians=args.max_gaussians, densify_every=args.densify_every,
                            refine_poses=args.refine_poses)
    res = train_avatar(av, train, cfg, time_limit=args.time_limit, progress=True)
    out = Path(args.out)
    save_avatar(res.avatar, out / "synthetic_avatar")
    ev_train = evaluate_avatar(res.avatar, train.subset(np.arange(0, train.num_frames, 4)))
    ev_test = evaluate_avatar(res.avatar, test)
    nv = [evaluate_avatar(res.avatar, f) for f in novel]
    ev_novel = {k: float(np.mean([e[k] for e in nv])) for k in ("psnr", "ssim", "psnr_fg")}
    idx = [0, len(test.images) // 3, 2 * len(test.images) // 3]
    _save_grid(out / "synthetic_heldout.png", [np.concatenate([test.images[i] for i in idx], 1),
                                               np.concatenate(_renders(res.avatar, test, idx), 1)])
    nf = novel[1]
    _save_grid(out / "synthetic_novel_pose.png", [np.concatenate(list(nf.images[[0, 5, 9]]), 1),
                                                  np.concatenate(_renders(res.avatar, nf, [0, 5, 9]), 1)])
    r = {
        "clip": TRAIN_CLIP if (DATA / "motions").exists() else "builtin walk",
        "size": args.size, "train_frames": train.num_frames, "test_frames": test.num_frames,
        "iters_done": int(res.history[-1]["iter"]) if res.history else 0,
        "train_seconds": round(res.seconds, 1), "num_gaussians": res.avatar.num_gaussians,
        "threads": args.threads or 1,
        "train_views": ev_train, "heldout_frames": ev_test, "heldout_poses": ev_novel,
        "lpips": "not available offline (needs downloaded network weights)",
        "pose_noise_deg": args.pose_noise, "refine_poses": args.refine_poses,
    }
    return r


def speed(args: argparse.Namespace) -> dict:
    from humokit.avatars.avatar_synthetic import pattern_colors
    from humokit.avatars.gaussian_avatar import init_avatar, pose_on_mesh, render_avatar
    from humokit.body import create_body, pose_rest_body
    from humokit.motion.builtin import builtin_motion
    from humokit.render.camera import look_at
    from humokit.render.gaussians import render_gaussians

    torch.set_num_threads(args.threads or 1)
    body = create_body("anny")
    rest = body.rest(body.default_shape())
    if args.avatar:
        from humokit.avatars.gaussian_avatar import load_avatar

        av = load_avatar(args.avatar)
    else:
        av = init_avatar(rest, num_gaussians=args.gaussians, colors=pattern_colors(rest))
    m = builtin_motion("walk", seconds=1.0, fps=10)
    R = torch.as_tensor(m.rotations)
    root = torch.as_tensor(m.root_position)
    res: dict = {"num_gaussians": av.num_gaussians, "threads": torch.get_num_threads()}
    for size in (256, 512):
        cam = look_at(np.array([0.5, 1.0, 3.0]), np.array([0.0, 0.9, 0.0]), fov_y=40.0, width=size, height=size)
        with torch.no_grad():
            def frame(t: int, fast: bool = True):  # type: ignore[no-untyped-def]
                V = pose_rest_body(av.rest, R[t][None], root[t][None]).vertices[0]
                pa = pose_on_mesh(av, V, R[t])
                return render_avatar(pa, cam) if fast else render_gaussians(pa.gaussians, cam, tile=8)

            frame(0)
            t0, c0 = time.perf_counter(), time.process_time()
            for t in range(m.num_frames):
                frame(t)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            t1 = time.perf_counter()
            frame(0, fast=False)
            tiled = time.perf_counter() - t1
        res[f"render_{size}"] = {"fps": round(m.num_frames / wall, 2), "cpu_s_per_frame": round(cpu / m.num_frames, 4),
                                 "tiled_render_gaussians_s_per_frame": round(tiled, 3)}
    return res


def video(args: argparse.Namespace) -> dict:
    from click.testing import CliRunner

    from humokit.avatars.avatar_render import avatar_clip  # noqa: F401  (import check)
    from humokit.avatars.cli import avatar as avatar_cli
    from humokit.avatars.gaussian_avatar import load_avatar, pose_on_mesh, posed_frames, render_avatar  # noqa: F401
    from humokit.motion.builtin import builtin_motion
    from humokit.render.camera import look_at

    out = Path(args.out)
    adir = out / "video_avatar"
    cmd = ["train", str(args.video), "-o", str(adir), "--iters", str(args.iters), "--size", str(args.size),
           "--gaussians", str(args.gaussians), "--sh-degree", str(args.sh_degree)]
    if args.max_frames:
        cmd += ["--max-frames", str(args.max_frames)]
    if args.time_limit:
        cmd += ["--time-limit", str(args.time_limit)]
    t0 = time.perf_counter()
    r = CliRunner().invoke(avatar_cli, cmd, catch_exceptions=False)
    secs = time.perf_counter() - t0
    print(r.output)
    av = load_avatar(adir)
    info = json.loads((adir / "avatar.json").read_text())
    # novel poses: the built-in walk and a mocap clip, from the front and the side
    rows = []
    for m in (builtin_motion("walk", seconds=2.0, fps=10), _motion(TEST_CLIPS[1], 60).slice(0, 60, 6)):
        imgs = []
        for t, pa in enumerate(posed_frames(av, m)):
            if t % max(1, m.num_frames // 3):
                continue
            c = pa.vertices.mean(0).numpy().astype(np.float64)
            for az in (0.0, 60.0):
                eye = c + 2.6 * np.array([np.sin(np.radians(az)), 0.15, np.cos(np.radians(az))])
                cam = look_at(eye, c, fov_y=40.0, width=256, height=320)
                with torch.no_grad():
                    img = render_avatar(pa, cam, background=(1.0, 1.0, 1.0)).rgb.clamp(0, 1)
                imgs.append((img.numpy() * 255).round().astype(np.uint8))
        rows.append(np.concatenate(imgs[:6], 1))
    _save_grid(out / "video_novel_poses.png", rows)
    return {"video": str(args.video), "seconds_total": round(secs, 1), "train": info.get("train"),
            "num_gaussians": av.num_gaussians, "novel_pose_png": str(out / "video_novel_poses.png")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["synthetic", "video", "speed"])
    ap.add_argument("--out", default="avatar_bench")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=120, help="synthetic: clip frames (first half trains)")
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--time-limit", type=float, default=900.0, help="training time limit, seconds")
    ap.add_argument("--gaussians", type=int, default=12000)
    ap.add_argument("--max-gaussians", type=int, default=20000)
    ap.add_argument("--densify-every", type=int, default=100)
    ap.add_argument("--sh-degree", type=int, default=0)
    ap.add_argument("--pose-noise", type=float, default=0.0, help="synthetic: per-joint noise on training poses, degrees")
    ap.add_argument("--refine-poses", action="store_true", help="refine per-frame poses while training")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--video", default="/work/shared/data/videos/mmhuman3d_single_person_demo.mp4")
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--avatar", default=None, help="speed: a trained avatar folder instead of a fresh one")
    args = ap.parse_args()
    res = {"synthetic": synthetic, "video": video, "speed": speed}[args.mode](args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"results_{args.mode}.json").write_text(json.dumps(res, indent=1, default=float))
    print(json.dumps(res, indent=1, default=float))


if __name__ == "__main__":
    main()
