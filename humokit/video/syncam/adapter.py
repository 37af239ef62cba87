"""Camera / multi-view adapters injected into a loaded diffusers ``WanTransformer3DModel``.

Two designs, one per ``mode``:

- ``"syncam"`` (SynCamMaster): in every adapted block, after the spatial
  self-attention and its residual, a :class:`ViewSync` module runs

  1. ``x_in = LN(x) * (1 + scale) + shift`` with its own ``(1, 3, dim)``
     modulation table copied from the block's self-attention entries at
     injection and the block's time projection ``temb[:, :3]``;
  2. ``x_in += Linear(12, dim)(camera)``, zero-initialised, one camera per
     (view, latent frame) broadcast over that frame's tokens;
  3. regroup ``(b v)(f h w) d -> (b f)(v h w) d`` and attend across the views
     of each frame (a copy of the block's self-attention, RoPE over
     ``(view, h, w)``); regroup back;
  4. ``x += gate * projector(out)``, projector zero-initialised.

  ``view_attention=False`` is the ablation: the same module attends within
  each (view, frame) only, so views stay independent.
- ``"recam"`` (ReCamMaster): the source video's latents are concatenated to
  the target's along frames by the caller; the camera embedding
  (``Linear(12, dim)``, zero) is added to the self-attention's input and a
  projector initialised to the identity follows the self-attention.

Both start as the identity: the adapted transformer's output equals the
base's exactly. The base is untouched: its parameters, state dict and
loading code stay the same; each adapted block gets an instance-level
``forward`` that calls the block's own sub-modules in diffusers' order plus
the adapter, and a forward pre-hook on the transformer records the latent
grid. :meth:`SynCamAdapter.remove` restores the base.

Camera input (:meth:`SynCamAdapter.set_cameras`): ``(V, F, 12)`` or
``(B*V, F, 12)`` relative camera-to-world ``[R | t]`` (see
:func:`humokit.video.cameras.adapter_cameras`), ``F`` = latent frames (for
``recam``: target then source frames).
"""

from __future__ import annotations

import copy
import json
import types
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn as nn

from humokit._io import atomic_path
from humokit.errors import FileFormatError, InputError

FORMAT = "humokit-syncam"
VERSION = 1
Mode = Literal["syncam", "recam"]


@dataclass(frozen=True)
class SynCamConfig:
    """What the adapter is and which base it fits.

    Attributes:
        mode: ``"syncam"`` (view attention) or ``"recam"`` (frame concat, camera on self-attention).
        view_attention: syncam only; ``False`` = within-view attention (the ablation).
        camera_dim: numbers per camera (12 = 3x4).
        blocks: indices of adapted blocks (empty = all).
        dim, num_heads, num_layers, patch_size: of the base transformer (checked on load).
    """

    mode: Mode = "syncam"
    view_attention: bool = True
    camera_dim: int = 12
    blocks: tuple[int, ...] = ()
    dim: int = 0
    num_heads: int = 0
    num_layers: int = 0
    patch_size: tuple[int, int, int] = (1, 2, 2)

    def to_json(self) -> dict:
        d = asdict(self)
        d["blocks"], d["patch_size"] = list(self.blocks), list(self.patch_size)
        return {"format": FORMAT, "version": VERSION, **d,
                "camera": "relative camera-to-world [R|t] row by row, reference = view 0 frame 0 (OpenCV axes), "
                          "translation / scene scale, one camera per latent frame (every 4th video frame)"}


def _base_config(transformer: nn.Module) -> dict:
    cls = type(transformer).__name__
    if cls != "WanTransformer3DModel" or not hasattr(transformer, "blocks"):
        raise InputError(f"syncam: the base transformer is {cls}, not diffusers' WanTransformer3DModel")
    c = transformer.config
    return {"dim": int(c.num_attention_heads * c.attention_head_dim), "num_heads": int(c.num_attention_heads),
            "num_layers": len(transformer.blocks), "patch_size": tuple(int(p) for p in c.patch_size)}


def _regroup(x: torch.Tensor, views: int, f: int, hw: int, *, to_views: bool) -> torch.Tensor:
    """``(b v)(f hw) d <-> (b f)(v hw) d``."""
    d = x.shape[-1]
    if to_views:
        b = x.shape[0] // views
        return x.reshape(b, views, f, hw, d).permute(0, 2, 1, 3, 4).reshape(b * f, views * hw, d)
    b = x.shape[0] // f
    return x.reshape(b, f, views, hw, d).permute(0, 2, 1, 3, 4).reshape(b * views, f * hw, d)


class ViewSync(nn.Module):
    """Camera encoder + cross-view attention + zero projector for one block (``syncam`` mode)."""

    def __init__(self, block: nn.Module, dim: int, camera_dim: int, view_attention: bool) -> None:
        super().__init__()
        self.view_attention = view_attention
        self.camera = nn.Linear(camera_dim, dim)
        self.attn = copy.deepcopy(block.attn1)
        self.projector = nn.Linear(dim, dim)
        self.scale_shift_table = nn.Parameter(block.scale_shift_table.detach()[0, :3].float().clone().unsqueeze(0))
        self.norm = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)
        for lin in (self.camera, self.projector):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor, temb: torch.Tensor, state: "_State") -> torch.Tensor:
        """``x`` ``(B*V, F*h*w, dim)`` after the block's self-attention; returns the same shape."""
        dt = self.projector.weight.dtype
        if temb.ndim == 4:  # (B, L, 6, dim), Wan2.2 TI2V
            shift, scale, gate = (self.scale_shift_table.unsqueeze(0) + temb[:, :, :3].float()).unbind(2)
        else:
            shift, scale, gate = (self.scale_shift_table + temb[:, :3].float()).chunk(3, dim=1)
        f, h, w = state.grid
        inp = self.norm(x.float()) * (1 + scale) + shift
        cam = self.camera(state.cameras.to(dt))  # (B*V, F, dim)
        inp = (inp.reshape(x.shape[0], f, h * w, -1) + cam[:, :, None].float()).reshape(x.shape).to(dt)
        if self.view_attention:
            g = _regroup(inp, state.num_views, f, h * w, to_views=True)
            out = _regroup(self.attn(g, None, None, state.rope_views), state.num_views, f, h * w, to_views=False)
        else:
            g = inp.reshape(x.shape[0] * f, h * w, -1)
            out = self.attn(g, None, None, state.rope_frame).reshape(x.shape)
        return (x.float() + self.projector(out).float() * gate).type_as(x)


class ReCam(nn.Module):
    """Camera encoder on the self-attention input + identity projector after it (``recam`` mode)."""

    def __init__(self, dim: int, camera_dim: int) -> None:
        super().__init__()
        self.camera = nn.Linear(camera_dim, dim)
        self.projector = nn.Linear(dim, dim)
        nn.init.zeros_(self.camera.weight)
        nn.init.zeros_(self.camera.bias)
        with torch.no_grad():
            self.projector.weight.copy_(torch.eye(dim))
            self.projector.bias.zero_()

    def camera_tokens(self, x: torch.Tensor, state: "_State") -> torch.Tensor:
        f, h, w = state.grid
        cam = self.camera(state.cameras.to(self.camera.weight.dtype))
        return (x.reshape(x.shape[0], f, h * w, -1) + cam[:, :, None].to(x.dtype)).reshape(x.shape)

    def project(self, y: torch.Tensor) -> torch.Tensor:
        return self.projector(y.to(self.projector.weight.dtype)).to(y.dtype)


class _State:
    """Per-call context shared by the patched blocks (set by the pre-hook and :meth:`SynCamAdapter.set_cameras`)."""

    def __init__(self) -> None:
        self.camera_input: torch.Tensor | None = None
        self.num_views = 1
        self.cameras: torch.Tensor = torch.zeros(0)
        self.grid: tuple[int, int, int] = (0, 0, 0)
        self.rope_views: tuple[torch.Tensor, torch.Tensor] | None = None
        self.rope_frame: tuple[torch.Tensor, torch.Tensor] | None = None
        self.source: torch.Tensor | None = None
        self.target_frames = 0


def _adapted_forward(block: nn.Module, module: nn.Module, state: _State, mode: str,
                     hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor,
                     temb: torch.Tensor, rotary_emb: object) -> torch.Tensor:
    """diffusers' ``WanTransformerBlock.forward`` with the adapter inserted after the self-attention."""
    if temb.ndim == 4:
        mods = [m.squeeze(2) for m in (block.scale_shift_table.unsqueeze(0) + temb.float()).chunk(6, dim=2)]
    else:
        mods = list((block.scale_shift_table + temb.float()).chunk(6, dim=1))
    shift_msa, scale_msa, gate_msa, c_shift_msa, c_scale_msa, c_gate_msa = mods

    norm_hidden_states = (block.norm1(hidden_states.float()) * (1 + scale_msa) + shift_msa).type_as(hidden_states)
    if mode == "recam":
        norm_hidden_states = module.camera_tokens(norm_hidden_states, state)
        attn_output = module.project(block.attn1(norm_hidden_states, None, None, rotary_emb))
    else:
        attn_output = block.attn1(norm_hidden_states, None, None, rotary_emb)
    hidden_states = (hidden_states.float() + attn_output * gate_msa).type_as(hidden_states)
    if mode == "syncam":
        hidden_states = module(hidden_states, temb, state)

    norm_hidden_states = block.norm2(hidden_states.float()).type_as(hidden_states)
    attn_output = block.attn2(norm_hidden_states, encoder_hidden_states, None, None)
    hidden_states = hidden_states + attn_output

    norm_hidden_states = (block.norm3(hidden_states.float()) * (1 + c_scale_msa) + c_shift_msa).type_as(hidden_states)
    ff_output = block.ffn(norm_hidden_states)
    return (hidden_states.float() + ff_output.float() * c_gate_msa).type_as(hidden_states)


class SynCamAdapter(nn.Module):
    """The trainable modules (``layers[str(block_index)]``) and their hooks into one transformer."""

    def __init__(self, transformer: nn.Module, config: SynCamConfig, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        base = _base_config(transformer)
        cfg = SynCamConfig(**{**asdict(config), **base,
                              "blocks": tuple(config.blocks) or tuple(range(base["num_layers"]))})
        if cfg.mode not in ("syncam", "recam"):
            raise InputError(f"syncam: mode must be 'syncam' or 'recam', got {cfg.mode!r}")
        bad = [i for i in cfg.blocks if not 0 <= i < base["num_layers"]]
        if bad:
            raise InputError(f"syncam: block indices {bad} outside 0..{base['num_layers'] - 1}")
        if getattr(transformer, "_humokit_syncam", None) is not None:
            raise InputError("syncam: this transformer already has an adapter; remove() it first")
        self.config = cfg
        dev = next(transformer.parameters()).device
        self.layers = nn.ModuleDict({
            str(i): (ViewSync(transformer.blocks[i], cfg.dim, cfg.camera_dim, cfg.view_attention)
                     if cfg.mode == "syncam" else ReCam(cfg.dim, cfg.camera_dim))
            for i in cfg.blocks
        }).to(device=dev, dtype=dtype)
        for p in transformer.parameters():
            p.requires_grad_(False)
        self._state = _State()
        self._transformer = [transformer]  # not a sub-module: the adapter's state dict is its own
        for i in cfg.blocks:
            blk = transformer.blocks[i]
            blk.forward = types.MethodType(
                lambda b, *a, _m=self.layers[str(i)], _s=self._state, **k: _adapted_forward(b, _m, _s, cfg.mode, *a, **k),
                blk)
        self._hook = transformer.register_forward_pre_hook(self._pre_hook, with_kwargs=True)
        self._post = transformer.register_forward_hook(self._post_hook)
        object.__setattr__(transformer, "_humokit_syncam", self)  # a plain attribute, not a sub-module

    # -- context ---------------------------------------------------------

    def set_cameras(self, cameras: torch.Tensor, num_views: int | None = None) -> None:
        """Cameras for the next forward calls: ``(V, F, 12)`` (tiled over the batch) or ``(B*V, F, 12)``."""
        cams = torch.as_tensor(cameras)
        if cams.ndim != 3 or cams.shape[-1] != self.config.camera_dim:
            raise InputError(f"syncam: cameras must be (views, latent_frames, {self.config.camera_dim}), got {tuple(cams.shape)}")
        self._state.camera_input = cams
        self._state.num_views = int(num_views or cams.shape[0])

    def set_source(self, source: torch.Tensor | None) -> None:
        """ReCam inference: clean source latents ``(B, C, F_src, h, w)`` appended to every call's input along frames
        (the output keeps only the target frames); ``None`` to stop."""
        if source is not None and self.config.mode != "recam":
            raise InputError("syncam: a source video is only used by a 'recam' adapter")
        self._state.source = source

    def _pre_hook(self, module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        x = args[0] if args else kwargs["hidden_states"]
        st = self._state
        if st.camera_input is None:
            raise InputError("syncam: no cameras set; call adapter.set_cameras(...) before the transformer")
        st.target_frames = 0
        changed = None
        if st.source is not None:
            src = st.source.to(x.device, x.dtype)
            if src.shape[0] != x.shape[0]:
                src = src.repeat(x.shape[0] // src.shape[0], 1, 1, 1, 1)
            st.target_frames = x.shape[2]
            x = torch.cat([x, src], dim=2)
            changed = ((x, *args[1:]), kwargs) if args else (args, {**kwargs, "hidden_states": x})
        B, _, F, H, W = x.shape
        pt, ph, pw = self.config.patch_size
        f, h, w = F // pt, H // ph, W // pw
        V = st.num_views
        cams = st.camera_input.to(x.device)
        if B % V:
            raise InputError(f"syncam: batch {B} is not a multiple of {V} views")
        if cams.shape[0] != B:
            if cams.shape[0] != V:
                raise InputError(f"syncam: {cams.shape[0]} camera rows for a batch of {B} ({V} views)")
            cams = cams.repeat(B // V, 1, 1)
        if cams.shape[1] != f:
            raise InputError(f"syncam: cameras have {cams.shape[1]} frames, the latents {f}")
        st.cameras, st.grid = cams, (f, h, w)
        rope = module.rope
        st.rope_views = rope(x.new_empty((1, 0, V * pt, H, W)))
        st.rope_frame = rope(x.new_empty((1, 0, pt, H, W)))
        return changed

    def _post_hook(self, module: nn.Module, args: tuple, output: object) -> object:
        n = self._state.target_frames
        if not n:
            return None
        if isinstance(output, tuple):
            return (output[0][:, :, :n], *output[1:])
        output.sample = output.sample[:, :, :n]  # type: ignore[attr-defined]
        return output

    # -- lifecycle -------------------------------------------------------

    @property
    def transformer(self) -> nn.Module:
        return self._transformer[0]

    def remove(self) -> None:
        """Restore the base transformer (its blocks' own ``forward``, no hook)."""
        t = self.transformer
        for i in self.config.blocks:
            t.blocks[i].__dict__.pop("forward", None)
        self._hook.remove()
        self._post.remove()
        object.__setattr__(t, "_humokit_syncam", None)

    def load_weights(self, adapter_dir: str | Path) -> None:
        """Load a saved adapter's weights into this one (same configuration)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        cfg = read_config(adapter_dir)
        if cfg != self.config:
            raise InputError(f"{adapter_dir}: adapter configuration differs from this adapter's")
        path = Path(adapter_dir) / "adapter.safetensors"
        try:
            sd = load_file(str(path), device=str(next(self.parameters()).device))
        except (FileNotFoundError, SafetensorError, OSError) as exc:
            raise FileFormatError(path, f"cannot read adapter weights ({exc})") from None
        own = self.state_dict()
        if set(sd) != set(own) or any(sd[k].shape != own[k].shape for k in own):
            raise FileFormatError(path, "weights do not match the adapter configuration")
        self.load_state_dict(sd)

    def save(self, out_dir: str | Path) -> Path:
        """Write ``adapter.safetensors`` (adapter weights only) and ``config.json`` into ``out_dir``."""
        from safetensors.torch import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        sd = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        with atomic_path(out / "adapter.safetensors") as tmp:
            save_file(sd, str(tmp), metadata={"format": FORMAT})
        with atomic_path(out / "config.json") as tmp:
            tmp.write_text(json.dumps(self.config.to_json(), indent=1))
        return out


def inject(transformer: nn.Module, config: SynCamConfig | None = None, *,
           dtype: torch.dtype = torch.float32) -> SynCamAdapter:
    """Freeze ``transformer`` and add a fresh (identity) adapter to it."""
    return SynCamAdapter(transformer, config or SynCamConfig(), dtype=dtype)


def read_config(adapter_dir: str | Path) -> SynCamConfig:
    """The :class:`SynCamConfig` of a saved adapter folder (one-line errors)."""
    p = Path(adapter_dir) / "config.json"
    if not p.exists():
        raise InputError(f"{adapter_dir}: not an adapter folder (no config.json)")
    try:
        d = json.loads(p.read_text())
    except ValueError as exc:
        raise FileFormatError(p, f"invalid JSON ({exc})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise FileFormatError(p, f"not a {FORMAT} adapter config")
    keys = SynCamConfig.__dataclass_fields__
    try:
        kw = {k: d[k] for k in keys if k in d}
        kw["blocks"] = tuple(int(b) for b in kw.get("blocks", ()))
        kw["patch_size"] = tuple(int(b) for b in kw.get("patch_size", (1, 2, 2)))
        return SynCamConfig(**kw)
    except (TypeError, ValueError) as exc:
        raise FileFormatError(p, f"bad adapter config ({exc})") from None


def load_adapter(adapter_dir: str | Path, transformer: nn.Module, *, dtype: torch.dtype = torch.float32) -> SynCamAdapter:
    """Inject a saved adapter into ``transformer`` (its base must match the one it was trained on)."""
    cfg = read_config(adapter_dir)
    base = _base_config(transformer)
    for k, v in base.items():
        if getattr(cfg, k) != v:
            raise InputError(f"{adapter_dir}: adapter was trained for a base with {k}={getattr(cfg, k)}, "
                             f"this transformer has {k}={v}")
    adapter = SynCamAdapter(transformer, cfg, dtype=dtype)
    try:
        adapter.load_weights(adapter_dir)
    except InputError:
        adapter.remove()
        raise
    return adapter
