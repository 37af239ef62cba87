"""Body models (Anny by default, SMPL-family via smplx), skinning, retargeting and Gaussian avatars."""

from humokit.avatars.body import BodyModel, BodyOutput, RestBody, available_bodies, create_body


def __getattr__(name: str) -> object:
    """Gaussian-avatar names are imported on first use (they pull in the renderer)."""
    lazy = {
        "GaussianAvatar", "init_avatar", "load_avatar", "save_avatar", "pose_avatar",
        "render_avatar", "avatar_splats_per_frame",
    }  # fmt: skip
    if name in lazy:
        from humokit.avatars import gaussian_avatar

        return getattr(gaussian_avatar, name)
    raise AttributeError(f"module 'humokit.avatars' has no attribute {name!r}")


__all__ = [
    "BodyModel", "BodyOutput", "RestBody", "available_bodies", "create_body",
    "GaussianAvatar", "init_avatar", "load_avatar", "save_avatar", "pose_avatar",
    "render_avatar", "avatar_splats_per_frame",
]  # fmt: skip
