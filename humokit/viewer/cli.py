"""``humokit view``: open motions, bodies, GLBs and Gaussian splats in the browser viewer."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from humokit.errors import HumokitError, MissingDependencyError

log = logging.getLogger("humokit.viewer")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--body", "body_name", default="anny", show_default=True,
              type=click.Choice(["anny", "smpl", "smplh", "smplx"]), help="Body model for motions.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port (0 = any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind; 0.0.0.0 exposes the viewer to the network (a warning is printed).")
@click.option("--skinning", default="client", show_default=True, type=click.Choice(["client", "server"]),
              help="Skin the body in the browser (bones) or here (stream vertices).")
@click.option("--avatar", "avatar_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Gaussian avatar folder (humokit avatar train); it performs the first motion given.")
@click.option("--avatar-every", default=2, show_default=True, type=click.IntRange(1, 1000), help="Pose the avatar every N-th frame.")
@click.option("--builtin", "builtin", default=None, type=click.Choice(["walk", "wave", "squat"]),
              help="Also show a built-in procedural motion.")
@click.option("--root", "roots", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder the browser may load from and export to by server path (repeatable); "
                   "default: the folders of the files given. Uploads and downloads always work.")
@click.option("--priors", is_flag=True, default=False,
              help="Let viewer clients generate motions from text with the shipped priors (runs them here).")
def view(paths: tuple[Path, ...], body_name: str, port: int, host: str, skinning: str, avatar_dir: Path | None,
         avatar_every: int, builtin: str | None, roots: tuple[Path, ...], priors: bool) -> None:
    """Open motions (.npz, .bvh, .fbx, .glb/.gltf), GLB scenes and Gaussian .ply files in a browser viewer.

    Prints the URL; over SSH, forward the port (ssh -L 8080:127.0.0.1:8080 host)
    and open http://127.0.0.1:8080 locally. Files that cannot be read are
    reported in the browser and the log; the viewer keeps running. Ctrl-C stops it.

    Only pages served from this machine (loopback origins) may connect. With a
    non-loopback --host the printed URL carries a per-session token that every
    browser needs. Paths typed in the browser must lie inside a --root folder.
    """
    from humokit.viewer.app import ViewerApp, has_viser

    if not has_viser():
        raise MissingDependencyError("the browser viewer (viser)", "viewer")
    from humokit.viewer._guard import is_loopback_host

    if not is_loopback_host(host):
        click.echo(f"warning: binding to {host}: anyone on the network with the URL below can open the viewer",
                   err=True)
    avatar = None
    if avatar_dir is not None:
        from humokit.avatars.gaussian_avatar import load_avatar

        avatar = load_avatar(avatar_dir)  # errors before the server starts
        if not paths and not builtin:
            raise HumokitError("--avatar needs a motion to perform (a MOTION.npz argument or --builtin)")
    folders = roots or tuple(dict.fromkeys(p.expanduser().resolve().parent for p in paths if p.is_file()))
    app = ViewerApp(host, port, body=body_name, skinning=skinning, roots=folders,  # type: ignore[arg-type]
                    allow_generate=priors)
    if avatar is not None:
        from humokit.avatars.avatar_render import load_driving_motion
        from humokit.motion.builtin import builtin_motion

        if paths:
            motion = load_driving_motion(paths[0])
            paths = paths[1:]
        else:
            motion, builtin = builtin_motion(builtin), None
        app.add_avatar(avatar, motion, f"avatar:{avatar_dir.name}", every=avatar_every)  # type: ignore[union-attr]
    if builtin:
        from humokit.motion.builtin import builtin_motion

        app.add_motion(builtin_motion(builtin), builtin)
    for p in paths:
        app.load(p)
    click.echo(f"humokit viewer at {app.url}  (Ctrl-C to stop)")
    if app.errors:
        click.echo(f"{len(app.errors)} file(s) could not be opened; see the log and the browser", err=True)
    app.serve_forever()
