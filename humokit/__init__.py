"""humokit: 3D/4D human motion and avatars in one package.

Subpackages in their one-way layer order (each imports only those before it):
:mod:`humokit.motion` (canonical motion, skeleton, I/O, retargeting, features, datasets),
:mod:`humokit.body` (body models), :mod:`humokit.priors` (text-to-motion),
:mod:`humokit.render`, :mod:`humokit.optim` (recovery from video, physics),
:mod:`humokit.avatars` (Gaussian avatars), then the faces :mod:`humokit.export`,
:mod:`humokit.viewer` and :mod:`humokit.cli`. Old import paths from before this layout
work for one release with a ``DeprecationWarning`` (:mod:`humokit._deprecated`).
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from humokit import _deprecated
from humokit.errors import HumokitError

if TYPE_CHECKING:
    from humokit.motion import Motion, Skeleton

_deprecated.install()

__all__ = ["HumokitError", "Motion", "Skeleton", "__version__"]


def __getattr__(name: str) -> object:
    # Motion and Skeleton load on first use, so `humokit --help` imports no numpy
    if name in ("Motion", "Skeleton"):
        import humokit.motion as _motion

        return getattr(_motion, name)
    raise AttributeError(f"module 'humokit' has no attribute {name!r}")
