import numpy as np
import pytest

from humokit.optim.physics import has_mujoco

pytestmark = [pytest.mark.skipif(not has_mujoco(), reason="mujoco not installed (humokit[physics])"), pytest.mark.anny]

from ._motions import sliding, standing  # noqa: E402


@pytest.fixture(scope="module")
def humanoid(anny_body):
    from humokit.optim.physics import build_humanoid

    return build_humanoid(anny_body.rest())


def test_humanoid_masses_and_joints(humanoid):
    assert 40 < humanoid.total_mass < 90
    assert humanoid.model.njnt == 22  # free root + 21 ball joints
    assert humanoid.model.nv == 6 + 21 * 3


def test_standing_needs_no_residual_floating_needs_body_weight(humanoid):
    from humokit.optim.physics import track_motion

    still = track_motion(humanoid, standing(T=20))
    assert still.median_force_fraction < 0.02 and not still.fell and still.mean_tracking_error < 0.03
    up = track_motion(humanoid, standing(T=20, lift=0.2), ground_align=False)
    assert up.median_force_fraction > 0.9


def test_simulate_projection_returns_grounded_motion(humanoid):
    from humokit.optim.physics import physics_metrics, simulate_projection

    out, res = simulate_projection(standing(T=20, lift=-0.03), humanoid)
    assert out.num_frames == 20 and not res.fell
    assert physics_metrics(out).penetrate < 5.0
