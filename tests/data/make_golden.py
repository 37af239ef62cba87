"""Record golden outputs of the shipped checkpoints and the renderer (``tests/test_golden.py`` compares them).

Run from the repository root after a deliberate change of the shipped checkpoints or of the
generation/rendering maths (never to silence an unexplained difference)::

    PYTHONPATH=$PWD python tests/data/make_golden.py

It writes ``tests/data/golden.json``: sha256 digests of a generated motion (mask family, fixed seed,
raw and physics-projected) and of one rendered frame (mesh signals and Gaussian RGB), a few plain
numbers to read a difference by, and the sha256 of every checkpoint file the values were made with.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parent / "golden.json"
TEXT = "a person walks forward and waves with the right hand"
SECONDS = 1.0
SEED = 7
FAMILY_PARTS = ("vq", "mask", "res")


def _sha(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes()).hexdigest()


def checkpoint_digests() -> dict[str, str]:
    """sha256 of each file of the mask family's shipped checkpoints and of the caption index that grounds prompts."""
    from humokit._paths import checkpoints_dir

    base = checkpoints_dir()
    out = {}
    for part in FAMILY_PARTS:
        for f in sorted((base / part).iterdir()):
            if f.is_file():
                out[f"{part}/{f.name}"] = hashlib.sha256(f.read_bytes()).hexdigest()
    if (base / "captions.npz").is_file():
        out["captions.npz"] = hashlib.sha256((base / "captions.npz").read_bytes()).hexdigest()
    return out


def compute() -> dict[str, object]:
    """Generate and render; return digests and a few numbers (single-threaded torch for determinism)."""
    import torch

    from humokit.body import create_body
    from humokit.optim.physics.guidance import generate_physical
    from humokit.priors.sampling import generate
    from humokit.render.camera import look_at
    from humokit.render.controls import attach_gaussians, pose_clip, render_frame

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        raw = generate(TEXT, model="mask", seconds=SECONDS, seed=SEED)
        phys = generate_physical(TEXT, model="mask", seconds=SECONDS, seed=SEED)
        body = create_body("anny")
        clip = pose_clip(phys, body)
        clip = attach_gaussians(clip, body.rest(body.shape_from_motion(phys)))
        t = phys.num_frames // 2
        centre = clip.joints[t, 0].numpy().astype(np.float64)
        cam = look_at(centre + np.array([0.6, 0.3, 2.6]), centre, fov_y=40.0, width=96, height=128)
        mesh = render_frame(clip, t, cam, ("rgb", "normal", "parts", "mask", "depth", "pose"))
        gauss = render_frame(clip, t, cam, ("rgb",), avatar="gaussians")
    finally:
        torch.set_num_threads(threads)
    out: dict[str, object] = {}
    for name, m in (("raw", raw), ("physics", phys)):
        out[f"motion_{name}"] = {
            "num_frames": int(m.num_frames),
            "rotations_sha256": _sha(m.rotations),
            "root_position_sha256": _sha(m.root_position),
            "root_first": [float(x) for x in m.root_position[0]],
            "root_last": [float(x) for x in m.root_position[-1]],
        }
    out["frame"] = {
        "index": int(t),
        **{f"{k}_sha256": _sha(mesh[k]) for k in ("rgb", "normal", "parts", "mask", "depth", "pose")},
        "gaussians_rgb_sha256": _sha(gauss["rgb"]),
        "mask_pixels": int((mesh["mask"] > 0).sum()),
        "depth_mean": float(mesh["depth"][mesh["mask"] > 0].mean()),
        "gaussians_rgb_mean": float(gauss["rgb"].mean()),
    }
    return out


def main() -> int:
    golden = {"checkpoints_sha256": checkpoint_digests(), **compute()}
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
