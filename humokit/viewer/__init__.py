"""humokit.viewer: the browser viewer (``humokit view``), built on the optional ``viser``.

Public names: :class:`ViewerApp` (importing it needs no viser; creating one
does), :func:`has_viser`; :func:`read_gaussian_ply` and :class:`GaussianSplats` are
re-exported from :mod:`humokit.render.splats`. The top layer: only :mod:`humokit.cli` imports it.
"""

from humokit.render.splats import GaussianSplats, read_gaussian_ply
from humokit.viewer.app import ViewerApp, has_viser

__all__ = ["GaussianSplats", "ViewerApp", "has_viser", "read_gaussian_ply"]
