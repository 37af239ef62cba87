"""Text-to-motion priors: RVQ-VAE + masked/residual transformers, diffusion, CVAE, and an evaluator.

Public API::

    generate(text, model="mask", seconds=4.0, seed=None, keyframes=None, edit_mask=None) -> Motion
    Keyframes, load_keyframes            # constraints for in-betweening / editing
    TextEncoder, get_text_encoder, register_text_encoder
    load_checkpoint(path_or_name, kind=None) -> Checkpoint
    train(kind, config, output)          # also `humokit train`

Heavy modules are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "generate": "humokit.motion.priors.sampling",
    "load_generator": "humokit.motion.priors.sampling",
    "features_to_motion": "humokit.motion.priors.sampling",
    "Keyframes": "humokit.motion.priors.edit",
    "load_keyframes": "humokit.motion.priors.edit",
    "TextEncoder": "humokit.motion.priors.text",
    "get_text_encoder": "humokit.motion.priors.text",
    "register_text_encoder": "humokit.motion.priors.text",
    "load_checkpoint": "humokit.motion.priors.checkpoint",
    "Checkpoint": "humokit.motion.priors.checkpoint",
    "train": "humokit.motion.priors.train",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'humokit.motion.priors' has no attribute {name!r}")
