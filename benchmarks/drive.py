"""``humokit drive`` speed: seconds per denoising step and peak memory.

Usage:
  python benchmarks/drive.py [--steps 4] [--frames 17] [--size 32]   # CPU, tiny random models of each backend
  python benchmarks/drive.py --gpu [--steps 4]                       # CUDA: production-shaped Wan2.1-VACE-1.3B

CPU mode builds each backend's tiny random model folder (``humokit.video.tiny``)
and drives it through :func:`humokit.video.drive.drive` on a synthetic pose clip;
the baseline row calls ``WanVACEPipeline`` directly with the same inputs (what
humokit's wrapping costs). Peak memory is the process's peak resident set size.

GPU mode builds a ``WanVACETransformer3DModel`` with the Wan2.1-VACE-1.3B
configuration (30 layers, width 1536, VACE layers every 2nd) and the Wan VAE
with random weights in bfloat16, takes random prompt embeddings (1, 512, 4096),
renders one real 832x480x81 VACE pose clip of a built-in walk with humokit, and
runs 4 steps with classifier-free guidance: seconds per step, peak CUDA memory,
and whether the output has NaNs.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

VACE_1_3B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16,
                 out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                 qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
                 vace_layers=list(range(0, 30, 2)), vace_in_channels=96)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _pose_clip(frames: int, size: int, style: str) -> np.ndarray:
    """A synthetic walking stick figure in a model's pose style, ``(T, size, size, 3)`` uint8."""
    from humokit.render.pose_styles import POSE_STYLES, draw_pose_styled

    st = POSE_STYLES[style]
    n = len(st.names)
    out = []
    for t in range(frames):
        rng = np.random.default_rng(t)
        kp = np.column_stack([rng.uniform(0.3, 0.7, n) * size, np.linspace(0.1, 0.9, n) * size, np.ones(n)])
        out.append(draw_pose_styled(kp, size, size, st))
    return np.stack(out)


def _ctrl_dir(root: Path, frames: int, size: int, style: str) -> Path:
    import imageio.v2 as imageio

    d = root / f"ctrl_{style}" / "view_00"
    for sub, arr in (("pose", _pose_clip(frames, size, style)),):
        (d / sub).mkdir(parents=True)
        for t, f in enumerate(arr):
            imageio.imwrite(d / sub / f"{t:05d}.png", f)
    rgb = np.full((frames, size, size, 3), 180, np.uint8)
    (d / "rgb").mkdir()
    for t, f in enumerate(rgb):
        imageio.imwrite(d / "rgb" / f"{t:05d}.png", f)
    return d.parent


def cpu(steps: int, frames: int, size: int) -> None:
    import torch

    from humokit.video.base import DriveSettings
    from humokit.video.drive import drive
    from humokit.video.tiny import build_tiny_animate, build_tiny_animatediff, build_tiny_vace

    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        s = DriveSettings(prompt="a dancer", steps=steps, seed=0)
        vace = build_tiny_vace(root / "vace")
        ctrl = _ctrl_dir(root, frames, size, "vace")
        # baseline: the diffusers pipeline called directly with the same frames
        from diffusers import WanVACEPipeline
        from PIL import Image

        from humokit.video.base import quiet_libraries

        quiet_libraries()
        pipe = WanVACEPipeline.from_pretrained(str(vace))
        pipe.set_progress_bar_config(disable=True)
        video = [Image.fromarray(f) for f in _pose_clip(frames, size, "vace")]
        ticks: list[float] = []

        def cb(_p, _i, _t, kw):
            ticks.append(time.perf_counter())
            return kw

        pipe(video=video, prompt="a dancer", height=size, width=size, num_frames=frames, num_inference_steps=steps,
             generator=torch.Generator().manual_seed(0), output_type="np", callback_on_step_end=cb)
        rows.append(("baseline: WanVACEPipeline direct", float(np.mean(np.diff(ticks))), _rss_mb()))
        del pipe
        for name, build, style in (("vace", build_tiny_vace, "vace"), ("animate", build_tiny_animate, "wan_animate"),
                                   ("animatediff", build_tiny_animatediff, "openpose")):
            model = vace if name == "vace" else build(root / name)
            c = ctrl if name == "vace" else _ctrl_dir(root, frames, size, style)
            res = drive(c, model, root / f"out_{name}", settings=s, device="cpu", echo=lambda _s: None)
            g = res.views["view_00"]
            rows.append((f"humokit drive: {name}", float(np.mean(g.step_seconds)), _rss_mb()))
    print(f"tiny random models, CPU, {frames} frames at {size}x{size}, {steps} steps "
          f"(peak RSS is cumulative over the run)")
    print(f"{'run':<36} {'s/step':>8} {'peak RSS MB':>12}")
    for name, sps, mb in rows:
        print(f"{name:<36} {sps:>8.3f} {mb:>12.0f}")


def gpu(steps: int) -> None:
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel

    from humokit.motion.builtin import builtin_motion
    from humokit.video.base import pil_frames
    from humokit.video.controls_io import render_motion_controls

    if not torch.cuda.is_available():
        raise SystemExit("--gpu needs a CUDA device")
    dev, dt = "cuda", torch.bfloat16
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "walk.npz"
        builtin_motion("walk", seconds=6.0, fps=16).save(str(p))
        t0 = time.perf_counter()
        views, _ = render_motion_controls(p, ("pose",), width=832, height=480, fps=16.0, frames=81, rule="4k+1",
                                          max_frames=81, pose_style="vace", depth_style="inverse")
        render_s = time.perf_counter() - t0
    control = views[0].signals["pose"]
    torch.manual_seed(0)
    with torch.device(dev):
        transformer = WanVACETransformer3DModel(**VACE_1_3B).to(dt)
        vae = AutoencoderKLWan().to(torch.float32)
    pipe = WanVACEPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=transformer,
                           scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0))
    pipe.set_progress_bar_config(disable=True)
    emb = torch.randn(1, 512, 4096, device=dev, dtype=dt)
    neg = torch.randn(1, 512, 4096, device=dev, dtype=dt)
    ticks: list[float] = []

    def cb(_p, _i, _t, kw):
        torch.cuda.synchronize()
        ticks.append(time.perf_counter())
        return kw

    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    out = pipe(video=pil_frames(control), prompt_embeds=emb, negative_prompt_embeds=neg, height=480, width=832,
               num_frames=81, num_inference_steps=steps, guidance_scale=5.0, generator=torch.Generator().manual_seed(0),
               output_type="np", callback_on_step_end=cb)
    total = time.perf_counter() - t0
    frames = np.asarray(out.frames[0])
    sps = float(np.mean(np.diff([t0, *ticks])[1:])) if len(ticks) > 1 else total
    print("production-shaped Wan2.1-VACE-1.3B (random weights, bf16 transformer, fp32 VAE), 832x480x81, CFG")
    print(f"{'run':<36} {'s/step':>8} {'peak CUDA GB':>13} {'NaN':>5}")
    print(f"{'baseline: first step (with setup)':<36} {ticks[0] - t0:>8.2f} {'':>13} {'':>5}")
    print(f"{'humokit render + WanVACEPipeline':<36} {sps:>8.2f} {torch.cuda.max_memory_allocated() / 2**30:>13.1f} "
          f"{str(bool(np.isnan(frames).any())):>5}")
    print(f"render of the 81 control frames: {render_s:.1f} s; whole call {total:.1f} s; output {frames.shape}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpu", action="store_true", help="production-shaped WanVACE-1.3B on CUDA")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--size", type=int, default=32)
    a = ap.parse_args()
    gpu(a.steps) if a.gpu else cpu(a.steps, a.frames, a.size)


if __name__ == "__main__":
    main()
