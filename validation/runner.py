"""Run validation cases and write their report.

`run_cases` runs each case, records one entry per check, and writes into `out_dir`:

```
results.json               machine-readable results (strict JSON, written last)
report.md, report.html     the human-readable report
figures/<case>-<fig>.png   every figure of every case
data/<case>.nc             each case's `Outcome.data` (netCDF4 via h5netcdf)
```

Writes are all-or-nothing for one run: figures, data and the reports are staged as temporary
files and renamed onto their targets only once everything has been written, then
`results.json` is replaced last. A run that is interrupted, or fails to write a file,
leaves the previous report as it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciml.datasets import to_netcdf
from sciml.io import atomic_path, atomic_write_text
from sciml.validation._report import CaseResult, html_page, markdown, results_json, safe_name
from sciml.validation.registry import Case, Check, Outcome

__all__ = ["Report", "run_cases"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class Report:
    """What `run_cases` wrote.

    Attributes:
        entries: one dict per check, as in `results.json["cases"]`.
        passed: whether every check passed (False when there are no checks).
        out_dir: the report directory.
        results: path of `results.json`.
        markdown: path of `report.md`.
        html: path of `report.html`.
        figures: paths of the PNG figures written.
        data: paths of the netCDF files written.
    """

    entries: list[dict[str, Any]]
    passed: bool
    out_dir: Path
    results: Path
    markdown: Path
    html: Path
    figures: list[Path] = field(default_factory=list)
    data: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The entries that did not pass."""
        return [e for e in self.entries if not e["passed"]]


def run_cases(
    cases: Sequence[Case],
    out_dir: str | os.PathLike[str],
    *,
    suite: str | None = None,
    progress: bool = False,
) -> Report:
    """Run `cases` and write their report into `out_dir` (created if missing).

    A case whose `run` raises, or returns something that is not a usable `Outcome`, is
    recorded as failed with its traceback; a figure or dataset that cannot be rendered
    or encoded fails its case the same way. Errors of the filesystem itself (`OSError`)
    abort the run, leaving the previous report intact.

    Args:
        cases: the cases to run, in report order.
        out_dir: the report directory.
        suite: the suite name to record in the report (informational).
        progress: show a tqdm progress bar on stderr.

    Returns:
        The `Report`: entries as in `results.json`, pass/fail, and the paths written.
    """
    out_dir = Path(out_dir)
    fig_dir, data_dir = out_dir / "figures", out_dir / "data"
    for d in (out_dir, fig_dir, data_dir):
        d.mkdir(parents=True, exist_ok=True)

    results: list[CaseResult] = []
    with ExitStack() as staged, _progress(cases, progress) as bar:
        for case in bar:
            if progress:
                bar.set_postfix_str(case.name, refresh=True)
            result, outcome = _run_case(case)
            if outcome is not None:
                _stage_outputs(staged, result, outcome, out_dir)
            results.append(result)
            _log_case(result)

        meta = _metadata(suite)
        entries = [e for r in results for e in r.entries()]
        md, page = out_dir / "report.md", out_dir / "report.html"
        _stage(staged, md, lambda p: p.write_text(markdown(meta, results), encoding="utf-8"))
        _stage(staged, page, lambda p: p.write_text(html_page(meta, results), encoding="utf-8"))
        # Leaving the `with` renames every staged file onto its target.

    results_path = out_dir / "results.json"
    atomic_write_text(results_path, results_json(meta, entries))
    figures = [out_dir / f for r in results for f in r.figures]
    data = [out_dir / r.data for r in results if r.data is not None]
    _remove_stale(fig_dir, "*.png", keep=figures)
    _remove_stale(data_dir, "*.nc", keep=data)

    passed = bool(entries) and all(e["passed"] for e in entries)
    logger.info(
        "%d/%d checks passed; report written to %s",
        sum(e["passed"] for e in entries),
        len(entries),
        out_dir / "report.md",
    )
    return Report(
        entries=entries,
        passed=passed,
        out_dir=out_dir,
        results=results_path,
        markdown=md,
        html=page,
        figures=figures,
        data=data,
    )


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


def _run_case(case: Case) -> tuple[CaseResult, Outcome | None]:
    """Run one case; exceptions become a failed result instead of propagating."""
    logger.info("running %s", case.name)
    outcome = None
    start = time.perf_counter()
    try:
        outcome = case.run()
        wall = time.perf_counter() - start
        checks, info = _validate_outcome(outcome)
    except Exception as e:
        wall = time.perf_counter() - start
        logger.info("case %s raised %s: %s", case.name, type(e).__name__, e)
        if isinstance(outcome, Outcome) and isinstance(outcome.figures, Mapping):
            _close_figures(outcome.figures.values())  # a malformed outcome's figures
        return CaseResult(case, wall, errors=[_describe(e)]), None
    return CaseResult(case, wall, checks=checks, info=info), outcome


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
    return checks, dict(outcome.info)


def _describe(e: BaseException) -> str:
    """The exception's message followed by its traceback."""
    tb = "".join(traceback.format_exception(e)).rstrip()
    return f"{type(e).__name__}: {e}\n\n{tb}"


def _log_case(r: CaseResult) -> None:
    status = "PASS" if r.passed else "FAIL"
    logger.info("%s %s (%.2f s)", status, r.case.name, r.wall_time_s)


# --------------------------------------------------------------------------------------
# Staging figures and data


def _stage(staged: ExitStack, path: Path, write: Callable[[Path], None]) -> None:
    """Write `path` to a temporary file now; `staged` renames it onto `path` when it closes.

    If `write` raises, the temporary file is removed at once and the error propagates.
    """
    with ExitStack() as one:
        tmp = one.enter_context(atomic_path(path))
        write(tmp)
        staged.enter_context(one.pop_all())


def _stage_outputs(staged: ExitStack, r: CaseResult, outcome: Outcome, out_dir: Path) -> None:
    """Stage the outcome's figures and data; content errors fail the case, OSErrors abort."""
    name = safe_name(r.case.name)
    try:
        for fig_name, fig in outcome.figures.items():
            rel = Path("figures") / f"{name}-{safe_name(str(fig_name))}.png"
            try:
                _stage(staged, out_dir / rel, lambda p, fig=fig: _save_figure(fig, p))
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
            _stage(staged, out_dir / rel, lambda p: to_netcdf(outcome.data, p))
        except OSError:
            raise
        except Exception as e:
            r.errors.append(f"could not write data: {_describe(e)}")
        else:
            r.data = rel


def _save_figure(fig: Any, path: Path) -> None:
    # The temporary path has no .png suffix, so the format is given explicitly.
    fig.savefig(path, format="png", dpi=110, bbox_inches="tight")


def _close_figures(figures: Iterable[Any]) -> None:
    figures = list(figures)
    if not figures:
        return
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    for fig in figures:
        if isinstance(fig, Figure):
            plt.close(fig)


def _remove_stale(directory: Path, pattern: str, keep: Iterable[Path]) -> None:
    """Remove report files of earlier runs that this report does not list."""
    keep = {p.resolve() for p in keep}
    for p in directory.glob(pattern):
        if p.resolve() not in keep:
            logger.info("removing stale %s", p)
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


# --------------------------------------------------------------------------------------
# Metadata


def _metadata(suite: str | None) -> dict[str, Any]:
    from sciml import __version__
    from sciml.provenance import provenance

    prov = provenance()
    return {"sciml_version": __version__, "created": prov["created"], "suite": suite,
            "machine": prov["machine"], "versions": prov["versions"]}
