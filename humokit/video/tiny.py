"""Tiny randomly initialised diffusers pipelines saved like real model folders.

Used by the tests and ``benchmarks/drive.py`` to run ``humokit drive``'s
real loading and sampling path without downloading weights: each builder
creates the components of one backend at toy sizes, wraps them in the
diffusers pipeline class and calls ``save_pretrained``, so the folder has a
real ``model_index.json`` and one sub-folder per component, exactly as a
user's ``Wan-AI/Wan2.1-VACE-1.3B-diffusers`` download would.

The text encoder is a 2-layer UMT5 (or CLIP for AnimateDiff) with a local
word-level ``tokenizers`` vocabulary wrapped as a transformers fast tokenizer.
"""

from __future__ import annotations

from pathlib import Path

WORDS = ("a", "person", "dancer", "walks", "dances", "in", "red", "dress", "on", "beach", "the", "blue", "robot")


def _tokenizer(kind: str = "umt5") -> object:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>"] if kind == "umt5" else ["<|startoftext|>", "<|endoftext|>", "<unk>"]
    vocab = {w: i for i, w in enumerate([*specials, *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if kind == "umt5":
        return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                       model_max_length=512)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|endoftext|>", bos_token="<|startoftext|>",
                                   eos_token="<|endoftext|>", unk_token="<unk>", model_max_length=77)


def _umt5(d_model: int = 32) -> object:
    from transformers import UMT5Config, UMT5EncoderModel

    cfg = UMT5Config(vocab_size=len(WORDS) + 3, d_model=d_model, d_kv=8, d_ff=32, num_layers=2, num_heads=4,
                     relative_attention_num_buckets=8, relative_attention_max_distance=16, dropout_rate=0.0)
    return UMT5EncoderModel(cfg).eval()


def _loud(transformer: object, gain: float = 30.0) -> object:
    """Scale a random transformer's output projection so its prediction (and the controls) visibly move the video.

    At default initialisation the toy denoiser's output is ~0.1, so the random
    VAE decodes nearly the same video whatever the inputs; real weights do not
    have this problem.
    """
    import torch

    with torch.no_grad():
        transformer.proj_out.weight.mul_(gain)  # type: ignore[attr-defined]
    return transformer


def _wan_vae() -> object:
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True])


def build_tiny_wan(path: str | Path, *, seed: int = 0, num_layers: int = 2) -> Path:
    """Save a tiny Wan2.1 text-to-video ``WanPipeline`` (``num_layers``-block ``WanTransformer3DModel``, UniPC
    flow scheduler, as the Wan2.1-T2V diffusers folders ship) to ``path``: the base of multi-view adapters."""
    import torch
    from diffusers import UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel

    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=32, ffn_dim=64, num_layers=num_layers, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32)
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    pipe = WanPipeline(tokenizer=_tokenizer(), text_encoder=_umt5(), vae=_wan_vae(), scheduler=sched,
                       transformer=_loud(transformer))
    pipe.save_pretrained(str(path))
    return Path(path)


def build_tiny_vace(path: str | Path, *, seed: int = 0) -> Path:
    """Save a tiny ``WanVACEPipeline`` (2-layer VACE transformer, control layers 0 and 1) to ``path``."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel

    torch.manual_seed(seed)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, vace_layers=[0, 1], vace_in_channels=96)
    pipe = WanVACEPipeline(tokenizer=_tokenizer(), text_encoder=_umt5(), vae=_wan_vae(),
                           scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), transformer=_loud(transformer))
    pipe.save_pretrained(str(path))
    return Path(path)


def build_tiny_animate(path: str | Path, *, seed: int = 0) -> Path:
    """Save a tiny ``WanAnimatePipeline`` (2 layers, CLIP image encoder of width 4) to ``path``."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanAnimatePipeline, WanAnimateTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    transformer = WanAnimateTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, latent_channels=16,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", image_dim=4, rope_max_seq_len=32,
        motion_encoder_channel_sizes={"4": 16, "8": 16, "16": 16}, motion_encoder_size=16, motion_style_dim=8,
        motion_dim=4, motion_encoder_dim=16, face_encoder_hidden_dim=16, face_encoder_num_heads=2,
        inject_face_latents_blocks=2)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=4,
        intermediate_size=16, patch_size=1)).eval()
    pipe = WanAnimatePipeline(tokenizer=_tokenizer(), text_encoder=_umt5(), vae=_wan_vae(),
                              scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), transformer=_loud(transformer),
                              image_encoder=image_encoder, image_processor=CLIPImageProcessor(crop_size=4, size=4))
    pipe.save_pretrained(str(path))
    return Path(path)


def build_tiny_animatediff(path: str | Path, *, num_controlnets: int = 1, seed: int = 0, separate: bool = False
                           ) -> Path:
    """Save a tiny ``AnimateDiffControlNetPipeline`` with ``num_controlnets`` ControlNets to ``path``.

    ``separate``: instead write the layout of the public repos: an SD1.5 base
    ``path/base`` (``StableDiffusionPipeline``), a motion adapter ``path/motion_adapter``
    and ``path/controlnet_0``, ``path/controlnet_1``, ... (one ``ControlNetModel`` each).
    """
    import torch
    from diffusers import (
        AnimateDiffControlNetPipeline,
        AutoencoderKL,
        ControlNetModel,
        DDIMScheduler,
        MotionAdapter,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    blocks, cross = (8, 8), 8
    unet = UNet2DConditionModel(block_out_channels=blocks, layers_per_block=1, sample_size=8, in_channels=4,
                                out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=cross,
                                norm_num_groups=2)
    nets = [ControlNetModel(block_out_channels=blocks, layers_per_block=1, in_channels=4,
                            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), cross_attention_dim=cross,
                            conditioning_embedding_out_channels=(8, 8), norm_num_groups=1)
            for _ in range(num_controlnets)]
    with torch.no_grad():  # ControlNet's zero convolutions start at 0: give the toy nets a say
        for net in nets:
            for name, prm in net.named_parameters():
                if name.startswith(("controlnet_down_blocks", "controlnet_mid_block", "controlnet_cond_embedding.conv_out")):
                    prm.normal_(0.0, 1.0)
    vae = AutoencoderKL(block_out_channels=blocks, in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
                        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4, norm_num_groups=2)
    text_encoder = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=1, hidden_size=cross, intermediate_size=16,
                                                num_attention_heads=2, num_hidden_layers=2, pad_token_id=1,
                                                vocab_size=len(WORDS) + 3, max_position_embeddings=77)).eval()
    adapter = MotionAdapter(block_out_channels=blocks, motion_layers_per_block=1, motion_norm_num_groups=2,
                            motion_num_attention_heads=2, motion_max_seq_length=32)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False,
                              steps_offset=1)
    if separate:
        from diffusers import StableDiffusionPipeline

        root = Path(path)
        StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=_tokenizer("clip"), unet=unet,
                                scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                requires_safety_checker=False).save_pretrained(str(root / "base"))
        adapter.save_pretrained(str(root / "motion_adapter"))
        for i, net in enumerate(nets):
            net.save_pretrained(str(root / f"controlnet_{i}"))
        return root
    pipe = AnimateDiffControlNetPipeline(vae=vae, text_encoder=text_encoder, tokenizer=_tokenizer("clip"), unet=unet,
                                         motion_adapter=adapter, controlnet=nets[0] if len(nets) == 1 else nets,
                                         scheduler=scheduler, feature_extractor=None, image_encoder=None)
    pipe.save_pretrained(str(path))
    return Path(path)
