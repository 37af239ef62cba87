"""The viewer's panels in headless Chromium: Generate makes a new body that moves; Screenshot and Record write files.

Skipped without Chromium + playwright (see ``test_browser.py``). Generation uses
the shipped mask-family checkpoints (a 1-s clip); the whole test takes about a
minute on two busy cores.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from humokit.viewer._headless import headless_status, launch_chromium

from browser_helpers import H, W  # noqa: E402
from browser_helpers import project as _project  # noqa: E402
from browser_helpers import shot as _shot  # noqa: E402

pytestmark = pytest.mark.skipif(headless_status() != "ok", reason=f"headless browser: {headless_status()}")


def _wait(fn, timeout, step=0.5):
    t0 = time.time()
    while time.time() - t0 < timeout:
        out = fn()
        if out:
            return out
        time.sleep(step)
    return fn()


def test_generate_screenshot_and_record_buttons(tmp_path):
    from playwright.sync_api import sync_playwright

    from humokit.motion.builtin import builtin_motion
    from humokit.viewer import ViewerApp
    from humokit.viewer.app import CAMERA_FOV_DEG

    app = ViewerApp("127.0.0.1", 0, play=False, roots=[tmp_path], allow_generate=True)
    try:
        app.add_motion(builtin_motion("walk", seconds=1.0), "walk")
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": W, "height": H})
            page.goto(app.url)
            page.wait_for_selector("canvas", timeout=20_000)
            assert _wait(lambda: app.server.get_clients(), 20)

            # --- Generate: the panel's own button, the real models, seed and physics projection
            app._gui["gen_text"].value = "a person walks forward"
            app._gui["gen_seconds"].value = 1.0
            app._gui["gen_seed"].value = 7
            page.get_by_role("button", name="Generate", exact=True).last.dispatch_event("click")
            assert _wait(lambda: len(app._tracks) == 2 or app.errors, 240, 1.0) and not app.errors, app.errors
            new = app._tracks[1]
            assert new.name == "a person walks forward (mask, seed 7)"
            assert new.motion.meta.get("text") == "a person walks forward"
            # side by side: the new lane is right of the walk's
            assert (new.joints[..., 0] + new.offset[0]).min() > (app._tracks[0].joints[..., 0] + app._tracks[0].offset[0]).max()

            client = next(iter(app.server.get_clients().values()))
            time.sleep(1.0)  # the camera re-framed on the new motion
            pos, look = np.asarray(client.camera.position), np.asarray(client.camera.look_at)

            def box(frame):
                uv = _project(new.joints[frame] + new.offset, pos, look, CAMERA_FOV_DEG)
                (u0, v0), (u1, v1) = uv.min(0) - 30, uv.max(0) + 30
                return int(max(u0, 0)), int(max(v0, 0)), int(min(u1, W)), int(min(v1, H))

            app.set_frame(0)
            time.sleep(1.0)
            img0 = _shot(page, timeout=120_000)
            b0 = box(0)
            assert b0[2] - b0[0] > 30 and b0[3] - b0[1] > 60, f"the new body would be off screen: {b0}"
            last = new.motion.num_frames - 1
            app.set_frame(last)
            b1 = box(last)
            union = (min(b0[0], b1[0]), min(b0[1], b1[1]), max(b0[2], b1[2]), max(b0[3], b1[3]))

            def moved():
                im = _shot(page, timeout=120_000)
                diff = np.abs(im - img0).max(-1)[union[1] : union[3], union[0] : union[2]] > 30
                return diff.mean() > 0.01

            assert _wait(moved, 15), "the generated body did not move on screen"

            # --- Capture: Screenshot (the browser's render) and Record (MP4 of the timeline)
            app._gui["capture_dir"].value = str(tmp_path)
            app._gui["record_height"].value = 96
            page.get_by_text("Capture", exact=True).click()
            page.get_by_role("button", name="Screenshot", exact=True).dispatch_event("click")
            pngs = _wait(lambda: list(tmp_path.glob("humokit_*.png")), 30)
            assert pngs, app.errors
            from PIL import Image

            shot = np.asarray(Image.open(pngs[0]))
            assert shot.ndim == 3 and shot.shape[0] > 100 and shot.std() > 5
            page.get_by_role("button", name="Record", exact=True).dispatch_event("click")
            mp4s = _wait(lambda: list(tmp_path.glob("humokit_*.mp4")), 240, 1.0)
            assert mp4s, app.errors
            import imageio.v3 as iio

            video = iio.imread(mp4s[0])
            assert video.shape[0] == app.num_frames and video.shape[1] == 96
            assert np.abs(video[0].astype(int) - video[-1].astype(int)).max() > 30  # the bodies moved
            browser.close()
    finally:
        app.stop()
