"""humokit.render: cameras, mesh rasterization, 3D Gaussian splatting and conditioning signals.

Modules:

- :mod:`~humokit.render.camera`: OpenCV-convention pinhole cameras, layouts, Plücker rays.
- :mod:`~humokit.render.raster`: vectorised torch z-buffer rasterizer and shading.
- :mod:`~humokit.render.soft`: differentiable soft silhouettes.
- :mod:`~humokit.render.gaussians`: 3DGS data, ``.ply`` I/O, torch/gsplat rendering, body-bound Gaussians;
  :mod:`~humokit.render.splats`: the display type :class:`~humokit.render.splats.GaussianSplats` and
  its standard-3DGS ``.ply`` reader.
- :mod:`~humokit.render.keypoints`: OpenPose-18 / COCO-17 keypoints and skeleton images.
- :mod:`~humokit.render.controls`: posed clips (mesh or body-bound Gaussians) and per-frame conditioning
  signals written to folders.
- :mod:`~humokit.render.multiview`: synchronised multi-view renders; ``humokit render`` (:mod:`~humokit.render.cli`).
"""

from humokit.render.camera import (
    Camera,
    CameraTrajectory,
    hemisphere_cameras,
    look_at,
    moving_trajectory,
    orbit,
    plucker_rays,
    project,
    ring_cameras,
    unproject,
)
from humokit.render.raster import RasterOutput, ShadeOutput, rasterize, shade

__all__ = [
    "Camera",
    "CameraTrajectory",
    "RasterOutput",
    "ShadeOutput",
    "hemisphere_cameras",
    "look_at",
    "moving_trajectory",
    "orbit",
    "plucker_rays",
    "project",
    "rasterize",
    "ring_cameras",
    "shade",
    "unproject",
]
