"""Robustness: bad command lines and hostile files, as a careless or hostile user would try them.

Usage: nice python benchmarks/robustness.py [--no-hour] [--out DIR]

Each command-line case runs in this process through click's test runner (one
temporary folder per case) and is classed as

- ``clean``: exit status 2 with one ``error:`` line or click's usage error,
- ``valid``: exit status 0 (a case that is odd but allowed),
- ``traceback``: any other exception (must be 0),
- ``partial``: a failed case that left its output or a temporary file behind (must be 0).

Library cases call the loaders directly (``Motion.load``, ``load_bvh``, the
viewer's loader) and count exceptions other than ``HumokitError``.

Memory: each decompression-bomb file is loaded in a fresh subprocess; the
table gives its peak resident memory beside the same subprocess loading a
small valid motion (the baseline: Python + numpy + torch imports) and what
the file declares (what an unchecked ``np.load`` would allocate). With
``--hour`` (default on) a real one-hour 120 fps motion (432,000 frames, tiled
from the built-in walk) is saved and loaded the same way: it must pass.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from humokit.cli import cli
from humokit.errors import HumokitError
from humokit.motion import Motion
from humokit.motion.builtin import builtin_motion

LOADER = """
import sys, tracemalloc
from humokit.motion import Motion

def status(key):
    with open("/proc/self/status") as fh:
        return next(int(ln.split()[1]) for ln in fh if ln.startswith(key)) / 1024

before = status("VmRSS:")
try:
    with open("/proc/self/clear_refs", "w") as fh:  # reset the resident high-water mark (Linux)
        fh.write("5")
except OSError:
    pass
tracemalloc.start()
try:
    m = Motion.load(sys.argv[1]); print("ok", m.num_frames)
except Exception as e:
    print("error", type(e).__name__, str(e)[:120])
traced = tracemalloc.get_traced_memory()[1] / 2**20
print("peak", before, status("VmHWM:"), traced)
"""


def npy_header(shape, dtype="<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def make_files(d: Path) -> dict[str, Path]:
    """Hostile and broken inputs, each at most a few hundred kB."""
    f: dict[str, Path] = {}
    walk = builtin_motion("walk", seconds=1.0, fps=30)
    f["walk"] = d / "walk.npz"
    walk.save(f["walk"])
    with np.load(f["walk"]) as z:
        base = {k: z[k] for k in z.files}

    def variant(name, **changes):
        data = dict(base)
        for k, v in changes.items():
            if v is None:
                data.pop(k)
            else:
                data[k] = v
        f[name] = d / f"{name}.npz"
        np.savez(f[name], **data)

    variant("bad_meta", meta=np.array("{oops"))
    variant("fps_string", fps=np.array("thirty"))
    variant("fps_vector", fps=np.array([30.0, 60.0]))
    variant("fps_huge", fps=np.array(1e300))
    variant("fps_zero", fps=np.array(0.0))
    variant("no_root", root_position=None)
    variant("empty", rotations=np.zeros((0, 22, 3, 3), np.float32), root_position=np.zeros((0, 3), np.float32),
            poses=np.zeros((0, 156), np.float32), trans=np.zeros((0, 3), np.float32))
    variant("rot_strings", rotations=np.array(["x"] * 5))
    variant("rot_complex", rotations=np.zeros((30, 22, 3, 3), np.complex64))
    variant("nan_root", root_position=np.full((30, 3), np.nan, np.float32))
    variant("object_meta", meta=np.array([{"a": 1}], dtype=object))
    f["junk"] = d / "junk.npz"
    f["junk"].write_bytes(b"this is not a zip file")
    f["truncated"] = d / "truncated.npz"
    f["truncated"].write_bytes(f["walk"].read_bytes()[:3000])
    # bombs
    f["bomb_deflate"] = d / "bomb_deflate.npz"
    if not f["bomb_deflate"].exists():  # kept from an earlier run with --out (4 GiB through deflate takes a minute)
        tmp = f["bomb_deflate"].with_suffix(".partial")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
                zf.open("rotations.npy", "w", force_zip64=True) as fh:
            n = 4 * 2**30
            fh.write(npy_header((n // 4,)))
            chunk = bytes(2**24)
            for _ in range(n // len(chunk)):
                fh.write(chunk)
        tmp.rename(f["bomb_deflate"])
    f["bomb_header"] = d / "bomb_header.npz"
    with zipfile.ZipFile(f["bomb_header"], "w") as zf:
        zf.writestr("rotations.npy", npy_header((10**9, 22, 3, 3)) + bytes(1024))
    f["bomb_many"] = d / "bomb_many.npz"
    with zipfile.ZipFile(f["bomb_many"], "w", zipfile.ZIP_DEFLATED) as zf:
        member = npy_header((2**24 // 4,)) + bytes(2**24)
        for i in range(64):
            zf.writestr(f"a{i}.npy", member)
    # BVH
    good_bvh = d / "walk.bvh"
    from humokit.motion.bvh import save_bvh

    save_bvh(walk, good_bvh)
    text = good_bvh.read_text()
    for name, ft in (("bvh_ft_huge", "1e300"), ("bvh_ft_nan", "nan"), ("bvh_ft_zero", "0")):
        f[name] = d / f"{name}.bvh"
        lines = text.splitlines()
        k = next(i for i, ln in enumerate(lines) if ln.startswith("Frame Time"))
        lines[k] = f"Frame Time: {ft}"
        f[name].write_text("\n".join(lines))
    f["bvh_frames_huge"] = d / "bvh_frames_huge.bvh"
    f["bvh_frames_huge"].write_text(text.replace("Frames: 30", "Frames: 99999999999999"))
    f["bvh_truncated"] = d / "bvh_truncated.bvh"
    f["bvh_truncated"].write_text(text[: len(text) // 2])
    f["bvh_offset_inf"] = d / "bvh_offset_inf.bvh"
    f["bvh_offset_inf"].write_text(text.replace("OFFSET", "OFFSET inf", 2).replace("OFFSET inf", "OFFSET", 1))
    f["file"] = d / "plain_file"
    f["file"].write_text("x")
    return f


def cli_cases(f: dict[str, Path]) -> list[tuple[str, list[str], str | None]]:
    """(name, argv, output target or None); ``{out}`` is replaced by a path in the case's folder."""
    bad_npz = ["junk", "truncated", "bad_meta", "fps_string", "fps_vector", "fps_huge", "fps_zero", "no_root",
               "empty", "rot_strings", "rot_complex", "nan_root", "object_meta", "bomb_deflate", "bomb_header",
               "bomb_many"]  # fmt: skip
    cases: list[tuple[str, list[str], str | None]] = []
    for b in bad_npz:
        cases.append((f"export {b}", ["export", str(f[b]), "-o", "{out}/x.bvh"], "{out}/x.bvh"))
        cases.append((f"metrics {b}", ["metrics", str(f[b]), "--json"], None))
        cases.append((f"render {b}", ["render", str(f[b]), "-o", "{out}/r", "--views", "1", "--size", "64x64"], "{out}/r"))
        cases.append((f"body --motion {b}", ["body", "-o", "{out}/b.ply", "--motion", str(f[b])], "{out}/b.ply"))
        cases.append((f"fix {b}", ["fix", str(f[b]), "-o", "{out}/f.npz"], "{out}/f.npz"))
    w = str(f["walk"])
    opts = [
        ("render --fov 0", ["render", w, "-o", "{out}/r", "--fov", "0"]),
        ("render --fov nan", ["render", w, "-o", "{out}/r", "--fov", "nan"]),
        ("render --views 0", ["render", w, "-o", "{out}/r", "--views", "0"]),
        ("render --views 1e9", ["render", w, "-o", "{out}/r", "--views", "1000000000"]),
        ("render --size 0x0", ["render", w, "-o", "{out}/r", "--size", "0x0"]),
        ("render --size huge", ["render", w, "-o", "{out}/r", "--size", "100000x100000"]),
        ("render --size text", ["render", w, "-o", "{out}/r", "--size", "big"]),
        ("render --fps nan", ["render", w, "-o", "{out}/r", "--fps", "nan"]),
        ("render --fps -1", ["render", w, "-o", "{out}/r", "--fps", "-1"]),
        ("render --fps 1e300", ["render", w, "-o", "{out}/r", "--fps", "1e300"]),
        ("render --frames 0", ["render", w, "-o", "{out}/r", "--frames", "0"]),
        ("render --frames -4", ["render", w, "-o", "{out}/r", "--frames", "-4"]),
        ("render --seed -1 hemisphere", ["render", w, "-o", "{out}/r", "--layout", "hemisphere", "--seed", "-1"]),
        ("render --seed 2^70", ["render", w, "-o", "{out}/r", "--seed", str(2**70)]),
        ("render --signals junk", ["render", w, "-o", "{out}/r", "--signals", "junk", "--views", "1", "--size", "32x32"]),
        ("generate --steps 0", ["generate", "walk", "-o", "{out}/g.npz", "--steps", "0"]),
        ("generate --guidance nan", ["generate", "walk", "-o", "{out}/g.npz", "--guidance", "nan"]),
        ("generate --seed -1", ["generate", "walk", "-o", "{out}/g.npz", "--seed", "-1"]),
        ("generate --seed 2^64", ["generate", "walk", "-o", "{out}/g.npz", "--seed", str(2**64)]),
        ("generate --seconds 1e308", ["generate", "walk", "-o", "{out}/g.npz", "--seconds", "1e308"]),
        ("generate --seconds 0", ["generate", "walk", "-o", "{out}/g.npz", "--seconds", "0"]),
        ("generate -o g.txt", ["generate", "walk", "-o", "{out}/g.txt"]),
        ("generate --keyframes junk", ["generate", "walk", "-o", "{out}/g.npz", "--keyframes", str(f["junk"])]),
        ("generate --keyframes bomb", ["generate", "walk", "-o", "{out}/g.npz", "--keyframes", str(f["bomb_deflate"])]),
        ("demo --size 0", ["demo", "-o", "{out}/d", "--size", "0"]),
        ("demo --seconds -1", ["demo", "-o", "{out}/d", "--seconds", "-1"]),
        ("demo --seconds inf", ["demo", "-o", "{out}/d", "--seconds", "inf"]),
        ("data build --fps 0", ["data", "build", "-o", "{out}/data", "--fps", "0"]),
        ("data build --max-seconds nan", ["data", "build", "-o", "{out}/data", "--max-seconds", "nan"]),
        ("data build --workers 0", ["data", "build", "-o", "{out}/data", "--workers", "0"]),
        ("avatar render --views -1", ["avatar", "render", "{out}", w, "-o", "{out}/a", "--views", "-1"]),
        ("avatar render no avatar", ["avatar", "render", "{out}/none", w, "-o", "{out}/a"]),
        ("avatar train --fps nan", ["avatar", "train", w, "-o", "{out}/a", "--fps", "nan"]),
        ("avatar train --size 0", ["avatar", "train", w, "-o", "{out}/a", "--size", "0"]),
        ("recover --focal 0", ["recover", w, "--focal", "0"]),
        ("recover --fps inf", ["recover", w, "--fps", "inf"]),
        ("recover -o m.txt", ["recover", w, "-o", "{out}/m.txt"]),
        ("body --frame -1", ["body", "-o", "{out}/b.ply", "--motion", w, "--frame", "-1"]),
        ("body --frame 10^9", ["body", "-o", "{out}/b.ply", "--motion", w, "--frame", "1000000000"]),
        ("body -o x.txt", ["body", "-o", "{out}/b.txt"]),
        ("body --phenotype junk", ["body", "-o", "{out}/b.ply", "--phenotype", "junk"]),
        ("view --port 70000", ["view", "--port", "70000"]),
        ("view --avatar-every 0", ["view", "--avatar-every", "0"]),
        ("export missing", ["export", "{out}/missing.npz", "-o", "{out}/x.bvh"]),
        ("export to file/dir", ["export", w, "-o", str(f["file"]) + "/x.bvh"]),
        ("export name too long", ["export", w, "-o", "{out}/" + "a" * 300 + ".bvh"]),
        ("export unknown suffix", ["export", w, "-o", "{out}/x.xyz"]),
        ("export into /proc", ["export", w, "-o", "/proc/humokit_x.bvh"]),
        ("render into a file", ["render", w, "-o", str(f["file"]), "--views", "1", "--size", "32x32"]),
        ("render under a file", ["render", w, "-o", str(f["file"]) + "/r", "--views", "1", "--size", "32x32"]),
        ("metrics missing", ["metrics", "{out}/missing.npz"]),
        ("fix -o under a file", ["fix", w, "-o", str(f["file"]) + "/f.npz"]),
    ]
    for name, argv in opts:
        target = next((a for a in argv if a.startswith("{out}/") and argv[argv.index(a) - 1] in ("-o",)), None)
        cases.append((name, argv, target))
    return cases


def run_cli(cases, workdir: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"clean": [], "valid": [], "traceback": [], "partial": []}
    runner = CliRunner()
    for i, (name, argv, target) in enumerate(cases):
        case_dir = workdir / f"case{i:03d}"
        case_dir.mkdir(parents=True)
        args = [a.replace("{out}", str(case_dir)) for a in argv]
        t0 = time.time()
        res = runner.invoke(cli, args, catch_exceptions=True)
        text = res.output
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            tb = "".join(traceback.format_exception(res.exception))[-600:]
            out["traceback"].append(f"{name}: {type(res.exception).__name__}: {res.exception}\n{tb}")
            continue
        if res.exit_code == 0:
            out["valid"].append(name)
            continue
        lines = [ln for ln in text.strip().splitlines() if ln.strip() and not ln.startswith(("render:", "meshes"))]
        one_line = (res.exit_code == 2 and (any(ln.startswith("error: ") for ln in lines)
                                             or "Invalid value" in text or "Usage:" in text))  # fmt: skip
        (out["clean"] if one_line else out["traceback"]).append(
            name if one_line else f"{name}: exit {res.exit_code}: {text[-300:]}")
        left = [p.name for p in case_dir.rglob("*") if ".tmp" in p.name]
        if target is not None and _exists(Path(target.replace("{out}", str(case_dir)))):
            left.append(Path(target).name[:40])
        if left:
            out["partial"].append(f"{name}: {left}")
        if time.time() - t0 > 60:
            print(f"  slow case: {name} ({time.time() - t0:.0f} s)", file=sys.stderr)
    return out


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except OSError:  # e.g. a name too long to exist
        return False


def run_library(f: dict[str, Path]) -> tuple[int, int, list[str]]:
    from humokit.motion.bvh import load_bvh
    from humokit.viewer._loading import load_motion

    tried = clean = 0
    bad: list[str] = []
    for name, p in f.items():
        if name in ("walk", "file"):
            continue
        for fn in (Motion.load, load_motion) + ((load_bvh,) if p.suffix == ".bvh" else ()):
            if p.suffix == ".bvh" and fn is Motion.load:
                continue
            tried += 1
            try:
                fn(p)
                bad.append(f"{fn.__name__}({name}) accepted a bad file")
            except HumokitError:
                clean += 1
            except Exception as exc:  # noqa: BLE001 - what we count
                bad.append(f"{fn.__name__}({name}): {type(exc).__name__}: {exc}")
    return tried, clean, bad


def peak_load(path: Path) -> tuple[str, float, float, float, float]:
    """(outcome, resident MB before, resident peak MB during, traced peak MB, seconds) of Motion.load(path).

    Runs in a fresh process; the resident high-water mark is reset after the imports, so the peak is
    that of the load (the process's import footprint is the "before" column).
    """
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    t0 = time.time()
    r = subprocess.run([sys.executable, "-c", LOADER, str(path)], capture_output=True, text=True, env=env, timeout=600)
    dt = time.time() - t0
    lines = r.stdout.strip().splitlines()
    nums = next(([float(v) for v in ln.split()[1:]] for ln in lines if ln.startswith("peak")), [float("nan")] * 3)
    outcome = next((ln for ln in lines if not ln.startswith("peak")), r.stderr.strip()[-200:] or "?")
    return outcome, nums[0], nums[1], nums[2], dt


def declared_bytes(path: Path) -> int:
    total = 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            with zf.open(info) as fh:
                np.lib.format.read_magic(fh)
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            total += int(np.prod(shape, dtype=object)) * dtype.itemsize
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-hour", action="store_true", help="skip saving/loading the one-hour 120 fps motion")
    ap.add_argument("--out", type=Path, default=None, help="keep the files here (default: a temp folder)")
    a = ap.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    root = a.out or Path(tempfile.mkdtemp(prefix="humokit_bench_robust_"))
    files_dir = root / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    f = make_files(files_dir)
    print(f"inputs: {len(f)} files in {files_dir} ({time.time() - t0:.1f} s)")

    cases = cli_cases(f)
    t0 = time.time()
    import shutil

    shutil.rmtree(root / "cases", ignore_errors=True)
    res = run_cli(cases, root / "cases")
    print(f"\ncommand line ({time.time() - t0:.0f} s)")
    print(f"{'cases tried':<28}{len(cases):>6}")
    for k in ("clean", "valid", "traceback", "partial"):
        print(f"{k:<28}{len(res[k]):>6}")
    for k in ("traceback", "partial"):
        for line in res[k]:
            print(f"  {k}: {line}")
    if res["valid"]:
        print("  valid (exit 0): " + ", ".join(res["valid"]))

    tried, clean, bad = run_library(f)
    print(f"\nlibrary loaders\n{'cases tried':<28}{tried:>6}\n{'clean HumokitError':<28}{clean:>6}\n"
          f"{'other outcome':<28}{len(bad):>6}")
    for line in bad:
        print(f"  {line}")

    print("\nmemory of Motion.load (fresh process each; MB): resident after imports, resident peak during the"
          " load,\nadded = peak - after imports, traced = numpy/Python allocations (tracemalloc peak)")
    print(f"{'file':<18}{'size kB':>9}{'declares MB':>12}{'imports':>9}{'peak':>7}{'added':>7}{'traced':>8}{'s':>6}"
          f"  outcome")
    rows = [("walk (baseline)", f["walk"])] + [(k, f[k]) for k in ("bomb_deflate", "bomb_header", "bomb_many")]
    bomb_peaks = []
    def row(name: str, p: Path, extra: str = "") -> float:
        outcome, before, peak, traced, dt = peak_load(p)
        print(f"{name:<18}{p.stat().st_size / 1024:>9.0f}{declared_bytes(p) / 2**20:>12.0f}{before:>9.0f}{peak:>7.0f}"
              f"{peak - before:>7.0f}{traced:>8.1f}{dt:>6.1f}  {outcome[:60]}{extra}")
        return peak - before

    for name, p in rows:
        added = row(name, p)
        if name.startswith("bomb"):
            bomb_peaks.append(added)
    if not a.no_hour:
        walk = builtin_motion("walk", seconds=4.0, fps=120)
        reps = -(-432_000 // walk.num_frames)
        hour = Motion(np.tile(walk.rotations, (reps, 1, 1, 1))[:432_000], np.tile(walk.root_position, (reps, 1))[:432_000],
                      120.0)  # fmt: skip
        p = root / "hour_120fps.npz"
        t1 = time.time()
        hour.save(p)
        save_s = time.time() - t1
        del hour
        row("1 h at 120 fps", p, f" (saved in {save_s:.1f} s)")
        p.unlink()
    print(f"\npeak memory added by loading a bomb: max {max(bomb_peaks):.0f} MB (limit 500 MB)")
    print(f"tracebacks: {len(res['traceback']) + len(bad)} (must be 0); partial outputs: {len(res['partial'])} (must be 0)")


if __name__ == "__main__":
    main()
