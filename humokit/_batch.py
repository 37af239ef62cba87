"""Batch runner: one task per input, in-process or on Ray, with a resumable manifest.

Every batch command (``humokit recover DIR``, ``humokit generate --prompts``,
``humokit render DIR``) describes its work as :class:`BatchItem` s and passes a
picklable module-level function ``fn(args, staging) -> str | None`` that
writes each of the item's outputs, under its final base name, into the empty
folder ``staging``. The runner then moves them into place (the last output,
the item's completeness marker, is renamed last), so an output path exists
only once it is complete and two tasks never write the same file.

- ``workers=1`` without an address runs the items one by one in this process
  through the same per-item wrapper; more workers, or ``ray_address``, submit
  one Ray task per item (``ray.init(num_cpus=workers)`` locally, or
  ``address=`` for a running cluster; the outputs must then sit on a
  filesystem every node sees). Each task gets ``cores // workers`` torch
  threads locally (``threads`` overrides).
- ``<out>/manifest.jsonl`` gets one JSON line per finished item
  (``input, output, status, seconds, error, finished``), appended and flushed
  as items finish, so it stays valid after Ctrl-C or a crash.
- A rerun skips items whose marker output exists (``skipped`` in the result).
- A failing item never stops the batch: it is recorded with a one-line
  error; :attr:`BatchResult.exit_code` is 2 when any failed, 130 when the
  run was interrupted.

This module imports nothing from the rest of humokit above ``errors``: it is
usable by every face.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from humokit._atomic import publish_in_order, terminate_raises
from humokit._quiet import stdout_to_stderr
from humokit.errors import HumokitError, InputError, MissingDependencyError

ItemFn = Callable[[Any, Path], "str | None"]
MANIFEST = "manifest.jsonl"
_STAGING_SUFFIX = ".batch-tmp"


@dataclass(frozen=True)
class BatchItem:
    """One unit of batch work.

    Attributes:
        input: what the manifest names: an input path or a prompt line.
        outputs: final paths (files or folders) the item writes, all in one
            folder; the last one is the completeness marker (moved last).
        args: picklable argument handed to the per-item function.
    """

    input: str
    outputs: tuple[str, ...]
    args: Any = None

    @property
    def marker(self) -> Path:
        return Path(self.outputs[-1])


@dataclass(frozen=True)
class BatchResult:
    """What a batch did; counts are items."""

    ok: int
    failed: int
    skipped: int
    not_run: int
    interrupted: bool
    seconds: float
    manifest: Path

    @property
    def exit_code(self) -> int:
        """0 all done, 2 some failed, 130 interrupted (Ctrl-C)."""
        return 130 if self.interrupted else 2 if self.failed else 0

    def summary(self) -> str:
        text = (f"batch: {self.ok} done, {self.failed} failed, {self.skipped} already complete "
                f"in {self.seconds:.1f} s; manifest {self.manifest}")
        if self.interrupted:
            text += f"; interrupted with {self.not_run} not done (rerun the same command to resume)"
        return text


def batch_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Click options ``--workers`` and ``--ray-address`` shared by every batch command."""
    fn = click.option("--ray-address", default=None, metavar="ADDRESS",
                      help="Run the batch on a running Ray cluster ('auto' or host:port); the inputs and "
                           "outputs must be on a filesystem every node sees.")(fn)
    return click.option("--workers", type=click.IntRange(1, 4096), default=None,
                        help="Items processed at once for a folder/list input [default: 1 = in this process; "
                             "N > 1 runs a local Ray instance, needs humokit[scale]].")(fn)


def check_workers(workers: int | None) -> None:
    """Reject ``--workers`` below 1 with a one-line error."""
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")


def list_inputs(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """Files directly in ``folder`` whose suffix (any case) is one of ``suffixes``, sorted by name."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes
                   and not p.name.startswith("."))
    if not files:
        raise InputError(f"{folder}: no input files ({', '.join(suffixes)}) in this folder")
    return files


def run_batch(fn: ItemFn, items: Sequence[BatchItem], out_dir: str | Path, *, workers: int | None = None,
              ray_address: str | None = None, threads: int | None = None, desc: str = "batch",
              progress: bool = True) -> BatchResult:
    """Run ``fn`` on every item not yet complete; see the module docstring.

    Args:
        fn: module-level function ``fn(item.args, staging)``; returns an
            optional one-line summary; raises on failure.
        items: the work; output paths must be unique across items.
        out_dir: folder of ``manifest.jsonl`` (created).
        workers: items at once (default 1 locally; no cap on a cluster).
        ray_address: a running Ray cluster's address (``"auto"``).
        threads: torch threads per task (default ``cores // workers``
            locally, 1 on a cluster; unchanged in-process).
        desc: progress bar label.
        progress: show the overall progress bar (per-item status lines go
            to stderr regardless).
    Raises:
        InputError: duplicate outputs, bad worker count, another run holds
            the manifest, or Ray cannot start / connect.
        MissingDependencyError: Ray is needed but not installed.
    """
    check_workers(workers)
    out = Path(out_dir)
    # absolute paths: a Ray worker (on another node) need not share this process's working folder
    items = [BatchItem(it.input, tuple(os.path.abspath(o) for o in it.outputs), it.args) for it in items]
    _check_unique(items)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    t0 = time.perf_counter()
    with terminate_raises(), _Manifest(manifest) as log:  # SIGTERM cleans up like Ctrl-C
        for folder in {Path(o).parent for it in items for o in it.outputs}:
            _remove_stale_staging(folder)
        todo = [it for it in items if not it.marker.exists()]
        skipped = len(items) - len(todo)
        if skipped:
            _status_line(f"skip   {skipped} item(s) already complete")
        local = ray_address is None
        if local and (workers or 1) == 1:
            runner = _run_in_process(fn, todo, log, desc, progress)
        else:
            runner = _run_on_ray(fn, todo, log, desc, progress, workers=workers, address=ray_address,
                                 threads=threads)
        ok, failed, interrupted = runner
    done = ok + failed
    return BatchResult(ok=ok, failed=failed, skipped=skipped, not_run=len(todo) - done, interrupted=interrupted,
                       seconds=time.perf_counter() - t0, manifest=manifest)


# --------------------------------------------------------------------------- per item (runs in a worker)

def _run_item(fn: ItemFn, item: BatchItem, staging: str, threads: int | None) -> dict[str, Any]:
    """Run one item into ``staging`` and move its outputs into place; never raises on item failure."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    stage = Path(staging)
    status, error, detail = "ok", None, None
    try:
        stage.mkdir(parents=True, exist_ok=False)
        with stdout_to_stderr():  # library banners (warp, mediapipe) never reach the results on stdout
            detail = fn(item.args, stage)
        _commit(item, stage)
    except Exception as exc:  # noqa: BLE001 - every failure of one input is recorded, not raised
        status, error = "failed", one_line_error(exc)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {"status": status, "seconds": round(time.perf_counter() - t0, 3), "error": error, "detail": detail}


def _commit(item: BatchItem, stage: Path) -> None:
    """Move the staged outputs onto their final paths; the marker (last output) goes last."""
    staged = [stage / Path(o).name for o in item.outputs]
    missing = [p.name for p in staged if not p.exists()]
    if missing:
        raise HumokitError(f"the command wrote no {', '.join(missing)}")
    publish_in_order(zip(staged, (Path(o) for o in item.outputs)))


def one_line_error(exc: BaseException) -> str:
    """The exception as one line: humokit errors as they are, others prefixed with their type."""
    if isinstance(exc, HumokitError):
        text = str(exc)
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename or ''}: {exc.strerror}".strip(": ")
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:500]


# --------------------------------------------------------------------------- drivers

def _run_in_process(fn: ItemFn, todo: list[BatchItem], log: _Manifest, desc: str,
                    progress: bool) -> tuple[int, int, bool]:
    ok = failed = 0
    with _bar(len(todo), desc, progress) as bar:
        for item in todo:
            try:
                rec = _run_item(fn, item, str(_staging_path(item)), None)
            except KeyboardInterrupt:
                return ok, failed, True
            ok, failed = _finish(log, bar, item, rec, ok, failed)
    return ok, failed, False


def _run_on_ray(fn: ItemFn, todo: list[BatchItem], log: _Manifest, desc: str, progress: bool, *,
                workers: int | None, address: str | None, threads: int | None) -> tuple[int, int, bool]:
    ray = _import_ray()
    try:
        started = _start_ray(ray, workers, address)
    except KeyboardInterrupt:  # Ctrl-C while Ray starts: stop what started, nothing ran
        with contextlib.suppress(Exception):
            ray.shutdown()
        return 0, 0, True
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // workers) if address is None and workers else 1
    cap = workers if workers else max(1, len(todo))
    task = ray.remote(num_cpus=1 if address is None else threads, max_retries=0)(_run_item)
    fn_ref = ray.put(fn)
    queue = list(todo)
    running: dict[Any, tuple[BatchItem, Path]] = {}
    ok = failed = 0
    interrupted = False
    try:
        with _bar(len(todo), desc, progress) as bar:
            while queue or running:
                while queue and len(running) < cap:
                    item = queue.pop(0)
                    stage = _staging_path(item)
                    running[task.remote(fn_ref, item, str(stage), threads)] = (item, stage)
                ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
                for ref in ready:
                    item, stage = running.pop(ref)
                    try:
                        rec = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # worker died (crash, out of memory)
                        shutil.rmtree(stage, ignore_errors=True)
                        rec = {"status": "failed", "seconds": None, "error": _ray_error(exc), "detail": None}
                    ok, failed = _finish(log, bar, item, rec, ok, failed)
    except KeyboardInterrupt:
        interrupted = True
        for ref in running:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
    finally:
        if started:
            with contextlib.suppress(Exception):
                ray.shutdown()
        for _, stage in running.values():
            shutil.rmtree(stage, ignore_errors=True)
    return ok, failed, interrupted


def _import_ray() -> Any:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("Ray (needed for --workers above 1 and --ray-address)", "scale") from None
    return ray


def _start_ray(ray: Any, workers: int | None, address: str | None) -> bool:
    """Start (locally) or join (cluster) Ray unless this process already did; True if we started it."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "logging_level": logging.ERROR, "configure_logging": True}
    try:
        with stdout_to_stderr():
            if address is None:
                ray.init(num_cpus=workers, **kwargs)
            else:
                ray.init(address=address, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported as one line
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise InputError(f"could not start {where}: {one_line_error(exc)}") from None
    logging.getLogger("ray").setLevel(logging.ERROR)
    return True


def _ray_error(exc: BaseException) -> str:
    name = type(exc).__name__
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    return f"{name}: {first}"[:500]


# --------------------------------------------------------------------------- bookkeeping

def _finish(log: _Manifest, bar: Any, item: BatchItem, rec: dict[str, Any], ok: int,
            failed: int) -> tuple[int, int]:
    log.write({"input": item.input, "output": str(item.marker), "status": rec["status"],
               "seconds": rec["seconds"], "error": rec["error"],
               "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    if rec["status"] == "ok":
        ok += 1
        note = f" {rec['detail']}" if rec.get("detail") else ""
        _status_line(f"ok     {item.input} -> {item.marker} ({rec['seconds']:.1f} s){note}", bar)
    else:
        failed += 1
        _status_line(f"failed {item.input}: {rec['error']}", bar)
    if bar is not None:
        bar.set_postfix(ok=ok, failed=failed)
        bar.update(1)
    return ok, failed


def _status_line(text: str, bar: Any = None) -> None:
    if bar is not None:
        bar.write(text, file=sys.stderr)
    else:
        click.echo(text, err=True)


@contextlib.contextmanager
def _bar(total: int, desc: str, progress: bool) -> Iterator[Any]:
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="item", file=sys.stderr, disable=not progress or total == 0,
              dynamic_ncols=True) as bar:
        yield bar


class _Manifest:
    """Append-only JSON-lines log, flushed and synced per line, locked against a second run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def __enter__(self) -> _Manifest:
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        try:
            import fcntl

            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # no fcntl (Windows): no lock
            pass
        except OSError:
            self._fh.close()
            raise InputError(f"{self.path}: another batch is writing into this folder") from None
        return self

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``manifest.jsonl``, oldest first."""
    return [json.loads(ln) for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]


def _check_unique(items: Sequence[BatchItem]) -> None:
    seen: dict[str, str] = {}
    for it in items:
        if not it.outputs:
            raise InputError(f"{it.input}: batch item without outputs")
        for o in it.outputs:
            key = os.path.normcase(os.path.abspath(o))
            if key in seen:
                raise InputError(f"{seen[key]} and {it.input} would both write {o}; rename one of them")
            seen[key] = it.input


def _staging_path(item: BatchItem) -> Path:
    m = item.marker
    return m.parent / f".{m.name}.{uuid.uuid4().hex[:8]}{_STAGING_SUFFIX}"


def _remove_stale_staging(folder: Path) -> None:
    """Remove staging folders left by a run that was killed (this run holds the manifest lock)."""
    if folder.is_dir():
        for p in folder.glob(f".*{_STAGING_SUFFIX}"):
            shutil.rmtree(p, ignore_errors=True)
