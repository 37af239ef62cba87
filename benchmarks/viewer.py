"""Viewer benchmark: server-side cost of one frame update and the browser's frame rate.

Run: ``python benchmarks/viewer.py [--seconds 2] [--no-browser]``.

Rows, for the Anny body (13,718 vertices) with both skinning modes:

- ``update ms``: median wall time of ``ViewerApp.set_frame`` (pose the body,
  skeleton and contact markers and queue the messages), measured in-process.
- ``browser fps``: requestAnimationFrame rate of headless Chromium (SwiftShader,
  software WebGL, 960x640) while the timeline plays (needs chromium + playwright).
- ``msg kB/frame``: payload per update (bones vs vertices).
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np


def bench_updates(skinning: str, frames: int) -> tuple[float, float, int]:
    from humokit.motion.builtin import builtin_motion
    from humokit.viewer import ViewerApp

    app = ViewerApp("127.0.0.1", 0, play=False, skinning=skinning)  # type: ignore[arg-type]
    try:
        app.add_motion(builtin_motion("walk", seconds=4.0), "walk")
        nv = app._rest_body().num_vertices
        times = []
        for i in range(frames):
            t0 = time.perf_counter()
            app.set_frame(i % app.num_frames)
            times.append(time.perf_counter() - t0)
        return float(np.median(times) * 1e3), float(np.percentile(times, 95) * 1e3), nv
    finally:
        app.stop()


def bench_browser(skinning: str, seconds: float) -> float | None:
    from humokit.viewer._headless import RAF_FPS_JS, headless_status, launch_chromium

    if headless_status() != "ok":
        print(f"(browser rows skipped: {headless_status()})")
        return None
    from playwright.sync_api import sync_playwright

    from humokit.motion.builtin import builtin_motion
    from humokit.viewer import ViewerApp

    app = ViewerApp("127.0.0.1", 0, play=False, skinning=skinning)  # type: ignore[arg-type]
    try:
        app.add_motion(builtin_motion("walk", seconds=4.0), "walk")
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 960, "height": 640})
            page.goto(app.url)
            page.wait_for_selector("canvas", timeout=20_000)
            time.sleep(3.0)  # first scene upload and shader compilation
            app.play(True)
            fps = float(page.evaluate(RAF_FPS_JS, int(seconds * 1000)))
            browser.close()
        return fps
    finally:
        app.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=240, help="frame updates timed per mode")
    ap.add_argument("--seconds", type=float, default=3.0, help="browser measurement window")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    logging.getLogger("websockets").setLevel(logging.WARNING)
    rows = []
    for mode in ("client", "server"):
        med, p95, nv = bench_updates(mode, args.frames)
        fps = None if args.no_browser else bench_browser(mode, args.seconds)
        kb = 22 * 7 * 4 / 1e3 if mode == "client" else nv * 3 * 4 / 1e3
        rows.append((mode, nv, med, p95, kb, fps))
    print(f"\n{'skinning':<9} {'vertices':>8} {'update ms':>10} {'p95 ms':>8} {'msg kB/frame':>13} {'browser fps':>12}")
    for mode, nv, med, p95, kb, fps in rows:
        f = "n/a" if fps is None else f"{fps:.1f}"
        print(f"{mode:<9} {nv:>8d} {med:>10.2f} {p95:>8.2f} {kb:>13.1f} {f:>12}")


if __name__ == "__main__":
    main()
