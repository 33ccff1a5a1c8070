"""Run validation cases and publish their report.

`run_cases` runs each case and publishes one report directory. The report at `out` is a
symlink to the directory of the run that published it, next to the other runs:

```
out -> out.runs/<run>      the published report (a symlink, flipped atomically)
out.runs/<run>/
    results.json           machine-readable results (strict JSON)
    report.md, report.html the human-readable report
    figures/<case>-<fig>.png   every figure of every case
    data/<case>.nc         each case's `Outcome.data` (netCDF4 via h5netcdf)
    records/<case>.json    each case's full result (see `_report`), written as it finishes
out.runs/<run>.pid         the process building <run>; removed once it is published
```

How a run goes (POSIX):

1. Before any case runs, the output is checked: `out` may be missing, a symlink made by an
   earlier run, or a report directory of an older version (or an empty directory), and
   nothing else; `out`'s parent and `out.runs` must be writable (`check_writable_dir`).
2. A fresh run directory is made. As each case finishes, its figures and data are written
   there, then its record (every file through `sciml.io.atomic_path`). A case that raises
   anything, `SystemExit` included, is recorded as an error with its traceback and the run
   goes on.
3. Publishing: the cases kept from the previous report (`only`; their records and files
   checked against the SHA-256 sums in the records before any case runs) are hard-linked in,
   `report.md`, `report.html` and `results.json` written, then a new symlink is made under
   a temporary name and `os.replace`d onto `out`. A reader opening `out/results.json` sees
   the files of one run, never a mix, and results.json and report.md always agree. The
   previous run directory is deleted afterwards (a reader that resolved `out` before the
   flip may find its files gone, never changed).

Failures:

- An `OSError` while writing (disk full, permissions...) removes the new run directory
  and propagates with a message naming the file; the published report is untouched.
- `KeyboardInterrupt` (Ctrl-C; the CLI turns SIGTERM into one too) publishes a report
  marked partial with the cases that finished, then raises `Interrupted`. If that report
  cannot be written, the previous one stays.
- A report directory of an older version (a real directory at `out`) is moved into
  `out.runs/` and the symlink put in its place: two renames, so during that one-time
  migration `out` is missing for an instant (never a mix of two runs).
- Concurrent runs into the same `out`: the last to publish wins; a run directory whose
  `.pid` names a live process is never deleted by another run.

`results.json`:

```
{"sciml_version", "created", "machine", "versions",   provenance of this run
 "suite": "quick" | "full" | null,   the suite the cases were selected from; null when
                                     they were chosen by name (`only`)
 "only": ["NAME", ...] | null,       the names/prefixes selected with --only
 "partial": bool,                    true when the run was interrupted
 "interrupted": "NAME" | null,       the case running when it was interrupted
 "signal": "SIGINT" | "SIGTERM" | null,
 "not_run": ["NAME", ...],           selected cases that never started (partial runs)
 "ran": ["NAME", ...],               cases this run finished, in order
 "kept": ["NAME", ...],              cases carried over from the previous report (only)
 "cases": [                          one entry per check, then one per error, per case
   {"name", "problem", "metric", "error", "tolerance", "passed", "wall_time_s",
    "precision", "suites": ["quick", "full"] | null (the suites the case belongs to),
    "run_created" (the `created` of the run that produced the entry),
    "exception": "<message and traceback>" (metric "exception" only),
    "invalid": "<why>" (a check whose error is NaN, infinite or negative: never passes)}]}
```

Non-finite numbers are null. With `only`, the other cases of the previous report are kept
(entries, figures, data) and the re-run ones replaced; without it the report holds exactly
the cases run. Files other than the above in a report directory (a notebook's figures)
belong to that run and go with it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciml.datasets import to_netcdf
from sciml.io import (
    TMP_SUFFIX,
    atomic_path,
    atomic_write_text,
    check_writable_dir,
    fsync_dir,
    sha256_file,
)
from sciml.validation._report import (
    CaseResult,
    html_page,
    markdown,
    plain,
    record_from_json,
    record_json,
    results_from_json,
    results_json,
    safe_name,
)
from sciml.validation.registry import Case, Check, Outcome

__all__ = ["Interrupted", "Report", "ReportError", "check_output", "run_cases"]

logger = logging.getLogger(__name__)


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM, raised by `run_cases` after it published the
    partial report.

    `run_cases` treats any `KeyboardInterrupt` as an interruption; one with a `signum`
    attribute (the CLI's SIGTERM handler raises such) records that signal, else SIGINT.

    Attributes:
        signum: the signal number.
        report: the partial `Report` published, or None if it could not be written.
        case: the name of the case that was running, or None.
    """

    def __init__(self, signum: int = signal.SIGINT, *, report: Report | None = None,
                 case: str | None = None):
        super().__init__(f"interrupted by {_signal_name(signum)}")
        self.signum = int(signum)
        self.report = report
        self.case = case


class ReportError(ValueError):
    """The previous report cannot be read to keep its other cases (`only`)."""


@dataclass(frozen=True)
class Report:
    """What `run_cases` published.

    Attributes:
        entries: one dict per check of the cases this call ran, as in
            `results.json["cases"]` (which also holds the kept cases' entries).
        passed: whether every check of the cases this call ran passed (False when none).
        out_dir: the report directory (the symlink).
        results: path of `results.json`.
        markdown: path of `report.md`.
        html: path of `report.html`.
        figures: paths of the PNG figures of the report (kept cases' too).
        data: paths of the netCDF files of the report.
        ran: names of the cases this call finished.
        kept: names of the cases carried over from the previous report.
        partial: whether the run was interrupted.
        interrupted: the case that was running when it was, or None.
        run_dir: the run directory `out_dir` points to.
    """

    entries: list[dict[str, Any]]
    passed: bool
    out_dir: Path
    results: Path
    markdown: Path
    html: Path
    figures: list[Path] = field(default_factory=list)
    data: list[Path] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    partial: bool = False
    interrupted: str | None = None
    run_dir: Path | None = None

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The entries (of the cases this call ran) that did not pass."""
        return [e for e in self.entries if not e["passed"]]


def run_cases(
    cases: Sequence[Case],
    out_dir: str | os.PathLike[str],
    *,
    suite: str | None = None,
    only: Sequence[str] | None = None,
    progress: bool = False,
) -> Report:
    """Run `cases` and publish their report at `out_dir` (module docstring).

    A case whose `run` raises anything but `KeyboardInterrupt`, or returns something that
    is not a usable `Outcome`, is recorded as failed with its traceback; a figure or
    dataset that cannot be rendered or encoded fails its case the same way.

    Args:
        cases: the cases to run, in report order.
        out_dir: the report directory.
        suite: the suite `cases` were selected from (every case must belong to it), or
            None.
        only: the names the cases were selected by. When given, the other cases of the
            previous report are kept and the re-run ones replaced.
        progress: show a tqdm progress bar on stderr.

    Returns:
        The `Report`: entries as in `results.json`, pass/fail, and the paths published.

    Raises:
        Interrupted: on `KeyboardInterrupt`, after publishing a partial report.
        OSError: the output cannot be written (checked before any case runs), naming the
            path; the published report is left as it was.
        ReportError: `only` is given and the previous report cannot be read.
        ValueError: a case is not in `suite`.
    """
    if suite is not None:
        outside = [c.name for c in cases if suite not in c.suites]
        if outside:
            raise ValueError(f"cases not in suite {suite!r}: {', '.join(outside)}")
    layout = _layout(out_dir)
    previous = _load_previous(layout) if only is not None else _Previous(None, [])
    _verify_kept(previous, {c.name for c in cases})
    meta = _metadata(suite, only)
    run = _RunDir.create(layout)
    results: list[CaseResult] = []
    current: str | None = None
    try:
        try:
            with _progress(cases, progress) as bar:
                for case in bar:
                    if progress:
                        bar.set_postfix_str(case.name, refresh=True)
                    current = case.name
                    results.append(_run_case(case, run.path, meta["created"]))
                    current = None
        except KeyboardInterrupt as e:
            signum = getattr(e, "signum", signal.SIGINT)
            finished = {r.case.name for r in results}
            state = {
                "partial": True,
                "interrupted": current,
                "signal": _signal_name(signum),
                "not_run": [c.name for c in cases
                            if c.name not in finished and c.name != current],
            }
            logger.info("interrupted by %s%s; writing a partial report", state["signal"],
                        f" during {current}" if current else "")
            report = None
            try:
                report = _publish(layout, run, meta, state, results, previous)
            except OSError as w:
                logger.warning("the partial report could not be written: %s", w)
            raise Interrupted(signum, report=report, case=current) from e
        state = {"partial": False, "interrupted": None, "signal": None, "not_run": []}
        return _publish(layout, run, meta, state, results, previous)
    finally:
        run.discard()  # a no-op once published


def check_output(out_dir: str | os.PathLike[str]) -> None:
    """Check that a report can be published at `out_dir`, creating what is missing.

    `run_cases` does this first; call it earlier to fail before other preparations.

    Raises:
        OSError: `out_dir` is a file, a foreign symlink or a directory that is not a
            report, or it or its run area cannot be written; the message names the path.
    """
    _layout(out_dir)


# --------------------------------------------------------------------------------------
# Running


def _progress(cases: Sequence[Case], enabled: bool) -> contextlib.AbstractContextManager:
    if not enabled:
        return contextlib.nullcontext(cases)
    from tqdm.auto import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    @contextlib.contextmanager
    def bar():
        # Route our log lines through tqdm.write so they do not tear the bar.
        with logging_redirect_tqdm(loggers=[logging.getLogger("sciml")]):
            with tqdm(cases, desc="validate", unit="case", file=sys.stderr) as t:
                yield t

    return bar()


def _run_case(case: Case, run_dir: Path, created: str) -> CaseResult:
    """Run one case and write its files and record into `run_dir`.

    Whatever the case raises (but `KeyboardInterrupt`) becomes a failed result; an
    `OSError` writing its files propagates.
    """
    logger.info("running %s", case.name)
    outcome = None
    start = time.perf_counter()
    try:
        outcome = case.run()
        wall = time.perf_counter() - start
        checks, info = _validate_outcome(outcome)
    except KeyboardInterrupt:
        _close_outcome(outcome)
        raise
    except BaseException as e:  # noqa: BLE001 - SystemExit from a case is its failure too
        wall = time.perf_counter() - start
        logger.info("case %s raised %s: %s", case.name, type(e).__name__, e)
        _close_outcome(outcome)  # a malformed outcome's figures
        result = CaseResult(case, wall, errors=[_describe(e)], run_created=created)
    else:
        result = CaseResult(case, wall, checks=checks, info=info, run_created=created)
        _write_outputs(result, outcome, run_dir)
    # The record is written last: a case is finished when its record exists.
    _write_text(run_dir / "records" / f"{safe_name(case.name)}.json",
                record_json(result, run_dir))
    _log_case(result)
    return result


def _validate_outcome(outcome: Any) -> tuple[list[Check], dict[str, Any]]:
    """The outcome's checks with float errors, and its info; raise if it is malformed."""
    if not isinstance(outcome, Outcome):
        raise TypeError(f"a case's run must return an Outcome, got {type(outcome).__name__}")
    if not outcome.checks:
        raise ValueError("the outcome has no checks")
    # float() accepts numpy/jax scalars and 0-d arrays, so the report holds plain numbers.
    checks = [Check(str(c.metric), float(c.error), float(c.tolerance)) for c in outcome.checks]
    if not isinstance(outcome.figures, Mapping):
        raise TypeError("Outcome.figures must be a mapping of name -> matplotlib Figure")
    if outcome.data is not None:
        import xarray as xr

        if not isinstance(outcome.data, xr.Dataset | xr.DataArray):
            raise TypeError(f"Outcome.data must be an xarray.Dataset, got {type(outcome.data)}")
    # As the record will hold it, so a kept case renders as it did when it ran.
    return checks, plain(dict(outcome.info))


def _describe(e: BaseException) -> str:
    """The exception's message followed by its traceback."""
    tb = "".join(traceback.format_exception(e)).rstrip()
    return f"{type(e).__name__}: {e}\n\n{tb}"


def _log_case(r: CaseResult) -> None:
    status = "PASS" if r.passed else "FAIL"
    logger.info("%s %s (%.2f s)", status, r.case.name, r.wall_time_s)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


# --------------------------------------------------------------------------------------
# Writing files


@contextlib.contextmanager
def _writing(path: Path, verb: str = "write"):
    """Re-raise an `OSError` with a message naming `path` (unless it already does)."""
    try:
        yield
    except OSError as e:
        if str(path) in str(e):
            raise
        raise OSError(e.errno, f"cannot {verb} {path}: {e.strerror or e}") from e


def _write_file(path: Path, write: Callable[[Path], None]) -> None:
    """Write `path` atomically through `write(tmp)`; OSErrors name `path`."""
    with _writing(path), atomic_path(path) as tmp:
        write(tmp)


def _write_text(path: Path, text: str) -> None:
    with _writing(path):
        atomic_write_text(path, text)


def _write_outputs(r: CaseResult, outcome: Outcome, run_dir: Path) -> None:
    """Write the outcome's figures and data; content errors fail the case, OSErrors abort."""
    name = safe_name(r.case.name)
    try:
        for fig_name, fig in outcome.figures.items():
            rel = Path("figures") / f"{name}-{safe_name(str(fig_name))}.png"
            try:
                _write_file(run_dir / rel, lambda p, fig=fig: _save_figure(fig, p))
            except OSError:
                raise
            except Exception as e:
                r.errors.append(f"could not save figure {fig_name!r}: {_describe(e)}")
            else:
                r.figures.append(rel)
    finally:
        _close_figures(outcome.figures.values())

    if outcome.data is not None:
        rel = Path("data") / f"{name}.nc"
        try:
            _write_file(run_dir / rel, lambda p: to_netcdf(outcome.data, p))
        except OSError:
            raise
        except Exception as e:
            r.errors.append(f"could not write data: {_describe(e)}")
        else:
            r.data = rel


def _save_figure(fig: Any, path: Path) -> None:
    # The temporary path has no .png suffix, so the format is given explicitly.
    fig.savefig(path, format="png", dpi=110, bbox_inches="tight")


def _close_outcome(outcome: Any) -> None:
    if isinstance(outcome, Outcome) and isinstance(outcome.figures, Mapping):
        _close_figures(outcome.figures.values())


def _close_figures(figures: Iterable[Any]) -> None:
    figures = list(figures)
    if not figures:
        return
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    for fig in figures:
        if isinstance(fig, Figure):
            plt.close(fig)


def _link(src: Path, dst: Path) -> bool:
    """Hard-link `src` as `dst` (copy where links are not possible); False if `src` is gone.

    Report files are never changed in place (always replaced), so runs can share them.
    """
    if not src.is_file():
        return False
    with _writing(dst):
        try:
            os.link(src, dst)
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP,
                               errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            with atomic_path(dst) as tmp:
                shutil.copyfile(src, tmp)
    return True


# --------------------------------------------------------------------------------------
# The report directory: checks, run directories, publishing


# What a report directory of an older version holds (it wrote straight into `out`).
_LEGACY_NAMES = {"results.json", "report.md", "report.html", "figures", "data", "notebook"}
_SUBDIRS = ("figures", "data", "records")


@dataclass(frozen=True)
class _Layout:
    out: Path  # absolute; the published symlink
    runs: Path  # out.runs, the run directories


def _layout(out_dir: str | os.PathLike[str]) -> _Layout:
    """Check the output (module docstring, step 1) and return where everything goes."""
    out = Path(os.path.abspath(Path(out_dir).expanduser()))
    _check_dir(out.parent, "its parent directory", out)
    if _kind(out) == "legacy":
        _check_dir(out, "the directory", out)  # it is renamed, which needs write access
    runs = _check_dir(out.with_name(f"{out.name}.runs"), "its run directory", out)
    ignore = runs / ".gitignore"
    if not ignore.exists():  # keeps the run directories out of `git status`
        _write_text(ignore, "*\n")
    return _Layout(out, runs)


def _check_dir(path: Path, what: str, out: Path) -> Path:
    try:
        return check_writable_dir(path, what)
    except OSError as e:
        raise type(e)(e.errno, f"cannot write the report to {out}: {e.strerror or e}") from None


def _kind(out: Path) -> str:
    """What `out` is: "missing", "ours" (a run's symlink) or "legacy" (a real report
    directory of an older version, or an empty one); raise for anything else."""
    if out.is_symlink():
        target = Path(os.readlink(out))
        if not target.is_absolute() and len(target.parts) == 2 \
                and target.parts[0] == f"{out.name}.runs":
            return "ours"
        raise FileExistsError(errno.EEXIST, f"cannot write the report to {out}: it is a "
                              f"symlink to {target}, not a report published by sciml "
                              "validate; remove it or choose another output directory")
    if not out.exists():
        return "missing"
    if not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"cannot write the report to {out}: it is a "
                                 "file, not a directory; choose another output directory")
    with _writing(out, "read"):
        names = os.listdir(out)
    foreign = sorted(n for n in names if n not in _LEGACY_NAMES
                     and not (n.startswith(".") and n.endswith(TMP_SUFFIX)))
    if foreign or (names and not {"results.json", "report.md"} & set(names)):
        shown = ", ".join((foreign or sorted(names))[:3])
        raise FileExistsError(errno.EEXIST, f"cannot write the report to {out}: it is a "
                              f"directory that is not a sciml validation report (it holds "
                              f"{shown}); remove it or choose another output directory")
    return "legacy"


@dataclass
class _RunDir:
    """A run directory being built; `publish` flips `out` to it, `discard` removes it."""

    layout: _Layout
    token: str
    published: bool = False

    @property
    def path(self) -> Path:
        return self.layout.runs / self.token

    @property
    def pid_file(self) -> Path:
        return self.layout.runs / f"{self.token}.pid"

    @classmethod
    def create(cls, layout: _Layout) -> _RunDir:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        run = cls(layout, f"{stamp}-{secrets.token_hex(3)}")
        try:
            # The pid file first: a run directory without one may be deleted by other runs.
            _write_text(run.pid_file, f"{os.getpid()}\n")
            with _writing(run.path, "create"):
                run.path.mkdir()
                for sub in _SUBDIRS:
                    (run.path / sub).mkdir()
        except BaseException:
            run.discard()
            raise
        return run

    def discard(self) -> None:
        if self.published:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.pid_file.unlink(missing_ok=True)

    def publish(self) -> None:
        """Point `out` at this run directory in one rename, then delete the previous one."""
        for d in (*(self.path / s for s in _SUBDIRS), self.path, self.layout.runs):
            fsync_dir(d)
        out = self.layout.out
        kind = _kind(out)  # again: it may have changed while the cases ran
        old = out.resolve() if kind == "ours" else None
        aside = None
        if kind == "legacy":
            aside = self.layout.runs / f"{self.token}-previous"
            with _writing(out, "move aside"):
                os.rename(out, aside)
            old = aside
        try:
            with _writing(out, "publish"):
                tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.link")
                os.symlink(f"{self.layout.runs.name}/{self.token}", tmp)
                try:
                    os.replace(tmp, out)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
        except BaseException:
            if aside is not None:  # put the old report back where it was
                with contextlib.suppress(OSError):
                    os.rename(aside, out)
            raise
        self.published = True
        fsync_dir(out.parent)
        with contextlib.suppress(OSError):
            self.pid_file.unlink(missing_ok=True)
        self._clean(old)

    def _clean(self, old: Path | None) -> None:
        """Delete the previous run directory and those of runs that died unpublished."""
        runs = self.layout.runs
        try:
            current = self.layout.out.resolve().name
            entries = list(runs.iterdir())
        except OSError as e:
            logger.warning("could not clean %s: %s", runs, e)
            return
        for entry in entries:
            if entry.name in (self.token, current) or entry.name.startswith("."):
                continue
            if entry.suffix == ".pid":
                if not _alive(entry) and not (runs / entry.stem).exists():
                    with contextlib.suppress(OSError):
                        entry.unlink()
                continue
            if not entry.is_dir() or entry.is_symlink():
                continue
            if entry != old and _alive(runs / f"{entry.name}.pid"):
                continue  # another run is building it
            logger.info("removing old report run %s", entry)
            try:
                shutil.rmtree(entry)
            except OSError as e:  # the new report is published; this is housekeeping
                logger.warning("could not remove %s: %s", entry, e)
            with contextlib.suppress(OSError):
                (runs / f"{entry.name}.pid").unlink(missing_ok=True)


def _alive(pid_file: Path) -> bool:
    """Whether `pid_file` names a running process (on this machine)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists
        return True
    return True


@dataclass
class _Previous:
    directory: Path | None
    results: list[CaseResult]


def _load_previous(layout: _Layout) -> _Previous:
    """The cases of the published report, from their records (or its results.json)."""
    out = layout.out
    if _kind(out) == "missing" or not out.is_dir():
        return _Previous(None, [])
    directory = out.resolve()
    path = directory / "results.json"
    if not path.exists():
        return _Previous(directory, [])
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        names = list(dict.fromkeys(str(e["name"]) for e in results["cases"]))
        by_name = {}
        for name in names:
            record = directory / "records" / f"{safe_name(name)}.json"
            if record.is_file():
                r = record_from_json(record.read_text(encoding="utf-8"))
                if r.case.name == name:
                    by_name[name] = r
        if len(by_name) < len(names):  # a report of an older version: no records
            older = {r.case.name: r for r in results_from_json(results, directory)}
            by_name = {n: by_name.get(n) or older[n] for n in names}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReportError(
            f"cannot keep the other cases of the report at {out}: {path} is unreadable "
            f"({e}); run without --only, or move the report away"
        ) from None
    return _Previous(directory, [by_name[n] for n in names])


def _verify_kept(previous: _Previous, rerun: set[str]) -> None:
    """Before any case runs: every file of a case to be kept matches its record's checksum."""
    for r in previous.results:
        if r.case.name in rerun:
            continue
        for rel, digest in r.checksums.items():
            src = previous.directory / rel
            if src.is_file() and sha256_file(src) != digest:
                raise ReportError(
                    f"cannot keep case {r.case.name} of the report at {previous.directory}: "
                    f"{src} has changed since it was written (its checksum does not match); "
                    "run without --only")


def _publish(
    layout: _Layout,
    run: _RunDir,
    meta: Mapping[str, Any],
    state: Mapping[str, Any],
    results: list[CaseResult],
    previous: _Previous,
) -> Report:
    """Complete the run directory (kept cases, reports) and publish it."""
    fresh = {r.case.name: r for r in results}
    merged = [fresh.pop(r.case.name, r) for r in previous.results] + list(fresh.values())
    kept = [r for r in merged if r.kept]
    for r in kept:
        _keep(previous.directory, run.path, r)
    _prune(run.path, merged)

    meta = {
        "sciml_version": meta["sciml_version"],
        "created": meta["created"],
        "suite": meta["suite"],
        "only": meta["only"],
        **state,
        "ran": [r.case.name for r in results],
        "kept": [r.case.name for r in kept],
        "machine": meta["machine"],
        "versions": meta["versions"],
    }
    d = run.path
    _write_text(d / "report.md", markdown(meta, merged))
    _write_text(d / "report.html", html_page(meta, merged))
    entries = [e for r in merged for e in r.entries()]
    _write_text(d / "results.json", results_json(meta, entries))
    run.publish()

    out = Path(os.fspath(layout.out))
    ran = [e for r in results for e in r.entries()]
    passed = bool(ran) and all(e["passed"] for e in ran)
    logger.info("%d/%d checks passed; report written to %s%s",
                sum(e["passed"] for e in ran), len(ran), out / "report.md",
                " (partial)" if state["partial"] else "")
    return Report(
        entries=ran,
        passed=passed,
        out_dir=out,
        results=out / "results.json",
        markdown=out / "report.md",
        html=out / "report.html",
        figures=[out / f for r in merged for f in r.figures],
        data=[out / r.data for r in merged if r.data is not None],
        ran=meta["ran"],
        kept=meta["kept"],
        partial=state["partial"],
        interrupted=state["interrupted"],
        run_dir=d,
    )


def _keep(source: Path | None, run_dir: Path, r: CaseResult) -> None:
    """Link a kept case's figures and data from the previous run; write its record."""
    if source is None:
        raise RuntimeError("a kept case without the report it comes from")
    figures = []
    for rel in r.figures:
        rel = Path("figures") / Path(rel).name  # never outside the report
        if _link(source / rel, run_dir / rel):
            figures.append(rel)
        else:
            logger.warning("figure %s of kept case %s is missing; dropped", rel, r.case.name)
    r.figures = figures
    if r.data is not None:
        rel = Path("data") / Path(r.data).name
        r.data = rel if _link(source / rel, run_dir / rel) else None
    _write_text(run_dir / "records" / f"{safe_name(r.case.name)}.json",
                record_json(r, run_dir))


def _prune(run_dir: Path, results: Iterable[CaseResult]) -> None:
    """Remove what the report does not list (files of the case an interrupt cut short)."""
    listed = set()
    for r in results:
        listed.update(r.figures)
        listed.add(Path("records") / f"{safe_name(r.case.name)}.json")
        if r.data is not None:
            listed.add(r.data)
    for sub in _SUBDIRS:
        for p in (run_dir / sub).iterdir():
            if p.relative_to(run_dir) not in listed:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()


# --------------------------------------------------------------------------------------
# Metadata


def _metadata(suite: str | None, only: Sequence[str] | None) -> dict[str, Any]:
    from sciml import __version__
    from sciml.provenance import provenance

    prov = provenance()
    return {"sciml_version": __version__, "created": prov["created"], "suite": suite,
            "only": None if only is None else [str(o) for o in only],
            "machine": prov["machine"], "versions": prov["versions"]}
