"""Exceptions raised at humokit's public boundary.

Every error a user can cause (bad file, bad shape, missing model) is a
:class:`HumokitError` whose message is one line naming the input and the
problem; the CLI prints that line and exits with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn


class HumokitError(Exception):
    """A user-facing error with a one-line message."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class InputError(HumokitError, ValueError):
    """An input value (array, argument, file content) is invalid."""


class FileFormatError(InputError):
    """A file could not be read: names the file and, where known, the line."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        where = f"{path}" if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {problem}")
        self.path = Path(path)
        self.line = line


class MissingDependencyError(HumokitError, ImportError):
    """An optional back-end is not installed; names the extra that provides it."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} is not installed: pip install 'humokit[{extra}]'")


def exit_error(message: str) -> NoReturn:
    """End a module's command-line ``main`` as the CLI does: ``error: <message>`` on stderr, status 2."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)
