"""Options shared by the heavy commands (recover, generate, avatar, render): ``--device`` and ``--threads``.

One definition so every command has the same names, defaults and checks:

- ``--threads N``: CPU threads for torch (intra-op) and the command's own
  worker pools; default: every CPU this process may use.
- ``--device auto|cpu|cuda|cuda:N``: ``auto`` picks CUDA when a CUDA GPU is
  present, else the CPU.

Nothing heavy is imported at module level (the CLI starts fast); torch is
imported when a command applies the options.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TypeVar

import click

from humokit._options import THREADS
from humokit.errors import InputError

F = TypeVar("F", bound=Callable[..., object])


def default_threads() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_option(f: F) -> F:
    """``--threads N`` (default: :func:`default_threads`)."""
    return click.option(
        "--threads", type=THREADS, default=None, metavar="N",
        help=f"CPU threads [default: all CPUs available, here {default_threads()}].",
    )(f)  # type: ignore[return-value]


def device_option(f: F) -> F:
    """``--device auto|cpu|cuda|cuda:N`` (default ``auto``)."""
    return click.option(
        "--device", default="auto", show_default=True, metavar="DEVICE",
        help="auto (CUDA when a GPU is present), cpu, cuda or cuda:N.",
    )(f)  # type: ignore[return-value]


def check_threads(threads: int | None) -> int:
    """The thread count to use; a one-line :class:`InputError` for a non-positive one."""
    if threads is None:
        return default_threads()
    if threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    return int(threads)


def check_device(device: str) -> str:
    """Validate the spelling of ``--device`` without importing torch."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device or ""):
        raise InputError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")
    return device


def apply_threads(threads: int | None) -> int:
    """Set torch's intra-op thread count; returns the count used."""
    import torch

    n = check_threads(threads)
    torch.set_num_threads(n)
    return n


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; an explicit CUDA device must exist."""
    check_device(device)
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: no CUDA GPU is available here (use cpu or auto)")
        idx = int(device.split(":")[1]) if ":" in device else 0
        if idx >= torch.cuda.device_count():
            raise InputError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    return device
