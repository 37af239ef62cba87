"""A small, independent glTF 2.0 animation evaluator used by the export tests.

Reads a ``.glb`` with pygltflib only (no humokit code), samples every
animation channel at given times (LINEAR: lerp for translation/scale, slerp
for rotation quaternions xyzw; STEP), composes node TRS matrices down the
hierarchy, and linear-blend-skins the first skinned mesh.
"""

from __future__ import annotations

import numpy as np
import pygltflib

_DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}


def read_accessor(gl: pygltflib.GLTF2, index: int) -> np.ndarray:
    acc = gl.accessors[index]
    view = gl.bufferViews[acc.bufferView]
    blob = gl.binary_blob()
    dtype = np.dtype(_DTYPES[acc.componentType])
    n = _NCOMP[acc.type]
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    stride = view.byteStride or dtype.itemsize * n
    rows = [
        np.frombuffer(blob, dtype=dtype, count=n, offset=start + i * stride) for i in range(acc.count)
    ] if view.byteStride else [np.frombuffer(blob, dtype=dtype, count=n * acc.count, offset=start)]
    arr = np.concatenate(rows).reshape(acc.count, n)
    return arr[:, 0] if n == 1 else arr


def _quat_to_mat(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _slerp(a: np.ndarray, b: np.ndarray, u: float) -> np.ndarray:
    d = float(np.dot(a, b))
    if d < 0:
        b, d = -b, -d
    if d > 0.9995:
        q = a + u * (b - a)
    else:
        th = np.arccos(d)
        q = (np.sin((1 - u) * th) * a + np.sin(u * th) * b) / np.sin(th)
    return q / np.linalg.norm(q)


class GltfAnimation:
    """Evaluate node world transforms of a glTF file at any time."""

    def __init__(self, path: str) -> None:
        self.gl = pygltflib.GLTF2().load(str(path))
        gl = self.gl
        self.names = [n.name for n in gl.nodes]
        self.parent = [-1] * len(gl.nodes)
        for i, n in enumerate(gl.nodes):
            for c in n.children or []:
                self.parent[c] = i
        self.channels = []
        anim = gl.animations[0] if gl.animations else None
        if anim is not None:
            for ch in anim.channels:
                s = anim.samplers[ch.sampler]
                self.channels.append(
                    (ch.target.node, ch.target.path, read_accessor(gl, s.input).astype(np.float64),
                     read_accessor(gl, s.output).astype(np.float64), s.interpolation or "LINEAR")
                )
        self.extras = anim.extras if anim is not None else {}

    def key_times(self) -> np.ndarray:
        return self.channels[0][2]

    def _local_trs(self, t: float) -> list[list[np.ndarray]]:
        trs = []
        for n in self.gl.nodes:
            trs.append([
                np.array(n.translation if n.translation else [0.0, 0, 0], dtype=np.float64),
                np.array(n.rotation if n.rotation else [0.0, 0, 0, 1], dtype=np.float64),
                np.array(n.scale if n.scale else [1.0, 1, 1], dtype=np.float64),
            ])
        for node, path, times, values, interp in self.channels:
            k = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1))
            if k + 1 < len(times) and interp == "LINEAR" and t > times[k]:
                u = (t - times[k]) / (times[k + 1] - times[k])
                v = _slerp(values[k], values[k + 1], u) if path == "rotation" else (1 - u) * values[k] + u * values[k + 1]
            else:
                v = values[k]
            trs[node][{"translation": 0, "rotation": 1, "scale": 2}[path]] = v
        return trs

    def world_matrices(self, t: float) -> np.ndarray:
        """``(N, 4, 4)`` node-to-world matrices at time ``t`` seconds."""
        trs = self._local_trs(t)
        world = np.zeros((len(trs), 4, 4))
        done = [False] * len(trs)

        def get(i: int) -> np.ndarray:
            if not done[i]:
                T, q, s = trs[i]
                M = np.eye(4)
                M[:3, :3] = _quat_to_mat(q) * s[None, :]
                M[:3, 3] = T
                p = self.parent[i]
                world[i] = M if p < 0 else get(p) @ M
                done[i] = True
            return world[i]

        for i in range(len(trs)):
            get(i)
        return world

    def node_positions(self, nodes: list[int], times: np.ndarray) -> np.ndarray:
        """``(len(times), len(nodes), 3)`` world positions of ``nodes``."""
        return np.stack([self.world_matrices(float(t))[nodes, :3, 3] for t in times])

    def skinned_vertices(self, t: float) -> np.ndarray:
        """``(V, 3)`` LBS vertices of the first skinned mesh at time ``t``."""
        gl = self.gl
        node = next(n for n in gl.nodes if n.skin is not None and n.mesh is not None)
        skin = gl.skins[node.skin]
        prim = gl.meshes[node.mesh].primitives[0]
        P = read_accessor(gl, prim.attributes.POSITION).astype(np.float64)
        Jx = read_accessor(gl, prim.attributes.JOINTS_0).astype(np.int64)
        W = read_accessor(gl, prim.attributes.WEIGHTS_0).astype(np.float64)
        ibm = read_accessor(gl, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
        world = self.world_matrices(t)
        Mj = world[skin.joints] @ ibm  # (J, 4, 4)
        Ph = np.concatenate([P, np.ones((len(P), 1))], 1)
        out = np.zeros_like(P)
        for k in range(4):
            out += W[:, k : k + 1] * np.einsum("vab,vb->va", Mj[Jx[:, k]], Ph)[:, :3]
        return out
