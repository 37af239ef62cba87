"""Reading ``.npz`` files from users without trusting their headers.

An ``.npz`` is a zip of ``.npy`` arrays; a 250 kB file of zeros can declare
gigabytes. :func:`read_npz` looks at every member's zip header (declared and
compressed sizes) and ``.npy`` header (dtype and shape) before any array is
read, and refuses object arrays (pickles), over-large arrays and
decompression bombs with a :class:`~humokit.errors.FileFormatError`. Bounds
are in :mod:`humokit._limits`.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from humokit._limits import MAX_NPZ_ARRAY_BYTES, MAX_NPZ_RATIO, MAX_NPZ_TOTAL_BYTES, NPZ_RATIO_FREE_BYTES
from humokit.errors import FileFormatError

MAX_MEMBERS = 1000


def _declared(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> int:
    """Bytes the array in ``info`` declares in its ``.npy`` header (after dtype checks)."""
    key = info.filename.removesuffix(".npy")
    with zf.open(info) as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"npy format version {version} is not supported")
        except (ValueError, EOFError, OSError, zipfile.BadZipFile) as exc:
            raise FileFormatError(path, f"array {key!r} has a bad header ({exc})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.kind == "V":
        raise FileFormatError(path, f"array {key!r} has dtype {dtype}: object and structured arrays are not read")
    count = math.prod(int(s) for s in shape)
    return count * dtype.itemsize


def check_npz(path: str | Path) -> None:
    """Raise :class:`FileFormatError` unless every member of ``path`` is a plain array of sane size."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise FileFormatError(path, f"{len(infos)} arrays (more than {MAX_MEMBERS})")
            total = packed = 0
            for info in infos:
                key = info.filename.removesuffix(".npy")
                if not info.filename.endswith(".npy") or info.is_dir():
                    raise FileFormatError(path, f"member {info.filename!r} is not a .npy array")
                if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                    raise FileFormatError(path, f"array {key!r}: stored sizes disagree (corrupt file)")
                if info.file_size > NPZ_RATIO_FREE_BYTES and info.file_size > MAX_NPZ_RATIO * max(info.compress_size, 1):
                    raise FileFormatError(
                        path, f"array {key!r} inflates {info.compress_size} bytes to {info.file_size} "
                        f"(more than {MAX_NPZ_RATIO:g}x: a decompression bomb?)")  # fmt: skip
                nbytes = _declared(zf, info, path)
                if nbytes > MAX_NPZ_ARRAY_BYTES or info.file_size > MAX_NPZ_ARRAY_BYTES + 65536:
                    raise FileFormatError(path, f"array {key!r} declares {max(nbytes, info.file_size) / 2**30:.1f} GiB "
                                                f"(limit {MAX_NPZ_ARRAY_BYTES / 2**30:g} GiB)")  # fmt: skip
                if nbytes > info.file_size:
                    raise FileFormatError(path, f"array {key!r} is truncated (header says {nbytes} bytes, "
                                                f"member holds {info.file_size})")  # fmt: skip
                total += nbytes
                packed += info.compress_size
                if total > MAX_NPZ_TOTAL_BYTES:
                    raise FileFormatError(path, f"arrays declare more than {MAX_NPZ_TOTAL_BYTES / 2**30:g} GiB in total")
                if total > NPZ_RATIO_FREE_BYTES and total > MAX_NPZ_RATIO * max(packed, 1):
                    raise FileFormatError(path, f"arrays inflate {packed} bytes to {total} "
                                                f"(more than {MAX_NPZ_RATIO:g}x: a decompression bomb?)")  # fmt: skip
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError) as exc:
        raise FileFormatError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, checked first by :func:`check_npz`; never unpickles.

    Raises:
        FileFormatError: the file is not a zip of plain ``.npy`` arrays within the limits.
        OSError: the file cannot be opened (missing, permissions, a folder).
    """
    path = Path(path)
    with open(path, "rb"):  # OS errors (missing file, folder, permissions) stay OS errors
        pass
    check_npz(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as exc:
        raise FileFormatError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
