"""Gaussian avatars: binding, fast splatting, training, files, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from humokit.errors import FileFormatError, InputError


@pytest.fixture(scope="module")
def rest(anny_body):
    return anny_body.rest(anny_body.default_shape())


@pytest.fixture(scope="module")
def walk():
    from humokit.motion.builtin import builtin_motion

    return builtin_motion("walk", seconds=1.0, fps=8)


def _pose(m, t):
    return torch.as_tensor(m.rotations[t]), torch.as_tensor(m.root_position[t])


def test_zero_offsets_follow_the_mesh(rest, walk):
    from humokit.avatars.gaussian_avatar import init_avatar, pose_avatar
    from humokit.body import pose_rest_body

    av = init_avatar(rest, num_gaussians=2000, seed=1)
    for t in (0, 5):
        R, root = _pose(walk, t)
        posed = pose_avatar(av, R, root)
        V = pose_rest_body(rest, R[None], root[None]).vertices[0]
        expect = torch.einsum("nk,nkc->nc", av.bary, V[rest.faces[av.face_ids]])
        assert (posed.gaussians.means - expect).abs().max() < 1e-5
    # a non-zero offset moves with its face: the distance to the surface point is preserved
    off = torch.zeros(av.num_gaussians, 3)
    off[:, 2] = 0.01
    from dataclasses import replace

    posed = pose_avatar(replace(av, offsets=off), R, root)
    d = (posed.gaussians.means - expect).norm(dim=1)
    assert torch.allclose(d, torch.full_like(d, 0.01), atol=1e-5)


def test_fast_splat_matches_tiled_renderer():
    from humokit.render.camera import look_at
    from humokit.render.gaussians import Gaussians, render_gaussians
    from humokit.render.gaussians_fast import render_gaussians_fast

    gen = torch.Generator().manual_seed(0)
    N = 300
    means = torch.randn(N, 3, generator=gen) * 0.3
    quats = torch.randn(N, 4, generator=gen)
    scales = torch.rand(N, 3, generator=gen) * 0.05 + 0.01
    op = torch.rand(N, generator=gen) * 0.8 + 0.1
    sh = torch.randn(N, 4, 3, generator=gen) * 0.5
    cam = look_at([0.3, 0.2, 2.0], [0, 0, 0], width=48, height=40, fov_y=50)

    def run(fast: bool):
        p = [t.clone().requires_grad_(True) for t in (means, scales, op, sh)]
        g = Gaussians(p[0], quats, p[1], p[2], p[3])
        r = (render_gaussians_fast(g, cam, background=(0.2, 0.3, 0.4)) if fast
             else render_gaussians(g, cam, background=(0.2, 0.3, 0.4), alpha_max=0.99))
        w = torch.linspace(0, 1, r.rgb.numel()).reshape(r.rgb.shape)
        (r.rgb * w).sum().backward()
        return r, [x.grad for x in p]

    r0, g0 = run(False)
    r1, g1 = run(True)
    assert (r0.rgb - r1.rgb).abs().max() < 3e-3
    assert (r0.alpha - r1.alpha).abs().max() < 3e-3
    for a, b in zip(g0, g1):
        assert torch.allclose(a, b, atol=2e-2 * float(a.abs().max()) + 1e-6)


@pytest.fixture(scope="module")
def tiny_frames(rest, walk):
    from humokit.avatars.avatar_synthetic import synthetic_frames

    return synthetic_frames(rest, walk, size=96, turns=1.0, radius=3.2)


def test_training_reduces_loss_and_reaches_psnr(rest, tiny_frames):
    from humokit.avatars.fit import AvatarTrainConfig, evaluate_avatar, train_avatar
    from humokit.avatars.gaussian_avatar import init_avatar

    av = init_avatar(rest, num_gaussians=3000, seed=0)
    before = evaluate_avatar(av, tiny_frames)
    cfg = AvatarTrainConfig(iters=160, densify_every=50, densify_from=50, densify_until=120, max_gaussians=3500)
    res = train_avatar(av, tiny_frames, cfg, progress=False)
    after = evaluate_avatar(res.avatar, tiny_frames)
    assert res.history[-1]["loss"] < 0.6 * res.history[0]["loss"]
    assert after["psnr"] > before["psnr"] + 3.0
    assert after["psnr"] > 22.0, (before, after)
    assert res.avatar.num_gaussians >= 2500


def test_training_is_deterministic_and_resumable(rest, tiny_frames, tmp_path):
    from humokit.avatars.fit import AvatarTrainConfig, train_avatar
    from humokit.avatars.gaussian_avatar import init_avatar

    av = init_avatar(rest, num_gaussians=800, seed=0)
    fr = tiny_frames.subset([0, 3, 6])
    kw = dict(densify_every=5, densify_from=5, densify_until=15, refine_poses=True, pose_from=0, seed=3)
    a = train_avatar(av, fr, AvatarTrainConfig(iters=20, **kw), progress=False)
    ck = tmp_path / "ck.pt"
    train_avatar(av, fr, AvatarTrainConfig(iters=20, **kw), progress=False, checkpoint=ck, max_steps=10)
    b = train_avatar(av, fr, AvatarTrainConfig(iters=20, **kw), progress=False, checkpoint=ck, resume=True)
    assert a.avatar.num_gaussians == b.avatar.num_gaussians
    for k in ("offsets", "log_scales", "sh", "opacity_logits"):
        assert torch.allclose(getattr(a.avatar, k), getattr(b.avatar, k), atol=1e-6), k
    assert np.allclose(a.R_local, b.R_local, atol=1e-6)
    assert not np.allclose(a.R_local, fr.R_local, atol=1e-7)  # poses were refined


def test_ply_round_trip_and_skinning_file(rest, walk, tmp_path):
    from humokit.avatars.gaussian_avatar import (
        SKINNING_KEYS,
        init_avatar,
        load_avatar,
        pose_avatar,
        save_avatar,
    )
    from humokit.render.gaussians import load_ply

    av = init_avatar(rest, num_gaussians=1000, sh_degree=1, pose_correction=4, seed=2)
    gen = torch.Generator().manual_seed(0)
    from dataclasses import replace

    av = replace(av, offsets=torch.randn(1000, 3, generator=gen) * 0.003, quats=torch.randn(1000, 4, generator=gen),
                 sh=torch.randn(1000, 4, 3, generator=gen) * 0.3,
                 correction=replace(av.correction, basis=torch.randn(1000, 4, 3, generator=gen) * 1e-3))
    save_avatar(av, tmp_path / "av")
    g = load_ply(tmp_path / "av" / "avatar.ply")
    assert len(g) == 1000 and g.sh_degree == 1
    z = np.load(tmp_path / "av" / "skinning.npz")
    assert all(k in z for k in SKINNING_KEYS)
    assert z["weights"].shape == (1000, 22) and np.allclose(z["weights"].sum(1), 1.0, atol=1e-4)
    av2 = load_avatar(tmp_path / "av")
    R, root = _pose(walk, 4)
    p1, p2 = pose_avatar(av, R, root).gaussians, pose_avatar(av2, R, root).gaussians
    assert (p1.means - p2.means).abs().max() < 1e-5
    assert (p1.scales - p2.scales).abs().max() < 1e-6
    dots = (p1.quats / p1.quats.norm(dim=1, keepdim=True) * p2.quats).sum(1).abs()
    assert (dots > 1 - 1e-5).all()
    assert torch.allclose(p1.sh, p2.sh, atol=1e-6)
    with pytest.raises(FileFormatError):
        load_avatar(tmp_path / "missing")


def test_viewer_splats_and_render_cli(rest, walk, tmp_path):
    from click.testing import CliRunner

    from humokit.avatars.avatar_synthetic import pattern_colors
    from humokit.avatars.cli import avatar as avatar_cli
    from humokit.avatars.gaussian_avatar import avatar_splats_per_frame, init_avatar, save_avatar

    av = init_avatar(rest, num_gaussians=1500, colors=pattern_colors(rest))
    splats = avatar_splats_per_frame(av, walk, every=4)
    assert len(splats) == 2 and splats[0].centers.shape == (1500, 3) and splats[0].covariances.shape == (1500, 3, 3)
    save_avatar(av, tmp_path / "av")
    walk.slice(0, 5).save(str(tmp_path / "m.npz"))
    r = CliRunner().invoke(avatar_cli, ["render", str(tmp_path / "av"), str(tmp_path / "m.npz"), "-o", str(tmp_path / "out"),
                                        "--views", "1", "--size", "64x64", "--signals", "rgb,mask"])
    assert r.exit_code == 0, r.output
    import imageio.v2 as imageio

    img = imageio.imread(tmp_path / "out" / "view_00" / "rgb" / "00002.png")
    mask = imageio.imread(tmp_path / "out" / "view_00" / "mask" / "00002.png")
    assert img.shape == (64, 64, 3) and (tmp_path / "out" / "view_00" / "rgb.mp4").exists()
    fg = mask > 127
    assert img[fg].mean() > 40 and img[~fg].mean() < 20  # the avatar is where the body mask is


def test_other_skeleton_and_bad_files_are_clear_errors(walk, tmp_path):
    from humokit.avatars.avatar_render import load_driving_motion
    from humokit.avatars.gaussian_avatar import check_motion
    from humokit.motion.motion import Motion
    from humokit.motion.skeleton import Skeleton

    sk = walk.skeleton
    other = Skeleton(tuple(f"bone{i}" for i in range(22)), sk.parents, sk.offsets)
    with pytest.raises(InputError, match="canonical 22-joint"):
        check_motion(Motion(walk.rotations, walk.root_position, walk.fps, skeleton=other))
    (tmp_path / "a.bvh").write_text("HIERARCHY\n")
    with pytest.raises(InputError, match="a.bvh"):
        load_driving_motion(tmp_path / "a.bvh")
    np.savez(tmp_path / "x.npz", rotations=np.zeros((3, 30, 3, 3)))
    with pytest.raises(InputError):
        load_driving_motion(tmp_path / "x.npz")


def test_video_without_person_is_a_clear_error(tmp_path):
    from humokit.optim.keypoints import has_mediapipe

    if not has_mediapipe():
        pytest.skip("mediapipe not installed")
    import imageio.v2 as imageio

    from humokit.avatars.avatar_video import segment_video

    path = tmp_path / "empty.mp4"
    rng = np.random.default_rng(0)
    frames = [np.full((128, 128, 3), 90, np.uint8) + rng.integers(0, 20, (128, 128, 3), dtype=np.uint8) for _ in range(4)]
    imageio.mimwrite(path, frames, fps=10, macro_block_size=16)
    with pytest.raises(InputError, match="no person"):
        segment_video(path, progress=False)
