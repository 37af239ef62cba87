"""2D pose conditioning: OpenPose-18 / COCO-17 keypoints from a body, drawing and JSON.

Keypoints come from the canonical joints (shoulders, elbows, wrists, hips,
knees, ankles; OpenPose's neck = midpoint of the shoulders) and from mesh
vertices for the face points (nose, eyes, ears), found once on the rest mesh
by :func:`face_landmark_vertices` and then followed through any pose.

Orders (left/right are the person's own):

- OpenPose-18: nose, neck, r_shoulder, r_elbow, r_wrist, l_shoulder, l_elbow,
  l_wrist, r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle, r_eye, l_eye, r_ear, l_ear.
- COCO-17: nose, l_eye, r_eye, l_ear, r_ear, l_shoulder, r_shoulder, l_elbow,
  r_elbow, l_wrist, r_wrist, l_hip, r_hip, l_knee, r_knee, l_ankle, r_ankle.

Colours: OpenPose's 18-colour rainbow for joints and limbs (limbs drawn at
60 % opacity, as the ControlNet/AnimateAnyone pose images); COCO in the
mmpose style (person-left green, person-right orange, centre/face blue).
Pixel coordinates follow :mod:`humokit.render.camera` (pixel centres at +0.5).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from humokit.motion.skeleton import JOINT_NAMES
from humokit.render.camera import Camera, project

J = {n: i for i, n in enumerate(JOINT_NAMES)}
FACE_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")

OPENPOSE18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)
COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)
OPENPOSE18_LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
    (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
OPENPOSE18_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
COCO17_LIMBS = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)
_LEFT, _RIGHT, _CENTRE = (0, 255, 0), (255, 128, 0), (51, 153, 255)


def _coco_side(name: str) -> tuple[int, int, int]:
    return _LEFT if name.startswith("left") else _RIGHT if name.startswith("right") else _CENTRE


COCO17_POINT_COLORS = tuple(_coco_side(n) for n in COCO17_NAMES)
COCO17_LIMB_COLORS = tuple(
    _LEFT if COCO17_NAMES[a].startswith("left") and COCO17_NAMES[b].startswith("left")
    else _RIGHT if COCO17_NAMES[a].startswith("right") and COCO17_NAMES[b].startswith("right")
    else _CENTRE
    for a, b in COCO17_LIMBS
)


def face_landmark_vertices(rest_vertices: np.ndarray, part_labels: np.ndarray, joints: np.ndarray) -> dict[str, int]:
    """Vertex indices of nose tip, eyes and ears on a rest mesh facing +Z.

    Args:
        rest_vertices: ``(V, 3)`` rest mesh, metres, humokit axes (facing +Z).
        part_labels: ``(V,)`` dominant canonical joint per vertex.
        joints: ``(22, 3)`` rest joints.
    Returns:
        ``{"nose": i, "left_eye": i, "right_eye": i, "left_ear": i, "right_ear": i}``.
    """
    V = np.asarray(rest_vertices, dtype=np.float64)
    head = np.nonzero(np.asarray(part_labels) == J["head"])[0]
    if head.size < 10:
        raise ValueError("no head vertices")
    H = V[head]
    cx = joints[J["head"], 0]
    mid = np.abs(H[:, 0] - cx) < 0.012
    nose = head[mid][np.argmax(H[mid, 2])] if mid.any() else head[np.argmax(H[:, 2])]
    n = V[nose]
    top = H[:, 1].max()
    out = {"nose": int(nose)}
    # eyes: ~0.3 of the way from the nose tip to the top of the head, about 3.2 cm off the midline
    eye_y = n[1] + 0.3 * (top - n[1])
    for side, sx in (("left", 1.0), ("right", -1.0)):
        sel = (np.abs(H[:, 0] - (cx + sx * 0.032)) < 0.012) & (np.abs(H[:, 1] - eye_y) < 0.015)
        idx = head[sel][np.argmax(H[sel, 2])] if sel.any() else nose
        out[f"{side}_eye"] = int(idx)
    # ears: the most lateral head points near eye height, behind the face
    for side, sx in (("left", 1.0), ("right", -1.0)):
        sel = (np.abs(H[:, 1] - (eye_y - 0.02)) < 0.025) & (H[:, 2] < n[2] - 0.05)
        if not sel.any():
            sel = np.ones(len(H), dtype=bool)
        idx = head[sel][np.argmax(sx * H[sel, 0])]
        out[f"{side}_ear"] = int(idx)
    return out


def toe_landmark_vertices(rest_vertices: np.ndarray, part_labels: np.ndarray) -> dict[str, int]:
    """Vertex indices of the left and right toe tips on a rest mesh facing +Z.

    The toe tip is the most forward vertex of the toe part (canonical joints
    ``left_foot``/``right_foot``): the front of the foot between the big and
    the small toe, where Wan-Animate's toe keypoint (mean of the two) lies.
    Returns ``{}`` when a toe part has no vertices.
    """
    V = np.asarray(rest_vertices, dtype=np.float64)
    out: dict[str, int] = {}
    for side in ("left", "right"):
        idx = np.nonzero(np.asarray(part_labels) == J[f"{side}_foot"])[0]
        if idx.size == 0:
            return {}
        out[f"{side}_toe"] = int(idx[np.argmax(V[idx, 2])])
    return out


def body_keypoints(
    joints: np.ndarray,
    vertices: np.ndarray | None,
    landmarks: dict[str, int] | None,
    scheme: Literal["openpose18", "coco17", "wan20"] = "openpose18",
) -> np.ndarray:
    """World keypoints ``(..., K, 3)`` in the scheme's order.

    Args:
        joints: ``(..., 22, 3)`` canonical joints, metres.
        vertices: ``(..., V, 3)`` posed mesh for the face points (None, or no
            ``landmarks``: every face point is the head joint).
        landmarks: output of :func:`face_landmark_vertices`, optionally with the
            toe tips of :func:`toe_landmark_vertices` (else the toe points of
            ``"wan20"`` are the ``left_foot``/``right_foot`` joints).
        scheme: ``"wan20"`` is OpenPose-18 followed by the left and right toe.
    """
    joints = np.asarray(joints, dtype=np.float64)
    pts: dict[str, np.ndarray] = {}
    for name in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
                 "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"):
        pts[name] = joints[..., J[name], :]
    pts["neck"] = 0.5 * (pts["left_shoulder"] + pts["right_shoulder"])
    for name in FACE_POINTS:
        if vertices is not None and landmarks is not None:
            pts[name] = np.asarray(vertices, dtype=np.float64)[..., landmarks[name], :]
        else:
            pts[name] = joints[..., J["head"], :]
    for side in ("left", "right"):
        key = f"{side}_toe"
        if vertices is not None and landmarks is not None and key in landmarks:
            pts[key] = np.asarray(vertices, dtype=np.float64)[..., landmarks[key], :]
        else:
            pts[key] = joints[..., J[f"{side}_foot"], :]
    names = {"openpose18": OPENPOSE18_NAMES, "coco17": COCO17_NAMES,
             "wan20": OPENPOSE18_NAMES + ("left_toe", "right_toe")}[scheme]
    return np.stack([pts[n] for n in names], axis=-2)


def project_keypoints(camera: Camera, points: np.ndarray) -> np.ndarray:
    """``(K, 3)`` image keypoints ``(u, v, confidence)``: confidence 0 when behind the camera or outside the image."""
    uv, z = project(camera, points)
    inside = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < camera.width) & (uv[:, 1] >= 0) & (uv[:, 1] < camera.height)
    out = np.concatenate([np.nan_to_num(uv), inside[:, None].astype(np.float64)], axis=1)
    out[~inside, :2] = 0.0
    return out


def hide_occluded(
    keypoints: np.ndarray,
    camera: Camera,
    points: np.ndarray,
    depth_map: np.ndarray,
    names: tuple[str, ...],
    *,
    only: tuple[str, ...] = FACE_POINTS,
    tolerance: float = 0.06,
    window: int = 2,
) -> np.ndarray:
    """Zero the confidence of surface keypoints (default the face points) hidden behind the body.

    A keypoint named in ``only`` is hidden when no body pixel within ``window``
    pixels of it has a rendered depth at most ``tolerance`` metres in front of
    it, e.g. the nose and eyes seen from behind, the far ear in profile (the
    window keeps silhouette points such as ears seen from the front).
    """
    kp = np.array(keypoints, dtype=np.float64)
    _, z = project(camera, points)
    H, W = depth_map.shape
    for i, n in enumerate(names):
        if n not in only or kp[i, 2] <= 0:
            continue
        c, r = int(kp[i, 0]), int(kp[i, 1])
        win = depth_map[max(r - window, 0): r + window + 1, max(c - window, 0): c + window + 1]
        if not ((win > 0) & (win >= z[i] - tolerance)).any():
            kp[i] = 0.0
    return kp


def draw_pose(
    keypoints: np.ndarray,
    width: int,
    height: int,
    scheme: Literal["openpose18", "coco17"] = "openpose18",
    *,
    stick_width: int | None = None,
    point_radius: int | None = None,
) -> np.ndarray:
    """Draw one person's skeleton on black: ``(H, W, 3)`` uint8.

    Args:
        keypoints: ``(K, 3)`` ``(u, v, confidence)`` from :func:`project_keypoints`.
        stick_width, point_radius: pixels (default scale with the image, 4 at 512 px).
    """
    scale = max(1.0, min(width, height) / 512)
    sw = stick_width or max(2, round(4 * scale))
    pr = point_radius or max(2, round(4 * scale))
    if scheme == "openpose18":
        limbs, limb_colors, point_colors = OPENPOSE18_LIMBS, OPENPOSE18_COLORS, OPENPOSE18_COLORS
        alpha = 0.6
    else:
        limbs, limb_colors, point_colors = COCO17_LIMBS, COCO17_LIMB_COLORS, COCO17_POINT_COLORS
        alpha = 1.0
    kp = np.asarray(keypoints, dtype=np.float64)
    canvas = np.zeros((height, width, 3), dtype=np.float32)
    for li, (a, b) in enumerate(limbs):
        if kp[a, 2] <= 0 or kp[b, 2] <= 0:
            continue
        # draw the limb's coverage in its bounding box only, then alpha-blend it
        pa, pb = kp[a, :2] - 0.5, kp[b, :2] - 0.5  # PIL puts pixel c's centre at c
        x0 = int(max(0, np.floor(min(pa[0], pb[0]) - sw - 1)))
        y0 = int(max(0, np.floor(min(pa[1], pb[1]) - sw - 1)))
        x1 = int(min(width, np.ceil(max(pa[0], pb[0]) + sw + 2)))
        y1 = int(min(height, np.ceil(max(pa[1], pb[1]) + sw + 2)))
        if x1 <= x0 or y1 <= y0:
            continue
        layer = Image.new("L", (x1 - x0, y1 - y0), 0)
        off = np.array([x0, y0], dtype=np.float64)
        ImageDraw.Draw(layer).line([tuple(pa - off), tuple(pb - off)], fill=255, width=2 * sw)
        m = (np.asarray(layer, dtype=np.float32) / 255.0 * alpha)[..., None]
        crop = canvas[y0:y1, x0:x1]
        canvas[y0:y1, x0:x1] = crop * (1 - m) + np.asarray(limb_colors[li], dtype=np.float32) * m
    img = np.round(canvas).astype(np.uint8)
    # joints: every pixel whose centre lies within the radius (exact sub-pixel placement)
    for i in range(len(kp)):
        if kp[i, 2] <= 0:
            continue
        u, v = kp[i, 0], kp[i, 1]
        x0, x1 = max(0, int(np.floor(u - pr - 1))), min(width, int(np.ceil(u + pr + 1)))
        y0, y1 = max(0, int(np.floor(v - pr - 1))), min(height, int(np.ceil(v + pr + 1)))
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        disc = (xx + 0.5 - u) ** 2 + (yy + 0.5 - v) ** 2 <= pr * pr
        img[y0:y1, x0:x1][disc] = point_colors[i]
    return img


def openpose_json(keypoints: np.ndarray, width: int, height: int) -> dict[str, object]:
    """OpenPose-format JSON dict for one person (``pose_keypoints_2d`` = flat x, y, c in our pixel coordinates)."""
    return {
        "version": 1.3,
        "canvas_width": int(width),
        "canvas_height": int(height),
        "people": [{"person_id": [-1], "pose_keypoints_2d": [round(float(x), 3) for x in np.asarray(keypoints).reshape(-1)]}],
    }
