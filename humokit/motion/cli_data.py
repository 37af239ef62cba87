"""``humokit data ...`` commands (the lead wires :data:`data` into the main CLI)."""

from __future__ import annotations

import json

import click

from humokit._options import FPS, SECONDS, SEED

data = click.Group("data", help="Motion datasets.")


@data.command("build")
@click.option("--source", type=click.Path(exists=True), default=None,
              help="Folder with the .tar.xz archives or extracted BVH folders (default: $HUMOKIT_SHARED/data/motion).")
@click.option("-o", "--out", required=True, type=click.Path(), help="Output folder (HumanML3D layout).")
@click.option("--fps", default=20.0, show_default=True, type=FPS, help="Output frame rate.")
@click.option("--max-seconds", default=10.0, show_default=True, type=SECONDS, help="Longest window.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Processes (1 or 2).")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Split seed.")
@click.option("--limit", default=None, type=click.IntRange(1), help="Only the first N takes.")
def build(source: str | None, out: str, fps: float, max_seconds: float, workers: int, seed: int, limit: int | None) -> None:
    """Retarget BVH motion capture into a HumanML3D-format dataset."""
    from humokit.motion.dataset import build_dataset

    from humokit._atomic import terminate_raises

    with terminate_raises():  # SIGTERM: workers finish their takes (resumable), no temporary files stay
        res = build_dataset(source, out, fps, max_seconds=max_seconds, workers=workers, seed=seed, limit=limit)
    m = res.manifest
    click.echo(json.dumps({k: m[k] for k in ("takes", "windows_per_split", "minutes_per_split")}))
    click.echo(f"skipped: {len(m['skipped'])}; manifest: {res.out / 'manifest.json'}")
