"""`sciml validate` and `sciml --version`: exit codes, listing and output."""

import json
import subprocess
import sys

import pytest

from sciml import __version__
from sciml.cli import main

from .synthetic import ALL, FAIL, PASS


@pytest.fixture(autouse=True)
def synthetic_registry(patch_registry):
    patch_registry(ALL)


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_all_passing_exits_0(tmp_path, capsys):
    out_dir = tmp_path / "report"
    code, out, _ = run(
        ["validate", "--suite", "quick", "--out", str(out_dir), "--no-progress"], capsys
    )
    assert code == 0
    assert "synthetic.pass" in out and "synthetic.fail" not in out  # quick holds PASS only
    assert "2/2 checks passed" in out
    assert f"report: {out_dir / 'report.md'}" in out
    results = json.loads((out_dir / "results.json").read_text())
    assert results["suite"] == "quick"
    assert {e["name"] for e in results["cases"]} == {"synthetic.pass"}


def test_a_failure_exits_1(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = run(["validate", "--suite", "full", "--out", str(out_dir)], capsys)
    assert code == 1
    for case in ALL:
        assert case.name in out
    assert "FAIL" in out and "PASS" in out
    assert "synthetic.raise" in err  # logged at INFO to stderr
    assert (out_dir / "report.html").exists()


def test_only_selects_cases(tmp_path, capsys):
    tmp_path = tmp_path / "out"
    argv = ["validate", "--only", PASS.name, "--out", str(tmp_path), "--no-progress"]
    assert run(argv, capsys)[0] == 0
    argv = ["validate", "--only", PASS.name, FAIL.name, "--out", str(tmp_path), "--no-progress"]
    assert run(argv, capsys)[0] == 1
    # A prefix up to a dot selects every case under it.
    argv = ["validate", "--only", "synthetic", "--out", str(tmp_path), "--no-progress"]
    code, out, _ = run(argv, capsys)
    assert code == 1 and all(c.name in out for c in ALL)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "--only", "no_such_case"], "no validation case named 'no_such_case'"),
        (["validate", "--suite", "nightly"], "unknown suite 'nightly'"),
        (["validate", "--suite", "nightly", "--list"], "unknown suite 'nightly'"),
        (["train-potentials", "--models", "cu-nope"], "unknown model(s) ['cu-nope']"),
        (["train-potentials", "--steps", "0"], "--steps must be a positive integer"),
    ],
)
def test_usage_errors_exit_2(tmp_path, capsys, argv, message):
    code, out, err = run([*argv, "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert message in err
    assert out == ""
    assert not (tmp_path / "out").exists()


def test_argparse_errors_exit_2(capsys):
    assert run(["validate", "--frobnicate"], capsys)[0] == 2
    assert run(["frobnicate"], capsys)[0] == 2
    code, _, err = run([], capsys)
    assert code == 2 and "validate" in err


def test_list(tmp_path, capsys):
    code, out, _ = run(
        ["validate", "--list", "--suite", "full", "--out", str(tmp_path / "o")], capsys
    )
    assert code == 0
    for case in ALL:
        assert case.name in out and case.description in out
    assert "quick,full" in out  # PASS's suites
    assert not (tmp_path / "o").exists()  # listing runs nothing

    code, out, _ = run(["validate", "--list"], capsys)
    assert code == 0 and PASS.name in out and FAIL.name not in out


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"sciml {__version__}"


def test_version_imports_nothing_heavy():
    code = (
        "import sys; from sciml.cli import main; rc = main(['--version']); "
        "heavy = [m for m in ('jax', 'sciml.validation', 'matplotlib', 'xarray') "
        "if m in sys.modules]; print(rc, heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines()[-1] == "0 []"


def test_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "sciml.cli", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"sciml {__version__}"
