"""glTF 2.0 binary (.glb) export of a skinned, animated body with ``pygltflib``.

Layout of the written file:

- nodes ``0 .. J-1``: the rig's joints as a node hierarchy; rest translation =
  rig offset (root: its rest position), rest rotation = identity (T-pose);
- node ``J``: the body mesh (when given), skinned by ``skins[0]`` whose inverse
  bind matrices are ``translate(-rest_position_j)``; when the body has a
  texture layout the mesh carries ``TEXCOORD_0`` (vertices on uv seams are
  split, normals are those of the unsplit mesh so seams stay invisible) and its
  ``skin`` material samples ``baseColorTexture`` through it when a texture
  image is given;
- ``animations[0]``: per-joint ``rotation`` channels (unit quaternions
  **xyzw**, as glTF wants; hemisphere-continuous) and the root's
  ``translation``, LINEAR samplers, key times ``frame / fps`` seconds
  (``extras.fps`` keeps the exact rate).

Axes need no conversion: glTF is Y up, +Z forward ("front"), right-handed,
metres, exactly humokit's world convention.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from humokit._io import atomic_path
from humokit.export.rigged import RiggedAnimation, SkinnedMesh
from humokit.motion.rotations import rotmat_to_quat

_FLOAT, _UBYTE, _USHORT, _UINT = 5126, 5121, 5123, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963


class _Blob:
    """Accumulates bufferViews + accessors into one binary buffer."""

    def __init__(self, gltf: object) -> None:
        self.gltf = gltf
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, data: np.ndarray, kind: str, *, target: int | None = None, minmax: bool = False) -> int:
        import pygltflib as g

        ctype = {np.dtype(np.float32): _FLOAT, np.dtype(np.uint8): _UBYTE,
                 np.dtype(np.uint16): _USHORT, np.dtype(np.uint32): _UINT}[data.dtype]  # fmt: skip
        raw = np.ascontiguousarray(data).tobytes()
        pad = (-self.size) % 4
        if pad:
            self.chunks.append(b"\0" * pad)
            self.size += pad
        view = g.BufferView(buffer=0, byteOffset=self.size, byteLength=len(raw), target=target)
        self.chunks.append(raw)
        self.size += len(raw)
        self.gltf.bufferViews.append(view)  # type: ignore[attr-defined]
        count = data.shape[0]
        acc = g.Accessor(bufferView=len(self.gltf.bufferViews) - 1, componentType=ctype, count=count, type=kind)  # type: ignore[attr-defined]
        if minmax:
            flat = data.reshape(count, -1)
            acc.min = [float(x) for x in flat.min(0)]
            acc.max = [float(x) for x in flat.max(0)]
        self.gltf.accessors.append(acc)  # type: ignore[attr-defined]
        return len(self.gltf.accessors) - 1  # type: ignore[attr-defined]

    def bytes(self) -> bytes:
        out = b"".join(self.chunks)
        return out + b"\0" * ((-len(out)) % 4)


def continuous_quats(R: np.ndarray) -> np.ndarray:
    """``(T, J, 3, 3)`` -> ``(T, J, 4)`` float32 unit quaternions xyzw with ``q_t . q_{t-1} >= 0``."""
    q = rotmat_to_quat(np.asarray(R, dtype=np.float64))
    for t in range(1, q.shape[0]):
        flip = (q[t] * q[t - 1]).sum(-1) < 0
        q[t, flip] *= -1
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return q.astype(np.float32)


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = vertices[faces].astype(np.float64)
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros((vertices.shape[0], 3))
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    n = np.linalg.norm(vn, axis=1, keepdims=True)
    vn = np.where(n > 1e-12, vn / np.maximum(n, 1e-12), np.array([0.0, 1.0, 0.0]))
    return vn.astype(np.float32)


def split_uv_seams(faces: np.ndarray, face_uv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One vertex per distinct (vertex, uv) corner pair, as glTF needs.

    Args:
        faces: ``(F, 3)`` vertex index per triangle corner.
        face_uv: ``(F, 3)`` uv index per triangle corner.
    Returns:
        ``(vertex_of, uv_of, new_faces)``: ``(N,)`` original vertex and ``(N,)``
        uv index of each output vertex, and ``(F, 3)`` triangles over them.
    """
    pairs = np.stack([faces.reshape(-1), face_uv.reshape(-1)], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    return uniq[:, 0], uniq[:, 1], inverse.reshape(faces.shape).astype(np.int64)


def _image_mime(data: bytes, path: Path) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    from humokit.errors import InputError

    raise InputError(f"{path}: texture must be a PNG or JPEG image")


def build_gltf(
    anim: RiggedAnimation,
    mesh: SkinnedMesh | None = None,
    *,
    name: str = "humokit",
    texture: str | Path | None = None,
) -> object:
    """A ``pygltflib.GLTF2`` holding the rig, optional skinned mesh and the animation (binary blob set).

    ``texture``: a PNG/JPEG embedded as the body material's base colour
    (needs a mesh with a uv layout).
    """
    import pygltflib as g

    J = len(anim.rig.names)
    gl = g.GLTF2(asset=g.Asset(version="2.0", generator="humokit"), scene=0)
    blob = _Blob(gl)
    children: list[list[int]] = [[] for _ in range(J)]
    for j, p in enumerate(anim.rig.parents):
        if p >= 0:
            children[p].append(j)
    roots = [j for j, p in enumerate(anim.rig.parents) if p < 0]
    for j in range(J):
        gl.nodes.append(
            g.Node(
                name=anim.rig.names[j],
                translation=[float(x) for x in anim.rig.offsets[j]],
                children=children[j] or [],
            )
        )
    scene_nodes = list(roots)
    if texture is not None and (mesh is None or mesh.uv is None):
        from humokit.errors import InputError

        raise InputError("export: a texture needs a body mesh with a uv layout (the Anny body has one)")
    if mesh is not None:
        normals = _vertex_normals(mesh.vertices, mesh.faces)
        keep = np.arange(mesh.vertices.shape[0])
        faces = mesh.faces
        if mesh.uv is not None and mesh.face_uv is not None:
            keep, uv_of, faces = split_uv_seams(mesh.faces, mesh.face_uv)
        V = keep.shape[0]
        attrs = g.Attributes(
            POSITION=blob.add(mesh.vertices[keep].astype(np.float32), "VEC3", target=_ARRAY_BUFFER, minmax=True),
            NORMAL=blob.add(normals[keep], "VEC3", target=_ARRAY_BUFFER),
            JOINTS_0=blob.add(
                mesh.joint_indices[keep].astype(np.uint8 if J < 256 else np.uint16), "VEC4", target=_ARRAY_BUFFER
            ),
            WEIGHTS_0=blob.add(mesh.joint_weights[keep].astype(np.float32), "VEC4", target=_ARRAY_BUFFER),
        )
        if mesh.uv is not None:
            attrs.TEXCOORD_0 = blob.add(mesh.uv[uv_of].astype(np.float32), "VEC2", target=_ARRAY_BUFFER)
        if mesh.colors is not None:
            attrs.COLOR_0 = blob.add(mesh.colors[keep].astype(np.float32), "VEC4", target=_ARRAY_BUFFER)
        idx_dtype = np.uint16 if V < 65535 else np.uint32
        indices = blob.add(faces.reshape(-1).astype(idx_dtype), "SCALAR", target=_ELEMENT_ARRAY_BUFFER)
        pbr = g.PbrMetallicRoughness(
            baseColorFactor=[1.0, 1.0, 1.0, 1.0] if mesh.colors is not None or texture else [0.8, 0.75, 0.7, 1.0],
            metallicFactor=0.0,
            roughnessFactor=0.8,
        )
        if texture is not None:
            tex_path = Path(texture)
            data = tex_path.read_bytes()
            mime = _image_mime(data, tex_path)
            raw = np.frombuffer(data, dtype=np.uint8)
            view = len(gl.bufferViews)
            blob.add(raw, "SCALAR")
            gl.accessors.pop()  # images reference the bufferView, not an accessor
            gl.images.append(g.Image(name=tex_path.stem, bufferView=view, mimeType=mime))
            gl.samplers.append(g.Sampler(magFilter=9729, minFilter=9987, wrapS=10497, wrapT=10497))
            gl.textures.append(g.Texture(sampler=0, source=0))
            pbr.baseColorTexture = g.TextureInfo(index=0, texCoord=0)
        gl.materials.append(g.Material(name="skin", pbrMetallicRoughness=pbr))
        gl.meshes.append(
            g.Mesh(name="body", primitives=[g.Primitive(attributes=attrs, indices=indices, material=0, mode=4)])
        )
        rest = anim.rig.rest_positions()
        ibm = np.tile(np.eye(4, dtype=np.float32), (J, 1, 1))
        ibm[:, :3, 3] = -rest
        # glTF matrices are column-major: store the transpose's rows.
        ibm_acc = blob.add(np.ascontiguousarray(ibm.transpose(0, 2, 1)).reshape(J, 16), "MAT4")
        gl.skins.append(g.Skin(name="rig", joints=list(range(J)), inverseBindMatrices=ibm_acc, skeleton=roots[0]))
        gl.nodes.append(g.Node(name="body", mesh=0, skin=0))
        scene_nodes.append(J)
    gl.scenes.append(g.Scene(name=name, nodes=scene_nodes))

    T = anim.num_frames
    times = (np.arange(T, dtype=np.float64) / anim.fps).astype(np.float32)
    t_acc = blob.add(times, "SCALAR", minmax=True)
    q = continuous_quats(anim.rotations)
    samplers, channels = [], []
    for j in range(J):
        out = blob.add(np.ascontiguousarray(q[:, j]), "VEC4")
        samplers.append(g.AnimationSampler(input=t_acc, output=out, interpolation="LINEAR"))
        channels.append(g.AnimationChannel(sampler=len(samplers) - 1, target=g.AnimationChannelTarget(node=j, path="rotation")))
    for r in roots:
        out = blob.add(anim.root_position.astype(np.float32), "VEC3")
        samplers.append(g.AnimationSampler(input=t_acc, output=out, interpolation="LINEAR"))
        channels.append(g.AnimationChannel(sampler=len(samplers) - 1, target=g.AnimationChannelTarget(node=r, path="translation")))
    gl.animations.append(g.Animation(name="motion", samplers=samplers, channels=channels, extras={"fps": anim.fps}))

    data = blob.bytes()
    gl.buffers.append(g.Buffer(byteLength=len(data)))
    gl.set_binary_blob(data)
    return gl


def write_glb(
    path: str | Path, anim: RiggedAnimation, mesh: SkinnedMesh | None = None, *, texture: str | Path | None = None
) -> Path:
    """Write a ``.glb`` atomically (see module docstring for the layout)."""
    path = Path(path)
    gl = build_gltf(anim, mesh, name=path.stem, texture=texture)
    with atomic_path(path) as tmp:
        gl.save_binary(str(tmp))  # type: ignore[attr-defined]
    return path
