"""A tiny WanTransformer3DModel built in code (tiny model folders: :mod:`humokit.video.tiny`)."""

from __future__ import annotations


def tiny_transformer(num_layers: int = 2, dim: int = 32, text_dim: int = 16, in_channels: int = 16):
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=dim // 2,
                                 in_channels=in_channels, out_channels=in_channels, text_dim=text_dim, freq_dim=32,
                                 ffn_dim=2 * dim, num_layers=num_layers, rope_max_seq_len=32)
