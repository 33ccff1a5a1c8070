"""Rendering a validation run: `results.json`, `report.md`, `report.html` and the per-case
records, as strings.

No Markdown or HTML library: the reports are small, and text is escaped where it lands
(`html.escape` for the page, `|` in Markdown tables).

A case record (`records/<case>.json`, written by the runner as the case finishes) holds
everything needed to render the case again without re-running it, so a later run with
`--only` can keep it, and an interrupted run can still report it (strict JSON; NaN and
infinities are written as the strings "nan", "inf", "-inf"):

```
{"format": "sciml-validation-case-v1", "name", "problem", "description", "suites",
 "precision", "wall_time_s", "run_created", "checks": [{"metric", "error", "tolerance"}],
 "info": {...}, "errors": ["<message and traceback>", ...],
 "figures": ["figures/<case>-<fig>.png", ...], "data": "data/<case>.nc" | null}
```
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciml.io import sha256_file
from sciml.validation.registry import SUITES, Case, Check


@dataclass
class CaseResult:
    """One case's checks, timing, files and failures, for the report writers.

    `run_created` is the `created` time of the run that produced it; `kept` marks a result
    carried over unchanged from an earlier report (`--only`).
    """

    case: Case
    wall_time_s: float
    checks: list[Check] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # one failing "exception" entry each
    figures: list[Path] = field(default_factory=list)  # relative to the report directory
    data: Path | None = None
    run_created: str | None = None
    kept: bool = False
    checksums: dict[str, str] = field(default_factory=dict)  # file -> SHA-256, from a record

    @property
    def passed(self) -> bool:
        return bool(self.checks) and not self.errors and all(c.passed for c in self.checks)

    def entries(self) -> list[dict[str, Any]]:
        """One `results.json` entry per check, then one `"exception"` entry per error."""
        common = {"name": self.case.name, "problem": self.case.problem}
        after = {
            "wall_time_s": self.wall_time_s,
            "precision": self.case.precision,
            "suites": list(self.case.suites) or None,
            "run_created": self.run_created,
        }
        out = []
        for c in self.checks:
            entry = {**common, "metric": c.metric, "error": c.error, "tolerance": c.tolerance,
                     "passed": c.passed, **after}
            if c.invalid is not None:
                entry["invalid"] = c.invalid
            out.append(entry)
        for message in self.errors:
            out.append(
                {
                    **common,
                    "metric": "exception",
                    "error": math.nan,
                    "tolerance": math.nan,
                    "passed": False,
                    **after,
                    "exception": message,
                }
            )
        return out


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file-name-safe version of `name` (no separators or spaces)."""
    return _SAFE.sub("_", name).strip("_") or "unnamed"


# --------------------------------------------------------------------------------------
# results.json


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def results_json(meta: Mapping[str, Any], entries: list[dict[str, Any]]) -> str:
    """`results.json`: `meta` plus `"cases"`, strict JSON with non-finite numbers as null."""
    cases = [
        {**e, "error": _finite_or_none(e["error"]), "tolerance": _finite_or_none(e["tolerance"])}
        for e in entries
    ]
    # allow_nan=False: a NaN that slipped through is a bug, not a non-standard token.
    return json.dumps({**meta, "cases": cases}, indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------------------
# Case records

RECORD_FORMAT = "sciml-validation-case-v1"


def plain(value: Any) -> Any:
    """`value` as JSON-able Python data: numpy/JAX scalars as numbers, containers as lists
    and dicts, non-finite floats as "nan"/"inf"/"-inf", anything else as its `str`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    item = getattr(value, "item", None)  # numpy and JAX scalars, 0-d arrays
    if callable(item) and getattr(value, "ndim", None) == 0:
        try:
            return plain(item())
        except Exception:  # noqa: BLE001 - fall back to the text form
            pass
    return str(value)


def _enc(x: float) -> float | str:
    return x if math.isfinite(x) else str(x)


def _not_rerunnable():
    raise RuntimeError("a case kept from an earlier report cannot be run from its record")


def _stub_case(name: str, problem: str, description: str, suites: Iterable[str] | None,
               precision: str) -> Case:
    known = tuple(s for s in (suites or ()) if s in SUITES)
    return Case(name, problem, description, _not_rerunnable, suites=known, precision=precision)


def _sealed(record: dict[str, Any]) -> str:
    """Canonical text of a record without its own checksum (what the checksum covers)."""
    return json.dumps({k: v for k, v in record.items() if k != "sha256"}, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)


def record_json(r: CaseResult, root: Path) -> str:
    """The record of one case (module docstring): strict JSON, with the SHA-256 of each of
    its files under the report directory `root` and of the record itself."""
    files = [*r.figures, *([] if r.data is None else [r.data])]
    record = {
        "format": RECORD_FORMAT,
        "name": r.case.name,
        "problem": r.case.problem,
        "description": r.case.description,
        "suites": list(r.case.suites),
        "precision": r.case.precision,
        "wall_time_s": r.wall_time_s,
        "run_created": r.run_created,
        "checks": [{"metric": c.metric, "error": _enc(c.error), "tolerance": _enc(c.tolerance)}
                   for c in r.checks],
        "info": plain(r.info),
        "errors": list(r.errors),
        "figures": [p.as_posix() for p in r.figures],
        "data": None if r.data is None else r.data.as_posix(),
        "checksums": {p.as_posix(): sha256_file(root / p) for p in files},
    }
    record["sha256"] = hashlib.sha256(_sealed(record).encode()).hexdigest()
    return json.dumps(record, indent=1, allow_nan=False) + "\n"


def record_from_json(text: str) -> CaseResult:
    """The `CaseResult` a record holds, marked `kept`.

    Raises:
        ValueError: the text is not a case record.
    """
    try:
        d = json.loads(text)
        if d.get("format") != RECORD_FORMAT:
            raise ValueError(f"not a case record (format {d.get('format')!r})")
        if d.get("sha256") != hashlib.sha256(_sealed(d).encode()).hexdigest():
            raise ValueError("the record has changed since it was written (its checksum "
                             "does not match)")
        case = _stub_case(d["name"], d["problem"], d["description"], d["suites"],
                          d["precision"])
        return CaseResult(
            case,
            float(d["wall_time_s"]),
            checks=[Check(c["metric"], float(c["error"]), float(c["tolerance"]))
                    for c in d["checks"]],
            info=dict(d["info"]),
            errors=[str(e) for e in d["errors"]],
            figures=[Path(f) for f in d["figures"]],
            data=None if d["data"] is None else Path(d["data"]),
            run_created=d["run_created"],
            kept=True,
            checksums={str(k): str(v) for k, v in d["checksums"].items()},
        )
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"malformed case record: {e}") from None


def results_from_json(results: Mapping[str, Any], report_dir: Path) -> list[CaseResult]:
    """The cases of a `results.json` without records (an older report), marked `kept`.

    Checks and errors come from the entries; figures and data are those on disk named after
    the case; the description, lost with the record, says so.

    Raises:
        ValueError: the content is not a results.json.
    """
    try:
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for e in results["cases"]:
            grouped.setdefault(str(e["name"]), []).append(e)
        out = []
        for name, entries in grouped.items():
            first = entries[0]
            suites = first.get("suites")
            case = _stub_case(name, str(first["problem"]),
                              "(kept from an earlier report that has no case record)",
                              suites, str(first["precision"]))
            checks = [Check(str(e["metric"]), _number(e["error"]), _number(e["tolerance"]))
                      for e in entries if e["metric"] != "exception"]
            errors = [str(e.get("exception", "")) for e in entries
                      if e["metric"] == "exception"]
            safe = safe_name(name)
            figures = sorted(p.relative_to(report_dir)
                             for p in (report_dir / "figures").glob(f"{safe}-*.png"))
            data = Path("data") / f"{safe}.nc"
            out.append(CaseResult(
                case, float(first["wall_time_s"]), checks=checks, errors=errors,
                figures=figures, data=data if (report_dir / data).is_file() else None,
                run_created=first.get("run_created", results.get("created")), kept=True))
        return out
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"malformed results.json: {e!r}") from None


def _number(x: Any) -> float:
    return math.nan if x is None else float(x)


def _x64_enabled() -> bool | None:
    if "jax" not in sys.modules:
        return None
    import jax.numpy as jnp

    # a default float array is float64 exactly when JAX's 64-bit mode is on
    return jnp.zeros(()).dtype == jnp.float64


def _precision_note(results: list[CaseResult]) -> str:
    counts = Counter(r.case.precision for r in results)
    if not counts:
        return "No cases ran."
    text = "Cases by declared precision: "
    text += ", ".join(f"{p} ({n})" for p, n in sorted(counts.items())) + "."
    precisions = set(counts)
    x64 = _x64_enabled()
    if x64 is not None:
        text += f" JAX 64-bit mode was {'enabled' if x64 else 'DISABLED'}."
        if not x64 and "float64" in precisions:
            text += " Cases declared float64 actually ran in float32."
    return text


# --------------------------------------------------------------------------------------
# Markdown and HTML


def _fmt_sci(x: float) -> str:
    return f"{x:.2e}" if math.isfinite(x) else "nan" if math.isnan(x) else str(x)


def _fmt_info(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _summary_rows(results: list[CaseResult]) -> list[tuple[str, ...]]:
    rows = []
    for r in results:
        for e in r.entries():
            rows.append(
                (
                    r.case.name,
                    r.case.problem,
                    e["metric"],
                    "—" if e["metric"] == "exception" else _fmt_sci(e["error"]),
                    "—" if e["metric"] == "exception" else _fmt_sci(e["tolerance"]),
                    "PASS" if e["passed"] else "FAIL",
                    f"{r.wall_time_s:.2f} s",
                )
            )
    return rows


_COLUMNS = ("Case", "Problem", "Metric", "Error", "Tolerance", "Result", "Wall time")


def partial_note(meta: Mapping[str, Any]) -> str | None:
    """The one-line warning of a partial report, or None when the run completed."""
    if not meta.get("partial"):
        return None
    by = f" by {meta['signal']}" if meta.get("signal") else ""
    during = f" while case {meta['interrupted']} was running" if meta.get("interrupted") else ""
    text = (f"PARTIAL REPORT: the run was interrupted{by}{during}; "
            f"{len(meta.get('ran', []))} case(s) finished and are reported")
    if meta.get("interrupted"):
        text += f", {meta['interrupted']} is not"
    not_run = meta.get("not_run") or []
    if not_run:
        text += f"; not run: {', '.join(not_run)}"
    return text + "."


def _selection(meta: Mapping[str, Any]) -> str:
    if meta.get("only"):
        return "cases chosen by name (--only " + " ".join(meta["only"]) + ")"
    return str(meta.get("suite") or "—")


def _header_facts(meta: Mapping[str, Any], results: list[CaseResult]) -> list[tuple[str, str]]:
    m = meta["machine"]
    n_pass = sum(r.passed for r in results)
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    facts = [
        ("Date", meta["created"]),
        ("Suite", _selection(meta)),
        ("Result", f"{n_pass}/{len(results)} cases passed"),
    ]
    if meta.get("kept"):
        facts.append(("Kept from earlier runs", ", ".join(meta["kept"])))
    facts += [
        (
            "Machine",
            f"{m['platform']}, {m['processor']}, {m['cpu_count']} CPUs, Python {m['python']}",
        ),
        ("Versions", f"sciml {meta['sciml_version']}, {versions}"),
        ("Precision", _precision_note(results)),
    ]
    return facts


def _case_facts(r: CaseResult) -> str:
    suites = ", ".join(r.case.suites) or "unknown"
    text = f"suites: {suites}"
    if r.kept:
        text += f"; kept from the run of {r.run_created or 'an earlier date'}"
    return text


def _check_verdict(c: Check) -> str:
    return "PASS" if c.passed else f"FAIL ({c.invalid})" if c.invalid else "FAIL"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_fence(text: str) -> str:
    """A backtick fence longer than any backtick run in `text`."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def markdown(meta: Mapping[str, Any], results: list[CaseResult]) -> str:
    """`report.md`: header facts, the summary table, then one section per case."""
    note = partial_note(meta)
    lines = ["# sciml validation report" + (" (PARTIAL)" if note else ""), ""]
    if note:
        lines += [f"> **{note}**", ""]
    lines += [f"- **{k}:** {v}" for k, v in _header_facts(meta, results)]
    lines += ["", "## Summary", ""]
    lines.append("| " + " | ".join(_COLUMNS) + " |")
    lines.append("|" + "|".join(["---"] * 3 + ["--:"] * 2 + ["---", "--:"]) + "|")
    for row in _summary_rows(results):
        name, problem, metric, *rest = row
        cells = [f"`{name}`", _md_cell(problem), _md_cell(metric), *rest]
        if cells[5] == "FAIL":
            cells[5] = "**FAIL**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Cases", ""]
    for r in results:
        status = "PASS" if r.passed else "FAIL"
        lines += [f"### `{r.case.name}` — {status}", "", r.case.description, ""]
        lines.append(
            f"- **Problem:** `{r.case.problem}`; **precision:** {r.case.precision}; "
            f"**wall time:** {r.wall_time_s:.2f} s; {_case_facts(r)}"
        )
        for c in r.checks:
            lines.append(
                f"- **{c.metric}:** {_fmt_sci(c.error)} (tolerance {_fmt_sci(c.tolerance)}) "
                f"{_check_verdict(c)}"
            )
        lines += [f"- {k}: {_fmt_info(v)}" for k, v in r.info.items()]
        lines.append("")
        for err in r.errors:
            fence = _md_fence(err)
            lines += [f"{fence}text", err, fence, ""]
        for rel in r.figures:
            lines += [f"![{rel.stem}]({rel.as_posix()})", ""]
    return "\n".join(lines).rstrip() + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
.pass { color: #176f2c; font-weight: 600; }
.fail { color: #b00020; font-weight: 700; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.85rem; }
img { max-width: 100%; }
figure { margin: 1rem 0; }
code { background: #f3f3f3; padding: 0 0.2rem; }
"""


def _status_html(passed: bool) -> str:
    return '<span class="pass">PASS</span>' if passed else '<span class="fail">FAIL</span>'


def html_page(meta: Mapping[str, Any], results: list[CaseResult]) -> str:
    """`report.html`: the content of `report.md` as a standalone page (figures linked)."""
    e = html.escape
    note = partial_note(meta)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<title>sciml validation report</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>sciml validation report{' (PARTIAL)' if note else ''}</h1>",
    ]
    if note:
        parts.append(f'<p class="fail">{e(note)}</p>')
    parts += [
        "<ul>",
    ]
    parts += [f"<li><strong>{e(k)}:</strong> {e(v)}</li>" for k, v in _header_facts(meta, results)]
    parts += ["</ul>", "<h2>Summary</h2>", "<table>", "<thead><tr>"]
    parts += [f"<th>{e(c)}</th>" for c in _COLUMNS]
    parts += ["</tr></thead>", "<tbody>"]
    for name, problem, metric, err, tol, verdict, wall in _summary_rows(results):
        anchor = e(safe_name(name), quote=True)
        parts.append(
            f'<tr><td><a href="#{anchor}"><code>{e(name)}</code></a></td><td>{e(problem)}</td>'
            f'<td>{e(metric)}</td><td class="num">{e(err)}</td><td class="num">{e(tol)}</td>'
            f'<td>{_status_html(verdict == "PASS")}</td><td class="num">{e(wall)}</td></tr>'
        )
    parts += ["</tbody>", "</table>", "<h2>Cases</h2>"]
    for r in results:
        anchor = e(safe_name(r.case.name), quote=True)
        parts.append(
            f'<h3 id="{anchor}"><code>{e(r.case.name)}</code> — {_status_html(r.passed)}</h3>'
        )
        parts.append(f"<p>{e(r.case.description)}</p>")
        parts.append("<ul>")
        parts.append(
            f"<li><strong>Problem:</strong> <code>{e(r.case.problem)}</code>; "
            f"<strong>precision:</strong> {e(r.case.precision)}; "
            f"<strong>wall time:</strong> {r.wall_time_s:.2f} s; {e(_case_facts(r))}</li>"
        )
        for c in r.checks:
            why = f" ({e(c.invalid)})" if c.invalid else ""
            parts.append(
                f"<li><strong>{e(c.metric)}:</strong> {e(_fmt_sci(c.error))} "
                f"(tolerance {e(_fmt_sci(c.tolerance))}) {_status_html(c.passed)}{why}</li>"
            )
        parts += [f"<li>{e(str(k))}: {e(_fmt_info(v))}</li>" for k, v in r.info.items()]
        parts.append("</ul>")
        parts += [f"<pre>{e(err)}</pre>" for err in r.errors]
        for rel in r.figures:
            src = e(rel.as_posix(), quote=True)
            parts.append(
                f'<figure><img src="{src}" alt="{e(rel.stem, quote=True)}">'
                f"<figcaption>{e(rel.stem)}</figcaption></figure>"
            )
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"
