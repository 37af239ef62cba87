"""``humokit demo``: a motion on the default body, written as motion, meshes and a preview video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from humokit.body import create_body
from humokit.body.mesh_io import save_mesh
from humokit.motion.builtin import builtin_motion
from humokit.motion.motion import Motion


DEFAULT_PROMPT = "a person walks forward"


def _demo_motion(text: str | None, seconds: float, model: str, body: object) -> Motion:
    """Generate from text with the shipped prior, projected onto ``body``'s ground contact; the built-in walk when ``model == "builtin"``."""
    if model == "builtin":
        return builtin_motion("walk", seconds=seconds, fps=30.0)
    from humokit.optim.physics.guidance import generate_physical

    return generate_physical(text or DEFAULT_PROMPT, model=model, seconds=seconds, seed=0, body=body)  # type: ignore[return-value]


def run_demo(
    output: Path, *, text: str | None = None, seconds: float = 4.0, size: int = 384, model: str = "mask"
) -> dict[str, Path]:
    """Generate a motion from text (or the built-in walk), animate the Anny body; returns written paths."""
    from humokit.render.preview import render_preview_video

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    body = create_body("anny")
    motion = _demo_motion(text, seconds, model, body)  # feet held on the Anny body's own proportions
    motion_path = output / "motion.npz"
    motion.save(str(motion_path))
    posed = body.forward(motion)
    verts = posed.vertices.detach().numpy()
    faces = posed.faces.numpy()
    mesh_dir = output / "meshes"
    mesh_dir.mkdir(exist_ok=True)
    step = max(1, int(round(motion.fps / 10)))
    for i in tqdm(range(0, motion.num_frames, step), desc="meshes", unit="mesh"):
        save_mesh(mesh_dir / f"frame_{i:04d}.ply", verts[i], faces)
    video = output / "preview.mp4"
    render_preview_video(video, verts, faces, fps=motion.fps, size=size)
    return {"motion": motion_path, "meshes": mesh_dir, "video": video}
