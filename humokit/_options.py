"""Option parsing shared by the command-line faces (``humokit.cli`` and the subcommands' ``cli`` modules).

Lives below them so no subcommand imports the top-level CLI. The click
parameter types check every number in the parser: each rejects NaN,
infinities and out-of-range values with click's usual ``Invalid value for
'--x'`` message naming the valid range (exit status 2),
before the command allocates anything; the range is shown in ``--help``.
Bounds come from :mod:`humokit._limits`.
"""

from __future__ import annotations

import math
from typing import Any

import click

from humokit._limits import MAX_FPS, MAX_FRAMES, MAX_SECONDS, MIN_FPS
from humokit.errors import HumokitError


class FiniteFloat(click.FloatRange):
    """A float in a range, NaN and infinities refused (``click.FloatRange`` lets NaN through)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number in the range {self._describe_range()}.", param, ctx)
        return rv


MAX_VIEWS = 64
MAX_PIXELS = 4096
MAX_SEED = 2**32 - 1

FPS = FiniteFloat(MIN_FPS, MAX_FPS)
SECONDS = FiniteFloat(0.1, MAX_SECONDS)
FRAMES = click.IntRange(1, MAX_FRAMES)
VIEWS = click.IntRange(1, MAX_VIEWS)
PIXELS = click.IntRange(16, MAX_PIXELS)
FOV = FiniteFloat(1.0, 170.0)
SEED = click.IntRange(0, MAX_SEED)
STEPS = click.IntRange(1, 1000)
GUIDANCE = FiniteFloat(0.0, 50.0)
FOCAL = FiniteFloat(1.0, 1e6)
THREADS = click.IntRange(1, 256)
CAMERA_HEIGHT = FiniteFloat(0.05, 100.0)  # metres above the ground


class ImageSize(click.ParamType):
    """``WIDTHxHEIGHT`` in pixels, each a multiple of 16 in [16, 4096]; normalised to ``"WxH"``."""

    name = "WxH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).lower().replace(" ", "")
        w, sep, h = text.partition("x")
        try:
            wh = (int(w), int(h)) if sep else None
        except ValueError:
            wh = None
        if wh is None:
            self.fail(f"{value!r} is not WIDTHxHEIGHT (e.g. 512x512).", param, ctx)
        if not all(16 <= v <= MAX_PIXELS and v % 16 == 0 for v in wh):
            self.fail(f"{value!r}: width and height must be multiples of 16 in [16, {MAX_PIXELS}].", param, ctx)
        return f"{wh[0]}x{wh[1]}"


IMAGE_SIZE = ImageSize()


def parse_phenotype(items: tuple[str, ...]) -> dict[str, float]:
    """``("height=0.8", "gender=0")`` -> ``{"height": 0.8, "gender": 0.0}``; one-line errors on bad items."""
    out = {}
    for it in items:
        k, sep, v = it.partition("=")
        if not sep:
            raise HumokitError(f"--phenotype {it!r}: expected KEY=VALUE")
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise HumokitError(f"--phenotype {it!r}: {v!r} is not a number") from None
        if not math.isfinite(out[k.strip()]):
            raise HumokitError(f"--phenotype {it!r}: {v!r} is not a finite number")
    return out
