"""The only place that defines humokit's directories (each overridable by an env variable)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def shared_dir() -> Path:
    """Data provided beside the repository: ``$HUMOKIT_SHARED`` or ``<repo>/../shared``."""
    env = os.environ.get("HUMOKIT_SHARED")
    if env:
        return Path(env)
    return PACKAGE_DIR.parent.parent / "shared"


def cache_dir() -> Path:
    """Per-user cache: ``$HUMOKIT_CACHE_DIR`` or ``~/.cache/humokit``."""
    return Path(os.environ.get("HUMOKIT_CACHE_DIR", Path.home() / ".cache" / "humokit"))


def smpl_dir() -> Path | None:
    """Directory holding user-provided SMPL-family model files (``$HUMOKIT_SMPL_DIR``), if set."""
    env = os.environ.get("HUMOKIT_SMPL_DIR")
    return Path(env) if env else None


def checkpoints_dir() -> Path:
    """Shipped model checkpoints (inside the package)."""
    return PACKAGE_DIR / "checkpoints"
