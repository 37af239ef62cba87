"""Multi-file outputs that appear whole or not at all, also when the process is told to stop.

- :func:`atomic_dir`: write a folder's content into a hidden temporary folder
  beside it (``.NAME.XXXX.tmp``), move it into place at the end; on an error,
  Ctrl-C (SIGINT) or SIGTERM the temporary folder is removed and the target is
  left as it was.
- :func:`atomic_files`: the same for several single files (e.g. a motion, its
  camera JSON and a preview video): all are renamed into place together at
  the end, or none.
- :func:`video_file`: a temporary path for an encoder; a failing encoder or
  an empty result is a :class:`~humokit.errors.HumokitError` naming the file.
- :func:`terminate_raises`: while active (main thread only), SIGTERM raises
  ``SystemExit(143)`` so ``finally``/``except`` clean-up runs, as it does for
  Ctrl-C's ``KeyboardInterrupt``.

If the target folder already exists, entries of the same name are replaced
and other files in it are kept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from humokit._io import atomic_path, make_dirs
from humokit.errors import HumokitError


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit(128 + SIGTERM)`` inside the block (a no-op off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not interrupt the clean-up
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _permissions(path: Path, mode: int) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; its content becomes ``target``'s only on success."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(target))
    make_dirs(target.parent)
    with terminate_raises():
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name[:32]}.", suffix=".tmp", dir=target.parent))
        try:
            _permissions(tmp, 0o777)
            yield tmp
            _publish(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _publish(tmp: Path, target: Path) -> None:
    """Move ``tmp``'s content to ``target``: one rename when ``target`` is absent, else entry by entry."""
    if not target.exists():
        try:
            os.rename(tmp, target)
            return
        except OSError:
            if not target.is_dir():
                raise
    publish_in_order([(entry, target / entry.name) for entry in sorted(tmp.iterdir())])
    tmp.rmdir()


def publish_in_order(moves: Iterable[tuple[Path, Path]]) -> None:
    """Rename each staged ``(source, destination)`` in the given order, replacing what is there.

    A folder, file or link at a destination is removed first; callers that
    publish several outputs put their completeness marker last.
    """
    for src, dst in moves:
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        elif dst.exists() or dst.is_symlink():
            dst.unlink()
        os.replace(src, dst)


@contextlib.contextmanager
def atomic_files(*targets: str | Path) -> Iterator[tuple[Path, ...]]:
    """Temporary paths for ``targets`` (same suffixes); all renamed into place at the end, or all removed."""
    with terminate_raises(), contextlib.ExitStack() as stack:
        yield tuple(stack.enter_context(atomic_path(t)) for t in targets)


@contextlib.contextmanager
def video_file(path: str | Path) -> Iterator[Path]:
    """A temporary path for an encoder writing ``path``; encoder failures and empty files become errors."""
    path = Path(path)
    with atomic_path(path) as tmp:
        try:
            yield tmp
        except (RuntimeError, ValueError, BrokenPipeError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in (28, 30, 13, 36):  # disk full, read-only, denied, long
                raise
            raise HumokitError(f"{path}: the video encoder failed ({type(exc).__name__}: {exc})") from None
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise HumokitError(f"{path}: the video encoder wrote nothing (no frames?)")
