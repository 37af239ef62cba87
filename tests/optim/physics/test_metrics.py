import json

import numpy as np
import pytest
import torch

from humokit.errors import InputError
from humokit.optim.physics import PhysicsMetrics, physics_metrics

from ._motions import one_leg, sliding, standing


def test_standing_is_clean():
    r = physics_metrics(standing())
    assert r.penetrate == 0 and r.float == 0 and r.skate == 0 and r.phys_err == 0
    assert r.contact_fraction == 1.0 and r.com_support == 1.0 and r.bone_drift < 1e-3
    assert r.jerk_peak < 1e-2


def test_sunk_5cm_penetrates_50mm():
    r = physics_metrics(standing(lift=-0.05))
    assert r.penetrate == pytest.approx(50.0, abs=0.5)
    assert r.float == 0.0


def test_lifted_5cm_floats_50mm():
    r = physics_metrics(standing(lift=0.05))
    assert r.float == pytest.approx(50.0, abs=0.5) and r.penetrate == 0.0


def test_sliding_1cm_per_frame_skates_10mm():
    r = physics_metrics(sliding(per_frame=0.01))
    assert r.skate == pytest.approx(10.0, abs=0.2)
    assert r.phys_err == pytest.approx(r.penetrate + r.float + r.skate)


def test_joints_input_matches_motion():
    m = sliding(per_frame=0.01)
    a = physics_metrics(m)
    b = physics_metrics(torch.from_numpy(m.joints()), fps=m.fps)
    assert b.skate == pytest.approx(a.skate) and b.penetrate == pytest.approx(a.penetrate)
    with pytest.raises(InputError, match="fps"):
        physics_metrics(m.joints())


def test_bone_drift_of_stretched_joints():
    J = standing().joints().astype(np.float64)
    bone = J[0, 20] - J[0, 18]
    J[10:, 20] += 0.03 * bone / np.linalg.norm(bone)  # left forearm 3 cm longer from frame 10
    assert physics_metrics(J, fps=30).bone_drift == pytest.approx(30.0, abs=1.0)


def test_com_support_one_leg_leaning():
    m = one_leg()
    assert physics_metrics(m).com_support >= 0.0
    # the whole body far behind a single toe contact cannot be supported
    J = m.joints().astype(np.float64)
    c = np.zeros((len(J), 4), dtype=bool)
    c[:, 1] = True
    J[:, [7, 10]] += np.array([0, 0, 0.5])
    assert physics_metrics(J, fps=30, contacts=c).com_support == 0.0


@pytest.mark.parametrize(
    "bad, match",
    [(np.zeros((0, 22, 3)), "no frames"), (np.full((5, 22, 3), np.nan), "NaN"), (np.zeros((5, 21, 3)), "shape")],
)
def test_bad_input_raises_clear_errors(bad, match):
    with pytest.raises(InputError, match=match):
        physics_metrics(bad, fps=30)


def test_no_contact_warns_not_crashes():
    r = physics_metrics(standing(lift=1.0))
    assert any("no foot contact" in w for w in r.warnings)
    assert r.float == 0.0 and np.isnan(r.com_support)
    d = json.loads(r.to_json())
    assert d["com_support"] is None and "Penetrate" in str(r)


def test_result_is_frozen():
    r = physics_metrics(standing(T=5))
    assert isinstance(r, PhysicsMetrics)
    with pytest.raises(AttributeError):
        r.skate = 1.0  # type: ignore[misc]


@pytest.mark.anny
def test_mesh_metrics_on_anny(anny_body):
    from humokit.optim.physics import project_motion

    m = standing(T=12, lift=-0.05)
    r = physics_metrics(m, anny_body)
    assert r.source.startswith("mesh") and r.penetrate > 40.0
    fixed = physics_metrics(project_motion(m, anny_body), anny_body)
    assert fixed.penetrate < 1.0 and fixed.float < 1.0
