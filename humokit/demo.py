"""``humokit demo``: a motion on the default body, written as motion, meshes and a preview video."""

from __future__ import annotations

from pathlib import Path

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
    """Generate a motion from text (or the built-in walk), animate the Anny body; returns written paths.

    Everything is written into a temporary folder beside ``output`` and moved
    into place at the end (an error, Ctrl-C or SIGTERM leaves nothing behind).
    """
    from humokit._atomic import atomic_dir
    from humokit.render.preview import render_preview_video

    output = Path(output)
    with atomic_dir(output) as stage:
        body = create_body("anny")
        motion = _demo_motion(text, seconds, model, body)  # feet held on the Anny body's own proportions
        motion.save(str(stage / "motion.npz"))
        posed = body.forward(motion)
        verts = posed.vertices.detach().numpy()
        faces = posed.faces.numpy()
        (stage / "meshes").mkdir()
        step = max(1, int(round(motion.fps / 10)))
        for i in tqdm(range(0, motion.num_frames, step), desc="meshes", unit="mesh"):
            save_mesh(stage / "meshes" / f"frame_{i:04d}.ply", verts[i], faces)
        render_preview_video(stage / "preview.mp4", verts, faces, fps=motion.fps, size=size)
    motion_path, mesh_dir, video = output / "motion.npz", output / "meshes", output / "preview.mp4"
    return {"motion": motion_path, "meshes": mesh_dir, "video": video}
