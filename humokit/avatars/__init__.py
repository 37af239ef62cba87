"""Body models (Anny by default, SMPL-family via smplx), skinning, retargeting and avatars."""

from humokit.avatars.body import BodyModel, BodyOutput, RestBody, available_bodies, create_body

__all__ = ["BodyModel", "BodyOutput", "RestBody", "available_bodies", "create_body"]
