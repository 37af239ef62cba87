"""Pose-image conventions of video models that take a DWPose/OpenPose drawing.

A model trained on pose images learns the exact drawing: palette order,
limb brightness, stick width, which points are drawn. A drawing in another
convention still "works" but silently degrades the result, so each
convention here is a named :class:`PoseStyle`:

- ``"vace"`` (Wan2.1/2.2-VACE; also the convention of MimicMotion,
  StableAnimator and UniAnimate, whose DWPose drawings are written with the
  colour channels swapped): OpenPose-18 body, 17 limbs (no ear-shoulder
  limbs), **channel-swapped palette: nose blue** (0, 0, 255), limbs filled
  with 0.6 x their colour, then joints (radius 4) at full colour, plus the
  68 face points as white dots (radius 3). Drawn on a canvas whose short side
  is 1024 px (sticks 4 px wide on each side of the bone), then area-resized
  to the output size, as VACE's annotator does. VACE's default is body +
  face, no hands.
- ``"openpose"`` (SD1.5 ControlNet ``control_v11p_sd15_openpose`` /
  controlnet_aux, Moore-AnimateAnyone): the same body drawing in the
  **unswapped palette: nose red** (255, 0, 0), canvas short side 512, body
  only by default.
- ``"wan_animate"`` (Wan2.2-Animate): 20 keypoints = OpenPose-18 + left toe
  + right toe, 19 limbs (the 17 above + left and right ankle-toe), nose red;
  as in Wan's drawing, limb ``i`` takes palette colour ``i`` (so the ankle-toe
  limbs are 0.6 x (255, 0, 85) and 0.6 x (200, 200, 0)) and the toe points
  (200, 200, 0) and (100, 100, 0); drawn at the output size with stick
  half-width and joint radius ``max(min(H, W) // 200 - 1, 1)``.

Limbs are ellipses around the bone (semi-axes: half the bone length, the
stick width), filled opaque in draw order; joints are filled discs drawn
afterwards. Hands (MANO-style 21 points per hand) are drawn only when the
caller has hand keypoints: humokit's 22-joint bodies have no finger joints,
so :func:`~humokit.render.controls.render_frame` never passes any.

Face points: the 68-point (iBUG/DWPose order) face is placed on the head from
a fixed template in the head joint's frame, scaled by the distance between the
mesh's eye landmarks and centred between them; it is hidden whenever the nose
is (face turned away or occluded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from humokit.errors import InputError
from humokit.render.keypoints import OPENPOSE18_COLORS, OPENPOSE18_LIMBS, OPENPOSE18_NAMES

WAN20_NAMES = OPENPOSE18_NAMES + ("left_toe", "right_toe")
#: Wan-Animate limbs: OpenPose-18's 17 limbs then left ankle -> left toe, right ankle -> right toe
#: (limb i is drawn in WAN20_COLORS[i], point i in WAN20_COLORS[i]).
WAN20_LIMBS = OPENPOSE18_LIMBS + ((13, 18), (10, 19))
WAN20_COLORS = OPENPOSE18_COLORS + ((200, 200, 0), (100, 100, 0))
#: MANO-style hand edges (wrist 0, then 4 points per finger from the thumb).
HAND21_EDGES = tuple((0 if k % 4 == 0 else k, k + 1) for k in range(20))

PoseStyleName = Literal["humokit", "openpose", "vace", "wan_animate"]
POSE_STYLE_NAMES = ("humokit", "openpose", "vace", "wan_animate")


@dataclass(frozen=True)
class PoseStyle:
    """One pose-image convention (see the module docstring).

    Attributes:
        keypoints: ``"openpose18"`` or ``"wan20"`` (OpenPose-18 + toes).
        swap_channels: write the finished image with R and B swapped (nose blue).
        canvas_short_side: draw on a canvas with this short side, then
            area-resize to the output size; ``None``: draw at the output size.
        stick_width: limb half-width in canvas pixels; ``None``: Wan's rule
            ``max(min(H, W) // 200 - 1, 1)``.
        joint_radius: joint disc radius in canvas pixels; ``None``: the stick width.
        limb_factor: limb colour = ``int(factor * colour)`` (joints at full colour).
        face: draw the 68 face points (white dots, radius 3 canvas px).
        hands: draw hands when hand keypoints are given.
    """

    keypoints: Literal["openpose18", "wan20"]
    swap_channels: bool
    canvas_short_side: int | None
    stick_width: int | None
    joint_radius: int | None
    limb_factor: float = 0.6
    face: bool = False
    hands: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return WAN20_NAMES if self.keypoints == "wan20" else OPENPOSE18_NAMES


POSE_STYLES: dict[str, PoseStyle] = {
    "openpose": PoseStyle("openpose18", swap_channels=False, canvas_short_side=512, stick_width=4, joint_radius=4),
    "vace": PoseStyle("openpose18", swap_channels=True, canvas_short_side=1024, stick_width=4, joint_radius=4,
                      face=True),
    "wan_animate": PoseStyle("wan20", swap_channels=False, canvas_short_side=None, stick_width=None,
                             joint_radius=None, hands=True),
}


def pose_style(name: str | PoseStyle, *, face: bool | None = None, hands: bool | None = None) -> PoseStyle:
    """A :data:`POSE_STYLES` preset by name (or a style), with ``face``/``hands`` overridden when given."""
    from dataclasses import replace

    if isinstance(name, PoseStyle):
        st = name
    elif name in POSE_STYLES:
        st = POSE_STYLES[name]
    else:
        raise InputError(f"unknown pose style {name!r}; choose from {', '.join(POSE_STYLE_NAMES)}")
    return replace(st, face=st.face if face is None else face, hands=st.hands if hands is None else hands)


def wan_stick_width(width: int, height: int) -> int:
    """Wan-Animate's stick half-width and joint radius for an image, pixels."""
    return max(min(width, height) // 200 - 1, 1)


# --- the 68-point face, in units of the inter-eye distance, head frame (x left, y up, z forward), origin between the eyes
def _face68_template() -> np.ndarray:
    pts: list[tuple[float, float, float]] = []
    for i in range(17):  # jaw, from the person's right ear round the chin to the left ear
        phi = math.pi * i / 16
        pts.append((-1.05 * math.cos(phi), -0.15 - 1.3 * math.sin(phi), -0.55 + 0.6 * math.sin(phi)))
    for side in (-1.0, 1.0):  # right brow (17-21) then left brow (22-26), outer to inner for the right
        xs = np.linspace(-0.9, -0.15, 5) if side < 0 else np.linspace(0.15, 0.9, 5)
        for x in xs:
            pts.append((float(x), 0.32 + 0.1 * math.cos((abs(x) - 0.5) * math.pi / 0.75), 0.08))
    for k in range(4):  # nose bridge 27-30
        pts.append((0.0, -0.15 * k - 0.05, 0.12 + 0.1 * k))
    for x in np.linspace(-0.28, 0.28, 5):  # nostrils 31-35
        pts.append((float(x), -0.72 + 0.04 * (1 - abs(x) / 0.28), 0.3 - 0.15 * abs(x)))
    for cx in (-0.5, 0.5):  # right eye 36-41, left eye 42-47 (corner, top, top, corner, bottom, bottom)
        for ang in (math.pi, 2 * math.pi / 3, math.pi / 3, 0.0, -math.pi / 3, -2 * math.pi / 3):
            ang = ang if cx < 0 else math.pi - ang
            pts.append((cx + 0.22 * math.cos(ang), 0.07 * math.sin(ang), 0.0))
    for n, (rx, ry) in ((12, (0.42, 0.17)), (8, (0.3, 0.05))):  # outer lip 48-59, inner lip 60-67
        for k in range(n):
            ang = math.pi - 2 * math.pi * k / n
            pts.append((rx * math.cos(ang), -1.05 + ry * math.sin(ang), 0.22 - 0.1 * abs(math.cos(ang))))
    return np.array(pts)


FACE68_TEMPLATE = _face68_template()


def face68_points(R_head: np.ndarray, left_eye: np.ndarray, right_eye: np.ndarray) -> np.ndarray:
    """World positions ``(68, 3)`` of the face points for one frame.

    Args:
        R_head: ``(3, 3)`` head joint-to-world rotation (canonical frame: x left, y up, z forward).
        left_eye, right_eye: ``(3,)`` eye landmarks, metres.
    """
    d = float(np.linalg.norm(np.asarray(left_eye) - np.asarray(right_eye)))
    centre = 0.5 * (np.asarray(left_eye, dtype=np.float64) + np.asarray(right_eye, dtype=np.float64))
    return centre + d * FACE68_TEMPLATE @ np.asarray(R_head, dtype=np.float64).T


def _ellipse_polygon(p0: np.ndarray, p1: np.ndarray, half_width: float, n: int = 36) -> list[tuple[float, float]]:
    mid = 0.5 * (p0 + p1)
    d = p1 - p0
    a = 0.5 * float(np.hypot(d[0], d[1]))
    ang = math.atan2(d[1], d[0])
    ca, sa = math.cos(ang), math.sin(ang)
    out = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x, y = a * math.cos(t), half_width * math.sin(t)
        out.append((mid[0] + ca * x - sa * y, mid[1] + sa * x + ca * y))
    return out


def _hsv_edge_color(i: int, n: int) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(i / n, 1.0, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_pose_styled(
    keypoints: np.ndarray,
    width: int,
    height: int,
    style: PoseStyle,
    *,
    face: np.ndarray | None = None,
    hands: np.ndarray | None = None,
) -> np.ndarray:
    """Draw one person in ``style`` on black: ``(H, W, 3)`` uint8.

    Args:
        keypoints: ``(K, 3)`` ``(u, v, confidence)`` in ``style.names`` order, output pixels
            (pixel centres at +0.5); confidence <= 0 = not drawn.
        face: optional ``(68, 3)`` face points, drawn when ``style.face``.
        hands: optional ``(2, 21, 3)`` hand points, drawn when ``style.hands``.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape != (len(style.names), 3):
        raise InputError(f"pose style needs ({len(style.names)}, 3) keypoints, got {kp.shape}")
    if style.canvas_short_side is None:
        k = 1.0
        cw, ch = width, height
    else:
        k = style.canvas_short_side / min(width, height)
        cw, ch = max(1, round(width * k)), max(1, round(height * k))
    sw = style.stick_width if style.stick_width is not None else wan_stick_width(cw, ch)
    jr = style.joint_radius if style.joint_radius is not None else sw

    def pix(p: np.ndarray) -> np.ndarray:  # continuous output pixels -> integer canvas pixel (PIL centre at c)
        return np.floor(p[:2] * k)

    limbs = WAN20_LIMBS if style.keypoints == "wan20" else OPENPOSE18_LIMBS
    colors = WAN20_COLORS if style.keypoints == "wan20" else OPENPOSE18_COLORS
    img = Image.new("RGB", (cw, ch), (0, 0, 0))
    draw = ImageDraw.Draw(img)
    for li, (a, b) in enumerate(limbs):
        if kp[a, 2] <= 0 or kp[b, 2] <= 0:
            continue
        col = tuple(int(c * style.limb_factor) for c in colors[li])
        draw.polygon(_ellipse_polygon(pix(kp[a]), pix(kp[b]), sw), fill=col)
    for i in range(len(kp)):
        if kp[i, 2] <= 0:
            continue
        x, y = pix(kp[i])
        draw.ellipse([x - jr, y - jr, x + jr, y + jr], fill=tuple(colors[i]))
    if style.hands and hands is not None:
        for hand in np.asarray(hands, dtype=np.float64).reshape(-1, 21, 3):
            for ie, (a, b) in enumerate(HAND21_EDGES):
                if hand[a, 2] > 0 and hand[b, 2] > 0:
                    draw.line([tuple(pix(hand[a])), tuple(pix(hand[b]))], fill=_hsv_edge_color(ie, 20),
                              width=max(1, round(2 * sw / 4)))
            for p in hand:
                if p[2] > 0:
                    x, y = pix(p)
                    draw.ellipse([x - jr, y - jr, x + jr, y + jr], fill=(0, 0, 255))
    out = np.asarray(img)
    if style.swap_channels:
        out = out[..., ::-1]
    if style.face and face is not None:
        img = Image.fromarray(np.ascontiguousarray(out))
        draw = ImageDraw.Draw(img)
        for p in np.asarray(face, dtype=np.float64):
            if p[2] > 0:
                x, y = pix(p)
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(255, 255, 255))
        out = np.asarray(img)
    if (cw, ch) != (width, height):
        out = np.asarray(Image.fromarray(np.ascontiguousarray(out)).resize((width, height), Image.Resampling.BOX))
    return np.ascontiguousarray(out, dtype=np.uint8)
