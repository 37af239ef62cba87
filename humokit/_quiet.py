"""Keep third-party banners off stdout and a quiet stderr.

Some back-ends print when they start, from Python or straight from C++ to
file descriptors 1 and 2 (Warp's "Warp 1.x initialized" banner and its
"CUDA driver" warning when ``anny`` imports it; TFLite/XNNPACK lines when
MediaPipe starts). :func:`quiet_native` sends both descriptors to
``/dev/null`` for the duration of such a call, unless debug logging is on
(``-vv``), so ``humokit metrics --json | jq`` sees only JSON.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native() -> Iterator[None]:
    """Silence fds 1 and 2 (and ``sys.stdout``/``sys.stderr``) inside the block; a no-op at ``-vv``."""
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved: list[tuple[int, int]] = []
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # pragma: no cover
        yield
        return
    try:
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                saved.append((fd, os.dup(fd)))
                os.dup2(devnull, fd)
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)
