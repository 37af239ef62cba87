"""Old import paths from before the one-way package layers, kept for one release with a ``DeprecationWarning``.

Two kinds of old paths keep working:

- moved modules (``import humokit.avatars.body``, ``from humokit.motion.priors.sampling import generate``):
  a finder on ``sys.meta_path`` (installed by ``humokit/__init__.py``) answers each old name in
  :data:`MOVED_MODULES` (and every submodule of an old package path) with the module at its new place,
  the same object, so ``isinstance`` checks and module state are shared;
- names re-exported by a package (``from humokit.avatars import create_body``): the package's
  module-level ``__getattr__`` calls :func:`moved_name` with its entry of :data:`MOVED_NAMES`.

This is the only module allowed to name modules of any layer (``tests/test_layers.py``); it imports
them only when an old path is used.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

REMOVAL = "the next release"

# old module path -> new module path; an entry ending in "." maps every submodule of the old package.
MOVED_MODULES: dict[str, str] = {
    "humokit.avatars.body": "humokit.body",
    "humokit.avatars.anny_body": "humokit.body.anny",
    "humokit.avatars.smpl_body": "humokit.body.smpl",
    "humokit.avatars.skinning": "humokit.body.skinning",
    "humokit.avatars.mesh_io": "humokit.body.mesh_io",
    "humokit.motion.priors": "humokit.priors",
    "humokit.motion.priors.": "humokit.priors.",
    "humokit.viewer._splats": "humokit.render.splats",
    "humokit.optim.avatar_fit": "humokit.avatars.fit",
}

# package -> {old name: module that now defines it}
MOVED_NAMES: dict[str, dict[str, str]] = {
    "humokit.avatars": {
        "BodyModel": "humokit.body", "BodyOutput": "humokit.body", "RestBody": "humokit.body",
        "available_bodies": "humokit.body", "create_body": "humokit.body",
    },
    "humokit.render.gaussians": {"attach_gaussians": "humokit.render.controls"},
    "humokit.optim": {
        "train_avatar": "humokit.avatars.fit", "AvatarFrames": "humokit.avatars.fit",
        "AvatarTrainConfig": "humokit.avatars.fit",
    },
    "humokit.optim.track": {"detect_track": "humokit.optim.people", "follow_person": "humokit.optim.people"},
}  # fmt: skip


def new_module_name(old: str) -> str | None:
    """Where module ``old`` lives now, or None when it did not move."""
    if old in MOVED_MODULES:
        return MOVED_MODULES[old]
    for prefix, target in MOVED_MODULES.items():
        if prefix.endswith(".") and old.startswith(prefix):
            return target + old[len(prefix):]
    return None


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} moved to {new}; the old name is removed in {REMOVAL}", DeprecationWarning, stacklevel=3)


def moved_name(package: str, name: str) -> object:
    """A name that ``package`` used to export, from its new module, with a ``DeprecationWarning``.

    Raises:
        AttributeError: ``name`` never moved out of ``package``.
    """
    target = MOVED_NAMES.get(package, {}).get(name)
    if target is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    _warn(f"{package}.{name}", f"{target}.{name}")
    return getattr(importlib.import_module(target), name)


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module path with the module at its new place."""

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec] = {}

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        new = new_module_name(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=False)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = new_module_name(spec.name)
        assert new is not None
        _warn(spec.name, new)
        module = importlib.import_module(new)
        self._specs[module.__name__] = module.__spec__  # the import system overwrites it with the alias spec
        return module

    def exec_module(self, module: ModuleType) -> None:
        """The module was executed at its new place: only give it back its own spec."""
        module.__spec__ = self._specs[module.__name__]


_FINDER = _MovedModuleFinder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)
