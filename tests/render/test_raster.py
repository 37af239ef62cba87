"""Mesh rasterizer and soft silhouettes against analytic truths."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from humokit.errors import InputError
from humokit.render.camera import look_at
from humokit.render.raster import interpolate, rasterize, shade
from humokit.render.soft import soft_silhouette


def _mesh(m: trimesh.Trimesh, offset=(0.0, 0.0, 0.0)):
    return torch.tensor(m.vertices + np.asarray(offset), dtype=torch.float32), torch.tensor(m.faces, dtype=torch.int64)


def test_cube_area_depth_normal():
    # unit cube centred 5 m in front of a camera looking along world -Z
    V, F = _mesh(trimesh.creation.box(extents=(1, 1, 1)), (0, 0, -5))
    cam = look_at([0, 0, 0], [0, 0, -1], width=128, height=128, fov_y=30)
    r = rasterize(V, F, cam)
    f = cam.K[0, 0]
    side = f * 1.0 / 4.5  # front face at 4.5 m
    assert int(r.mask.sum()) == pytest.approx(side**2, abs=4 * side + 4)
    assert float(r.depth[64, 64]) == pytest.approx(4.5, abs=1e-4)
    assert float(r.depth[0, 0]) == 0.0 and int(r.face_id[0, 0]) == -1
    s = shade(r, V, F, cam, smooth=False)
    np.testing.assert_allclose(s.normals[64, 64].numpy(), [0, 0, -1], atol=1e-4)  # faces the camera
    # barycentrics sum to one and interpolate positions consistently with depth
    assert torch.allclose(r.bary[r.mask].sum(-1), torch.ones(int(r.mask.sum())), atol=1e-5)
    Xc = V @ torch.tensor(cam.R.T, dtype=torch.float32) + torch.tensor(cam.t, dtype=torch.float32)
    z = interpolate(r, F, Xc)[..., 2]
    assert torch.allclose(z[r.mask], r.depth[r.mask], atol=1e-4)


def test_sphere_silhouette_depth_normals():
    R, D = 0.5, 4.0
    V, F = _mesh(trimesh.creation.icosphere(subdivisions=5, radius=R), (0, 1, 0))
    cam = look_at([0, 1, D], [0, 1, 0], width=160, height=160, fov_y=30)
    r = rasterize(V, F, cam)
    f = cam.K[0, 0]
    rho = f * R / math.sqrt(D * D - R * R)  # projected radius of the tangent cone
    assert int(r.mask.sum()) == pytest.approx(math.pi * rho * rho, rel=0.02)
    assert float(r.depth[80, 80]) == pytest.approx(D - R, abs=2e-3)
    s = shade(r, V, F, cam)
    row = s.normals[80]
    cols = torch.nonzero(r.mask[80]).squeeze(1)
    right, left = row[cols.max()], row[cols.min()]
    assert right[0] > 0.8 and left[0] < -0.8  # camera x right
    top = s.normals[torch.nonzero(r.mask[:, 80]).min(), 80]
    assert top[1] < -0.8  # camera y down: the top of the sphere faces -y
    assert s.rgb[80, 80].mean() > s.rgb[80, cols.max()].mean()  # headlight: centre brightest


def test_z_ordering_and_two_sided():
    quad = lambda z, s: (np.array([[-s, -s, z], [s, -s, z], [s, s, z], [-s, s, z]]), np.array([[0, 1, 2], [0, 2, 3]]))  # noqa: E731
    v1, f1 = quad(-3.0, 1.0)
    v2, f2 = quad(-2.0, 0.3)
    V = torch.tensor(np.concatenate([v1, v2]), dtype=torch.float32)
    F = torch.tensor(np.concatenate([f1, f2 + 4]))
    cam = look_at([0, 0, 0], [0, 0, -1], width=64, height=64)
    r = rasterize(V, F, cam)
    assert float(r.depth[32, 32]) == pytest.approx(2.0, abs=1e-5)
    assert int(r.face_id[32, 32]) in (2, 3)
    assert float(r.depth[32, 10]) == pytest.approx(3.0, abs=1e-4)
    r2 = rasterize(V, F.flip(1), cam)  # reversed winding still renders
    assert torch.equal(r.mask, r2.mask)


def test_depth_is_differentiable():
    V, F = _mesh(trimesh.creation.box(extents=(1, 1, 1)), (0, 0, -5))
    V.requires_grad_(True)
    cam = look_at([0, 0, 0], [0, 0, -1], width=64, height=64)
    r = rasterize(V, F, cam)
    r.depth[32, 32].backward()
    front = V[:, 2].detach() > -5
    assert V.grad[front, 2].abs().sum() > 0
    assert V.grad[front, 2].sum() < 0  # moving the front face to +z (towards the camera) reduces depth


def test_soft_silhouette_matches_and_gradient_points_right():
    tri = torch.tensor([[-0.5, -0.5, -3.0], [0.5, -0.5, -3.0], [0.0, 0.5, -3.0]])
    F = torch.tensor([[0, 1, 2]])
    cam = look_at([0, 0, 0], [0, 0, -1], width=64, height=64, fov_y=40)
    hard = rasterize(tri, F, cam).mask.float()
    soft = soft_silhouette(tri, F, cam, sigma=0.3)
    iou = (soft.round() * hard).sum() / ((soft.round() + hard) > 0).sum()
    assert iou > 0.97
    target = soft_silhouette(tri + torch.tensor([0.1, 0.0, 0.0]), F, cam, sigma=1.0).detach()
    v = tri.clone().requires_grad_(True)
    loss = ((soft_silhouette(v, F, cam, sigma=1.0) - target) ** 2).sum()
    loss.backward()
    assert v.grad.abs().sum() > 0
    assert v.grad[:, 0].sum() < 0  # gradient descent moves the triangle towards +x (the target)
    with torch.no_grad():
        v2 = v - 1e-4 * v.grad / v.grad.abs().max()
    assert ((soft_silhouette(v2, F, cam, sigma=1.0) - target) ** 2).sum() < loss


def test_bad_input_never_crashes():
    V, F = _mesh(trimesh.creation.box(extents=(1, 1, 1)), (0, 0, -5))
    cam = look_at([0, 0, 0], [0, 0, -1], width=32, height=32)
    behind = look_at([0, 0, 0], [0, 0, 1], width=32, height=32)
    assert not rasterize(V, F, behind).mask.any()  # camera facing away: empty frame
    Vn = V.clone()
    Vn[:] = float("nan")
    assert not rasterize(Vn, F, cam).mask.any()
    Vp = V.clone()
    Vp[0] = float("nan")
    r = rasterize(Vp, F, cam)  # faces using the NaN vertex are dropped, the rest renders
    assert r.mask.any() and torch.isfinite(r.depth).all()
    assert not rasterize(V, F[:0], cam).mask.any()
    inside = look_at([0, 0, -5], [0, 0, -6], width=32, height=32)  # camera inside the cube
    rasterize(V, F, inside)
    with pytest.raises(InputError):
        rasterize(V[:, :2], F, cam)
    with pytest.raises(InputError):
        rasterize(V, F + 100, cam)
    assert not soft_silhouette(V, F, behind).any()


def test_anny_left_right_and_parts(anny_body):
    from humokit.motion.motion import Motion
    from humokit.motion.skeleton import JOINT_NAMES

    out = anny_body.forward(Motion.rest(1))
    V, F = out.vertices[0].float(), out.faces
    labels = anny_body.rest().part_labels()
    front = look_at([0, 0.9, 3.5], [0, 0.9, 0], width=128, height=128)  # in front of the body facing +Z
    r = rasterize(V, F, front)
    s = shade(r, V, F, front, part_labels=labels)
    cols = torch.arange(128)[None].expand(128, 128)
    lw = cols[s.parts == JOINT_NAMES.index("left_wrist")].float().mean()
    rw = cols[s.parts == JOINT_NAMES.index("right_wrist")].float().mean()
    assert lw > 64 > rw  # seen from the front, the body's left hand is on the image's right
    head_rows = torch.nonzero(s.parts == JOINT_NAMES.index("head"))[:, 0].float().mean()
    foot_rows = torch.nonzero(s.parts == JOINT_NAMES.index("left_ankle"))[:, 0].float().mean()
    assert head_rows < foot_rows
