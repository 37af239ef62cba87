"""humokit.avatars: Gaussian avatars bound to a body: model, training, from video, synthetic data, driving.

- :mod:`~humokit.avatars.gaussian_avatar`: the avatar (Gaussians on the body surface), posing, rendering, files.
- :mod:`~humokit.avatars.fit`: training an avatar from frames with known cameras and poses.
- :mod:`~humokit.avatars.avatar_video`: frames, masks and poses from a video (through :mod:`humokit.optim`).
- :mod:`~humokit.avatars.avatar_synthetic`: rendered training data of a textured body.
- :mod:`~humokit.avatars.avatar_render`: driving an avatar with a motion into control-signal folders.
- :mod:`~humokit.avatars.cli`: ``humokit avatar train|render``.

Body models moved to :mod:`humokit.body`; their old names here still work for one release
with a ``DeprecationWarning``.
"""

from __future__ import annotations

from humokit import _deprecated

_LAZY = {
    "GaussianAvatar", "init_avatar", "load_avatar", "save_avatar", "pose_avatar",
    "render_avatar", "avatar_splats_per_frame",
}  # fmt: skip


def __getattr__(name: str) -> object:
    """Gaussian-avatar names are imported on first use (they pull in the renderer)."""
    if name in _LAZY:
        from humokit.avatars import gaussian_avatar

        return getattr(gaussian_avatar, name)
    return _deprecated.moved_name(__name__, name)


__all__ = sorted(_LAZY)
