"""Golden values of the model-specific control conventions (pose palettes, inverse depth, Champ parts)."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.errors import InputError
from humokit.render.controls import CHAMP_PALETTE, inverse_depth_to_image, parts_to_image
from humokit.render.pose_styles import (
    FACE68_TEMPLATE,
    POSE_STYLES,
    draw_pose_styled,
    face68_points,
    pose_style,
    wan_stick_width,
)


def _skeleton(n: int, scale: float) -> np.ndarray:
    """A standing person (OpenPose-18 order, + toes for n=20) in a 1024-px frame, scaled."""
    pts = {0: (512, 150), 1: (512, 250), 2: (430, 250), 3: (400, 400), 4: (390, 540), 5: (594, 250),
           6: (624, 400), 7: (634, 540), 8: (460, 520), 9: (455, 720), 10: (450, 900), 11: (564, 520),
           12: (569, 720), 13: (574, 900), 14: (490, 130), 15: (534, 130), 16: (470, 140), 17: (554, 140),
           18: (600, 960), 19: (424, 960)}
    kp = np.array([[*pts[i], 1.0] for i in range(n)])
    kp[:, :2] = (kp[:, :2] + 0.5) * scale
    return kp


def test_vace_palette_is_channel_swapped_nose_blue():
    img = draw_pose_styled(_skeleton(18, 1.0), 1024, 1024, POSE_STYLES["vace"])
    assert tuple(img[150, 512]) == (0, 0, 255)      # nose: red swapped to blue
    assert tuple(img[250, 430]) == (0, 170, 255)    # right shoulder (255, 170, 0) swapped
    assert tuple(img[250, 471]) == (0, 0, 153)      # neck-right shoulder limb: 0.6 x (255, 0, 0), swapped
    assert tuple(img[140, 470]) == (170, 0, 255)    # right ear (255, 0, 170) swapped


def test_openpose_and_wan_palettes_nose_red():
    img = draw_pose_styled(_skeleton(18, 0.5), 512, 512, POSE_STYLES["openpose"])
    assert tuple(img[75, 256]) == (255, 0, 0)
    assert tuple(img[125, 235]) == (153, 0, 0)  # limb at 0.6 x colour, drawn opaque
    w = draw_pose_styled(_skeleton(20, 1.0), 1024, 1024, POSE_STYLES["wan_animate"])
    assert tuple(w[150, 512]) == (255, 0, 0) and tuple(w[960, 600]) == (200, 200, 0)
    assert tuple(w[960, 424]) == (100, 100, 0)
    # limbs take the palette by limb index: left ankle-toe = 0.6 x (255, 0, 85), right = 0.6 x (200, 200, 0)
    assert tuple(w[930, 587]) == (153, 0, 51) and tuple(w[930, 437]) == (120, 120, 0)
    assert wan_stick_width(832, 480) == 1 and wan_stick_width(1280, 720) == 2 and wan_stick_width(100, 100) == 1


def test_stick_width_follows_image_size():
    """VACE draws on a 1024-px canvas and area-resizes: sticks thin out at small sizes, the colour stays."""
    big = draw_pose_styled(_skeleton(18, 1.0), 1024, 1024, POSE_STYLES["vace"])
    small = draw_pose_styled(_skeleton(18, 0.5), 512, 512, POSE_STYLES["vace"])
    row_big = (big[600] > 0).any(-1).sum()
    row_small = (small[300] > 0).any(-1).sum()
    assert 0 < row_small < row_big
    assert small[75, 256, 2] > 200 and small[75, 256, 0] == 0


def test_face_dots_and_hands():
    st = pose_style("vace")
    face = np.array([[300.5, 300.5, 1.0], [320.5, 300.5, 0.0]] + [[0, 0, 0]] * 66)
    img = draw_pose_styled(np.zeros((18, 3)), 1024, 1024, st, face=face)
    assert tuple(img[300, 300]) == (255, 255, 255) and tuple(img[300, 320]) == (0, 0, 0)
    assert draw_pose_styled(np.zeros((18, 3)), 1024, 1024, pose_style("vace", face=False), face=face).max() == 0
    hands = np.zeros((2, 21, 3))
    hands[0, 0] = (100.5, 100.5, 1)
    img = draw_pose_styled(np.zeros((18, 3)), 1024, 1024, pose_style("openpose", hands=True), hands=hands)
    assert tuple(img[100, 100]) == (0, 0, 255)  # hand points blue in the unswapped palette
    with pytest.raises(InputError):
        pose_style("dwpose")


def test_face68_template_on_head():
    R = np.eye(3)
    pts = face68_points(R, np.array([0.032, 1.6, 0.1]), np.array([-0.032, 1.6, 0.1]))
    assert pts.shape == (68, 3) and FACE68_TEMPLATE.shape == (68, 3)
    assert pts[8, 1] < pts[30, 1] < pts[27, 1] < pts[19, 1]  # chin < nose tip < bridge < brow
    assert pts[36:42, 0].mean() < 0 < pts[42:48, 0].mean()   # right eye on -x (person's right), left on +x


def test_inverse_depth_golden():
    d = np.array([[2.0, 4.0, 0.0]])
    img = inverse_depth_to_image(d, d > 0)
    assert img.shape == (1, 3, 3) and (img[..., 0] == img[..., 2]).all()
    assert img[0, :, 0].tolist() == [255, 127, 0]  # 1/2 -> 1, 1/4 -> 0.5 (floored), background 0
    assert inverse_depth_to_image(np.full((2, 2), 3.0), np.ones((2, 2), bool)).max() == 0


def test_champ_palette_golden():
    assert CHAMP_PALETTE.shape == (24, 3)
    assert CHAMP_PALETTE[0].tolist() == [68, 1, 84] and CHAMP_PALETTE[15].tolist() == [33, 165, 133]
    parts = np.array([[-1, 0, 21]])
    img = parts_to_image(parts, "champ")
    assert img[0].tolist() == [[68, 1, 84], [68, 1, 84], [137, 213, 72]]
    try:
        import matplotlib

        cm = matplotlib.colormaps["viridis"]
        ref = np.round(np.array([cm(10 * j / 255)[:3] for j in range(24)]) * 255)
        np.testing.assert_array_equal(CHAMP_PALETTE, ref)
    except ImportError:
        pass


def test_render_frame_styles_on_the_body(anny_body):
    from humokit.motion.builtin import builtin_motion
    from humokit.render.camera import look_at, project
    from humokit.render.controls import pose_clip, render_frame
    from humokit.render.keypoints import body_keypoints

    clip = pose_clip(builtin_motion("walk", seconds=0.2, fps=25).slice(0, 2), anny_body)
    assert {"left_toe", "right_toe", "nose"} <= set(clip.landmarks)
    cam = look_at([0.3, 1.0, 3.0], [0, 0.9, 0.1], width=480, height=832)
    fr = render_frame(clip, 1, cam, ("pose", "depth"), pose_style="wan_animate")
    kp3 = body_keypoints(clip.joints[1].numpy(), clip.vertices[1].numpy(), clip.landmarks, "wan20")
    uv, _ = project(cam, kp3)
    for i, col in ((18, (200, 200, 0)), (19, (100, 100, 0)), (0, (255, 0, 0))):
        c, r = int(uv[i, 0]), int(uv[i, 1])
        assert tuple(fr["pose"][r, c]) == col
    assert fr["_face68"].shape == (68, 3) and fr["_face68"][:, 2].all()  # facing the camera: face visible
    v = render_frame(clip, 1, cam, ("pose",), pose_style="vace")["pose"]
    assert (v == 255).all(-1).sum() > 20  # white face dots
    back = look_at([0.0, 1.0, -3.0], [0, 0.9, 0.0], width=256, height=256)
    assert not render_frame(clip, 1, back, ("pose",))["_face68"][:, 2].any()  # seen from behind: no face
