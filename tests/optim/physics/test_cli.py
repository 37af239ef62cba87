import json

from click.testing import CliRunner

from humokit.cli import cli

from ._motions import standing


def test_metrics_and_fix(tmp_path):
    src = tmp_path / "sunk.npz"
    standing(T=10, lift=-0.05).save(str(src))
    r = CliRunner().invoke(cli, ["metrics", str(src), "--body", "none", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["penetrate"] > 40
    out = tmp_path / "fixed.npz"
    r = CliRunner().invoke(cli, ["fix", str(src), "-o", str(out), "--body", "none"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["metrics", str(out), "--body", "none", "--json"])
    assert json.loads(r.output)["penetrate"] == 0.0


def test_bad_output_suffix(tmp_path):
    src = tmp_path / "m.npz"
    standing(T=3).save(str(src))
    r = CliRunner().invoke(cli, ["fix", str(src), "-o", str(tmp_path / "x.bvh"), "--body", "none"])
    assert r.exit_code == 2 and "npz" in r.output
