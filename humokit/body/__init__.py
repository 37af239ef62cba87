"""humokit.body: body models that turn a canonical motion into a posed mesh.

- :mod:`~humokit.body.model`: the :class:`BodyModel` interface, :class:`RestBody`, :class:`BodyOutput`,
  the A-pose to T-pose :func:`rest_alignment`.
- :mod:`~humokit.body.registry`: :func:`create_body` by name (``anny``, ``smpl``, ``smplh``, ``smplx``)
  and :func:`available_bodies`.
- :mod:`~humokit.body.anny`: Anny (the default, free); :mod:`~humokit.body.smpl`: the SMPL family via smplx.
- :mod:`~humokit.body.skinning`: pure linear blend skinning; :mod:`~humokit.body.mesh_io`: mesh files.

Rig tables that need no body model (Anny's joint map) live in :mod:`humokit.motion.rig_tables`.
"""

from humokit.body.model import BodyModel, BodyOutput, RestBody, pose_rest_body, rest_alignment
from humokit.body.registry import available_bodies, create_body

__all__ = ["BodyModel", "BodyOutput", "RestBody", "available_bodies", "create_body", "pose_rest_body",
           "rest_alignment"]  # fmt: skip
