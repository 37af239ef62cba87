"""Build a HumanML3D-format dataset from BVH motion capture, and load one.

:func:`build_dataset` reads ``.tar.xz`` archives (streamed with ``tarfile``)
or extracted folders of the Bandai Namco and CMU BVH sets, retargets every
take to the canonical skeleton at ``fps``, cuts takes into windows of at most
``max_seconds``, adds left/right mirrored copies (``M``-prefixed names, as
HumanML3D does) and writes::

    out/new_joint_vecs/NAME.npy   (T-1, 263) float32 features
    out/new_joints/NAME.npy       (T-1, 22, 3) joints recovered from them
    out/motions/NAME.npz          canonical Motion (T frames)
    out/texts/NAME.txt            caption#tokens#start#end lines
    out/takes/TAKE.json           per-take record (labels, windows): re-runs skip takes that have one
    out/Mean.npy, out/Std.npy     from the train split only
    out/train.txt, val.txt, test.txt   window names; split by take, stratified by content
    out/manifest.json             counts, minutes per split, per-label counts, skipped files

:class:`MotionDataset` reads such a folder, or any HumanML3D folder, and
yields normalised, zero-padded feature windows with one caption each.
"""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing as mp
import random
import re
import tarfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from humokit._io import atomic_path
from humokit._paths import shared_dir
from humokit.errors import FileFormatError, HumokitError, InputError
from humokit.motion.features import (
    FEATURE_DIM,
    features_to_joints,
    joints_to_features,
    load_mean_std,
    mean_std,
    save_mean_std,
)
from humokit.motion.texts import ClipLabels, clip_texts, cmu_labels, humanml3d_lines

_SUFFIX = r"\.(?:bvh|fbx|glb|gltf|npz)$"  # what humokit.motion.importer reads
_BANDAI_RE = re.compile(r"dataset-(\d)_(.+)_([a-z-]+)_(\d+)" + _SUFFIX)
_CMU_RE = re.compile(r"(\d+)_(\d+)" + _SUFFIX)


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_dataset` produced (the manifest, as written to ``manifest.json``)."""

    out: Path
    manifest: dict


def default_source() -> Path:
    """``$HUMOKIT_SHARED/data/motion`` (the shared archives)."""
    return shared_dir() / "data" / "motion"


# -------------------------------------------------------------- enumeration
def _labels_for(path: str, cmu_desc: dict[str, str]) -> tuple[str, ClipLabels] | None:
    name = Path(path).name
    m = _BANDAI_RE.search(name)
    if m:
        s, content, style, num = m.groups()
        src = f"bandai-namco-{s}"
        return f"bn{s}_{content}_{style}_{num}", ClipLabels(src, content, style, src, f"{content} {style}")
    m = _CMU_RE.search(name)
    if m:
        subj, num = m.groups()
        key = f"{int(subj):02d}_{int(num):02d}"
        desc = cmu_desc.get(key, "")
        return f"cmu_{key}", cmu_labels(desc or "unknown", f"cmu-{int(subj):02d}")
    return None


def _read_cmu_index(text: str) -> dict[str, str]:
    out = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and re.fullmatch(r"\d+_\d+", row[0].strip()):
            out[row[0].strip()] = row[1].strip()
    return out


def iter_bvh_sources(source: str | Path) -> Iterator[tuple[str, str | None]]:
    """Yield ``(path label, BVH text)`` from archives and folders under ``source`` (or ``source`` itself).

    CMU descriptions (``cmu-mocap-index.csv``) are yielded first as
    ``("<index>", text)`` items when found. Other motion files in folders
    (``.fbx``, ``.glb``, ``.gltf``, ``.npz``) are yielded as ``(path, None)``;
    :func:`humokit.motion.importer.import_motion` reads them.
    """
    source = Path(source)
    archives = [source] if source.is_file() else sorted(source.glob("*.tar.xz")) + sorted(source.glob("*.tar"))
    folders = [] if source.is_file() else [source]
    if source.is_dir() and archives:
        folders = []
    for arch in archives:
        with tarfile.open(arch) as tar:
            for member in tar:
                if not member.isfile():
                    continue
                if member.name.endswith(".csv") or member.name.endswith(".bvh"):
                    f = tar.extractfile(member)
                    if f is None:
                        continue
                    text = f.read().decode("utf-8", errors="replace")
                    if member.name.endswith(".csv"):
                        yield "<index>", text
                    else:
                        yield f"{arch.name}:{member.name}", text
    for folder in folders:
        for csv_path in sorted(folder.rglob("*.csv")):
            yield "<index>", csv_path.read_text(encoding="utf-8", errors="replace")
        for p in sorted(folder.rglob("*")):
            suf = p.suffix.lower()
            if suf == ".bvh":
                yield str(p), p.read_text(encoding="utf-8", errors="replace")
            elif suf in (".fbx", ".glb", ".gltf", ".npz") and p.is_file():
                yield str(p), None


# ----------------------------------------------------------------- one take
def _windows(T: int, max_len: int, min_len: int) -> list[tuple[int, int]]:
    if T < min_len:
        return []
    n = math.ceil(T / max_len)
    size = math.ceil(T / n)
    return [(s, min(s + size, T)) for s in range(0, T, size) if min(s + size, T) - s >= min_len]


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.save(tmp, arr)


def process_take(args: tuple[str, str, str, dict, str, float, float, int]) -> dict:
    """Retarget, window, mirror and write one take; returns its record (or ``{"skipped": reason}``)."""
    from humokit.motion.importer import import_motion

    import torch

    torch.set_num_threads(1)  # the pool already uses the cores
    path, text, take, labels_d, out_s, fps, max_seconds, n_texts = args
    out = Path(out_s)
    labels = ClipLabels(**labels_d)
    try:
        motion = import_motion(path, text=text, fps=fps, meta={"source_file": path, "take": take}).motion
    except HumokitError as e:
        return {"take": take, "path": path, "skipped": str(e)}
    windows = _windows(motion.num_frames, int(round(max_seconds * fps)), max(int(fps), 3))
    if not windows:
        return {"take": take, "path": path, "skipped": f"too short ({motion.num_frames} frames at {fps} fps)"}
    rec: dict = {"take": take, "path": path, "labels": labels.as_dict(), "windows": []}
    for k, (a, b) in enumerate(windows):
        w = motion.slice(a, b)
        for mirrored in (False, True):
            wm = w.mirror() if mirrored else w
            lab = labels.mirrored_labels() if mirrored else labels
            name = f"{'M' if mirrored else ''}{take}_w{k}"
            feats = joints_to_features(wm.joints())
            texts = clip_texts(lab, n_texts)
            _save_npy(out / "new_joint_vecs" / f"{name}.npy", feats)
            _save_npy(out / "new_joints" / f"{name}.npy", features_to_joints(feats))
            wm.replace(meta={**wm.meta, "text": texts[0], "window": f"{a}:{b}"}).save(str(out / "motions" / f"{name}.npz"))
            with atomic_path(out / "texts" / f"{name}.txt") as tmp:
                tmp.write_text(humanml3d_lines(texts), encoding="utf-8")
            rec["windows"].append({"name": name, "frames": int(feats.shape[0]), "mirrored": mirrored,
                                   "content": lab.content})  # fmt: skip
    with atomic_path(out / "takes" / f"{take}.json") as tmp:
        tmp.write_text(json.dumps(rec), encoding="utf-8")
    return rec


# -------------------------------------------------------------------- split
def split_takes(records: list[dict], *, seed: int = 0, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, str]:
    """Take -> ``"train" | "val" | "test"``, stratified by (source, content), deterministic in ``seed``."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in records:
        groups[(r["labels"]["source"], r["labels"]["content"])].append(r["take"])
    out: dict[str, str] = {}
    for key in sorted(groups):
        takes = sorted(groups[key])
        random.Random(seed * 1_000_003 + zlib.crc32("|".join(key).encode())).shuffle(takes)
        n = len(takes)
        n_test = int(round(n * ratios[2])) if n >= 3 else 0
        n_val = int(round(n * ratios[1])) if n >= 3 else 0
        for i, t in enumerate(takes):
            out[t] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return out


# -------------------------------------------------------------------- build
def build_dataset(
    source: str | Path | None,
    out: str | Path,
    fps: float = 20.0,
    *,
    max_seconds: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    texts_per_clip: int = 3,
    limit: int | None = None,
    progress: bool = True,
) -> BuildResult:
    """Build a HumanML3D-format dataset (see the module docstring).

    Args:
        source: folder with ``*.tar.xz`` archives or extracted BVH folders
            (None: :func:`default_source`).
        out: output folder (created); takes already recorded in ``out/takes`` are not redone.
        fps: output frame rate.
        max_seconds: longest window; longer takes are cut into equal windows.
        workers: processes (1 = in-process; at most 2).
        seed: split seed.
        limit: process only the first ``limit`` takes (for quick tests).
    """
    from tqdm import tqdm

    src = Path(source) if source is not None else default_source()
    if not src.exists():
        raise InputError(f"data build: source {src} does not exist")
    out = Path(out)
    for sub in ("new_joint_vecs", "new_joints", "motions", "texts", "takes"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)  # written last: its presence marks a complete build
    records: list[dict] = []
    skipped: list[dict] = []
    cmu_desc: dict[str, str] = {}
    workers = max(1, min(int(workers), 2))
    pool = mp.get_context("spawn").Pool(workers) if workers > 1 else None
    bar = tqdm(desc="takes", unit="take", disable=not progress)
    batch: list[tuple] = []
    seen = 0
    pending: list = []  # the batch in flight (reading the next batch overlaps it)

    def collect() -> None:
        while pending:
            res = pending.pop()
            results = res.get()
            for r in results:
                (skipped if "skipped" in r else records).append(r)
            bar.update(len(results))

    def flush() -> None:
        if pool is None:
            for r in (process_take(b) for b in batch):
                (skipped if "skipped" in r else records).append(r)
                bar.update(1)
        else:
            collect()
            pending.append(pool.map_async(process_take, list(batch), chunksize=1))
        batch.clear()

    try:
        for path, text in iter_bvh_sources(src):
            if path == "<index>":
                cmu_desc.update(_read_cmu_index(text))
                continue
            lab = _labels_for(path, cmu_desc)
            if lab is None:
                skipped.append({"path": path, "skipped": "file name matches no known dataset"})
                continue
            if limit is not None and seen >= limit:
                break
            seen += 1
            take, labels = lab
            done = out / "takes" / f"{take}.json"
            if done.exists():
                records.append(json.loads(done.read_text(encoding="utf-8")))
                bar.update(1)
                continue
            batch.append((path, text, take, labels.as_dict(), str(out), float(fps), float(max_seconds), texts_per_clip))
            if len(batch) >= 16 * workers:
                flush()
        if batch:
            flush()
        collect()
    finally:
        bar.close()
        if pool:
            pool.close()
            pool.join()

    split = split_takes(records, seed=seed)
    names: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    frames: Counter = Counter()
    per_label: dict[str, dict[str, Counter]] = {k: defaultdict(Counter) for k in ("content", "style", "source")}
    takes_per_split: Counter = Counter()
    for r in sorted(records, key=lambda r: r["take"]):
        s = split[r["take"]]
        takes_per_split[s] += 1
        for w in r["windows"]:
            names[s].append(w["name"])
            frames[s] += w["frames"]
        for k in per_label:
            per_label[k][s][r["labels"][k]] += 1
    for s, lst in names.items():
        with atomic_path(out / f"{s}.txt") as tmp:
            tmp.write_text("".join(f"{n}\n" for n in lst), encoding="utf-8")
    if names["train"]:
        mean, std = mean_std([np.load(out / "new_joint_vecs" / f"{n}.npy") for n in names["train"]])
        save_mean_std(out, mean, std)
    manifest = {
        "fps": fps,
        "max_seconds": max_seconds,
        "seed": seed,
        "takes": len(records),
        "takes_per_split": dict(takes_per_split),
        "takes_per_source": dict(Counter(r["labels"]["source"] for r in records)),
        "windows_per_split": {s: len(v) for s, v in names.items()},
        "minutes_per_split": {s: round(frames[s] / fps / 60.0, 2) for s in names},
        "per_label_takes": {k: {s: dict(sorted(c.items())) for s, c in v.items()} for k, v in per_label.items()},
        "skipped": skipped,
    }
    with atomic_path(out / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return BuildResult(out, manifest)


# ------------------------------------------------------------------- loader
class MotionItem(NamedTuple):
    """One dataset sample (collates with torch's default collate).

    features: ``(max_frames, 263)`` float32, normalised, zero-padded after ``length``.
    length: number of valid frames. caption / tokens: one text line's fields. name: window name.
    """

    features: np.ndarray
    length: int
    caption: str
    tokens: str
    name: str


def _parse_texts(path: Path) -> list[tuple[str, str, float, float]]:
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split("#")
        if len(parts) < 4:
            raise FileFormatError(path, "expected caption#tokens#start#end", i)
        try:
            a, b = (0.0 if math.isnan(float(x)) else float(x) for x in parts[2:4])
        except ValueError:
            raise FileFormatError(path, f"non-numeric start/end {parts[2]!r}#{parts[3]!r}", i) from None
        out.append((parts[0], parts[1], a, b))
    return out


def split_names(root: str | Path, split: str) -> list[str]:
    """Names listed in a dataset's ``<root>/<split>.txt`` (one per line; mirrored copies start with ``M``).

    Raises:
        FileFormatError: the split file does not exist.
    """
    split_file = Path(root) / f"{split}.txt"
    if not split_file.is_file():
        raise FileFormatError(split_file, "split file not found")
    return [ln.strip() for ln in split_file.read_text(encoding="utf-8").splitlines() if ln.strip()]


class MotionDataset:
    """A torch-style Dataset over a HumanML3D-format folder (ours or the original).

    Entries follow HumanML3D's ``Text2MotionDataset``: each name of the split
    file is a motion; a text line with start/end (seconds, ``fps`` frames per
    second) other than 0/0 becomes its own entry on that sub-window; entries
    outside ``min_frames <= T < 200`` frames are dropped (the reference's rule). ``__getitem__`` picks one caption at
    random, crops a random window of a multiple of ``unit_length`` frames (at
    most ``max_frames``), normalises with ``Mean``/``Std`` and zero-pads.

    Args:
        root: folder with ``new_joint_vecs/``, ``texts/``, ``Mean.npy``, ``Std.npy`` and split files.
        split: ``"train"``, ``"val"``, ``"test"`` (or any ``<split>.txt`` present).
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        max_frames: int = 196,
        min_frames: int = 40,
        unit_length: int = 4,
        fps: float = 20.0,
        normalize: bool = True,
        seed: int | None = None,
    ) -> None:
        self.root = Path(root)
        names = split_names(self.root, split)
        self.mean, self.std = load_mean_std(self.root) if normalize else (None, None)
        self.max_frames, self.unit_length = max_frames, unit_length
        self._rng = random.Random(seed)
        self.entries: list[tuple[str, np.ndarray, list[tuple[str, str]]]] = []
        for name in names:
            fpath = self.root / "new_joint_vecs" / f"{name}.npy"
            tpath = self.root / "texts" / f"{name}.txt"
            if not fpath.exists() or not tpath.exists():
                continue
            motion = np.load(fpath)
            if motion.ndim != 2 or motion.shape[1] != FEATURE_DIM:
                raise FileFormatError(fpath, f"expected (T, {FEATURE_DIM}) features, got {motion.shape}")
            whole: list[tuple[str, str]] = []
            for cap, tok, a, b in _parse_texts(tpath):
                if a == 0.0 and b == 0.0:
                    whole.append((cap, tok))
                    continue
                sub = motion[int(a * fps) : int(b * fps)]
                if min_frames <= len(sub) < 200:
                    self.entries.append((f"{name}#{a}#{b}", sub, [(cap, tok)]))
            if whole and min_frames <= len(motion) < 200:
                self.entries.append((name, motion, whole))

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i: int) -> MotionItem:
        name, motion, texts = self.entries[i]
        cap, tok = self._rng.choice(texts)
        m_len = min(len(motion), self.max_frames)
        m_len = max((m_len // self.unit_length) * self.unit_length, min(len(motion), self.unit_length))
        start = self._rng.randint(0, len(motion) - m_len)
        x = motion[start : start + m_len].astype(np.float32)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        pad = np.zeros((self.max_frames, FEATURE_DIM), dtype=np.float32)
        pad[:m_len] = x
        return MotionItem(pad, m_len, cap, tok, name)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Undo the normalisation: ``x * Std + Mean``."""
        return x if self.mean is None else x * self.std + self.mean
