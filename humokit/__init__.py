"""humokit: 3D/4D human motion and avatars in one package.

Subpackages: :mod:`humokit.motion` (canonical motion, skeleton, data, priors),
:mod:`humokit.avatars` (body models, retargeting, Gaussian avatars),
:mod:`humokit.render`, :mod:`humokit.optim` (fitting, recovery, physics),
:mod:`humokit.viewer`, :mod:`humokit.export`.
"""

__version__ = "0.1.0"

from humokit.errors import HumokitError
from humokit.motion import Motion, Skeleton

__all__ = ["HumokitError", "Motion", "Skeleton", "__version__"]
