"""``humokit view``: open motions, bodies, GLBs and Gaussian splats in the browser viewer."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from humokit.errors import MissingDependencyError

log = logging.getLogger("humokit.viewer")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--body", "body_name", default="anny", show_default=True,
              type=click.Choice(["anny", "smpl", "smplh", "smplx"]), help="Body model for motions.")
@click.option("--port", default=8080, show_default=True, help="TCP port (0 = any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind; 0.0.0.0 exposes the viewer to the network (a warning is printed).")
@click.option("--skinning", default="client", show_default=True, type=click.Choice(["client", "server"]),
              help="Skin the body in the browser (bones) or here (stream vertices).")
@click.option("--builtin", "builtin", default=None, type=click.Choice(["walk", "wave", "squat"]),
              help="Also show a built-in procedural motion.")
def view(paths: tuple[Path, ...], body_name: str, port: int, host: str, skinning: str, builtin: str | None) -> None:
    """Open MOTION.npz / BVH / GLB / Gaussian .ply files in a browser viewer.

    Prints the URL; over SSH, forward the port (ssh -L 8080:127.0.0.1:8080 host)
    and open http://127.0.0.1:8080 locally. Files that cannot be read are
    reported in the browser and the log; the viewer keeps running. Ctrl-C stops it.
    """
    from humokit.viewer.app import ViewerApp, has_viser

    if not has_viser():
        raise MissingDependencyError("the browser viewer (viser)", "viewer")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: binding to {host}: anyone who can reach this machine can open the viewer", err=True)
    app = ViewerApp(host, port, body=body_name, skinning=skinning)  # type: ignore[arg-type]
    if builtin:
        from humokit.motion.builtin import builtin_motion

        app.add_motion(builtin_motion(builtin), builtin)
    for p in paths:
        app.load(p)
    click.echo(f"humokit viewer at {app.url}  (Ctrl-C to stop)")
    if app.errors:
        click.echo(f"{len(app.errors)} file(s) could not be opened; see the log and the browser", err=True)
    app.serve_forever()
