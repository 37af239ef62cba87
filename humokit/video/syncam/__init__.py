"""Camera-controlled, multi-view synchronised video generation on diffusers' Wan2.1/2.2 transformer.

- :mod:`~humokit.video.syncam.adapter`: the per-block adapter modules, their
  injection into a loaded ``WanTransformer3DModel``, save/load.
- :mod:`~humokit.video.syncam.train`: flow-matching training of the adapter only.
- :mod:`~humokit.video.syncam.data`: training scenes from a ``humokit dataset multiview`` folder.
- :mod:`~humokit.video.syncam.pipeline`: joint generation of all views from a prompt and cameras.
- :mod:`~humokit.video.syncam.dataset`: the multi-view dataset renderer.
"""
