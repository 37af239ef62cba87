"""The compiled depth z-buffer equals its reference twin, the torch rasterizer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("warp")

from humokit.render.camera import look_at  # noqa: E402
from humokit.render.raster import rasterize  # noqa: E402
from humokit.render.zbuffer import depth_maps, project_frames  # noqa: E402


def _mesh(seed=0):
    rng = np.random.default_rng(seed)
    # a bumpy sphere (closed surface: self-occlusion everywhere) and a plane behind it
    n = 24
    th, ph = np.meshgrid(np.linspace(0, np.pi, n), np.linspace(0, 2 * np.pi, 2 * n, endpoint=False), indexing="ij")
    r = 0.5 + 0.05 * rng.standard_normal(th.shape)
    V = np.stack([r * np.sin(th) * np.cos(ph), 1.0 + r * np.cos(th), r * np.sin(th) * np.sin(ph)], -1).reshape(-1, 3)
    F = []
    for i in range(n - 1):
        for j in range(2 * n):
            a, b, c, d = i * 2 * n + j, i * 2 * n + (j + 1) % (2 * n), (i + 1) * 2 * n + j, (i + 1) * 2 * n + (j + 1) % (2 * n)
            F += [[a, c, b], [b, c, d]]
    plane = np.array([[-2, -1, -1.5], [2, -1, -1.5], [2, 3, -1.5], [-2, 3, -1.5]], float)
    V = np.concatenate([V, plane])
    k = len(V) - 4
    F += [[k, k + 1, k + 2], [k, k + 2, k + 3]]
    return V.astype(np.float32), np.array(F)


@pytest.mark.parametrize("size", [(64, 48), (160, 96)])
def test_depth_equals_torch_rasterizer(size):
    V, F = _mesh()
    W, H = size
    cams = [look_at(eye, (0.0, 1.0, 0.0), width=W, height=H, fov_y=50.0) for eye in ((0, 1.2, 3.0), (2.5, 1.5, 1.0), (0.3, 0.2, -0.4))]
    K = np.stack([c.K for c in cams])
    R = np.stack([c.R for c in cams])
    t = np.stack([c.t for c in cams])
    got = depth_maps(project_frames(np.repeat(V[None], 3, 0), K, R, t), F, W, H)
    for b, cam in enumerate(cams):
        ref = rasterize(torch.from_numpy(V), torch.from_numpy(F), cam)
        want = ref.depth.numpy()
        same_mask = (got[b] > 0) == ref.mask.numpy()
        assert same_mask.mean() > 0.999  # pixel centres exactly on an edge may go either way
        both = (got[b] > 0) & ref.mask.numpy()
        assert both.sum() > 100
        np.testing.assert_allclose(got[b][both], want[both], rtol=1e-4, atol=1e-5)


def test_empty_and_behind_camera():
    V, F = _mesh()
    cam = look_at((0, 1, 0.0), (0.0, 1.0, 5.0), width=32, height=32)  # inside the sphere, looking away
    z = depth_maps(project_frames(V[None], cam.K[None], cam.R[None], cam.t[None]), F[:0], 32, 32)
    assert z.shape == (1, 32, 32) and not z.any()
