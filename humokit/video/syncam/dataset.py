"""``humokit dataset multiview``: synchronised multi-camera clips of bodies in motion, to train camera adapters.

Each scene takes one motion (a dataset's, a generated or a recovered
``.npz``), a random window of ``1 + 4k`` frames, an Anny body with a random
phenotype, clothing-like part colours (top, trousers, shoes, skin tone), a
random two-colour gradient background and ``V`` cameras (``hemisphere``:
static cameras on a hemisphere shell, SynCamVideo-style; ``moving``: camera
trajectories, ReCamMaster-style; ``ring``). Layout::

    DATASET/
      dataset.json               settings + scene list (written last)
      scene_00000/
        cam_00.mp4 ... cam_{V-1}.mp4   RGB, H.264 yuv420p, one per camera
        skeleton/cam_00.mp4 ...        lossless RGB (libx264rgb, crf 0): bones grey,
                                       joint j a disc of colour JOINT_COLORS[j]
        cameras.json             per view, per frame: K, world_to_camera (3x4),
                                 camera_to_world (4x4), relative_c2w_12 (the
                                 adapter's 12 numbers, reference view 0 frame 0,
                                 translation / scene_scale); OpenCV axes
        motion.npz               the rendered window (humokit + AMASS keys)
        caption.txt              one line, from the motion's text
        scene.json               phenotype, colours, background, layout, seed, source

A scene folder appears whole (rendered into a temporary sibling, then
renamed); existing complete scenes are skipped, so a rerun resumes.
:func:`render_scene` takes one picklable :class:`SceneJob`: any batch runner
(a process pool, a Ray task per scene) maps it over :func:`scene_jobs`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from humokit._io import atomic_path
from humokit.errors import InputError

LAYOUTS = ("hemisphere", "moving", "ring")
#: Skeleton-image colour of each of the 22 canonical joints (unique red channel); bones are BONE_COLOR.
JOINT_COLORS = np.array([(30 + 10 * j, 220, 60 + 5 * j) for j in range(22)], dtype=np.uint8)
BONE_COLOR = (128, 128, 128)
SKIN_TONES = np.array([(0.98, 0.84, 0.72), (0.90, 0.72, 0.58), (0.78, 0.57, 0.42), (0.58, 0.40, 0.28),
                       (0.40, 0.27, 0.18), (0.95, 0.78, 0.65)])
# canonical joint id -> garment: 0 top, 1 trousers, 2 shoes, 3 skin
_GARMENT = {0: 1, 1: 1, 2: 1, 3: 0, 4: 1, 5: 1, 6: 0, 7: 2, 8: 2, 9: 0, 10: 2, 11: 2, 12: 3, 13: 0, 14: 0,
            15: 3, 16: 0, 17: 0, 18: 0, 19: 0, 20: 3, 21: 3}


@dataclass(frozen=True)
class SceneJob:
    """Everything one scene needs (picklable; paths as strings)."""

    motion_path: str
    out_dir: str
    seed: int
    views: int = 4
    layout: str = "hemisphere"
    frames: int | None = 33
    fps: float | None = None
    width: int = 256
    height: int = 256
    fov: float = 40.0
    caption: str | None = None


@dataclass(frozen=True)
class SceneResult:
    """Outcome of :func:`render_scene`: the folder, frames per view, views, whether it was skipped (already there)."""

    out_dir: str
    frames: int
    views: int
    skipped: bool = False


def caption_for(motion_path: Path, meta: dict) -> str:
    """The motion's text: ``meta['text']``, else ``../texts/<stem>.txt`` (HumanML3D), else a neutral caption."""
    text = str(meta.get("text") or "").strip()
    if not text:
        t = motion_path.parent.parent / "texts" / f"{motion_path.stem}.txt"
        if t.exists():
            first = t.read_text().strip().splitlines()
            text = first[0].split("#")[0].strip() if first else ""
    return text or "a person moves"


@functools.lru_cache(maxsize=1)
def _body() -> object:
    from humokit.body import create_body

    return create_body("anny")


def _random_look(rng: np.random.Generator) -> dict:
    from humokit.body.anny import PHENOTYPE_KEYS

    ranges = {"gender": (0.0, 1.0), "age": (0.4, 0.9), "muscle": (0.2, 0.8), "weight": (0.2, 0.8),
              "height": (0.2, 0.8), "proportions": (0.3, 0.7)}
    phen = {k: round(float(rng.uniform(*ranges.get(k, (0.3, 0.7)))), 3) for k in PHENOTYPE_KEYS}
    hsv = rng.uniform([0, 0.3, 0.3], [1, 0.9, 0.95], size=(3, 3))
    import colorsys

    garments = [colorsys.hsv_to_rgb(*c) for c in hsv]
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))].tolist()
    bg = rng.uniform(0.1, 0.9, size=(2, 3))
    return {"phenotype": phen, "colors": {"top": list(garments[0]), "trousers": list(garments[1]),
                                          "shoes": list(garments[2]), "skin": skin},
            "background": {"top": bg[0].tolist(), "bottom": bg[1].tolist()}}


def _vertex_colors(part_labels: np.ndarray, colors: dict) -> np.ndarray:
    table = np.array([colors["top"], colors["trousers"], colors["shoes"], colors["skin"]])
    g = np.array([_GARMENT[int(j)] for j in range(22)])
    return table[g[np.clip(part_labels, 0, 21)]]


def _background(width: int, height: int, bg: dict) -> np.ndarray:
    s = ((np.arange(height) + 0.5) / height)[:, None, None]
    img = (1 - s) * np.array(bg["top"]) + s * np.array(bg["bottom"])
    return np.broadcast_to(img, (height, width, 3))


def draw_skeleton(uv: np.ndarray, depth: np.ndarray, width: int, height: int, radius: float) -> np.ndarray:
    """Skeleton image ``(H, W, 3)`` uint8: grey bones, then joint discs far to near.

    Args:
        uv: ``(22, 2)`` pixel coordinates (pixel centres at +0.5; NaN = behind the camera).
        depth: ``(22,)`` camera-z metres.
        radius: disc radius in pixels; a pixel belongs to joint ``j``'s disc
            when its centre lies within ``radius`` of ``uv[j]``.
    """
    from humokit.motion.skeleton import PARENTS

    img = np.zeros((height, width, 3), dtype=np.uint8)
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    ok = np.isfinite(uv).all(axis=1) & (depth > 0)
    for j, p in enumerate(PARENTS):
        if p < 0 or not (ok[j] and ok[p]):
            continue
        n = int(np.ceil(np.linalg.norm(uv[j] - uv[p]) * 2)) + 2
        pts = uv[p] + np.linspace(0, 1, n)[:, None] * (uv[j] - uv[p])
        c, r = np.floor(pts[:, 0]).astype(int), np.floor(pts[:, 1]).astype(int)
        keep = (c >= 0) & (c < width) & (r >= 0) & (r < height)
        img[r[keep], c[keep]] = BONE_COLOR
    for j in np.argsort(-np.where(ok, depth, -np.inf)):
        if not ok[j]:
            continue
        m = (cols - uv[j, 0]) ** 2 + (rows - uv[j, 1]) ** 2 <= radius**2
        img[m] = JOINT_COLORS[j]
    return img


class _LosslessVideo:
    """RGB video written losslessly (libx264rgb, crf 0): decoded frames equal the written ones."""

    def __init__(self, path: Path, fps: float) -> None:
        import imageio.v2 as imageio

        self._w = imageio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264rgb", pixelformat="rgb24",
                                     output_params=["-crf", "0", "-preset", "veryfast"], macro_block_size=1,
                                     ffmpeg_log_level="error")

    def append(self, img: np.ndarray) -> None:
        self._w.append_data(img)

    def close(self) -> None:
        self._w.close()


def _h264(path: Path, fps: float) -> object:
    import imageio.v2 as imageio

    return imageio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264", quality=8, pixelformat="yuv420p",
                              macro_block_size=16, ffmpeg_log_level="error")


def render_scene(job: SceneJob) -> SceneResult:
    """Render one scene into ``job.out_dir`` (see the module docstring); skipped when already complete."""
    import torch

    from humokit.motion.motion import Motion
    from humokit.render.camera import project
    from humokit.render.controls import check_size, clip_length, pose_clip
    from humokit.render.multiview import view_cameras
    from humokit.render.raster import rasterize, shade
    from humokit.video.cameras import relative_extrinsics, scene_scale

    out = Path(job.out_dir)
    if (out / "scene.json").exists():
        meta = json.loads((out / "scene.json").read_text())
        return SceneResult(str(out), int(meta["frames"]), int(meta["views"]), skipped=True)
    if job.layout not in LAYOUTS:
        raise InputError(f"--layout {job.layout!r}: choose {', '.join(LAYOUTS)}")
    if job.views < 1:
        raise InputError(f"--views must be at least 1, got {job.views}")
    check_size(job.width, job.height)
    rng = np.random.default_rng(job.seed)
    mpath = Path(job.motion_path)
    motion = Motion.load(str(mpath))
    if job.fps is not None and abs(job.fps - motion.fps) > 1e-6:
        motion = motion.resample(job.fps)
    n = clip_length(motion.num_frames, job.frames if job.frames is None or job.frames <= motion.num_frames
                    else None)
    if job.frames is not None and n != job.frames:
        raise InputError(f"{mpath}: {motion.num_frames} frames, shorter than --frames {job.frames}")
    start = int(rng.integers(0, motion.num_frames - n + 1))
    motion = motion.slice(start, start + n)
    caption = job.caption or caption_for(mpath, motion.meta)
    look = _random_look(rng)
    body = _body()
    clip = pose_clip(motion, body, shape=look["phenotype"])
    colors = torch.as_tensor(_vertex_colors(clip.part_labels, look["colors"]), dtype=torch.float32)
    views = view_cameras(job.layout, job.views, clip, width=job.width, height=job.height, fov_y=job.fov,  # type: ignore[arg-type]
                         seed=int(rng.integers(2**31)))
    bg = _background(job.width, job.height, look["background"])
    radius = max(2.0, job.width / 128)
    fps = float(motion.fps)

    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "skeleton").mkdir(parents=True)
    try:
        joints = clip.joints.numpy().astype(np.float64)
        for v, traj in enumerate(views):
            rgb_w = _h264(tmp / f"cam_{v:02d}.mp4", fps)
            sk_w = _LosslessVideo(tmp / "skeleton" / f"cam_{v:02d}.mp4", fps)
            for t in range(n):
                cam = traj[t]
                r = rasterize(clip.vertices[t], clip.faces, cam)
                s = shade(r, clip.vertices[t], clip.faces, cam, vertex_colors=colors)
                m = r.mask.numpy()[..., None]
                img = np.where(m, s.rgb.numpy(), bg)
                rgb_w.append_data((img * 255).round().astype(np.uint8))  # type: ignore[attr-defined]
                uv, z = project(cam, joints[t])
                sk_w.append(draw_skeleton(uv, z, job.width, job.height, radius))
            rgb_w.close()  # type: ignore[attr-defined]
            sk_w.close()
        scale = scene_scale(views)
        rel = relative_extrinsics(views, scale=scale)
        cams = {"convention": "OpenCV camera (x right, y down, z forward); world Y up, +Z forward, metres; "
                              "pixel centres at +0.5; world_to_camera = [R|t], X_cam = R X_world + t; "
                              "relative_c2w_12 = camera-to-view_00-frame-0 [R|t] row by row, t / scene_scale",
                "fps": fps, "num_frames": n, "width": job.width, "height": job.height,
                "scene_scale": scale, "views": {}}
        for v, traj in enumerate(views):
            cams["views"][f"view_{v:02d}"] = [
                {"frame": t, "time": round(t / fps, 6), **traj[t].to_dict(), "relative_c2w_12": rel[v, t].tolist()}
                for t in range(n)]
        (tmp / "cameras.json").write_text(json.dumps(cams))
        dataclasses.replace(motion, meta={**motion.meta, "text": caption}).save(str(tmp / "motion.npz"))
        (tmp / "caption.txt").write_text(caption + "\n")
        info = {"source": str(mpath), "start_frame": start, "frames": n, "views": job.views, "fps": fps,
                "layout": job.layout, "width": job.width, "height": job.height, "fov": job.fov, "seed": job.seed,
                "body": "anny", "joint_disc_radius": radius, **look}
        (tmp / "scene.json").write_text(json.dumps(info, indent=1))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SceneResult(str(out), n, job.views)


def find_motions(inputs: Sequence[str | Path]) -> list[Path]:
    """Motion ``.npz`` files from files and folders (searched recursively), sorted; one-line error if none."""
    found: list[Path] = []
    for i in inputs:
        p = Path(i)
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.npz") if not q.name.startswith("."))
        elif p.is_file():
            found.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    if not found:
        raise InputError(f"no motion .npz files in {', '.join(str(i) for i in inputs)}")
    return found


def scene_jobs(motions: Sequence[Path], out: str | Path, *, scenes: int, seed: int = 0, **settings: object) -> list[SceneJob]:
    """One job per scene: motions cycled in a seeded shuffled order, scene ``i`` seeded ``seed * 100003 + i``."""
    if scenes < 1:
        raise InputError(f"--scenes must be at least 1, got {scenes}")
    order = np.random.default_rng(seed).permutation(len(motions))
    return [SceneJob(str(motions[order[i % len(motions)]]), str(Path(out) / f"scene_{i:05d}"), seed * 100003 + i,
                     **settings)  # type: ignore[arg-type]
            for i in range(scenes)]


def build_dataset(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    scenes: int,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    **settings: object,
) -> list[SceneResult]:
    """Render ``scenes`` scenes from the motions in ``inputs`` into ``out`` and write ``dataset.json``.

    ``workers > 1`` renders scenes in that many processes (torch threads
    split between them); ``settings`` are :class:`SceneJob` fields.
    """
    motions = find_motions(inputs)
    jobs = scene_jobs(motions, out, scenes=scenes, seed=seed, **settings)
    created = not Path(out).exists()
    Path(out).mkdir(parents=True, exist_ok=True)
    try:
        results = _run(jobs, workers, progress)
    except BaseException:
        if created and not any(Path(out).iterdir()):
            Path(out).rmdir()
        raise
    first = jobs[0]
    with atomic_path(Path(out) / "dataset.json") as tmp:
        tmp.write_text(json.dumps({
            "format": "humokit-multiview", "version": 1, "layout_doc": "see humokit.video.syncam.dataset",
            "settings": {k: v for k, v in asdict(first).items() if k not in ("motion_path", "out_dir", "seed", "caption")},
            "seed": seed, "scenes": [Path(r.out_dir).name for r in results],
        }, indent=1))
    return results


def _run(jobs: list[SceneJob], workers: int, progress: Callable[[int], None] | None) -> list[SceneResult]:
    results: list[SceneResult] = []
    if workers <= 1:
        for j in jobs:
            results.append(render_scene(j))
            if progress:
                progress(1)
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        threads = max(1, (os.cpu_count() or 1) // workers)
        with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_limit_threads,
                                    initargs=(threads,)) as ex:
            for r in ex.map(render_scene, jobs):
                results.append(r)
                if progress:
                    progress(1)
    return results


def _limit_threads(n: int) -> None:
    """Worker setup: ``n`` torch threads; third-party banners to stderr (stdout belongs to the command)."""
    import sys

    import torch

    sys.stdout = sys.stderr
    torch.set_num_threads(n)
