"""Property test over every command's option parser: any value is a click usage error or a value in range.

The parser runs without the command (``make_context``), so thousands of
argument lists cost milliseconds each; nothing is computed or written.
"""

from __future__ import annotations

import math

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from humokit._options import FiniteFloat, ImageSize
from humokit.cli import cli


def _commands():
    out = []

    def walk(group, prefix):
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if isinstance(cmd, click.Group):
                walk(cmd, prefix + [name])
            elif cmd is not None:
                out.append((" ".join(prefix + [name]), cmd))

    walk(cli, [])
    return out


COMMANDS = _commands()

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e308", "-0", "0", "0x10", "1_000", " 5", "", "--", "-1", "512x512",
                     "0x0", "4096x4096", "16x16", "99999999999999999999999", "1e-300", "a,b,c", "0,0,0"]),
    st.integers(-(2**80), 2**80).map(str),
    st.text(max_size=12),
).filter(lambda v: "\x00" not in v)  # argv cannot carry NUL bytes


def _placeholder(param: click.Argument, tmp) -> str:
    return str(tmp / "in.npz") if isinstance(param.type, click.Path) else "a person walks"


def _check_value(param: click.Parameter, value):
    t = param.type
    if value is None:
        return
    if isinstance(t, (click.FloatRange, click.IntRange)):
        vals = value if isinstance(value, tuple) else (value,)
        for v in vals:
            assert math.isfinite(v) or not isinstance(t, FiniteFloat), (param.name, v)
            if t.min is not None:
                assert v >= t.min, (param.name, v)
            if t.max is not None:
                assert v <= t.max, (param.name, v)
    if isinstance(t, ImageSize):
        w, h = (int(x) for x in value.split("x"))
        assert 16 <= w <= 4096 and 16 <= h <= 4096 and w % 16 == 0 and h % 16 == 0


@pytest.mark.parametrize("name,cmd", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_option_parser_fuzz(name, cmd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("opt")
    (tmp / "in.npz").write_bytes(b"x")
    options = [p for p in cmd.params if isinstance(p, click.Option) and not p.is_flag and not p.count
               and "--help" not in p.opts]  # fmt: skip
    positional = [_placeholder(p, tmp) for p in cmd.params if isinstance(p, click.Argument) and p.required]
    if not options:
        pytest.skip(f"{name} has no valued options")

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(chosen=st.lists(st.tuples(st.sampled_from(options), values), min_size=1, max_size=4))
    def run(chosen):
        args = list(positional)
        for opt, v in chosen:
            args += [opt.opts[-1], v]
        if any(o.required for o in options) and "-o" not in args and "--output" not in args and "--out" not in args:
            req = next(o for o in options if o.required)
            args += [req.opts[-1], str(tmp / "out")]
        try:
            ctx = cmd.make_context(name, args)
        except click.exceptions.ClickException:
            return  # usage error: click prints it with the valid range, exit 2
        except click.exceptions.Exit:
            return
        for p in cmd.params:
            _check_value(p, ctx.params.get(p.name))

    run()


def test_every_numeric_option_is_range_checked():
    """No command takes a bare float/int option: each names its range (shown in --help)."""
    bare = []
    for name, cmd in COMMANDS:
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.is_flag and not p.count:
                if p.type in (click.FLOAT, click.INT):
                    bare.append(f"{name} {p.opts[-1]}")
    assert bare == []


def test_grounding_nan_is_a_parser_error(tmp_path):
    """Found by the fuzz above: click's FloatRange lets NaN through; --grounding uses the finite type."""
    from click.testing import CliRunner

    res = CliRunner().invoke(cli, ["generate", "a person walks", "-o", str(tmp_path / "g.npz"), "--grounding", "nan"])
    assert res.exit_code == 2 and "--grounding" in res.output and not (tmp_path / "g.npz").exists()
