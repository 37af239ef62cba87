"""Option parsing shared by the command-line faces (:mod:`humokit.cli`, :mod:`humokit.export.cli`).

Lives below them so no subcommand imports the top-level CLI; imports nothing but :mod:`humokit.errors`.
"""

from __future__ import annotations

from humokit.errors import HumokitError


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
    return out
