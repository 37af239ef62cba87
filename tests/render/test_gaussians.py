"""3D Gaussian splatting: analytic footprint, gsplat's torch reference, compositing twin, PLY, skinning."""

from __future__ import annotations

import os
import tempfile

import pytest
import torch

from humokit.errors import FileFormatError
from humokit.render.camera import look_at
from humokit.render.gaussians import (
    Gaussians,
    composite,
    composite_reference,
    eval_sh,
    gaussians_from_mesh,
    has_gsplat,
    has_gsplat_cuda,
    load_ply,
    project_gaussians,
    quat_to_rotmat,
    render_gaussians,
    save_ply,
    skin_gaussians,
)


def _random(N: int, K: int = 16, seed: int = 0) -> Gaussians:
    g = torch.Generator().manual_seed(seed)
    return Gaussians(
        means=torch.randn(N, 3, generator=g) * 0.4,
        quats=torch.randn(N, 4, generator=g),
        scales=torch.rand(N, 3, generator=g) * 0.05 + 0.01,
        opacities=torch.rand(N, generator=g),
        sh=torch.randn(N, K, 3, generator=g) * 0.3,
    )


def _gsplat_torch_impl():
    if not has_gsplat():
        pytest.skip("gsplat not installed (pip install 'humokit[gsplat]')")
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", tempfile.mkdtemp())
    from gsplat.cuda import _torch_impl  # pure torch, no CUDA build

    return _torch_impl


def test_single_gaussian_analytic_footprint():
    s, D, o = 0.05, 3.0, 0.8
    cam = look_at([0, 0, D], [0, 0, 0], width=64, height=64, fov_y=30)
    g = Gaussians.from_colors(torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]), torch.full((1, 3), s),
                              torch.tensor([o]), torch.ones(1, 3))
    out = render_gaussians(g, cam)
    f = cam.K[0, 0]
    var = (f * s / D) ** 2 + 0.3  # on the optical axis J = f/z; plus the 0.3 px^2 dilation
    u = torch.arange(64, dtype=torch.float64) + 0.5 - 32.0
    r2 = u[None, :] ** 2 + u[:, None] ** 2
    expect = o * torch.exp(-0.5 * r2 / var)
    keep = expect >= 1 / 255
    assert torch.allclose(out.alpha.double()[keep], expect[keep], atol=1e-5)
    assert (out.alpha[~keep] == 0).all()
    assert torch.allclose(out.rgb[..., 0], out.alpha, atol=1e-6)  # white colour on black
    assert float(out.depth[32, 32]) == pytest.approx(D, abs=1e-5)


def test_projection_and_sh_match_gsplat_reference():
    ti = _gsplat_torch_impl()
    g = _random(150)
    cam = look_at([0.3, 0.2, 3.0], [0, 0, 0], width=48, height=32, fov_y=40)
    p = project_gaussians(g, cam)
    cov, _ = ti._quat_scale_to_covar_preci(g.quats, g.scales, compute_preci=False)
    viewmat = torch.tensor(cam.world_to_camera, dtype=torch.float32)[None]
    K = torch.tensor(cam.K, dtype=torch.float32)[None]
    radii, means2d, depths, conics, _ = ti._fully_fused_projection(g.means, cov, viewmat, K, 48, 32)
    assert torch.equal(radii[0].to(torch.int64), p.radii)
    assert torch.allclose(means2d[0], p.means2d, atol=1e-4)
    assert torch.allclose(conics[0], p.conics, rtol=1e-4, atol=1e-5)
    assert torch.allclose(depths[0], p.depths, atol=1e-6)
    dirs = g.means - torch.tensor(cam.center, dtype=torch.float32)
    for deg in range(4):
        sh = g.sh[:, : (deg + 1) ** 2]
        ref = ti._spherical_harmonics(deg, dirs, sh)
        assert torch.allclose(eval_sh(sh, dirs / dirs.norm(dim=-1, keepdim=True)), ref, atol=1e-5)
    # the whole image from gsplat's projection + colours equals ours to < 1e-3 per pixel
    colors = torch.clamp_min(ti._spherical_harmonics(3, dirs, g.sh) + 0.5, 0.0)
    ref_p = type(p)(means2d=means2d[0], conics=conics[0], depths=depths[0], radii=radii[0].to(torch.int64), cov2d=p.cov2d)
    ref_img, _ = composite_reference(ref_p, colors, g.opacities, 48, 32)
    ours = render_gaussians(g, cam).rgb
    assert (ours.double() - ref_img).abs().max() < 1e-3


def test_tiled_composite_matches_naive_loop_with_early_termination(monkeypatch):
    from humokit.render import gaussians as gmod

    monkeypatch.setattr(gmod, "_STEP_BUDGET", 1)  # force small steps: termination crosses step boundaries
    g = _random(80, K=1, seed=2)
    g = Gaussians(g.means * 0.3, g.quats, g.scales * 3, torch.full((80,), 0.97), g.sh)
    cam = look_at([0, 0, 2.0], [0, 0, 0], width=24, height=20, fov_y=40)
    p = project_gaussians(g, cam)
    colors = torch.rand(80, 3, generator=torch.Generator().manual_seed(1))
    for alpha_max in (0.99, 0.999):
        c, a, _ = composite(p, colors, g.opacities, 24, 20, alpha_max=alpha_max, batch=4)
        rc, ra = composite_reference(p, colors, g.opacities, 24, 20, alpha_max=alpha_max)
        assert (a.double() - ra).abs().max() < 1e-5
        assert (c.double() - rc).abs().max() < 1e-5
        assert float(ra.max()) > 0.999  # pixels did terminate early


def test_gradients_flow_and_point_the_right_way():
    cam = look_at([0, 0, 3.0], [0, 0, 0], width=32, height=32, fov_y=30)
    target = render_gaussians(Gaussians.from_colors(torch.tensor([[0.1, 0.0, 0.0]]), torch.tensor([[1.0, 0, 0, 0]]),
                                                    torch.full((1, 3), 0.05), torch.tensor([0.9]), torch.ones(1, 3)), cam).rgb
    means = torch.zeros(1, 3, requires_grad=True)
    g = Gaussians.from_colors(means, torch.tensor([[1.0, 0, 0, 0]]), torch.full((1, 3), 0.05), torch.tensor([0.9]), torch.ones(1, 3))
    loss = ((render_gaussians(g, cam).rgb - target) ** 2).sum()
    loss.backward()
    assert torch.isfinite(means.grad).all()
    # target is at world +x = image left for this camera; descent moves the mean towards +x
    assert means.grad[0, 0] < 0


def test_empty_and_bad_sets():
    cam = look_at([0, 0, 3.0], [0, 0, 0], width=16, height=16)
    e = Gaussians(torch.zeros(0, 3), torch.zeros(0, 4), torch.zeros(0, 3), torch.zeros(0), torch.zeros(0, 1, 3))
    out = render_gaussians(e, cam, background=(1.0, 0.0, 0.0))
    assert out.rgb.shape == (16, 16, 3) and (out.rgb[..., 0] == 1).all() and (out.alpha == 0).all()
    g = _random(10)
    behind = look_at([0, 0, 3.0], [0, 0, 6], width=16, height=16)
    assert (render_gaussians(g, behind).alpha == 0).all()
    nan = Gaussians(g.means * float("nan"), g.quats, g.scales, g.opacities, g.sh)
    assert (render_gaussians(nan, cam).alpha == 0).all()
    with pytest.raises(Exception):
        Gaussians(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 3), torch.zeros(3), torch.zeros(2, 1, 3))


def test_ply_roundtrip(tmp_path):
    g = _random(20, K=9)
    g = Gaussians(g.means, g.quats / g.quats.norm(dim=1, keepdim=True), g.scales, g.opacities.clamp(0.01, 0.99), g.sh)
    save_ply(tmp_path / "a.ply", g)
    text = (tmp_path / "a.ply").read_bytes()[:2000].decode("ascii", "replace")
    for prop in ("f_dc_0", "f_rest_23", "opacity", "scale_2", "rot_3", "nx"):
        assert f"property float {prop}\n" in text
    h = load_ply(tmp_path / "a.ply")
    for name in ("means", "quats", "scales", "opacities", "sh"):
        assert torch.allclose(getattr(h, name), getattr(g, name), atol=1e-5, rtol=1e-5), name
    (tmp_path / "bad.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 0\nend_header\n")
    with pytest.raises(FileFormatError):
        load_ply(tmp_path / "bad.ply")


def test_body_gaussians_follow_the_body(anny_body):
    from humokit.body import pose_rest_body
    from humokit.motion.rotations import axis_angle

    rest = anny_body.rest()
    bg = gaussians_from_mesh(rest, per_face=1)
    assert len(bg.gaussians) == rest.faces.shape[0]
    centroids = rest.vertices[rest.faces].mean(1).float()
    assert torch.allclose(bg.gaussians.means, centroids, atol=1e-6)
    R = torch.eye(3).repeat(1, 22, 1, 1)
    R[0, 18] = torch.tensor(axis_angle("z", 60), dtype=torch.float32)  # bend the left elbow
    root = torch.tensor([[0.0, 0.95, 0.0]])
    posed = pose_rest_body(rest, R.double(), root.double())
    g1 = skin_gaussians(bg, posed.R_world[0].float(), posed.joints[0].float())
    tri_centroids = posed.vertices[0][rest.faces].mean(1).float()
    assert (g1.means - tri_centroids).norm(dim=1).max() < 0.01
    # a global rotation about +Y rotates means and Gaussian orientations exactly
    Ry = torch.tensor(axis_angle("y", 90), dtype=torch.float32)
    R2 = R.clone()
    R2[0, 0] = Ry
    posed2 = pose_rest_body(rest, R2.double(), root.double())
    g2 = skin_gaussians(bg, posed2.R_world[0].float(), posed2.joints[0].float())
    assert torch.allclose(g2.means - root, (g1.means - root) @ Ry.T, atol=1e-4)
    assert torch.allclose(quat_to_rotmat(g2.quats), Ry @ quat_to_rotmat(g1.quats), atol=1e-4)
    cam = look_at([0, 0.9, 3.0], [0, 0.9, 0], width=48, height=48)
    out = render_gaussians(g1, cam)
    assert out.alpha.max() > 0.9 and float(out.alpha.mean()) > 0.05


@pytest.mark.skipif(not has_gsplat_cuda(), reason="needs gsplat and a CUDA GPU")
def test_gsplat_cuda_matches_torch_path():
    g = _random(500)
    cam = look_at([0.3, 0.2, 3.0], [0, 0, 0], width=96, height=64)
    ours = render_gaussians(g, cam, backend="torch", alpha_max=0.999)
    theirs = render_gaussians(g.to("cuda"), cam, backend="gsplat")
    assert (ours.rgb - theirs.rgb.cpu()).abs().max() < 1e-3


def test_tile_size_does_not_change_the_image():
    # pixels outside a Gaussian's 3.33-sigma box have alpha < 1/255, so tiling only affects speed
    g = _random(200, seed=5)
    cam = look_at([0.3, 0.2, 3.0], [0, 0, 0], width=40, height=40, fov_y=40)
    a = render_gaussians(g, cam, tile=16).rgb
    b = render_gaussians(g, cam, tile=8).rgb
    assert (a - b).abs().max() < 1e-6
