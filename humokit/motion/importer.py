"""One loader for every motion file humokit reads: ``.npz``, ``.bvh``, ``.glb``/``.gltf`` and ``.fbx``.

- ``.npz``: humokit motions, AMASS (``poses``/``trans``) and SMPL-X style
  (``root_orient``/``pose_body``) files (:meth:`Motion.load`), no retargeting;
- ``.bvh`` (:func:`~humokit.motion.bvh.load_bvh`), ``.glb``/``.gltf``
  (:func:`~humokit.motion.gltf_read.load_gltf_clip`) and ``.fbx`` (through
  Blender, :func:`~humokit.motion.fbx.load_fbx_clip`): any humanoid skeleton,
  mapped onto the canonical joints (:func:`~humokit.motion.automap.map_skeleton`)
  and retargeted (:func:`~humokit.motion.retarget.retarget`).

:func:`load_motion` is what the command line (``import``, ``view``,
``render``, ``export``, ``metrics``/``fix``, ``body --motion``) and
``data build`` call; :func:`import_motion` also returns the mapping report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from humokit.errors import FileFormatError, HumokitError, InputError
from humokit.motion.bvh import BvhClip
from humokit.motion.motion import Motion

if TYPE_CHECKING:
    from humokit.motion.automap import JointMapping

MOTION_SUFFIXES: tuple[str, ...] = (".npz", ".bvh", ".glb", ".gltf", ".fbx")
SKELETON_SUFFIXES: tuple[str, ...] = (".bvh", ".glb", ".gltf", ".fbx")


@dataclass(frozen=True)
class ImportResult:
    """A motion read from a file and how it was mapped.

    Attributes:
        motion: the canonical motion (humokit world, metres).
        mapping: the joint mapping used (None for ``.npz`` motions, already canonical).
        source: the file read.
    """

    motion: Motion
    mapping: "JointMapping | None"
    source: Path

    def summary(self) -> str:
        """One line: frames, fps, and the mapping's summary when there is one."""
        m = self.motion
        head = f"{self.source.name}: {m.num_frames} frames at {m.fps:g} fps"
        return head if self.mapping is None else f"{head}; {self.mapping.summary()}"


def _suffix(path: Path) -> str:
    suf = path.suffix.lower()
    if suf not in MOTION_SUFFIXES:
        raise InputError(f"{path}: cannot import {suf or 'files without a suffix'!r}; use {', '.join(MOTION_SUFFIXES)}")
    return suf


def read_skeleton_clip(path: str | Path, *, text: str | None = None) -> BvhClip:
    """The source skeleton and animation of a ``.bvh``/``.glb``/``.gltf``/``.fbx`` file, in its own units and axes.

    Args:
        text: the BVH content when already in memory (e.g. from an archive).
    """
    path = Path(path).expanduser()
    suf = _suffix(path)
    if suf == ".npz":
        raise InputError(f"{path}: a .npz motion is already canonical; it has no source skeleton")
    if text is None and not path.is_file():
        raise InputError(f"{path}: no such file")
    if suf == ".bvh":
        from humokit.motion.bvh import load_bvh

        return load_bvh(path, text=text)
    if suf in (".glb", ".gltf"):
        from humokit.motion.gltf_read import load_gltf_clip

        return load_gltf_clip(path)
    from humokit.motion.fbx import load_fbx_clip

    return load_fbx_clip(path)


def import_motion(
    path: str | Path,
    *,
    fps: float | None = None,
    retarget_map: object | None = None,
    unit: str | None = None,
    text: str | None = None,
    meta: dict[str, str] | None = None,
    max_error: float = 0.02,
) -> ImportResult:
    """Read any supported motion file as a canonical :class:`Motion` (see the module docstring).

    Args:
        path: the file (its suffix picks the reader).
        fps: output frame rate; None keeps the file's.
        retarget_map: a :class:`~humokit.motion.retarget.RetargetMap` or registered
            name to force (None: registered maps, then automatic mapping).
        unit: force the source length unit (``"cm"``, ``"m"``, ``"mm"``, ``"inch"``, ``"cmu"``).
        text: BVH content already in memory.
        meta: extra metadata for the motion.
        max_error: the retarget residual check, metres.
    Raises:
        HumokitError: one line naming the file and the problem.
    """
    path = Path(path).expanduser()
    suf = _suffix(path)
    if suf == ".npz":
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        try:
            motion = Motion.load(str(path))
        except HumokitError:
            raise
        except Exception as exc:  # numpy/zip errors on corrupt files
            raise FileFormatError(path, f"cannot read motion ({type(exc).__name__}: {exc})") from None
        if fps is not None and abs(fps - motion.fps) > 1e-6:
            motion = motion.resample(fps)
        return ImportResult(motion, None, path)
    from humokit.motion.automap import map_skeleton  # torch only for skeleton files (retargeting IK)
    from humokit.motion.retarget import retarget

    clip = read_skeleton_clip(path, text=text)
    try:
        mapping = map_skeleton(clip, retarget_map, unit=unit)  # type: ignore[arg-type]
        motion = retarget(clip, mapping, fps=fps, meta={"source": str(path), **(meta or {})}, max_error=max_error)
    except HumokitError as exc:
        msg = str(exc)
        raise InputError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
    return ImportResult(motion, mapping, path)


def load_motion(path: str | Path, **kwargs: object) -> Motion:
    """The canonical motion in ``path`` (any of :data:`MOTION_SUFFIXES`); keywords as :func:`import_motion`."""
    return import_motion(path, **kwargs).motion  # type: ignore[arg-type]


def show_map(path: str | Path, *, retarget_map: object | None = None, unit: str | None = None) -> str:
    """The joint mapping chosen for a skeleton file, as a table and a ``RetargetMap`` to copy."""
    from humokit.motion.automap import map_skeleton

    path = Path(path).expanduser()
    clip = read_skeleton_clip(path)
    try:
        return map_skeleton(clip, retarget_map, unit=unit).describe()  # type: ignore[arg-type]
    except HumokitError as exc:
        raise InputError(f"{path}: {exc}") from None
