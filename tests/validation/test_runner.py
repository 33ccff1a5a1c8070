"""The runner: results.json schema, figures, data, reports, and all-or-nothing writes.

Faults (interruptions, full disks, bad output paths, --only merges) are in
test_report_faults.py."""

import errno
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sciml.validation import Case, Check, Outcome, run_cases

from .synthetic import FAIL, NAN, PASS, RAISE, make_figure

TOP_KEYS = {
    "sciml_version",
    "created",
    "suite",
    "only",
    "partial",
    "interrupted",
    "signal",
    "not_run",
    "ran",
    "kept",
    "machine",
    "versions",
    "cases",
}
MACHINE_KEYS = {"platform", "processor", "cpu_count", "python"}
ENTRY_KEYS = {
    "name",
    "problem",
    "metric",
    "error",
    "tolerance",
    "passed",
    "wall_time_s",
    "precision",
    "suites",
    "run_created",
}


def _reject_constant(token):
    raise ValueError(f"non-standard JSON constant {token}")


def load_strict(path: Path) -> dict:
    return json.loads(path.read_text(), parse_constant=_reject_constant)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` (hidden ones too) with its content."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def report(tmp_path, synthetic_cases):
    return run_cases(synthetic_cases, tmp_path / "out", suite="full")


def test_results_json_schema(report):
    results = load_strict(report.results)
    assert set(results) == TOP_KEYS
    assert results["suite"] == "full"
    assert results["only"] is None
    assert results["partial"] is False and results["interrupted"] is None
    assert results["signal"] is None and results["not_run"] == [] and results["kept"] == []
    assert results["ran"] == [c.name for c in (PASS, FAIL, RAISE, NAN)]
    assert isinstance(results["sciml_version"], str)
    assert results["created"].endswith("+00:00")
    assert set(results["machine"]) == MACHINE_KEYS
    assert isinstance(results["machine"]["cpu_count"], int)
    assert isinstance(results["machine"]["python"], str)
    versions = results["versions"]
    assert {"jax", "numpy", "xarray"} <= set(versions)
    assert all(isinstance(v, str) for v in versions.values())

    entries = results["cases"]
    assert [e["name"] for e in entries] == [
        "synthetic.pass",
        "synthetic.pass",
        "synthetic.fail",
        "synthetic.raise",
        "synthetic.nan",
    ]
    for e in entries:
        expected = ENTRY_KEYS | ({"exception"} if e["metric"] == "exception" else set())
        expected |= {"invalid"} if e["name"] == NAN.name else set()
        assert set(e) == expected
        assert e["run_created"] == results["created"]
        assert e["suites"] == (["quick", "full"] if e["name"] == PASS.name else ["full"])
        assert isinstance(e["name"], str) and isinstance(e["problem"], str)
        assert isinstance(e["metric"], str)
        assert e["error"] is None or isinstance(e["error"], float)
        assert e["tolerance"] is None or isinstance(e["tolerance"], float)
        assert isinstance(e["passed"], bool)
        assert isinstance(e["wall_time_s"], float) and e["wall_time_s"] >= 0.0
        assert e["precision"] in ("float32", "float64")


def test_entries_record_each_outcome(report):
    by_metric = {(e["name"], e["metric"]): e for e in load_strict(report.results)["cases"]}

    ok = by_metric["synthetic.pass", "psi_l2"]
    assert ok["passed"] is True and ok["error"] == 2e-5 and ok["tolerance"] == 1e-4
    assert by_metric["synthetic.pass", "energy_rel"]["passed"] is True

    bad = by_metric["synthetic.fail", "energy_rel"]
    assert bad["passed"] is False and bad["error"] == 1e-2

    raised = by_metric["synthetic.raise", "exception"]
    assert raised["passed"] is False and raised["error"] is None
    assert raised["exception"].startswith("RuntimeError: boom")
    assert "Traceback" in raised["exception"] and "raising_run" in raised["exception"]

    nan = by_metric["synthetic.nan", "psi_l2"]
    assert nan["passed"] is False and nan["error"] is None
    assert nan["precision"] == "float32"

    assert report.passed is False
    assert {e["name"] for e in report.failed} == {
        "synthetic.fail",
        "synthetic.raise",
        "synthetic.nan",
    }
    # The Report holds the same numbers, with NaN where the JSON has null.
    assert math.isnan(next(e for e in report.entries if e["name"] == "synthetic.nan")["error"])


def test_all_passing_report_passes(tmp_path):
    assert run_cases([PASS], tmp_path / "out").passed is True
    assert run_cases([], tmp_path / "empty").passed is False  # nothing checked is no pass


def test_figures_and_data_written(report):
    out = report.out_dir
    png = out / "figures" / "synthetic.pass-wavefunction.png"
    assert report.figures == [png]
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    nc = out / "data" / "synthetic.pass.nc"
    assert report.data == [nc]
    assert sorted(p.name for p in (out / "data").iterdir()) == ["synthetic.pass.nc"]
    with xr.open_dataset(nc, engine="h5netcdf") as ds:
        np.testing.assert_array_equal(ds["psi"].values, np.sin(np.pi * np.linspace(0, 1, 17)))
        np.testing.assert_array_equal(ds["x"].values, np.linspace(0, 1, 17))
        assert ds.attrs["energy_exact"] == 1.5
        assert json.loads(ds.attrs["nested"]) == {"a": 1, "b": [1.0, 2.0]}
        assert ds.attrs["flag"] == 1
        assert "nothing" not in ds.attrs
        assert list(ds.attrs["sizes"]) == [3, 4]
        assert list(ds.attrs["names"]) == ["ground", "first"]
        assert ds["psi"].attrs["units"] == "1"
        assert json.loads(ds["psi"].attrs["meta"]) == {"sign": "fixed"}


def test_markdown_and_html(report):
    md = report.markdown.read_text()
    for case in (PASS, FAIL, RAISE, NAN):
        assert case.name in md
        assert case.description in md
    assert "| PASS |" in md and "**FAIL**" in md
    assert "![synthetic.pass-wavefunction](figures/synthetic.pass-wavefunction.png)" in md
    assert "RuntimeError: boom" in md
    assert "n_collocation: 64" in md
    assert "1.00e-02" in md  # errors in %.2e

    page = report.html.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert '<img src="figures/synthetic.pass-wavefunction.png"' in page
    assert "error &lt; tolerance &amp; more" in page  # text is escaped
    assert "error < tolerance" not in page
    for case in (PASS, FAIL, RAISE, NAN):
        assert case.name in page


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    run_cases([PASS, FAIL], tmp_path / "out", progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""  # the library never prints


def test_malformed_outcomes_fail_their_case(tmp_path):
    class BadFigure:
        def savefig(self, *args, **kwargs):
            raise ValueError("unparsable mathtext")

    cases = [
        Case("bad.returns_none", "p", "Returns no Outcome.", lambda: None),
        Case("bad.no_checks", "p", "No checks.", lambda: Outcome(checks=[])),
        Case(
            "bad.figure",
            "p",
            "A figure that cannot render.",
            lambda: Outcome(checks=[Check("m", 0.0, 1.0)], figures={"f": BadFigure()}),
        ),
        Case(
            "bad.data",
            "p",
            "Data netCDF cannot hold.",
            lambda: Outcome(
                checks=[Check("m", 0.0, 1.0)],
                data=xr.Dataset({"v": ("x", np.array([{}, 1], dtype=object))}),
            ),
        ),
        PASS,
    ]
    out = tmp_path / "out"
    report = run_cases(cases, out)
    failed = {e["name"]: e for e in report.failed}
    assert set(failed) == {"bad.returns_none", "bad.no_checks", "bad.figure", "bad.data"}
    assert "unparsable mathtext" in failed["bad.figure"]["exception"]
    assert "could not write data" in failed["bad.data"]["exception"]
    # The good check of a case whose figure failed is still reported.
    assert any(e["name"] == "bad.figure" and e["passed"] for e in report.entries)
    assert sorted(p.name for p in (out / "data").iterdir()) == ["synthetic.pass.nc"]
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "synthetic.pass-wavefunction.png"
    ]


def test_stale_files_of_earlier_runs_are_removed(tmp_path):
    out = tmp_path / "out"
    first = run_cases([PASS], out).run_dir
    run_cases([FAIL], out)
    assert list((out / "figures").iterdir()) == []
    assert list((out / "data").iterdir()) == []
    assert [e["name"] for e in load_strict(out / "results.json")["cases"]] == [
        "synthetic.fail"
    ]
    assert not first.exists()  # the previous run directory is deleted once replaced
    assert sorted(p.name for p in (tmp_path / "out.runs").iterdir()) == [
        ".gitignore",
        os.readlink(out).split("/")[1],
    ]


def test_published_by_one_symlink_flip(tmp_path, monkeypatch):
    out = tmp_path / "out"
    replaced = []
    real_replace = os.replace

    def recording_replace(src, dst):
        replaced.append(Path(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    report = run_cases([PASS, FAIL], out)
    # Every file goes into the unpublished run directory; then one rename publishes it.
    assert replaced[-1] == out and out.is_symlink()
    assert os.readlink(out) == f"out.runs/{report.run_dir.name}"
    files = {p.relative_to(report.run_dir).as_posix() for p in replaced[:-1]
             if p.parent.name != "out.runs"}  # (the pid file and .gitignore)
    assert files == {
        "figures/synthetic.pass-wavefunction.png",
        "data/synthetic.pass.nc",
        "records/synthetic.pass.json",
        "records/synthetic.fail.json",
        "report.md",
        "report.html",
        "results.json",
    }
    assert not (tmp_path / "out.runs" / f"{report.run_dir.name}.pid").exists()


class DiskFullFigure:
    """A figure whose saving dies midway, like a full disk."""

    def savefig(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"\x89PNG partial")
        raise OSError(errno.ENOSPC, "No space left on device")


def _disk_full_case():
    return Case(
        "synthetic.disk_full",
        "synthetic_problem",
        "Saving its figure fails.",
        lambda: Outcome(checks=[Check("m", 0.0, 1.0)], figures={"f": DiskFullFigure()}),
    )


@pytest.mark.parametrize("breaking", ["figure", "data"])
def test_failed_write_leaves_previous_report_intact(tmp_path, monkeypatch, breaking):
    out = tmp_path / "out"
    run_cases([PASS, FAIL], out, suite="full")
    before = snapshot(out)
    assert "results.json" in before

    # The second run stages new figures and data for PASS, then breaks.
    if breaking == "figure":
        cases, error = [PASS, _disk_full_case()], OSError
    elif breaking == "data":

        def disk_full(data, path):
            Path(path).write_bytes(b"\x89HDF partial")
            raise OSError(errno.ENOSPC, "No space left on device")

        from sciml.validation import runner

        monkeypatch.setattr(runner, "to_netcdf", disk_full)
        cases, error = [FAIL, PASS], OSError

    with pytest.raises(error, match="cannot write .*synthetic"):
        run_cases(cases, out)

    assert snapshot(out) == before  # no file replaced, no temporary left
    assert load_strict(out / "results.json")["suite"] == "full"
    # The unpublished run directory is gone: only the published one is left.
    assert sorted(p.name for p in (tmp_path / "out.runs").iterdir()) == [
        ".gitignore",
        os.readlink(out).split("/")[1],
    ]


def test_figures_are_closed(tmp_path):
    import matplotlib.pyplot as plt

    def run():
        fig, ax = plt.subplots()
        ax.plot([0, 1])
        return Outcome(
            checks=[Check("m", 0.0, 1.0)], figures={"pyplot": fig, "bare": make_figure()}
        )

    def malformed():
        fig, _ = plt.subplots()
        return Outcome(checks=[], figures={"f": fig})

    n_open = len(plt.get_fignums())
    cases = [
        Case("synthetic.pyplot", "p", "Pyplot figure.", run),
        Case("synthetic.malformed", "p", "No checks, one figure.", malformed),
    ]
    run_cases(cases, tmp_path / "out")
    assert len(plt.get_fignums()) == n_open
    assert (tmp_path / "out" / "figures" / "synthetic.pyplot-pyplot.png").exists()
