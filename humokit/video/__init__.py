"""humokit.video: bodies and avatars driving video diffusion models (diffusers, ``humokit[drive]``).

- :mod:`~humokit.video.drive`: ``humokit drive`` (:func:`~humokit.video.drive.drive`).
- :mod:`~humokit.video.model_folder`: recognise a diffusers model folder, pick the backend.
- :mod:`~humokit.video.controls_io`: control clips from a render folder or a motion; clip rules.
- Backends: :mod:`~humokit.video.vace` (WanVACEPipeline), :mod:`~humokit.video.animate`
  (WanAnimatePipeline), :mod:`~humokit.video.animatediff` (AnimateDiffControlNetPipeline).
- :mod:`~humokit.video.cameras`: camera conventions for camera-controlled video models (relative
  extrinsics, Plücker and ray maps).
- :mod:`~humokit.video.syncam`: multi-view camera adapters on Wan (SynCamMaster / ReCamMaster style).
- :mod:`~humokit.video.tiny`: tiny random model folders for tests and benchmarks.

Heavy libraries (torch, diffusers, transformers) are imported inside the functions that use them.
"""
