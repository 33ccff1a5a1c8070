"""Faults of `sciml validate` and its report (issue 12): interruptions (SIGINT, SIGTERM),
cases raising, a full disk at every write and commit point, bad output paths, `--only`
merges and error measures that cannot pass. All on synthetic cases, no training."""

import errno
import json
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from sciml.cli import main
from sciml.validation import Case, Check, Outcome, run_cases
from sciml.validation import runner as runner_module
from sciml.validation.runner import Interrupted

from .synthetic import PASS, RAISE, make_dataset, make_figure
from .test_runner import load_strict, snapshot

ENOSPC = os.strerror(errno.ENOSPC)


def tracked(name: str, log: list[str], suites=("full",)) -> Case:
    """A passing case with a figure and data that appends its name to `log` when it runs."""

    def run():
        log.append(name)
        return Outcome(
            checks=[Check("m", 0.0, 1.0)],
            figures={"f": make_figure()},
            data=make_dataset(),
            info={"ran": name},
        )

    return Case(name, "synthetic_problem", f"The case {name}.", run, suites=suites)


def raising(name: str, exc: BaseException | type[BaseException]) -> Case:
    def run():
        raise exc

    return Case(name, "synthetic_problem", f"{name} raises.", run)


def cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The CLI's one-line error message: the last line of stderr, with no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("sciml validate: error: ")
    assert sum(line.startswith("sciml validate:") for line in lines) == 1
    return lines[-1]


def run_names(out: Path) -> list[str]:
    """The run directories and pid files next to `out`."""
    runs = out.parent / f"{out.name}.runs"
    return sorted(p.name for p in runs.iterdir() if p.name != ".gitignore") if runs.exists() else []


def file_names(out: Path, sub: str) -> list[str]:
    return sorted(p.name for p in (out / sub).iterdir())


# --------------------------------------------------------------------------------------
# Interruptions


@pytest.mark.parametrize("k", [0, 1, 2])
def test_interrupt_after_k_cases_publishes_a_partial_report(tmp_path, k):
    log: list[str] = []
    done = [tracked(f"c.{i}", log) for i in range(k)]
    cases = [*done, raising("c.stop", KeyboardInterrupt), tracked("c.after", log)]
    out = tmp_path / "out"
    run_cases([PASS], out)  # a previous report, replaced by the partial one

    with pytest.raises(Interrupted) as info:
        run_cases(cases, out, suite="full")

    e = info.value
    assert isinstance(e, KeyboardInterrupt)
    assert e.signum == signal.SIGINT and e.case == "c.stop"
    assert e.report.partial and e.report.interrupted == "c.stop"
    assert log == [c.name for c in done]  # nothing ran after the interrupt

    results = load_strict(out / "results.json")
    assert results["partial"] is True
    assert results["interrupted"] == "c.stop" and results["signal"] == "SIGINT"
    assert results["ran"] == [c.name for c in done]
    assert results["not_run"] == ["c.after"]
    assert [e["name"] for e in results["cases"]] == [c.name for c in done]
    assert file_names(out, "figures") == [f"c.{i}-f.png" for i in range(k)]
    assert file_names(out, "data") == [f"c.{i}.nc" for i in range(k)]

    md = (out / "report.md").read_text()
    assert md.startswith("# sciml validation report (PARTIAL)")
    banner = md.splitlines()[2]
    assert "PARTIAL REPORT" in banner and "c.stop" in banner and "c.after" in banner
    assert f"{k} case(s) finished" in banner
    page = (out / "report.html").read_text()
    assert "PARTIAL REPORT" in page and "c.stop" in page


def test_interrupt_while_a_case_writes_its_files_drops_them(tmp_path):
    class Interrupting:
        def savefig(self, *args, **kwargs):
            raise KeyboardInterrupt

    log: list[str] = []
    cut = Case(
        "c.cut",
        "p",
        "Interrupted while its second figure is saved.",
        lambda: Outcome(
            checks=[Check("m", 0.0, 1.0)], figures={"a": make_figure(), "b": Interrupting()}
        ),
    )
    out = tmp_path / "out"
    with pytest.raises(Interrupted):
        run_cases([tracked("c.0", log), cut], out)
    results = load_strict(out / "results.json")
    assert results["ran"] == ["c.0"] and results["interrupted"] == "c.cut"
    assert file_names(out, "figures") == ["c.0-f.png"]  # not c.cut-a.png
    assert file_names(out, "records") == ["c.0.json"]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_through_the_cli(tmp_path, capsys, patch_registry, signum, code):
    def signalled():
        os.kill(os.getpid(), signum)
        for _ in range(500):  # the handler runs at the next bytecode, within the sleep
            time.sleep(0.01)
        raise AssertionError("the signal did not interrupt the case")

    log: list[str] = []
    first, last = tracked("c.first", log), tracked("c.last", log)
    patch_registry([first, Case("c.signalled", "p", "Gets a signal.", signalled), last])
    out = tmp_path / "out"
    term_before = signal.getsignal(signal.SIGTERM)

    got, _, err = cli(["validate", "--suite", "full", "--out", str(out), "--no-progress"], capsys)

    assert got == code
    assert signal.getsignal(signal.SIGTERM) is term_before  # handler restored
    assert log == ["c.first"]
    results = load_strict(out / "results.json")
    assert results["partial"] is True and results["interrupted"] == "c.signalled"
    assert results["signal"] == signal.Signals(signum).name
    assert results["ran"] == ["c.first"] and results["not_run"] == ["c.last"]
    assert "Traceback" not in err
    last_line = err.strip().splitlines()[-1]
    assert "interrupted by" in last_line and "partial report" in last_line
    assert str(out / "report.md") in last_line


# --------------------------------------------------------------------------------------
# Cases that raise


def test_cases_raising_systemexit_or_errors_are_recorded(tmp_path, capsys, patch_registry):
    log: list[str] = []
    exits = raising("c.exits", SystemExit(3))
    patch_registry([exits, RAISE, tracked("c.after", log)])
    out = tmp_path / "out"
    code, stdout, _ = cli(["validate", "--suite", "full", "--out", str(out)], capsys)
    assert code == 1
    assert log == ["c.after"]  # later cases still ran
    entries = {e["name"]: e for e in load_strict(out / "results.json")["cases"]}
    assert entries["c.exits"]["metric"] == "exception"
    assert entries["c.exits"]["exception"].startswith("SystemExit: 3")
    assert "Traceback" in entries["c.exits"]["exception"]
    assert entries[RAISE.name]["exception"].startswith("RuntimeError: boom")
    assert "Traceback" in entries[RAISE.name]["exception"]
    assert entries["c.after"]["passed"] is True
    assert "SystemExit: 3" in (out / "report.md").read_text()


# --------------------------------------------------------------------------------------
# --only keeps the other cases


def test_only_merges_into_the_report(tmp_path, capsys, patch_registry):
    log: list[str] = []
    a = tracked("merge.a", log, suites=("quick",))
    b = tracked("merge.b", log)  # full only
    patch_registry([a, b])
    out = tmp_path / "out"
    assert cli(["validate", "--suite", "full", "--out", str(out)], capsys)[0] == 0
    first = load_strict(out / "results.json")
    kept_files = {
        rel: (out / rel).read_bytes() for rel in ("figures/merge.a-f.png", "data/merge.a.nc")
    }

    log.clear()
    code, stdout, _ = cli(["validate", "--only", "merge.b", "--out", str(out)], capsys)
    assert code == 0 and log == ["merge.b"]
    assert "kept from the previous report: merge.a" in stdout
    results = load_strict(out / "results.json")
    assert results["only"] == ["merge.b"]
    assert results["suite"] is None  # chosen by name, not claimed as any suite
    assert results["ran"] == ["merge.b"] and results["kept"] == ["merge.a"]
    entries = {e["name"]: e for e in results["cases"]}
    assert entries["merge.a"]["suites"] == ["quick", "full"]
    assert entries["merge.b"]["suites"] == ["full"]
    assert entries["merge.a"]["run_created"] == first["created"]
    assert entries["merge.b"]["run_created"] == results["created"]
    for rel, content in kept_files.items():
        assert (out / rel).read_bytes() == content
    assert file_names(out, "figures") == ["merge.a-f.png", "merge.b-f.png"]
    assert file_names(out, "data") == ["merge.a.nc", "merge.b.nc"]
    md = (out / "report.md").read_text()
    assert "The case merge.a." in md and "ran: merge.a" in md  # re-rendered from its record
    assert "merge.a-f.png" in md and "Kept from earlier runs:** merge.a" in md

    # A full run afterwards holds exactly its own cases again.
    assert cli(["validate", "--suite", "quick", "--out", str(out)], capsys)[0] == 0
    assert load_strict(out / "results.json")["kept"] == []
    assert file_names(out, "figures") == ["merge.a-f.png"]


@pytest.mark.parametrize("damage", ["figures/merge.a-f.png", "data/merge.a.nc",
                                    "records/merge.a.json"])
def test_only_refuses_to_keep_a_changed_file(tmp_path, capsys, patch_registry, damage):
    log: list[str] = []
    patch_registry([tracked("merge.a", log, suites=("quick",)), tracked("merge.b", log)])
    out = tmp_path / "out"
    assert cli(["validate", "--suite", "full", "--out", str(out)], capsys)[0] == 0
    before = snapshot(out)
    target = out / damage
    b = bytearray(target.read_bytes())
    b[len(b) // 2] ^= 0x01  # one flipped bit, in place (the run's own file)
    target.write_bytes(bytes(b))
    log.clear()
    code, _, err = cli(["validate", "--only", "merge.b", "--out", str(out)], capsys)
    assert code == 2 and log == []  # refused before any case ran
    assert "has changed since it was written" in err and "Traceback" not in err
    after = snapshot(out)
    assert after.keys() == before.keys()  # the report is the old run's, damage included


def write_legacy_report(out: Path) -> None:
    """A report directory as versions before run directories wrote it (no records)."""
    (out / "figures").mkdir(parents=True)
    (out / "data").mkdir()
    entry = {"name": "merge.a", "problem": "synthetic_problem", "metric": "m", "error": 0.0,
             "tolerance": 1.0, "passed": True, "wall_time_s": 0.5, "precision": "float64"}
    results = {"sciml_version": "0.0", "created": "2020-01-01T00:00:00+00:00",
               "suite": "quick", "machine": {}, "versions": {}, "cases": [entry]}
    (out / "results.json").write_text(json.dumps(results))
    (out / "report.md").write_text("# sciml validation report\n\nold\n")
    (out / "report.html").write_text("<html>old</html>\n")
    (out / "figures" / "merge.a-f.png").write_bytes(b"\x89PNG old")
    (out / "data" / "merge.a.nc").write_bytes(b"old data")


def test_only_merges_into_a_report_of_an_older_version(tmp_path, capsys, patch_registry):
    log: list[str] = []
    patch_registry([tracked("merge.a", log), tracked("merge.b", log)])
    out = tmp_path / "out"
    write_legacy_report(out)
    code, _, _ = cli(["validate", "--only", "merge.b", "--out", str(out)], capsys)
    assert code == 0 and log == ["merge.b"]
    assert out.is_symlink()  # migrated
    results = load_strict(out / "results.json")
    assert results["kept"] == ["merge.a"]
    kept = next(e for e in results["cases"] if e["name"] == "merge.a")
    assert kept["run_created"] == "2020-01-01T00:00:00+00:00" and kept["suites"] is None
    assert (out / "figures" / "merge.a-f.png").read_bytes() == b"\x89PNG old"
    assert (out / "data" / "merge.a.nc").read_bytes() == b"old data"
    assert run_names(out) == [os.readlink(out).split("/")[1]]  # the old directory is gone


def test_unreadable_previous_report_with_only_exits_2(tmp_path, capsys, patch_registry):
    log: list[str] = []
    patch_registry([tracked("merge.a", log)])
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("{not json")
    code, _, err = cli(["validate", "--only", "merge.a", "--out", str(out)], capsys)
    assert code == 2 and log == []
    assert str(out) in error_line(err)


# --------------------------------------------------------------------------------------
# Bad output paths: exit 2 before anything runs


def deny_writes_under(monkeypatch, directory: Path) -> None:
    """Make creating files under `directory` fail with EACCES (as root, chmod does not)."""
    real_open = os.open

    def guarded(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and str(path).startswith(str(directory) + os.sep):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)


@pytest.mark.parametrize(
    "kind",
    ["file", "parent_is_file", "unwritable_parent", "unwritable_dir", "not_a_report",
     "foreign_symlink", "dataset_cache"],
)
def test_bad_output_exits_2_before_any_case(tmp_path, capsys, patch_registry, monkeypatch,
                                            kind):
    log: list[str] = []
    case = tracked("c.only", log)
    out = tmp_path / "out"
    named = out
    if kind == "file":
        out.write_text("not a directory")
    elif kind == "parent_is_file":
        (tmp_path / "file").write_text("x")
        out = named = tmp_path / "file" / "out"
    elif kind == "unwritable_parent":
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        out, named = ro / "out", ro
        deny_writes_under(monkeypatch, ro)
    elif kind == "unwritable_dir":
        out.mkdir(mode=0o500)
        deny_writes_under(monkeypatch, out)
    elif kind == "not_a_report":
        out.mkdir()
        (out / "thesis.tex").write_text("precious")
    elif kind == "foreign_symlink":
        (tmp_path / "elsewhere").mkdir()
        out.symlink_to(tmp_path / "elsewhere")
    elif kind == "dataset_cache":
        from sciml.datasets import dataset_names

        case = tracked("c.only", log)
        case = Case(case.name, dataset_names()[0], case.description, case.run)
        cache = tmp_path / "cache-is-a-file"
        cache.write_text("x")
        monkeypatch.setenv("SCIML_DATA_DIR", str(cache))
        named = cache
    patch_registry([case])
    before = snapshot(tmp_path)

    code, _, err = cli(["validate", "--suite", "full", "--out", str(out)], capsys)

    assert code == 2
    assert log == []  # no case ran
    line = error_line(err)
    assert str(named) in line
    if kind == "dataset_cache":
        assert "dataset cache directory" in line
    elif kind == "foreign_symlink":
        assert os.readlink(out) == str(tmp_path / "elsewhere")
    else:  # nothing written, nothing moved
        assert snapshot(tmp_path) == before
    for p in (tmp_path / "ro", out):
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o700)


def test_missing_dependency_exits_2(tmp_path, capsys, monkeypatch):
    from sciml.validation import registry

    def missing():
        raise ModuleNotFoundError("No module named 'h5netcdf'", name="h5netcdf")

    monkeypatch.setattr(registry, "all_cases", missing)
    code, _, err = cli(["validate", "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "missing dependency" in error_line(err) and "h5netcdf" in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------
# A full disk at each of the toolkit's write and commit points


class Points:
    """Counts the toolkit's write and commit points under `root`; makes call `fail` of
    point `point` raise ENOSPC (after writing part of the file, for content writers)."""

    def __init__(self, monkeypatch, root: Path, point: str | None = None, fail: int = -1):
        self.root, self.point, self.fail = str(root), point, fail
        self.counts: dict[str, int] = {}
        mp = monkeypatch
        real = {n: getattr(os, n) for n in
                ("open", "fsync", "replace", "rename", "link", "symlink", "mkdir")}

        def under(path) -> bool:
            return str(path).startswith(self.root)

        def wrap(name, relevant):
            def wrapped(*args, **kwargs):
                if relevant(*args, **kwargs):
                    self.hit(name)
                return real[name](*args, **kwargs)

            mp.setattr(os, name, wrapped)

        wrap("open", lambda path, flags, *a, **k: bool(flags & os.O_CREAT) and under(path))
        wrap("fsync", lambda fd: _is_file_under(fd, self.root))
        wrap("replace", lambda src, dst, **k: under(dst))
        wrap("rename", lambda src, dst, **k: under(dst))
        wrap("link", lambda src, dst, **k: under(dst))
        wrap("symlink", lambda src, dst, **k: under(dst))
        # (mkdir of an existing directory is no write: pathlib ignores its errors)
        wrap("mkdir", lambda path, *a, **k: under(path) and not os.path.exists(path))

        import sciml.io

        def io_open(file, mode="r", *args, **kwargs):
            f = open(file, mode, *args, **kwargs)
            if "w" in mode and under(file):
                self.hit("write", f.close)
            return f

        mp.setattr(sciml.io, "open", io_open, raising=False)

        real_fig, real_data = runner_module._save_figure, runner_module.to_netcdf

        def save_figure(fig, path):
            self.hit("figure", lambda: Path(path).write_bytes(b"\x89PNG partial"))
            real_fig(fig, path)

        def to_netcdf(data, path):
            self.hit("data", lambda: Path(path).write_bytes(b"\x89HDF partial"))
            real_data(data, path)

        mp.setattr(runner_module, "_save_figure", save_figure)
        mp.setattr(runner_module, "to_netcdf", to_netcdf)

    def hit(self, name: str, before_failing=None) -> None:
        i = self.counts.get(name, 0)
        self.counts[name] = i + 1
        if name == self.point and i == self.fail:
            if before_failing is not None:
                before_failing()
            raise OSError(errno.ENOSPC, ENOSPC)


def _is_file_under(fd: int, root: str) -> bool:
    try:
        path = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return False
    return path.startswith(root) and os.path.isfile(path)


# The points of the second run of each scenario, counted on a successful run
# (test_write_points_are_enumerated checks this table against such a run). "merge":
# `--only merge.b` into a report of merge.a and merge.b; "legacy": the same into a report
# directory of an older version, migrated on the way.
POINTS = {
    "merge": {"open": 12, "write": 6, "fsync": 8, "replace": 9, "symlink": 1, "mkdir": 4,
              "link": 2, "figure": 1, "data": 1},
    "legacy": {"open": 15, "write": 7, "fsync": 9, "replace": 10, "symlink": 1, "mkdir": 5,
               "link": 2, "figure": 1, "data": 1, "rename": 1},
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """The report each scenario starts from, made once and copied by each test."""
    root = tmp_path_factory.mktemp("templates")
    log: list[str] = []
    merge = root / "merge" / "out"
    merge.parent.mkdir()
    run_cases([tracked("merge.a", log), tracked("merge.b", log)], merge)
    write_legacy_report(root / "legacy" / "out")
    return root


def scenario(templates, tmp_path, name, patch_registry) -> Path:
    shutil.copytree(templates / name, tmp_path / "w", symlinks=True)
    log: list[str] = []
    patch_registry([tracked("merge.a", log), tracked("merge.b", log)])
    return tmp_path / "w" / "out"


ARGV = ["validate", "--only", "merge.b", "--no-progress", "--out"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc/self/fd")
@pytest.mark.parametrize("name", sorted(POINTS))
def test_write_points_are_enumerated(templates, tmp_path, capsys, monkeypatch,
                                     patch_registry, name):
    out = scenario(templates, tmp_path, name, patch_registry)
    points = Points(monkeypatch, tmp_path)
    code, _, _ = cli([*ARGV, str(out)], capsys)
    monkeypatch.undo()
    assert code == 0
    assert points.counts == POINTS[name]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc/self/fd")
@pytest.mark.parametrize(
    ("name", "point", "index"),
    [(s, p, i) for s, table in sorted(POINTS.items()) for p, n in table.items()
     for i in range(n)],
)
def test_full_disk_at_each_write_point(templates, tmp_path, capsys, monkeypatch,
                                       patch_registry, name, point, index):
    out = scenario(templates, tmp_path, name, patch_registry)
    old = snapshot(out)
    old_runs = run_names(out)
    Points(monkeypatch, tmp_path, point, index)

    code, _, err = cli([*ARGV, str(out)], capsys)
    monkeypatch.undo()

    # Every point comes before the flip, so the report is entirely the old one.
    assert code == 2
    line = error_line(err)
    assert str(tmp_path) in line and ENOSPC in line
    assert snapshot(out) == old
    assert out.is_symlink() == (name == "merge")
    assert run_names(out) == old_runs  # no half-built run, no pid file left
    assert {p.name for p in out.parent.iterdir()} <= {"out", "out.runs"}  # no temporary link


def test_stale_run_directories_are_cleaned(tmp_path):
    out = tmp_path / "out"
    run_cases([PASS], out)
    runs = tmp_path / "out.runs"
    dead, alive = runs / "20000101T000000Z-dead00", runs / "20000101T000000Z-live00"
    for d in (dead, alive):
        (d / "figures").mkdir(parents=True)
    (runs / f"{dead.name}.pid").write_text("999999999\n")  # no such process
    (runs / f"{alive.name}.pid").write_text(f"{os.getppid()}\n")  # building elsewhere
    report = run_cases([PASS], out)
    assert sorted(p.name for p in runs.iterdir()) == sorted(
        [".gitignore", report.run_dir.name, alive.name, f"{alive.name}.pid"]
    )


# --------------------------------------------------------------------------------------
# Error measures that cannot pass


@pytest.mark.parametrize(
    ("error", "why"),
    [(-1e-3, "negative"), (math.nan, "NaN"), (math.inf, "infinite"), (-math.inf, "infinite")],
)
def test_negative_or_nan_error_never_passes(tmp_path, error, why):
    check = Check("m", error, 1.0)
    assert check.passed is False and why in check.invalid
    case = Case("bad.error", "p", "A bad error measure.", lambda: Outcome(checks=[check]))
    report = run_cases([case], tmp_path / "out")
    assert report.passed is False
    (entry,) = load_strict(report.results)["cases"]
    assert entry["passed"] is False and why in entry["invalid"]
    assert "FAIL (the error is" in report.markdown.read_text()


def test_zero_error_passes():
    assert Check("m", 0.0, 0.0).passed and Check("m", 0.0, 0.0).invalid is None
    assert not Check("m", 1e-3, -1.0).passed


def test_suite_must_hold_the_cases(tmp_path):
    with pytest.raises(ValueError, match="not in suite 'quick'"):
        run_cases([raising("c.full_only", RuntimeError)], tmp_path / "out", suite="quick")
    assert not (tmp_path / "out").exists()
