"""Folders a viewer client may read from and write to on the server.

A path typed in the browser is resolved (``..`` refused outright; symlinks
followed, so a link pointing out of a root is refused too) and must lie
inside one of the roots given on the command line (``humokit view --root``;
default: the folders of the files opened). ``~`` is not expanded. Whether
a refused path exists is never revealed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

from humokit.errors import InputError


@dataclass(frozen=True)
class ServerRoots:
    """Resolved folders (absolute, symlinks followed) the browser may name paths inside."""

    dirs: tuple[Path, ...]

    @classmethod
    def of(cls, dirs: Iterable[str | Path]) -> ServerRoots:
        out: list[Path] = []
        for d in dirs:
            p = Path(d).expanduser().resolve()
            if p not in out:
                out.append(p)
        return cls(tuple(out))

    def __bool__(self) -> bool:
        return bool(self.dirs)

    def confine(self, text: str | Path) -> Path:
        """The resolved path named by ``text`` if it lies inside a root.

        Relative paths are taken relative to the first root.

        Raises:
            InputError: no roots, an empty path, a ``..`` component, or a
                resolved path outside every root.
        """
        raw = str(text).strip()
        if not self.dirs:
            raise InputError("this viewer may not open server paths (start it with --root DIR)")
        if not raw or "\x00" in raw:
            raise InputError("type a path inside " + self.describe())
        if ".." in PurePath(raw.replace("\\", "/")).parts:
            raise InputError(f"{raw}: '..' is not allowed; use a path inside {self.describe()}")
        p = Path(raw)
        if not p.is_absolute():
            p = self.dirs[0] / p
        try:
            resolved = p.resolve()
        except (OSError, RuntimeError) as exc:  # symlink loops, over-long names
            raise InputError(f"{raw}: cannot resolve ({exc})") from None
        if not any(resolved == d or resolved.is_relative_to(d) for d in self.dirs):
            raise InputError(f"{raw}: outside the folders this viewer may use ({self.describe()})")
        return resolved

    def describe(self) -> str:
        return ", ".join(str(d) for d in self.dirs) if self.dirs else "(no folders)"
