import numpy as np
import pytest

from humokit.errors import InputError
from humokit.optim.physics import compute_contacts, detect_contacts, with_contacts

from ._motions import one_leg, sliding, standing


def test_standing_all_contact_and_raised_foot_none():
    assert compute_contacts(standing()).all()
    c = compute_contacts(one_leg())
    assert c[:, :2].all() and not c[:, 2:].any()


def test_floating_clip_has_no_contact_but_constant_offset_does():
    assert not compute_contacts(standing(lift=1.0)).any()
    assert compute_contacts(standing(lift=0.1)).all()  # floats, but its feet are planted


def test_hysteresis_keeps_contact_through_a_short_speed_blip():
    m = standing(T=30)
    J = m.joints().astype(np.float64)
    J[15, [7, 10]] += np.array([0.025, 0, 0])  # one-frame jitter ~0.4 m/s
    c = detect_contacts(J, 30.0)
    assert c[:, 0].all()
    J2 = m.joints().astype(np.float64)
    J2[12:, [7, 10]] += np.array([0, 0.2, 0])  # foot lifted for good
    c2 = detect_contacts(J2, 30.0)
    assert c2[:10, 0].all() and not c2[14:, 0].any()


def test_with_contacts_stores_them():
    m = with_contacts(sliding(per_frame=0.001))
    assert m.contacts is not None and m.contacts.shape == (m.num_frames, 4)
    assert with_contacts(m) is m


def test_bad_input():
    with pytest.raises(InputError):
        detect_contacts(np.zeros((4, 3)), 30)
    assert detect_contacts(np.zeros((0, 22, 3)), 30).shape == (0, 4)
