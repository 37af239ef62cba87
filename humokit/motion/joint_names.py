"""What a joint name says: side (``Left/L/l_/_L/.L``), body part (with synonyms) and flags.

:func:`name_tokens` strips namespaces (``mixamorig:``), splits camelCase,
separators and digits, splits glued words (``lhipjoint`` -> ``l hip joint``)
and joins compounds (``up leg`` -> ``upleg``); :func:`name_label` turns the
words into a :class:`NameLabel`: the side, the canonical body parts the name
may mean with a strength (2 = specific, e.g. ``thigh``; 1 = ambiguous, e.g.
a sided ``hip`` or ``shoulder``, which is a clavicle for Mixamo and an upper
arm for 3ds Max), and whether it is a finger, twist, end-marker or other
(eye, jaw, IK, prop) joint that is never mapped. Used by
:mod:`humokit.motion.automap`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# word -> (part, strength); parts are canonical joint kinds (sided ones without side).
_WORDS: dict[str, tuple[str, int]] = {
    "hips": ("pelvis", 2), "pelvis": ("pelvis", 2),
    "spine": ("spine", 2), "chest": ("spine", 2), "abdomen": ("spine", 2), "back": ("spine", 1),
    "lowerback": ("spine", 2), "upperback": ("spine", 2), "torso": ("spine", 2), "thorax": ("spine", 2),
    "waist": ("spine", 1), "belly": ("spine", 1), "abdomen2": ("spine", 2),
    "neck": ("neck", 2), "lowerneck": ("neck", 2), "upperneck": ("neck", 1),
    "head": ("head", 2), "skull": ("head", 2),
    "clavicle": ("collar", 2), "collar": ("collar", 2), "collarbone": ("collar", 2), "shoulder": ("shoulder|collar", 1),
    "arm": ("shoulder", 2), "upperarm": ("shoulder", 2), "humerus": ("shoulder", 2), "shldr": ("shoulder", 2),
    "bicep": ("shoulder", 2), "forearm": ("elbow", 2), "elbow": ("elbow", 2), "lowerarm": ("elbow", 2),
    "radius": ("elbow", 2), "ulna": ("elbow", 2), "hand": ("wrist", 2), "wrist": ("wrist", 2),
    "hip": ("hip", 1), "thigh": ("hip", 2), "upleg": ("hip", 2), "upperleg": ("hip", 2), "femur": ("hip", 2),
    "knee": ("knee", 2), "leg": ("knee", 2), "shin": ("knee", 2), "calf": ("knee", 2), "lowerleg": ("knee", 2),
    "tibia": ("knee", 2), "ankle": ("ankle", 2), "foot": ("ankle", 2),
    "toe": ("foot", 2), "toes": ("foot", 2), "toebase": ("foot", 2), "ball": ("foot", 2),
}  # fmt: skip
_COMPOUNDS = {("up", "leg"): "upleg", ("upper", "leg"): "upperleg", ("upper", "arm"): "upperarm",
              ("fore", "arm"): "forearm", ("lower", "arm"): "lowerarm", ("lower", "leg"): "lowerleg",
              ("toe", "base"): "toebase", ("lower", "back"): "lowerback", ("upper", "back"): "upperback",
              ("collar", "bone"): "collarbone", ("head", "top"): "headtop", ("lower", "neck"): "lowerneck",
              ("upper", "neck"): "upperneck"}  # fmt: skip
_SIDES = {"left": "left", "l": "left", "lft": "left", "right": "right", "r": "right", "rt": "right", "rgt": "right"}
_FINGERS = {"thumb", "index", "middle", "mid", "ring", "pinky", "pinkie", "little", "finger", "fingers",
            "fingerbase", "carpal", "metacarpal", "palm", "digit"}  # fmt: skip
_TWIST = {"twist", "roll", "share", "helper", "aux", "muscle", "bend", "correct", "corrective"}
_MARKERS = {"end", "top", "tip", "nub", "site", "headtop", "null", "effector"}
_OTHER = {"eye", "eyes", "jaw", "tongue", "teeth", "brow", "lip", "lips", "eyelid", "ear", "nose", "cheek",
          "breast", "tail", "prop", "weapon", "ik", "ctrl", "control", "pole", "target", "socket", "attach",
          "camera", "light", "mesh", "geo", "hair", "cloth", "skirt"}  # fmt: skip
_FILLER = {"joint", "jnt", "bone", "base", "def", "org", "mch", "bip", "mixamorig", "cc", "b", "bn", "j", "n"}
_VOCAB = set(_WORDS) | set(_SIDES) | _FINGERS | _TWIST | _MARKERS | _OTHER | _FILLER | {"up", "upper", "lower", "fore"}
# words whose joint and everything below it are not part of the body (IK targets, props, cameras)
EXCLUDED_SUBTREE_WORDS = {"ik", "ctrl", "control", "pole", "target", "prop", "weapon", "camera", "light", "attach"}


@dataclass(frozen=True)
class NameLabel:
    """What a joint name says: ``side`` (left/right/None), ``part`` (e.g. ``"knee"``), flags."""

    side: str | None
    parts: tuple[tuple[str, int], ...]
    finger: bool
    twist: bool
    marker: bool
    other: bool
    tokens: tuple[str, ...]

    def strength(self, part: str) -> int:
        return max((s for p, s in self.parts if part in p.split("|")), default=0)

    @property
    def ignored(self) -> bool:
        return self.finger or self.twist or self.marker or self.other


def _segment(tok: str) -> list[str] | None:
    """Split a glued lower-case token ("lhipjoint") into vocabulary words, longest first."""
    if tok in _VOCAB or tok.isdigit():
        return [tok]
    for k in range(len(tok) - 1, 0, -1):
        head = tok[:k]
        if head in _VOCAB:
            rest = _segment(tok[k:])
            if rest is not None:
                return [head, *rest]
    return None


def name_tokens(name: str) -> tuple[str, ...]:
    """Lower-case words of a joint name: namespaces stripped, camelCase/separators/digits split, glued words split."""
    base = name.rsplit(":", 1)[-1] if ":" in name else name
    raw = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", base)
    out: list[str] = []
    for r in raw:
        low = r.lower()
        seg = _segment(low) if not low.isdigit() else [low]
        out.extend(seg if seg is not None else [low])
    merged: list[str] = []
    i = 0
    while i < len(out):
        if i + 1 < len(out) and (out[i], out[i + 1]) in _COMPOUNDS:
            merged.append(_COMPOUNDS[(out[i], out[i + 1])])
            i += 2
        else:
            merged.append(out[i])
            i += 1
    return tuple(merged)


def name_label(name: str) -> NameLabel:
    """Parse a joint name (see :func:`name_tokens`) into side, body part and flags."""
    toks = name_tokens(name)
    side = next((_SIDES[t] for t in toks if t in _SIDES), None)
    finger = any(t in _FINGERS for t in toks)
    twist = any(t in _TWIST for t in toks)
    marker = any(t in _MARKERS for t in toks)
    other = any(t in _OTHER for t in toks)
    parts = tuple(_WORDS[t] for t in toks if t in _WORDS)
    if side is not None:  # a sided "hip" is a thigh, never the pelvis
        parts = tuple((p, s) for p, s in parts if p != "pelvis")
    return NameLabel(side, parts, finger, twist, marker, other, toks)
