"""Old import paths from before the package re-layout still work for one release and warn."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# old module path -> (new module path, a public name that must be the same object)
OLD_MODULES = {
    "humokit.avatars.body": ("humokit.body", "create_body"),
    "humokit.avatars.anny_body": ("humokit.body.anny", "ANNY_JOINT_MAP"),
    "humokit.avatars.smpl_body": ("humokit.body.smpl", "SMPLBody"),
    "humokit.avatars.skinning": ("humokit.body.skinning", "linear_blend_skinning"),
    "humokit.avatars.mesh_io": ("humokit.body.mesh_io", "save_mesh"),
    "humokit.motion.priors": ("humokit.priors", "__all__"),
    "humokit.motion.priors.sampling": ("humokit.priors.sampling", "generate"),
    "humokit.motion.priors.checkpoint": ("humokit.priors.checkpoint", "load_checkpoint"),
    "humokit.viewer._splats": ("humokit.render.splats", "GaussianSplats"),
    "humokit.optim.avatar_fit": ("humokit.avatars.fit", "train_avatar"),
}
OLD_NAMES = [
    ("humokit.avatars", "create_body", "humokit.body"),
    ("humokit.avatars", "BodyModel", "humokit.body"),
    ("humokit.optim", "train_avatar", "humokit.avatars.fit"),
    ("humokit.render.gaussians", "attach_gaussians", "humokit.render.controls"),
]


@pytest.mark.parametrize("old", sorted(OLD_MODULES))
def test_old_module_path_warns_and_is_the_new_module(old, monkeypatch):
    new_name, attr = OLD_MODULES[old]
    new = importlib.import_module(new_name)
    monkeypatch.delitem(sys.modules, old, raising=False)  # the warning fires on the first import only
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new_name}"):
        mod = importlib.import_module(old)
    assert mod is new and sys.modules[old] is new
    assert getattr(mod, attr) is getattr(new, attr)
    assert new.__spec__.name == new_name  # the alias leaves the module's own spec alone


def test_from_import_of_an_old_path(monkeypatch):
    monkeypatch.delitem(sys.modules, "humokit.motion.priors.edit", raising=False)
    with pytest.warns(DeprecationWarning, match="humokit.motion.priors.edit moved to humokit.priors.edit"):
        from humokit.motion.priors.edit import Keyframes
    from humokit.priors.edit import Keyframes as new

    assert Keyframes is new


def test_old_paths_fail_under_error_filter():
    """With warnings as errors (a strict CI), an old path raises instead of passing silently."""
    res = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", "import humokit.avatars.skinning"],
                         capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                         timeout=120)  # fmt: skip
    assert res.returncode != 0 and "DeprecationWarning: humokit.avatars.skinning moved to humokit.body.skinning" in res.stderr


@pytest.mark.parametrize(("package", "name", "new"), OLD_NAMES)
def test_old_package_names_warn(package, name, new):
    pkg = importlib.import_module(package)
    with pytest.warns(DeprecationWarning, match=f"{package}.{name} moved to {new}.{name}"):
        obj = getattr(pkg, name)
    assert obj is getattr(importlib.import_module(new), name)


def test_new_paths_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for name in ("humokit.body", "humokit.body.anny", "humokit.priors.sampling", "humokit.render.splats",
                     "humokit.avatars.fit", "humokit.avatars", "humokit.optim"):  # fmt: skip
            importlib.import_module(name)
        from humokit.avatars import GaussianAvatar  # noqa: F401
        from humokit.body import create_body  # noqa: F401


def test_unknown_names_still_raise_attribute_error():
    import humokit.avatars
    import humokit.optim

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mod in (humokit.avatars, humokit.optim):
            with pytest.raises(AttributeError, match="has no attribute 'nope'"):
                mod.nope  # noqa: B018
