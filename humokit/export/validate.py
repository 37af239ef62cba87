"""Run the official Khronos glTF validator (node + npm ``gltf-validator``) on a file.

Install: ``npm install -g gltf-validator`` (a pure JavaScript package, ~1 s).
:func:`has_gltf_validator` probes for node and the package.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from humokit.errors import HumokitError

_SCRIPT = Path(__file__).with_name("validate_gltf.mjs")


@functools.lru_cache(maxsize=1)
def _validator_dir() -> str | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None
    try:
        root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    pkg = Path(root) / "gltf-validator"
    return str(pkg) if (pkg / "package.json").exists() else None


def has_gltf_validator() -> bool:
    """True when ``node`` and the global npm package ``gltf-validator`` are installed."""
    return _validator_dir() is not None


@dataclass(frozen=True)
class ValidationReport:
    """Counts and messages from the Khronos validator.

    Attributes:
        num_errors, num_warnings, num_infos: issue counts by severity.
        messages: ``"SEVERITY CODE pointer: message"`` lines (errors and warnings).
        raw: the full JSON report as a dict.
    """

    num_errors: int
    num_warnings: int
    num_infos: int
    messages: tuple[str, ...]
    raw: dict


def validate_gltf(path: str | Path) -> ValidationReport:
    """Validate a ``.glb``/``.gltf`` file with the Khronos validator."""
    pkg = _validator_dir()
    if pkg is None:
        raise HumokitError("the Khronos glTF validator is not installed: install node, then npm install -g gltf-validator")
    proc = subprocess.run(
        [shutil.which("node") or "node", str(_SCRIPT), pkg, str(path)], capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0:
        raise RuntimeError(f"gltf-validator failed: {proc.stderr.strip()[-500:]}")
    rep = json.loads(proc.stdout)
    issues = rep.get("issues", {})
    sev = ("ERROR", "WARNING", "INFO", "HINT")
    msgs = tuple(
        f"{sev[m.get('severity', 0)]} {m.get('code')} {m.get('pointer', '')}: {m.get('message')}"
        for m in issues.get("messages", [])
        if m.get("severity", 0) <= 1
    )
    return ValidationReport(
        int(issues.get("numErrors", 0)), int(issues.get("numWarnings", 0)), int(issues.get("numInfos", 0)), msgs, rep
    )
