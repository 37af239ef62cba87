"""Blender back-end (``bpy``, extra ``humokit[blender]``) run in a subprocess.

``bpy`` is a large module that installs handlers and changes process state
on import, so humokit never imports it in the caller's process: each job
runs ``python humokit/export/blender_script.py JOB.json`` with the current
interpreter and reads a JSON result back. :func:`has_blender` is the probe.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from humokit.errors import HumokitError, MissingDependencyError

_SCRIPT = Path(__file__).with_name("blender_script.py")


@functools.lru_cache(maxsize=1)
def has_blender() -> bool:
    """True when the ``bpy`` module (Blender as a Python module) is importable."""
    return importlib.util.find_spec("bpy") is not None


def run_blender_job(mode: str, *, timeout: float = 600.0, **args: object) -> dict:
    """Run one job of :mod:`humokit.export.blender_script` and return its JSON result."""
    if not has_blender():
        raise MissingDependencyError("Blender's Python module 'bpy' (Python 3.11, bpy==4.2.*)", "blender")
    with tempfile.TemporaryDirectory(prefix="humokit_bpy_") as tmp:
        job = dict(args, mode=mode, result=str(Path(tmp) / "result.json"))
        job_path = Path(tmp) / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, str(_SCRIPT), str(job_path)], capture_output=True, text=True, timeout=timeout
        )
        result_path = Path(job["result"])
        if proc.returncode != 0 or not result_path.exists():
            text = (proc.stderr or "") + (proc.stdout or "")
            lines = [ln for ln in text.strip().splitlines() if ln.strip() and "| INFO:" not in ln]
            raise HumokitError(f"blender {mode} failed: {lines[-1] if lines else f'exit status {proc.returncode}'}")
        return json.loads(result_path.read_text(encoding="utf-8"))


def convert_to_fbx(src: str | Path, dst: str | Path, *, fps: float) -> dict:
    """Import ``src`` (.glb/.bvh) in an empty headless Blender scene and export FBX to ``dst``.

    Returns Blender's timings (``import_s``, ``export_s``) and frame range.
    """
    return run_blender_job("fbx", src=str(src), dst=str(dst), fps=float(fps))


def inspect_in_blender(path: str | Path, *, fps: float | None = None, bvh_scale: float = 1.0) -> dict:
    """Import a file in Blender and report bones, fps, frame range and per-frame bone head positions (Y up).

    BVH files import with ``bvh_scale`` (Blender's importer default is 1.0:
    one file unit = one metre); positions come back in Blender metres.
    """
    return run_blender_job("inspect", src=str(path), fps=fps, bvh_scale=float(bvh_scale))


def render_in_blender(path: str | Path, png: str | Path, *, frame: int = 0, fps: float | None = None,
                      width: int = 480, height: int = 640) -> dict:
    """Render ``frame`` of a .glb/.bvh/.fbx to ``png`` with Blender's Workbench engine (camera in front)."""
    return run_blender_job("render", src=str(path), png=str(png), frame=frame, fps=fps, width=width, height=height)
