import numpy as np
import pytest
import torch

from humokit.errors import InputError
from humokit.optim.physics import contact_losses, project_joints

from ._motions import sliding, standing


def test_zero_for_planted_stance_positive_for_violations():
    c = np.ones((20, 4), dtype=bool)
    ok = contact_losses(torch.from_numpy(standing(T=20).joints()).double(), c)
    assert all(v.item() < 1e-10 for v in ok.values())
    bad = contact_losses(torch.from_numpy(standing(T=20, lift=-0.05).joints()).double(), c)
    assert bad["penetration"] > 0 and bad["contact_height"] == pytest.approx(0.05**2, rel=1e-3)
    m = sliding(T=20, per_frame=0.01)
    sk = contact_losses(torch.from_numpy(m.joints()).double(), np.ones((20, 4)) * [1, 1, 0, 0])
    assert sk["skate"].item() == pytest.approx(1e-4, rel=1e-3)


def test_gradients_descend_to_projection():
    m = sliding(T=16, per_frame=0.01)
    c = np.zeros((16, 4))
    c[:, :2] = 1
    J = torch.tensor(m.joints(), dtype=torch.float64, requires_grad=True)
    loss = sum(contact_losses(J, c).values())
    loss.backward()
    assert J.grad is not None and J.grad.abs().sum() > 0
    Y = torch.as_tensor(project_joints(m.joints(), 30.0, contacts=c.astype(bool)))
    assert contact_losses(Y, c)["skate"] < 1e-8


def test_bad_shapes():
    with pytest.raises(InputError):
        contact_losses(torch.zeros(5, 22, 3), np.ones((4, 4)))
    with pytest.raises(InputError):
        contact_losses(np.zeros((5, 22, 3)), np.ones((5, 4)))  # type: ignore[arg-type]
