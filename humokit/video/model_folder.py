"""Recognise a local diffusers model folder and pick the ``humokit drive`` backend.

A diffusers pipeline folder has a ``model_index.json`` whose ``_class_name``
names the pipeline and whose other entries name one component sub-folder
each (``"vae": ["diffusers", "AutoencoderKLWan"]``; ``[null, null]`` for an
absent optional component). :func:`inspect_model` reads it without importing
diffusers and checks every named component folder exists with its config, so
a wrong or partial download fails in one line naming what was found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from humokit.errors import InputError

#: pipeline class -> backend name.
PIPELINE_BACKENDS: dict[str, str] = {
    "WanVACEPipeline": "vace",
    "WanAnimatePipeline": "animate",
    "AnimateDiffControlNetPipeline": "animatediff",
    # an SD1.5 base: AnimateDiff + ControlNet from --motion-adapter and --controlnet folders
    "StableDiffusionPipeline": "animatediff",
}
#: components each backend cannot run without.
REQUIRED: dict[str, tuple[str, ...]] = {
    "WanVACEPipeline": ("vae", "text_encoder", "tokenizer", "scheduler"),
    "WanAnimatePipeline": ("vae", "text_encoder", "tokenizer", "scheduler", "transformer", "image_encoder",
                           "image_processor"),
    "AnimateDiffControlNetPipeline": ("vae", "text_encoder", "tokenizer", "scheduler", "unet", "motion_adapter",
                                      "controlnet"),
    "StableDiffusionPipeline": ("vae", "text_encoder", "tokenizer", "scheduler", "unet"),
}
_CONFIG_FILES = ("config.json", "scheduler_config.json", "tokenizer_config.json", "tokenizer.json",
                 "preprocessor_config.json", "spiece.model")


@dataclass(frozen=True)
class ModelFolder:
    """A checked diffusers pipeline folder.

    Attributes:
        path: the folder.
        class_name: ``model_index.json``'s ``_class_name``.
        backend: ``"vace"``, ``"animate"`` or ``"animatediff"``.
        components: component name -> ``(library, class)`` for the components present.
    """

    path: Path
    class_name: str
    backend: str
    components: dict[str, tuple[str, str]]


def _listing(path: Path) -> str:
    names = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") if names else "nothing"


def read_model_index(folder: Path, *, label: str = "") -> dict:
    """``folder/model_index.json`` as a dict; one-line :class:`InputError` (prefixed by ``label``) when the
    folder, the file or its JSON object is missing or broken."""
    if not folder.is_dir():
        raise InputError(f"{label}{folder}: no such folder")
    index = folder / "model_index.json"
    if not index.is_file():
        raise InputError(f"{label}{folder}: no model_index.json, not a diffusers pipeline folder "
                         f"(found: {_listing(folder)})")
    try:
        meta = json.loads(index.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}{index}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{label}{index}: expected a JSON object")
    return meta


def inspect_model(path: str | Path) -> ModelFolder:
    """Read and check ``path/model_index.json`` (one-line :class:`InputError` on any problem)."""
    p = Path(path)
    meta = read_model_index(p, label="--model ")
    cls = str(meta.get("_class_name", ""))
    if cls not in PIPELINE_BACKENDS:
        raise InputError(f"--model {p}: model_index.json names {cls or 'no _class_name'}; humokit drive runs "
                         f"{', '.join(PIPELINE_BACKENDS)}")
    comps: dict[str, tuple[str, str]] = {}
    for name, val in meta.items():
        if name.startswith("_") or not isinstance(val, list) or len(val) != 2 or val[0] is None or val[1] is None:
            continue
        comps[name] = (str(val[0]), str(val[1]))
    missing = [n for n in REQUIRED[cls] if n not in comps]
    if cls == "WanVACEPipeline" and "transformer" not in comps and "transformer_2" not in comps:
        missing.append("transformer")
    absent = [n for n in comps if not (p / n).is_dir() or not any((p / n / f).is_file() for f in _CONFIG_FILES)]
    bad = sorted(set(missing) | set(absent))
    if bad:
        found = sorted(n for n in comps if n not in absent)
        raise InputError(f"--model {p}: {cls} folder is missing {', '.join(bad)} "
                         f"(found: {', '.join(found) or 'no components'})")
    return ModelFolder(path=p, class_name=cls, backend=PIPELINE_BACKENDS[cls], components=comps)
