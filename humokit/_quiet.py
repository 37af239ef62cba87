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


# Lines native libraries print on their own threads, outside any quiet_native block.
NATIVE_NOISE = (b"TensorFlow Lite", b"XNNPACK", b"absl::InitializeLog", b"All log messages before absl",
                b"gl_context", b"GL version", b"inference_feedback_manager", b"Feedback manager requires",
                b"landmark_projection_calculator", b"WARNING: Logging before InitGoogleLogging")
_filter: dict[str, object] = {}


def filter_native_stderr() -> None:
    """From now on drop :data:`NATIVE_NOISE` lines written to fd 2 (idempotent; a no-op at ``-vv``).

    MediaPipe's graph threads log when they create their TFLite delegates,
    after the call that started them returned, so a scoped redirect cannot
    catch them. Fd 2 becomes a pipe read by a thread that forwards every
    other line to the real stderr; Python's ``sys.stderr`` is re-pointed at
    the real stderr directly, and the pipe is drained at exit.
    """
    import atexit
    import io
    import threading

    if _filter or logging.getLogger().isEnabledFor(logging.DEBUG):
        return
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    real = os.dup(2)
    r, w = os.pipe()
    os.dup2(w, 2)
    os.close(w)

    def pump() -> None:
        while True:
            try:
                data = os.read(r, 65536)
            except OSError:
                return
            if not data:
                return
            kept = b"".join(seg for seg in data.splitlines(keepends=True) if not any(n in seg for n in NATIVE_NOISE))
            if kept:
                with contextlib.suppress(OSError):
                    os.write(real, kept)

    thread = threading.Thread(target=pump, name="humokit-stderr-filter", daemon=True)
    thread.start()
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    if sys.stderr is sys.__stderr__:  # a caller's own redirection (a test runner, redirect_stderr) is kept
        sys.stderr = io.TextIOWrapper(io.FileIO(real, "w", closefd=False), encoding=encoding, errors="backslashreplace",
                                      line_buffering=True, write_through=True)

    def drain() -> None:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(real, 2)  # the pipe's last writer goes: the pump reads what is left, then EOF
        thread.join(timeout=2.0)

    atexit.register(drain)
    _filter.update(real=real, thread=thread)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Python-level writes to stdout go to stderr inside the block (stdout carries only a command's results)."""
    with contextlib.redirect_stdout(sys.stderr):
        yield
