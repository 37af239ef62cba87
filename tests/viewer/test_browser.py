"""End to end: the viewer in headless Chromium (SwiftShader WebGL).

Needs ``apt-get install chromium`` and ``pip install playwright`` (no
``playwright install``); skipped otherwise. Screenshots go to
``$HUMOKIT_VIEWER_SHOTS`` when set (for looking at them).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from humokit.viewer._headless import RAF_FPS_JS, headless_status, launch_chromium

from browser_helpers import H, W  # noqa: E402
from browser_helpers import project as _project  # noqa: E402
from browser_helpers import shot as _shot  # noqa: E402

pytestmark = pytest.mark.skipif(headless_status() != "ok", reason=f"headless browser: {headless_status()}")


def _body_pixels(img, box):
    """Pixels of the skin-coloured body (not white background, grey grid or orange trajectory)."""
    u0, v0, u1, v1 = box
    crop = img[v0:v1, u0:u1]
    r, g, b = crop[..., 0], crop[..., 1], crop[..., 2]
    return (r - b > 12) & (r - b < 110) & (g > b) & (r < 250) & (r > 60)


def _wait_until(fn, timeout, step=0.25):
    t0 = time.time()
    while time.time() - t0 < timeout:
        out = fn()
        if out is not None:
            return out
        time.sleep(step)
    return fn()


def test_viewer_in_headless_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    from humokit.motion.builtin import builtin_motion
    from humokit.viewer import ViewerApp
    from humokit.viewer.app import CAMERA_FOV_DEG

    shots = Path(os.environ.get("HUMOKIT_VIEWER_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a zip file")
    t_start = time.time()
    app = ViewerApp("127.0.0.1", 0, play=False, roots=[tmp_path])
    try:
        app.add_motion(builtin_motion("walk", seconds=2.0), "walk")
        cam = app.server.initial_camera  # what a new browser tab starts with
        tr = app._tracks[0]
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": W, "height": H})
            page.goto(app.url)
            page.wait_for_selector("canvas", timeout=20_000)

            def box_for(frame):
                uv = _project(tr.joints[frame] + tr.offset, np.asarray(cam.position), np.asarray(cam.look_at), CAMERA_FOV_DEG)
                (u0, v0), (u1, v1) = uv.min(0) - 25, uv.max(0) + 25
                return int(max(u0, 0)), int(max(v0, 0)), int(min(u1, W)), int(min(v1, H))

            # frame 0: wait until the body has been rendered in its predicted screen region
            app.set_frame(0)
            box0 = box_for(0)
            assert box0[2] - box0[0] > 40 and box0[3] - box0[1] > 150, f"body would be tiny on screen: {box0}"
            img0 = _wait_until(lambda: (lambda im: im if _body_pixels(im, box0).mean() > 0.15 else None)(_shot(page)), 25)
            assert img0 is not None, "the body never appeared in its screen region"
            frac0 = _body_pixels(img0, box0).mean()
            # the body is not everywhere: the corners are background
            assert _body_pixels(img0, (0, H - 120, 120, H)).mean() < 0.01
            page.screenshot(path=str(shots / "viewer_frame000.png"))

            app.set_frame(20)
            box1 = box_for(20)
            union = (min(box0[0], box1[0]), min(box0[1], box1[1]), max(box0[2], box1[2]), max(box0[3], box1[3]))

            def changed():
                im = _shot(page)
                diff = np.abs(im - img0).max(-1)[union[1] : union[3], union[0] : union[2]] > 30
                return im if diff.mean() > 0.01 else None

            img1 = _wait_until(changed, 10)
            assert img1 is not None, "frames 0 and 20 look the same"
            frac1 = _body_pixels(img1, box1).mean()
            assert frac1 > 0.15, f"body not visible at frame 20 ({frac1:.2f})"
            page.screenshot(path=str(shots / "viewer_frame020.png"))

            # render rate while playing
            app.play(True)
            fps = page.evaluate(RAF_FPS_JS, 1500)
            app.play(False)
            (shots / "viewer_fps.txt").write_text(f"{fps:.2f}\n")

            # a bad file through the Load panel: an error notification, the viewer lives on
            page.get_by_text("Path", exact=True).locator("xpath=following::input[1]").fill(str(bad))
            page.get_by_role("button", name="Load file", exact=True).click()
            page.get_by_text("broken.npz").first.wait_for(timeout=10_000)
            assert any("broken.npz" in e for e in app.errors)
            # a path outside the --root folders is refused in the browser too
            page.get_by_text("Path", exact=True).locator("xpath=following::input[1]").fill("/etc/passwd")
            page.get_by_role("button", name="Load file", exact=True).click()
            page.get_by_text("outside the folders").first.wait_for(timeout=10_000)
            page.screenshot(path=str(shots / "viewer_error.png"))
            app.set_frame(5)
            assert app._tracks[0].shown == 5
            browser.close()
    finally:
        app.stop()
    print(f"body pixels {frac0:.2f}/{frac1:.2f}, browser {fps:.1f} frames/s, {time.time() - t_start:.1f} s")
    assert fps > 0.5
