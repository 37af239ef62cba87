"""Read a skinned, animated glTF 2.0 file (``.glb``/``.gltf``) as a skeleton clip (``pygltflib``).

The skeleton is the union of the skins' joints and their ancestor nodes (one
tree; with several trees the largest is kept); without skins, the nodes the
animation targets. Node transforms (matrix or translation/rotation/scale;
quaternions **xyzw**) are composed to world matrices per frame, so any scale
on the armature node (e.g. 0.01 from a centimetre FBX) ends up in the
positions. The result is a :class:`~humokit.motion.bvh.BvhClip` in glTF's
axes (Y up) and the file's units: local rotations and translations per frame
whose forward kinematics reproduces the world joint positions, and the bind
pose in ``offsets`` / ``rest_rotations``.

Sampling: one animation (``animation=0`` by default) sampled on a uniform
grid at ``extras.fps`` when the file states it, otherwise at the key spacing
(at most 120 fps); LINEAR and STEP samplers are honoured, CUBICSPLINE keys
are read at their values (tangents ignored), rotations are interpolated by
normalised linear interpolation of hemisphere-aligned quaternions.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from humokit.errors import FileFormatError
from humokit.motion.bvh import BvhClip
from humokit.motion.rotations import quat_to_rotmat

_NP = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_NORM = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}


def _buffer_bytes(gl: object, path: Path, i: int) -> bytes:
    buf = gl.buffers[i]  # type: ignore[attr-defined]
    uri = buf.uri
    if uri is None:
        blob = gl.binary_blob()  # type: ignore[attr-defined]
        if blob is None:
            raise FileFormatError(path, f"buffer {i} has no data")
        return blob
    if uri.startswith("data:"):
        return base64.b64decode(uri.split(",", 1)[1])
    f = path.parent / uri
    if not f.is_file():
        raise FileFormatError(path, f"buffer file {uri!r} not found beside it")
    return f.read_bytes()


def _accessor(gl: object, path: Path, idx: int, cache: dict) -> np.ndarray:
    acc = gl.accessors[idx]  # type: ignore[attr-defined]
    n = _NCOMP.get(acc.type)
    if n is None or acc.componentType not in _NP:
        raise FileFormatError(path, f"accessor {idx}: unsupported type {acc.type}/{acc.componentType}")
    dt = np.dtype(_NP[acc.componentType])
    if acc.bufferView is None:
        return np.zeros((acc.count, n), dtype=np.float64)
    bv = gl.bufferViews[acc.bufferView]  # type: ignore[attr-defined]
    if bv.buffer not in cache:
        cache[bv.buffer] = _buffer_bytes(gl, path, bv.buffer)
    data = cache[bv.buffer]
    start = (bv.byteOffset or 0) + (acc.byteOffset or 0)
    stride = bv.byteStride or n * dt.itemsize
    need = start + stride * (acc.count - 1) + n * dt.itemsize if acc.count else start
    if need > len(data):
        raise FileFormatError(path, f"accessor {idx} runs past the end of its buffer")
    raw = np.lib.stride_tricks.as_strided(
        np.frombuffer(data, dtype=np.uint8, count=need - start, offset=start),
        shape=(acc.count, n * dt.itemsize), strides=(stride, 1),
    )  # fmt: skip
    out = np.ascontiguousarray(raw).view(dt).reshape(acc.count, n).astype(np.float64)
    if acc.normalized and acc.componentType in _NORM:
        out = np.maximum(out / _NORM[acc.componentType], -1.0)
    return out


def _trs_matrix(t: np.ndarray, q: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``(..., 4, 4)`` from translation ``(..., 3)``, quaternion xyzw ``(..., 4)``, scale ``(..., 3)``."""
    q = q / np.clip(np.linalg.norm(q, axis=-1, keepdims=True), 1e-12, None)
    M = np.zeros(t.shape[:-1] + (4, 4))
    M[..., :3, :3] = quat_to_rotmat(q) * s[..., None, :]
    M[..., :3, 3] = t
    M[..., 3, 3] = 1.0
    return M


def _sample(times: np.ndarray, keys: np.ndarray, values: np.ndarray, interp: str, rotation: bool) -> np.ndarray:
    """Values ``(len(times), C)`` of a sampler at ``times``."""
    if interp == "CUBICSPLINE":
        values = values[1::3]
    if rotation:
        values = values.copy()
        for k in range(1, len(values)):
            if values[k] @ values[k - 1] < 0:
                values[k] *= -1
    if len(keys) == 1:
        out = np.repeat(values[:1], len(times), axis=0)
    elif interp == "STEP":
        out = values[np.clip(np.searchsorted(keys, times, side="right") - 1, 0, len(keys) - 1)]
    else:
        out = np.stack([np.interp(times, keys, values[:, c]) for c in range(values.shape[1])], axis=1)
    if rotation:
        out = out / np.clip(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12, None)
    return out


def _orthonormal(M: np.ndarray) -> np.ndarray:
    """Nearest rotations to ``(..., 3, 3)`` matrices (removes scale)."""
    M = M / np.clip(np.linalg.norm(M, axis=-2, keepdims=True), 1e-12, None)  # unit columns (uniform scale)
    if np.abs(np.swapaxes(M, -1, -2) @ M - np.eye(3)).max() < 1e-6:
        return M
    U, _, Vt = np.linalg.svd(M)
    R = U @ Vt
    flip = np.linalg.det(R) < 0
    if np.any(flip):
        U[flip, :, -1] *= -1
        R = U @ Vt
    return R


def load_gltf_clip(path: str | Path, *, animation: int = 0) -> BvhClip:
    """Read the skeleton and one animation of a ``.glb``/``.gltf`` file (see the module docstring).

    Raises:
        FileFormatError: one line when the file cannot be read, has no skeleton or no animation.
    """
    import pygltflib

    path = Path(path)
    try:
        gl = pygltflib.GLTF2().load(str(path))
    except Exception as e:  # pygltflib raises bare exceptions on malformed files
        raise FileFormatError(path, f"not a readable glTF file ({type(e).__name__}: {e})") from None
    if gl is None or not gl.nodes:
        raise FileFormatError(path, "no nodes in the file")
    N = len(gl.nodes)
    parent = [-1] * N
    for i, nd in enumerate(gl.nodes):
        for c in nd.children or []:
            if 0 <= c < N:
                parent[c] = i
    if not gl.animations or animation >= len(gl.animations):
        raise FileFormatError(path, "no animation in the file" if not gl.animations
                              else f"animation {animation} out of range (the file has {len(gl.animations)})")  # fmt: skip
    anim = gl.animations[animation]
    targets = {ch.target.node for ch in anim.channels if ch.target is not None and ch.target.node is not None}
    joints = {j for sk in gl.skins for j in sk.joints} if gl.skins else set(targets)
    if not joints:
        raise FileFormatError(path, "no skeleton (no skin joints or animated nodes)")
    keep: set[int] = set()
    for j in joints:
        while j >= 0 and j not in keep:
            keep.add(j)
            j = parent[j]
    roots = [j for j in keep if parent[j] < 0]

    def subtree(r: int) -> list[int]:
        out, stack = [], [r]
        while stack:
            n = stack.pop()
            if n in keep:
                out.append(n)
                stack.extend(reversed(gl.nodes[n].children or []))
        return out

    order = max((subtree(r) for r in roots), key=len)  # parents precede children
    index = {n: k for k, n in enumerate(order)}
    J = len(order)
    names = []
    for n in order:
        nm = gl.nodes[n].name or f"node{n}"
        names.append(nm if nm not in names else f"{nm}_{n}")

    # rest TRS
    t0 = np.zeros((J, 3))
    q0 = np.tile([0.0, 0.0, 0.0, 1.0], (J, 1))
    s0 = np.ones((J, 3))
    fixed = {}
    for k, n in enumerate(order):
        nd = gl.nodes[n]
        if nd.matrix is not None and len(nd.matrix) == 16:
            fixed[k] = np.asarray(nd.matrix, dtype=np.float64).reshape(4, 4).T  # column-major
        if nd.translation is not None:
            t0[k] = nd.translation
        if nd.rotation is not None:
            q0[k] = nd.rotation
        if nd.scale is not None:
            s0[k] = nd.scale

    cache: dict = {}
    chans = []
    lo, hi, spacing = np.inf, -np.inf, []
    for ch in anim.channels:
        node = ch.target.node if ch.target is not None else None
        if node not in index or ch.target.path not in ("translation", "rotation", "scale"):
            continue
        smp = anim.samplers[ch.sampler]
        keys = _accessor(gl, path, smp.input, cache)[:, 0]
        vals = _accessor(gl, path, smp.output, cache)
        if len(keys) == 0:
            continue
        lo, hi = min(lo, keys[0]), max(hi, keys[-1])
        if len(keys) > 1:
            spacing.append(np.median(np.diff(keys)))
        chans.append((index[node], ch.target.path, keys, vals, smp.interpolation or "LINEAR"))
    if not chans:
        raise FileFormatError(path, "the animation moves no joint of the skeleton")
    fps = None
    extras = getattr(anim, "extras", None)
    if isinstance(extras, dict) and isinstance(extras.get("fps"), (int, float)) and extras["fps"] > 0:
        fps = float(extras["fps"])
    if fps is None:
        dt = float(np.median(spacing)) if spacing else 1.0 / 30.0
        fps = float(min(120.0, round(1.0 / max(dt, 1e-4), 3)))
    T = max(1, int(round((hi - lo) * fps)) + 1)
    times = lo + np.arange(T) / fps

    t = np.broadcast_to(t0, (T, J, 3)).copy()
    q = np.broadcast_to(q0, (T, J, 4)).copy()
    s = np.broadcast_to(s0, (T, J, 3)).copy()
    for k, what, keys, vals, interp in chans:
        v = _sample(times, keys, vals, interp, what == "rotation")
        {"translation": t, "rotation": q, "scale": s}[what][:, k] = v[:, : (4 if what == "rotation" else 3)]
    local = _trs_matrix(t, q, s)
    rest_local = _trs_matrix(t0, q0, s0)
    for k, M in fixed.items():
        if k not in {c[0] for c in chans}:
            local[:, k] = M
        rest_local[k] = M
    # the static transform of the nodes above the kept root
    top = np.eye(4)
    p = parent[order[0]]
    while p >= 0:
        nd = gl.nodes[p]
        M = (np.asarray(nd.matrix, dtype=np.float64).reshape(4, 4).T if nd.matrix is not None and len(nd.matrix) == 16
             else _trs_matrix(np.asarray(nd.translation or [0, 0, 0], float), np.asarray(nd.rotation or [0, 0, 0, 1], float),
                              np.asarray(nd.scale or [1, 1, 1], float)))  # fmt: skip
        top = M @ top
        p = parent[p]
    par = [index.get(parent[n], -1) if n != order[0] else -1 for n in order]
    W = np.zeros((T, J, 4, 4))
    W0 = np.zeros((J, 4, 4))
    for k, pk in enumerate(par):
        W[:, k] = (W[:, pk] if pk >= 0 else top) @ local[:, k]
        W0[k] = (W0[pk] if pk >= 0 else top) @ rest_local[k]
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(W0))):
        raise FileFormatError(path, "non-finite joint transforms")
    Rw, Pw = _orthonormal(W[..., :3, :3]), W[..., :3, 3]
    Rw0, Pw0 = _orthonormal(W0[:, :3, :3]), W0[:, :3, 3]
    R_loc = np.empty((T, J, 3, 3))
    t_loc = np.empty((T, J, 3))
    off = np.empty((J, 3))
    rest_R = np.empty((J, 3, 3))
    for k, pk in enumerate(par):
        if pk < 0:
            R_loc[:, k], t_loc[:, k] = Rw[:, k], Pw[:, k]
            rest_R[k], off[k] = Rw0[k], Pw0[k]
        else:
            RpT = np.swapaxes(Rw[:, pk], -1, -2)
            R_loc[:, k] = RpT @ Rw[:, k]
            t_loc[:, k] = np.einsum("tab,tb->ta", RpT, Pw[:, k] - Pw[:, pk])
            rest_R[k] = Rw0[pk].T @ Rw0[k]
            off[k] = Rw0[pk].T @ (Pw0[k] - Pw0[pk])
    return BvhClip(tuple(names), tuple(par), off, tuple(() for _ in range(J)), R_loc, t_loc, 1.0 / fps,
                   tuple(False for _ in range(J)), rest_R)  # fmt: skip
