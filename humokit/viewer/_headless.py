"""Headless Chromium for viewer tests, benchmarks and screenshots (optional ``playwright``).

Uses the system Chromium (Debian ``chromium`` package) with SwiftShader for
WebGL, so no GPU and no ``playwright install`` download are needed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--use-gl=swiftshader", "--enable-unsafe-swiftshader",
    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
)  # fmt: skip


def chromium_path() -> str | None:
    """Path of the Chromium executable (``$HUMOKIT_CHROMIUM`` or ``chromium`` on PATH), or None."""
    env = os.environ.get("HUMOKIT_CHROMIUM")
    if env and os.path.isfile(env):
        return env
    return shutil.which("chromium") or shutil.which("chromium-browser")


def headless_status() -> str:
    """``"ok"`` when a headless browser can be launched, else the reason why not."""
    if importlib.util.find_spec("playwright") is None:
        return "python package playwright is not installed (pip install playwright)"
    if chromium_path() is None:
        return "chromium is not installed (apt-get install chromium)"
    return "ok"


def launch_chromium(playwright: object) -> object:
    """Launch headless Chromium through a started ``sync_playwright()`` object."""
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS)
    )


# Counts requestAnimationFrame callbacks for `ms` milliseconds: the browser's render rate.
RAF_FPS_JS = """(ms) => new Promise(resolve => {
  let n = 0; const t0 = performance.now();
  function tick(t) { n++; if (t - t0 < ms) requestAnimationFrame(tick); else resolve(1000 * n / (t - t0)); }
  requestAnimationFrame(tick);
})"""
