"""Automatic joint mapping of any humanoid skeleton onto the canonical 22 joints.

:func:`map_skeleton` returns a :class:`JointMapping`: a concrete
:class:`~humokit.motion.retarget.RetargetMap` plus a report saying how each
canonical joint was found, which source joints were skipped, the detected
units, up axis and rest pose. The steps:

1. **Registered maps** are exact overrides: the first registered map whose
   source joints all exist is used (its units are detected when its ``scale``
   is None).
2. **Topology**: the five limb chains are found from the root: the leaf
   farthest from the root, then repeatedly the leaf adding the longest new
   path (legs, arms and head win over fingers, toes and twist bones). The
   three tips whose common ancestor is deepest are the upper body (that
   ancestor is the chest, ``spine3``); their two most similar paths are the
   arms, the third is the head; the two others are the legs, and the pelvis
   is the common ancestor of the legs and the chest. Joints at the position
   of their chain predecessor (``LHipJoint``-style offsets) and, for unnamed
   joints, joints that never bend (in-chain twist segments) are dropped.
   Knees and elbows end the two longest consecutive bones of their chain.
3. **Names** (case, ``Left/L/l_/_L/.L``, namespaces such as ``mixamorig:``,
   synonyms such as thigh/upleg, shin/calf, forearm/lowerarm; parsed by
   :mod:`humokit.motion.joint_names`) label the joints
   of each chain; where they pick a consistent set, they win over topology.
   Finger, twist, eye, jaw and end-marker joints are never mapped.
4. **Geometry**: the rest pose (the zero-rotation pose, or the first frame when
   that is not upright) gives the up axis (pelvis to chest), the forward axis
   (ankle to toe) and so left/right when names do not say; the stature gives
   the units (m, cm, mm, inches or CMU's 1/0.45 inch).

Missing canonical joints are synthesised: a middle spine joint as a blend of
its neighbours, a missing clavicle or toe as a point rigidly attached to the
chest or ankle (``RetargetMap.attach``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from humokit.errors import InputError
from humokit.motion.bvh import BvhClip
from humokit.motion.joint_names import EXCLUDED_SUBTREE_WORDS, name_label
from humokit.motion.retarget_maps import Blend, RetargetMap, retarget_maps
from humokit.motion.skeleton import JOINT_NAMES, default_skeleton

# ------------------------------------------------------------------ units
# name -> metres per unit, in order of preference for ties.
UNITS: dict[str, float] = {"cm": 0.01, "m": 1.0, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}
_STATURE_RANGE = (0.8, 2.4)  # metres a skeleton's height may have
_CANON_HEIGHT = 1.70  # the canonical skeleton's stature, metres

# ------------------------------------------------------------------ report
@dataclass(frozen=True)
class JointMapping:
    """A concrete retarget map for one source skeleton and how it was found.

    Attributes:
        retarget_map: the map (``scale``/``axes``/``skip_frames`` resolved).
        how: canonical joint -> ``"registered"``, ``"name"``, ``"topology"``,
            ``"blend"`` (between two source joints) or ``"attached"`` (a point
            fixed to a source joint's frame).
        skipped: source joints the map does not use.
        unit: detected length unit (a key of :data:`UNITS`, or ``"registered"``).
        height: estimated stature of the source skeleton, metres.
        up: the source axis that points up (e.g. ``"+Y"``).
        rest: ``"T-pose"``, ``"A-pose"`` or ``"other"`` (arm angle below horizontal).
        rest_from: ``"offsets"`` (the zero-rotation pose) or ``"frame 0"``.
        notes: extra remarks (e.g. a dropped calibration frame).
    """

    retarget_map: RetargetMap
    how: dict[str, str]
    skipped: tuple[str, ...]
    unit: str
    height: float
    up: str = "+Y"
    rest: str = "T-pose"
    rest_from: str = "offsets"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One line: map name, method counts, units, height, up axis, rest pose."""
        counts: dict[str, int] = {}
        for h in self.how.values():
            counts[h] = counts.get(h, 0) + 1
        methods = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        extra = "; " + "; ".join(self.notes) if self.notes else ""
        rest = f"; rest {self.rest} ({self.rest_from})" if self.rest_from != "registered map" else ""
        return (f"map {self.retarget_map.name} ({methods}); units {self.unit} (skeleton height {self.height:.2f} m); "
                f"up {self.up}{rest}{extra}")  # fmt: skip

    def describe(self) -> str:
        """A table of canonical joint -> source joints and method, then a ``RetargetMap`` to copy."""
        m = self.retarget_map
        lines = [self.summary(), f"{'canonical':<16} {'source':<44} how"]
        for j in JOINT_NAMES:
            src = " + ".join(n if abs(w - 1) < 1e-9 else f"{w:.2f} {n}" for n, w in m.joints[j])
            if j in m.attach:
                src += " + offset (" + ", ".join(f"{v:.3g}" for v in m.attach[j]) + ")"
            lines.append(f"{j:<16} {src:<44} {self.how.get(j, '')}")
        if self.skipped:
            shown = ", ".join(self.skipped[:24]) + (f", ... ({len(self.skipped)} in all)" if len(self.skipped) > 24 else "")
            lines.append(f"skipped: {shown}")
        lines.append("# as a RetargetMap (humokit.motion.retarget):")
        lines.append(self.as_python())
        return "\n".join(lines)

    def as_python(self) -> str:
        """Python source of an equivalent :class:`RetargetMap` (for ``register_retarget_map``)."""
        m = self.retarget_map
        body = ",\n".join(f"        {j!r}: {tuple((n, round(w, 4)) for n, w in m.joints[j])!r}" for j in JOINT_NAMES)
        axes = np.array2string(np.round(m.axes, 6), separator=", ").replace("\n", "")
        extra = f",\n    attach={ {k: tuple(round(x, 5) for x in v) for k, v in m.attach.items()}!r}" if m.attach else ""
        return (f"RetargetMap(\n    \"my_rig\",\n    {{\n{body},\n    }},\n    scale={m.scale!r},\n"
                f"    axes=np.array({axes}),\n    skip_frames={m.skip_frames}{extra},\n)")  # fmt: skip


# ------------------------------------------------------------------ helpers
def rest_positions(clip: BvhClip) -> np.ndarray:
    """``(J, 3)`` joint positions of the zero-rotation (bind) pose, file units/axes."""
    J = clip.num_joints
    R = clip.rest_rotations if clip.rest_rotations is not None else np.broadcast_to(np.eye(3), (J, 3, 3))
    pos = np.zeros((J, 3))
    Rw = np.zeros((J, 3, 3))
    for j, p in enumerate(clip.parents):
        if p < 0:
            Rw[j], pos[j] = R[j], clip.offsets[j]
        else:
            Rw[j] = Rw[p] @ R[j]
            pos[j] = pos[p] + Rw[p] @ clip.offsets[j]
    return pos


def _rotation_to_y(u: np.ndarray) -> np.ndarray:
    """Proper rotation taking unit vector ``u`` (an axis) to +Y."""
    y = np.array([0.0, 1.0, 0.0])
    c = float(u @ y)
    if c > 1 - 1e-9:
        return np.eye(3)
    if c < -1 + 1e-9:
        return np.diag([1.0, -1.0, -1.0])
    v = np.cross(u, y)
    s = np.linalg.norm(v)
    K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]]) / s
    ang = math.atan2(s, c)
    return np.eye(3) + math.sin(ang) * K + (1 - math.cos(ang)) * K @ K


def detect_unit(height_units: float) -> tuple[str, float]:
    """Unit whose metres put a skeleton of ``height_units`` stature nearest 1.7 m (within 0.8-2.4 m)."""
    best, best_d = None, math.inf
    for name, s in UNITS.items():
        h = height_units * s
        if _STATURE_RANGE[0] <= h <= _STATURE_RANGE[1]:
            d = abs(math.log(h / _CANON_HEIGHT))
            if d < best_d - 1e-9:
                best, best_d = name, d
    if best is None:  # nothing plausible: the closest in log scale
        best = min(UNITS, key=lambda n: abs(math.log(max(height_units * UNITS[n], 1e-9) / _CANON_HEIGHT)))
    return best, UNITS[best]


class _Skel:
    """Topology and rest geometry of a source skeleton."""

    def __init__(self, clip: BvhClip) -> None:
        self.clip = clip
        self.names = clip.names
        self.parents = clip.parents
        self.J = clip.num_joints
        self.children = [[c for c, p in enumerate(self.parents) if p == j] for j in range(self.J)]
        self.labels = [name_label(n) for n in self.names]
        self.rest = rest_positions(clip)
        # bone lengths from the first frame (rigid), falling back to the rest offsets
        P0 = clip.slice(0, 1).world_positions()[0] if clip.num_frames else self.rest
        self.length = np.array([0.0 if p < 0 else float(np.linalg.norm(P0[j] - P0[p])) for j, p in enumerate(self.parents)])
        self.depth = np.zeros(self.J)
        self.hops = np.zeros(self.J, dtype=int)
        for j, p in enumerate(self.parents):
            if p >= 0:
                self.depth[j] = self.depth[p] + self.length[j]
                self.hops[j] = self.hops[p] + 1
        self.excluded = np.zeros(self.J, dtype=bool)
        for j, p in enumerate(self.parents):
            own = any(t in EXCLUDED_SUBTREE_WORDS for t in self.labels[j].tokens)
            self.excluded[j] = own or (p >= 0 and self.excluded[p])

    def path(self, j: int) -> list[int]:
        out = []
        while j >= 0:
            out.append(j)
            j = self.parents[j]
        return out[::-1]

    def lca(self, js: list[int]) -> int:
        paths = [self.path(j) for j in js]
        k = 0
        while all(len(p) > k and p[k] == paths[0][k] for p in paths):
            k += 1
        return paths[0][k - 1]

    def chain(self, top: int, tip: int) -> list[int]:
        """Joints strictly below ``top`` down to ``tip`` (inclusive), in order."""
        p = self.path(tip)
        return p[p.index(top) + 1 :]

    def tips(self, count: int = 6) -> list[tuple[int, float]]:
        """Greedy limb tips: ``(leaf, length of the new path it adds)``, longest first."""
        leaves = [j for j in range(self.J) if not self.children[j] and not self.excluded[j]]
        marked: set[int] = set()
        out: list[tuple[int, float]] = []
        for _ in range(count):
            best, best_c = -1, -1.0
            for leaf in leaves:
                if leaf in marked:
                    continue
                a = next((j for j in reversed(self.path(leaf)) if j in marked), None)
                c = self.depth[leaf] - (self.depth[a] if a is not None else 0.0)
                if c > best_c + 1e-9:
                    best, best_c = leaf, c
            if best < 0:
                break
            out.append((best, float(best_c)))
            marked.update(self.path(best))
        return out


def _describe_missing(found: int) -> str:
    need = ["left leg", "right leg", "left arm", "right arm", "head"]
    return f"found {found} limb chain{'s' if found != 1 else ''} from the root; a humanoid needs 5 ({', '.join(need)})"


# ------------------------------------------------------------------ mapping
def map_skeleton(
    clip: BvhClip,
    retarget_map: RetargetMap | str | None = None,
    *,
    unit: str | None = None,
    use_registry: bool = True,
) -> JointMapping:
    """The mapping of ``clip``'s skeleton onto the canonical joints (see the module docstring).

    Args:
        clip: source skeleton and motion (file units and axes).
        retarget_map: a map or registered name to use as is (None: registry, then automatic).
        unit: force the length unit (a key of :data:`UNITS`); None = registered scale or detection.
        use_registry: try the registered maps first.
    Raises:
        InputError: one line naming what is missing when the skeleton is not a humanoid.
    """
    if unit is not None and unit not in UNITS:
        raise InputError(f"unknown unit {unit!r}: choose {', '.join(UNITS)}")
    regs = retarget_maps()
    m: RetargetMap | None = None
    if isinstance(retarget_map, str):
        if retarget_map not in regs:
            raise InputError(f"retarget: unknown map {retarget_map!r}; known: {', '.join(regs)}")
        m = regs[retarget_map]
    elif retarget_map is not None:
        m = retarget_map
    elif use_registry:
        names = set(clip.names)
        m = next((r for r in regs.values() if r.source_joints <= names), None)
    if m is not None:
        missing = sorted(m.source_joints - set(clip.names))
        if missing:
            raise InputError(f"retarget map {m.name!r}: the skeleton has no joint {', '.join(missing[:4])}")
        return _registered(clip, m, unit)
    return _automatic(clip, unit)


def _height_units(pos: np.ndarray, pelvis: int, chest: int, legs: list[list[int]], head: list[int]) -> float:
    """Stature estimate (source units): leg + pelvis-to-chest + chest-to-head, scaled to the canonical ratio."""
    leg = float(np.mean([np.linalg.norm(pos[c[0]] - pos[c[1]]) + np.linalg.norm(pos[c[1]] - pos[c[2]]) for c in legs]))
    trunk = float(np.linalg.norm(pos[chest] - pos[pelvis]))
    neck = float(np.linalg.norm(pos[head[-1]] - pos[chest])) if head else 0.0
    return (leg + trunk + neck) * _CANON_HEIGHT / _canonical_stature_proxy()


def _canonical_stature_proxy() -> float:
    rest = default_skeleton().rest_positions()
    leg = np.linalg.norm(rest[4] - rest[1]) + np.linalg.norm(rest[7] - rest[4])
    return float(leg + np.linalg.norm(rest[9] - rest[0]) + np.linalg.norm(rest[15] - rest[9]))


def _registered(clip: BvhClip, m: RetargetMap, unit: str | None) -> JointMapping:
    how = {j: "registered" for j in JOINT_NAMES}
    used = m.source_joints
    skipped = tuple(n for n, e in zip(clip.names, clip.end_site) if n not in used and not e)
    idx = {n: i for i, n in enumerate(clip.names)}
    P0 = clip.slice(m.skip_frames, m.skip_frames + 1).world_positions()[0] if clip.num_frames > m.skip_frames else rest_positions(clip)

    def at(j: str) -> np.ndarray:
        return sum(w * P0[idx[n]] for n, w in m.joints[j])  # type: ignore[return-value]

    leg = np.mean([np.linalg.norm(at(f"{s}_knee") - at(f"{s}_hip")) + np.linalg.norm(at(f"{s}_ankle") - at(f"{s}_knee"))
                   for s in ("left", "right")])  # fmt: skip
    h_units = (leg + np.linalg.norm(at("spine3") - at("pelvis")) + np.linalg.norm(at("head") - at("spine3")))
    h_units *= _CANON_HEIGHT / _canonical_stature_proxy()
    if unit is not None:
        m = RetargetMap(m.name, m.joints, UNITS[unit], m.axes, m.skip_frames, m.attach)
        name = unit
    elif m.scale is None:
        name, s = detect_unit(h_units)
        m = RetargetMap(m.name, m.joints, s, m.axes, m.skip_frames, m.attach)
    else:
        name = next((k for k, v in UNITS.items() if abs(v - m.scale) < 1e-12), f"{m.scale:g} m")
    up = "+Y" if np.allclose(m.axes, np.eye(3)) else "registered axes"
    return JointMapping(m, how, skipped, name, float(h_units * m.scale), up, rest="registered", rest_from="registered map")


def _bend_max(P: np.ndarray, a: int, k: int, b: int) -> float:
    """Largest angle (degrees) between bones a->k and k->b over frames ``P (T, J, 3)``."""
    u = P[:, k] - P[:, a]
    v = P[:, b] - P[:, k]
    cos = (u * v).sum(-1) / np.clip(np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-12, None)
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))).max())


def _automatic(clip: BvhClip, unit: str | None) -> JointMapping:
    S = _Skel(clip)
    if clip.num_frames == 0:
        raise InputError("retarget: the clip has no frames")
    tips = S.tips(6)
    ref = tips[1][1] if len(tips) > 1 else 0.0
    strong = [t for t in tips[:5] if ref > 0 and t[1] >= 0.12 * ref]
    if len(tips) < 2 or ref <= 0 or len(strong) < 5:
        raise InputError(f"not a humanoid skeleton: {_describe_missing(len(strong) if ref > 0 else 1)}")
    five = [t for t, _ in strong]
    best = None
    for trio in itertools.combinations(five, 3):
        a = S.lca(list(trio))
        key = (S.depth[a], S.hops[a])
        if best is None or key > best[0]:
            best = (key, trio, a)
    assert best is not None
    _, upper, chest = best
    legs_tips = [t for t in five if t not in upper]
    pelvis = S.lca([*legs_tips, chest])
    if pelvis == chest or chest in (S.lca(legs_tips),):
        raise InputError("not a humanoid skeleton: arms and legs branch from the same joint (no chest above the pelvis)")
    pairs = [(i, j) for i, j in itertools.combinations(range(3), 2)]
    plen = [S.depth[t] - S.depth[chest] for t in upper]
    ai, aj = min(pairs, key=lambda ij: abs(plen[ij[0]] - plen[ij[1]]) / max(plen[ij[0]], plen[ij[1]], 1e-9))
    arm_tips = [upper[ai], upper[aj]]
    head_tip = upper[3 - ai - aj]

    # ---------------------------------------------------------- rest pose
    frames = clip.world_positions()
    eps_len = 1e-3 * max(S.depth.max(), 1e-9)

    def clean(top: int, tip: int, *, keep_end: bool) -> list[int]:
        out: list[int] = []
        prev = top
        for j in S.chain(top, tip):
            if clip.end_site[j] and not keep_end:
                continue
            if S.length[j] <= eps_len and np.linalg.norm(S.rest[j] - S.rest[prev]) <= eps_len:
                continue  # at its predecessor's position (an offset or end joint): keep the predecessor
            out.append(j)
            prev = j
        return out

    legs_c = [clean(pelvis, t, keep_end=True) for t in legs_tips]
    arms_c = [clean(chest, t, keep_end=True) for t in arm_tips]
    head_c = [j for j in clean(chest, head_tip, keep_end=False) if not S.labels[j].ignored]
    spine_c = clean(pelvis, chest, keep_end=False)[:-1]  # without the chest itself
    if not head_c:
        head_c = [j for j in clean(chest, head_tip, keep_end=True)][:1]
    if any(len(c) < 3 for c in legs_c) or any(len(c) < 3 for c in arms_c):
        short = "legs" if any(len(c) < 3 for c in legs_c) else "arms"
        raise InputError(f"not a humanoid skeleton: the {short} have fewer than 3 joints (need hip/knee/ankle, shoulder/elbow/wrist)")

    rest_cands = [("offsets", S.rest), ("frame 0", frames[0])]
    chosen = None
    for label, pos in rest_cands:
        up = pos[chest] - pos[pelvis]
        if np.linalg.norm(up) < 1e-9:
            continue
        up = up / np.linalg.norm(up)
        ok = True
        for c in legs_c:
            d = pos[c[-1]] - pos[c[0]]
            if np.linalg.norm(d) < 1e-9 or float(d @ up) / np.linalg.norm(d) > -0.6:
                ok = False
        if ok:
            chosen = (label, pos, up)
            break
    if chosen is None:
        raise InputError("not an upright humanoid: the legs do not hang below the spine in the rest pose or the first frame "
                         "(a quadruped?)")  # fmt: skip
    rest_from, rest, up = chosen

    # --------------------------------------------- drop never-bending joints
    sub = frames[:: max(1, clip.num_frames // 200)]

    def merge_straight(top: int, chain: list[int]) -> list[int]:
        if len(chain) < 3:
            return chain
        seq = [top, *chain]
        bends = [_bend_max(sub, seq[i - 1], seq[i], seq[i + 1]) for i in range(1, len(seq) - 1)]
        moving = max(bends) > 10.0
        keep = []
        for i, j in enumerate(chain[:-1]):
            lab = S.labels[j]
            prev_lab = S.labels[seq[i]]
            named_dup = bool(lab.parts) and any(prev_lab.strength(p) for p, _ in lab.parts)
            before_end = clip.end_site[chain[i + 1]] or S.labels[chain[i + 1]].marker
            passive = moving and bends[i] < 3.0 and (not lab.parts or named_dup) and not before_end
            if not (passive or lab.twist):
                keep.append(j)
        keep.append(chain[-1])
        return keep

    legs_m = [merge_straight(pelvis, c) for c in legs_c]
    arms_m = [merge_straight(chest, c) for c in arms_c]

    how: dict[str, str] = {}
    joints: dict[str, Blend] = {}
    attach: dict[str, tuple[float, float, float]] = {}

    def one(n: int) -> Blend:
        return ((S.names[n], 1.0),)

    # ---------------------------------------------------------- limbs
    def assign(chain: list[int], parts: tuple[str, ...], top: int) -> tuple[list[int | None], str]:
        """Indices into ``chain`` for the 4 parts: names when they pick the middle three in order,
        else topology (the knee/elbow joins the two longest consecutive bones)."""
        mid = 2 if parts[0] == "collar" else 1
        seq = [top, *chain]
        L = [float(np.linalg.norm(rest[seq[i]] - rest[seq[i - 1]])) for i in range(1, len(seq))]
        k = max(range(1, len(chain) - 1) if len(chain) > 2 else range(len(chain) - 1), key=lambda i: L[i] + L[i + 1])
        topo: list[int | None] = [i if 0 <= i < len(chain) else None for i in range(k - mid, k - mid + 4)]
        cand = [[(i, S.labels[j].strength(p)) for i, j in enumerate(chain)
                 if S.labels[j].strength(p) and not S.labels[j].ignored] for p in parts]  # fmt: skip
        best: tuple | None = None
        for combo in itertools.product(*[c + [(None, 0)] for c in cand]):
            idx = [c[0] for c in combo]
            present = [i for i in idx if i is not None]
            if len(present) != len(set(present)) or present != sorted(present):
                continue
            key = (len(present), sum(c[1] for c in combo), [-(i if i is not None else 99) for i in idx])
            if best is None or key > best[0]:
                best = (key, idx)
        if best is not None and all(best[1][i] is not None for i in (mid - 1, mid, mid + 1)):
            idx = list(best[1])
            if mid == 2 and idx[0] is None and idx[1] > 0:  # type: ignore[operator]
                idx[0] = idx[1] - 1  # type: ignore[operator]  # the joint before a named shoulder
            if mid == 1 and idx[3] is None and idx[2] + 1 < len(chain):  # type: ignore[operator]
                idx[3] = idx[2] + 1  # type: ignore[operator]  # the joint after a named ankle
            return idx, "name"
        return topo, "topology"

    def sides(chains: list[list[int]]) -> list[str]:
        """Left/right of two chains from their names' side markers ([] when they do not say)."""
        named = []
        for c in chains:
            votes = [S.labels[j].side for j in c if S.labels[j].side]
            named.append(max(set(votes), key=votes.count) if votes else None)
        if sorted(x or "" for x in named) == ["left", "right"]:
            return named  # type: ignore[return-value]
        return []

    legs_parts = ("hip", "knee", "ankle", "foot")
    arm_parts = ("collar", "shoulder", "elbow", "wrist")
    leg_sel = [assign(c, legs_parts, pelvis) for c in legs_m]
    arm_sel = [assign(c, arm_parts, chest) for c in arms_m]

    # forward from the feet (ankle -> toe), left = up x forward
    fwd = np.zeros(3)
    for c, (idx, _) in zip(legs_m, leg_sel):
        if idx[2] is not None and idx[3] is not None:
            fwd += rest[c[idx[3]]] - rest[c[idx[2]]]
    fwd -= (fwd @ up) * up
    leg_side = sides(legs_m)
    arm_side = sides(arms_m)
    geo_ok = np.linalg.norm(fwd) > 1e-6 * max(S.depth.max(), 1e-9)
    if geo_ok:
        fwd /= np.linalg.norm(fwd)
        left = np.cross(up, fwd)
        geo_leg = ["left" if (rest[c[0]] - rest[pelvis]) @ left > 0 else "right" for c in legs_m]
        geo_arm = ["left" if (rest[c[-1]] - rest[chest]) @ left > 0 else "right" for c in arms_m]
        if sorted(geo_leg) != ["left", "right"] or sorted(geo_arm) != ["left", "right"]:
            geo_ok = False
    notes: list[str] = []
    if leg_side and arm_side:
        if geo_ok and (geo_leg != leg_side or geo_arm != arm_side):
            notes.append("names and toe direction disagree on left/right (names used)")
    elif geo_ok:
        leg_side, arm_side = geo_leg, geo_arm
    else:
        raise InputError("cannot tell left from right: joint names have no side markers and the feet have no toe joints")
    if not geo_ok:  # forward from named sides
        lvec = rest[legs_m[leg_side.index("left")][0]] - rest[legs_m[leg_side.index("right")][0]]
        lvec -= (lvec @ up) * up
        left = lvec / max(np.linalg.norm(lvec), 1e-12)
        fwd = np.cross(left, up)

    used: set[int] = {pelvis, chest}
    joints["pelvis"], how["pelvis"] = one(pelvis), "topology" if not S.labels[pelvis].strength("pelvis") else "name"
    joints["spine3"], how["spine3"] = one(chest), "topology"

    def place(canon: str, chain: list[int], idx: int | None, method: str) -> bool:
        if idx is None:
            return False
        joints[canon], how[canon] = one(chain[idx]), method
        used.add(chain[idx])
        return True

    for c, (idx, meth), side in zip(legs_m, leg_sel, leg_side):
        for part, i in zip(legs_parts, idx):
            if not place(f"{side}_{part}", c, i, meth) and part != "foot":
                raise InputError(f"not a humanoid skeleton: the {side} leg has no {part} joint")
        if idx[3] is None:  # synthesise a toe joint fixed to the ankle
            a = c[idx[2]]  # type: ignore[index]
            shin = float(np.linalg.norm(rest[a] - rest[c[idx[1]]]))  # type: ignore[index]
            target = rest[a] + fwd * 0.33 * shin - up * 0.12 * shin
            attach[f"{side}_foot"] = _local(clip, rest_from, a, target - rest[a])
            joints[f"{side}_foot"], how[f"{side}_foot"] = one(a), "attached"
    for c, (idx, meth), side in zip(arms_m, arm_sel, arm_side):
        for part, i in zip(arm_parts[1:], idx[1:]):
            if not place(f"{side}_{part}", c, i, meth):
                raise InputError(f"not a humanoid skeleton: the {side} arm has no {part} joint")
        if not place(f"{side}_collar", c, idx[0], meth):
            sh = c[idx[1]]  # type: ignore[index]
            raw = S.chain(chest, sh)[:-1]
            clav = [j for j in raw if np.linalg.norm(S.rest[j] - S.rest[chest]) <= eps_len]
            if clav:  # a clavicle joint at the chest's position (CMU): a quarter of the way to the shoulder
                joints[f"{side}_collar"] = ((S.names[clav[-1]], 0.75), (S.names[sh], 0.25))
                how[f"{side}_collar"] = "blend"
                used.add(clav[-1])
            else:  # no clavicle: a point fixed on the chest, 40% of the way to the shoulder
                attach[f"{side}_collar"] = _local(clip, rest_from, chest, 0.4 * (rest[sh] - rest[chest]))
                joints[f"{side}_collar"], how[f"{side}_collar"] = one(chest), "attached"

    # ---------------------------------------------------------- spine
    spine = [j for j in spine_c if not S.labels[j].ignored]
    lead = [j for j in S.chain(pelvis, spine[0])[:-1] if np.linalg.norm(S.rest[j] - S.rest[pelvis]) <= eps_len] if spine else []
    if spine and lead:  # a rotating joint at the pelvis (CMU's LowerBack): spine1 half-way up its bone
        joints["spine1"], how["spine1"] = ((S.names[lead[-1]], 0.5), (S.names[spine[0]], 0.5)), "blend"
        used.add(lead[-1])
        upper = spine
    elif spine:
        joints["spine1"], how["spine1"] = one(spine[0]), "topology"
        upper = spine[1:]
    if spine:
        used.add(spine[0])
        if upper:
            base = rest[pelvis] if lead else rest[spine[0]]
            total = np.linalg.norm(rest[chest] - base)
            frac = [np.linalg.norm(rest[j] - base) / max(total, 1e-12) for j in upper]
            k = int(np.argmin([abs(f - 0.55) for f in frac]))
            joints["spine2"], how["spine2"] = one(upper[k]), "topology"
            used.add(upper[k])
        else:
            joints["spine2"], how["spine2"] = ((S.names[spine[0]], 0.5), (S.names[chest], 0.5)), "blend"
    else:
        joints["spine1"], how["spine1"] = ((S.names[pelvis], 0.62), (S.names[chest], 0.38)), "blend"
        joints["spine2"], how["spine2"] = ((S.names[pelvis], 0.18), (S.names[chest], 0.82)), "blend"

    # ---------------------------------------------------------- neck/head
    neck_named = [i for i, j in enumerate(head_c) if S.labels[j].strength("neck")]
    if neck_named:
        head_c = head_c[neck_named[0]:]  # spine-named joints before the neck belong to the chest
    head_named = [j for j in head_c if S.labels[j].strength("head")]
    if len(head_c) >= 2:
        hd = head_named[0] if head_named and head_named[0] != head_c[0] else head_c[-1]
        joints["neck"], how["neck"] = one(head_c[0]), "name" if neck_named else "topology"
        joints["head"], how["head"] = one(hd), "name" if head_named else "topology"
        used.update((head_c[0], hd))
    elif len(head_c) == 1:
        joints["head"], how["head"] = one(head_c[0]), "topology"
        joints["neck"], how["neck"] = ((S.names[chest], 0.3), (S.names[head_c[0]], 0.7)), "blend"
        used.add(head_c[0])
    else:
        raise InputError("not a humanoid skeleton: no head joint above the chest")
    for j in ("spine1", "spine2", "spine3"):
        if how[j] == "topology" and all(S.labels[S.names.index(n)].strength("spine") for n, _ in joints[j]):
            how[j] = "name"

    # ---------------------------------------------------------- units, axes
    def snap(v: np.ndarray) -> np.ndarray:
        k = int(np.argmax(np.abs(v)))
        out = np.zeros(3)
        out[k] = np.sign(v[k])
        return out

    up_axis = snap(up)
    spine_dirs = frames[:, chest] - frames[:, pelvis]
    mean_up = (spine_dirs / np.clip(np.linalg.norm(spine_dirs, axis=-1, keepdims=True), 1e-12, None)).mean(0)
    if np.linalg.norm(mean_up) > 0.7 and not np.allclose(snap(mean_up), up_axis):
        up_axis = snap(mean_up)  # the performer stands along another axis than the rest pose lies
        notes.append("up axis from the motion (the rest pose lies along another axis)")
    ax = int(np.argmax(np.abs(up_axis)))
    A = _rotation_to_y(up_axis)
    legs_for_h = [[c[i] for i in idx[:3]] for c, (idx, _) in zip(legs_m, leg_sel)]  # type: ignore[misc]
    h_units = _height_units(rest, pelvis, chest, legs_for_h, [S.names.index(joints["head"][0][0])])
    if unit is None:
        unit_name, scale = detect_unit(h_units)
    else:
        unit_name, scale = unit, UNITS[unit]
    # rest pose kind: upper-arm angle below the horizontal plane
    ang = []
    for c, (idx, _) in zip(arms_m, arm_sel):
        d = rest[c[idx[2]]] - rest[c[idx[1]]]  # type: ignore[index]
        ang.append(math.degrees(math.asin(np.clip(-(d @ up) / max(np.linalg.norm(d), 1e-12), -1, 1))))
    a = float(np.mean(ang))
    rest_kind = "T-pose" if a < 20 else "A-pose" if a < 65 else "other"
    skip = _calibration_frames(clip, joints, scale)
    if skip:
        notes.append("first frame dropped (calibration pose)")
    m = RetargetMap("auto", joints, scale, A, skip, attach)
    skipped = tuple(n for j, n in enumerate(S.names) if j not in used and not clip.end_site[j] and n not in m.source_joints)
    up_name = ("+" if up_axis[ax] > 0 else "-") + "XYZ"[ax]
    return JointMapping(m, how, skipped, unit_name, float(h_units * scale), up_name, rest_kind, rest_from, tuple(notes))


def _local(clip: BvhClip, rest_from: str, joint: int, vec: np.ndarray) -> tuple[float, float, float]:
    """A world vector of the chosen rest pose expressed in ``joint``'s frame (file units)."""
    if rest_from == "offsets":
        J = clip.num_joints
        R = clip.rest_rotations if clip.rest_rotations is not None else np.broadcast_to(np.eye(3), (J, 3, 3))
        Rw = np.eye(3)
        for j in [*reversed(_ancestors(clip.parents, joint))]:
            Rw = Rw @ R[j]
    else:
        Rw = clip.slice(0, 1).world_transforms()[1][0, joint]
    v = Rw.T @ vec
    return (float(v[0]), float(v[1]), float(v[2]))


def _ancestors(parents: tuple[int, ...], j: int) -> list[int]:
    out = []
    while j >= 0:
        out.append(j)
        j = parents[j]
    return out


def _calibration_frames(clip: BvhClip, joints: dict[str, Blend], scale: float) -> int:
    """1 when the first frame is a calibration pose (e.g. CMU's T-pose), else 0.

    A calibration frame is the rest pose itself (mapped joints within 4 cm of
    their zero-rotation positions on average, in the root's frame) followed by
    a jump of over 5 cm, or any frame followed by a jump 8 times the typical
    frame-to-frame motion.
    """
    if clip.num_frames < 4 or clip.rest_rotations is not None:
        return 0
    idx = {n: i for i, n in enumerate(clip.names)}
    cols = sorted({idx[n] for b in joints.values() for n, _ in b})
    P, Rw = clip.slice(0, min(clip.num_frames, 240)).world_transforms()
    root = next(j for j, p in enumerate(clip.parents) if p < 0)
    step = np.linalg.norm(np.diff(P[:, cols], axis=0), axis=-1).max(axis=1) * scale  # (T-1,) metres
    typical = float(np.median(step[1:])) if len(step) > 1 else 0.0
    rest = rest_positions(clip)
    local0 = (P[0, cols] - P[0, root]) @ Rw[0, root]  # in the root's frame
    near_rest = float(np.linalg.norm(local0 - (rest[cols] - rest[root]), axis=-1).mean()) * scale < 0.04
    return int((near_rest and step[0] > 0.05) or (step[0] > 0.1 and step[0] > 8.0 * max(typical, 1e-3)))
