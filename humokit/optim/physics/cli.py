"""``humokit metrics`` and ``humokit fix``: measure and repair physical plausibility."""

from __future__ import annotations

from pathlib import Path

import click

from humokit.errors import HumokitError


def _load(path: Path) -> object:
    from humokit.motion.importer import load_motion

    m = load_motion(path)
    if m.num_frames == 0:
        raise HumokitError(f"{path}: the motion has no frames")
    return m


@click.command("metrics")
@click.argument("motion_path", metavar="MOTION.npz", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--body", type=click.Choice(["anny", "none"]), default="anny", show_default=True,
              help="Measure on this body's mesh (none: on the joints).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def metrics(motion_path: Path, body: str, as_json: bool) -> None:
    """Penetrate/Float/Skate/Phys-Err (mm), jerk, CoM support and bone drift of a motion."""
    from humokit.optim.physics.metrics import physics_metrics

    res = physics_metrics(_load(motion_path), None if body == "none" else body)  # type: ignore[arg-type]
    click.echo(res.to_json() if as_json else str(res))


@click.command("fix")
@click.argument("motion_path", metavar="MOTION.npz", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the fixed motion (.npz).")
@click.option("--physics", type=click.Choice(["kinematic", "sim"]), default="kinematic", show_default=True,
              help="kinematic: ground, foot locks, leg IK; sim: then track it in MuJoCo and keep the simulation "
                   "where tracking succeeds.")
@click.option("--body", type=click.Choice(["anny", "none"]), default="anny", show_default=True,
              help="Body whose mesh defines ground contact (none: joints and default sole heights).")
def fix(motion_path: Path, output: Path, physics: str, body: str) -> None:
    """Remove ground penetration, floating and foot skating; store foot contacts."""
    from humokit.optim.physics.metrics import physics_metrics
    from humokit.optim.physics.projection import project_motion

    if output.suffix.lower() != ".npz":
        raise HumokitError(f"{output}: the output must be an .npz file")
    motion = _load(motion_path)
    bm = None if body == "none" else body
    before = physics_metrics(motion, bm)  # type: ignore[arg-type]
    fixed, info = project_motion(motion, bm, return_info=True)  # type: ignore[arg-type,misc]
    for w in info.warnings:
        click.echo(f"warning: {w}", err=True)
    if physics == "sim":
        from humokit.optim.physics.sim import simulate_projection

        fixed, res = simulate_projection(fixed)
        click.echo(
            f"simulation: median residual {100 * res.median_force_fraction:.1f}% of body weight, "
            f"tracking error {1000 * res.mean_tracking_error:.0f} mm"
            + (f", fell at frame {res.fall_frame} (kinematic result kept from there)" if res.fell else "")
        )
    after = physics_metrics(fixed, bm)  # type: ignore[arg-type]
    from humokit._io import atomic_path

    with atomic_path(output) as tmp:
        fixed.save(str(tmp))
    click.echo(f"Phys-Err {before.phys_err:.1f} -> {after.phys_err:.1f} mm "
               f"(Penetrate {after.penetrate:.1f}, Float {after.float:.1f}, Skate {after.skate:.1f})")
    click.echo(f"wrote {output}")
