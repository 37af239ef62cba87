"""Tiny Wan components built in code and saved as a diffusers folder, exactly as a user's would look."""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = ["a", "person", "walks", "runs", "waves", "forward", "moves", "jumps", "dances", "in", "the", "park"]


def tiny_transformer(num_layers: int = 2, dim: int = 32, text_dim: int = 16, in_channels: int = 16):
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=dim // 2,
                                 in_channels=in_channels, out_channels=in_channels, text_dim=text_dim, freq_dim=32,
                                 ffn_dim=2 * dim, num_layers=num_layers, rope_max_seq_len=32)


def tiny_tokenizer(folder: Path | None = None):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def save_tiny_wan(folder: Path, *, seed: int = 0, num_layers: int = 2) -> Path:
    """A complete tiny ``WanPipeline`` folder (transformer, VAE, UMT5, WordLevel tokenizer, UniPC flow scheduler)."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    te = UMT5EncoderModel(UMT5Config(vocab_size=len(WORDS) + 3, d_model=16, d_kv=8, d_ff=32, num_layers=1,
                                     num_heads=2, relative_attention_num_buckets=8, pad_token_id=0,
                                     eos_token_id=1, decoder_start_token_id=0))
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0,
                                    num_train_timesteps=1000)
    pipe = WanPipeline(tokenizer=tiny_tokenizer(), text_encoder=te, vae=vae, scheduler=sched,
                       transformer=tiny_transformer(num_layers))
    pipe.save_pretrained(str(folder))
    return folder
