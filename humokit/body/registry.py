"""Body back-ends by name: :func:`create_body` and :func:`available_bodies`."""

from __future__ import annotations

from humokit.body.model import BodyModel
from humokit.errors import InputError

_BODIES: dict[str, BodyModel] = {}


def available_bodies() -> dict[str, str]:
    """Body back-ends and whether they can be used here (``"ok"`` or the reason not)."""
    from humokit.body.smpl import smpl_status

    out = {"anny": "ok"}
    try:
        import anny  # noqa: F401
    except ImportError:
        out["anny"] = "not installed (pip install anny)"
    for kind in ("smpl", "smplh", "smplx"):
        out[kind] = smpl_status(kind)
    return out


def create_body(name: str = "anny", **kwargs: object) -> BodyModel:
    """Create (or reuse) a body model by name: ``anny``, ``smpl``, ``smplh``, ``smplx``.

    Keyword args go to the back-end (e.g. ``model_path`` and ``gender`` for SMPL).
    Anny instances are cached per process because building one costs seconds.
    """
    key = name + repr(sorted(kwargs.items()))
    if key in _BODIES:
        return _BODIES[key]
    if name == "anny":
        from humokit.body.anny import AnnyBody

        body: BodyModel = AnnyBody(**kwargs)  # type: ignore[arg-type]
    elif name in ("smpl", "smplh", "smplx"):
        from humokit.body.smpl import SMPLBody

        body = SMPLBody(model_type=name, **kwargs)  # type: ignore[arg-type]
    else:
        raise InputError(f"unknown body {name!r}: choose anny, smpl, smplh or smplx")
    _BODIES[key] = body
    return body
