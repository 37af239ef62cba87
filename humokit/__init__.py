"""humokit: 3D/4D human motion and avatars in one package.

Subpackages: :mod:`humokit.motion` (canonical motion, skeleton, data, priors),
:mod:`humokit.avatars` (body models, retargeting, Gaussian avatars),
:mod:`humokit.render`, :mod:`humokit.optim` (fitting, recovery, physics),
:mod:`humokit.viewer`, :mod:`humokit.export`.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from humokit.errors import HumokitError

if TYPE_CHECKING:
    from humokit.motion import Motion, Skeleton

__all__ = ["HumokitError", "Motion", "Skeleton", "__version__"]


def __getattr__(name: str) -> object:
    # Motion and Skeleton load on first use, so `humokit --help` imports no numpy
    if name in ("Motion", "Skeleton"):
        import humokit.motion as _motion

        return getattr(_motion, name)
    raise AttributeError(f"module 'humokit' has no attribute {name!r}")
