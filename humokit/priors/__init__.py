"""Text-to-motion priors: RVQ-VAE + masked/residual transformers, diffusion, CVAE, and an evaluator.

Public API::

    generate(text, model="mask", seconds=4.0, seed=None, keyframes=None, edit_mask=None) -> Motion
    Keyframes, load_keyframes            # constraints for in-betweening / editing
    TextEncoder, get_text_encoder, register_text_encoder
    load_checkpoint(path_or_name, kind=None) -> Checkpoint
    train(kind, config, output)          # also `humokit train`

Heavy modules are imported on first use. Layer: above :mod:`humokit.motion` and :mod:`humokit.body`,
below :mod:`humokit.render`; sampling with the physics projection inside (``generate_physical``,
``humokit generate``) composes a prior with physics in :mod:`humokit.optim.physics`.
Moved from ``humokit.motion.priors`` (the old path warns for one release).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "generate": "humokit.priors.sampling",
    "load_generator": "humokit.priors.sampling",
    "features_to_motion": "humokit.priors.sampling",
    "Keyframes": "humokit.priors.edit",
    "load_keyframes": "humokit.priors.edit",
    "TextEncoder": "humokit.priors.text",
    "get_text_encoder": "humokit.priors.text",
    "register_text_encoder": "humokit.priors.text",
    "load_checkpoint": "humokit.priors.checkpoint",
    "Checkpoint": "humokit.priors.checkpoint",
    "train": "humokit.priors.train",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'humokit.priors' has no attribute {name!r}")
