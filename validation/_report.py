"""Rendering a validation run: `results.json`, `report.md` and `report.html` as strings.

No Markdown or HTML library: the reports are small, and text is escaped where it lands
(`html.escape` for the page, `|` in Markdown tables).
"""

from __future__ import annotations

import html
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciml.validation.registry import Case, Check


@dataclass
class CaseResult:
    """One case's checks, timing, files and failures, for the report writers."""

    case: Case
    wall_time_s: float
    checks: list[Check] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # one failing "exception" entry each
    figures: list[Path] = field(default_factory=list)  # relative to the report directory
    data: Path | None = None

    @property
    def passed(self) -> bool:
        return bool(self.checks) and not self.errors and all(c.passed for c in self.checks)

    def entries(self) -> list[dict[str, Any]]:
        """One `results.json` entry per check, then one `"exception"` entry per error."""
        common = {"name": self.case.name, "problem": self.case.problem}
        out = [
            {
                **common,
                "metric": c.metric,
                "error": c.error,
                "tolerance": c.tolerance,
                "passed": c.passed,
                "wall_time_s": self.wall_time_s,
                "precision": self.case.precision,
            }
            for c in self.checks
        ]
        for message in self.errors:
            out.append(
                {
                    **common,
                    "metric": "exception",
                    "error": math.nan,
                    "tolerance": math.nan,
                    "passed": False,
                    "wall_time_s": self.wall_time_s,
                    "precision": self.case.precision,
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


def _header_facts(meta: Mapping[str, Any], results: list[CaseResult]) -> list[tuple[str, str]]:
    m = meta["machine"]
    n_pass = sum(r.passed for r in results)
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    return [
        ("Date", meta["created"]),
        ("Suite", str(meta["suite"] or "—")),
        ("Result", f"{n_pass}/{len(results)} cases passed"),
        (
            "Machine",
            f"{m['platform']}, {m['processor']}, {m['cpu_count']} CPUs, Python {m['python']}",
        ),
        ("Versions", f"sciml {meta['sciml_version']}, {versions}"),
        ("Precision", _precision_note(results)),
    ]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_fence(text: str) -> str:
    """A backtick fence longer than any backtick run in `text`."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def markdown(meta: Mapping[str, Any], results: list[CaseResult]) -> str:
    """`report.md`: header facts, the summary table, then one section per case."""
    lines = ["# sciml validation report", ""]
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
            f"**wall time:** {r.wall_time_s:.2f} s"
        )
        for c in r.checks:
            verdict = "PASS" if c.passed else "FAIL"
            lines.append(
                f"- **{c.metric}:** {_fmt_sci(c.error)} (tolerance {_fmt_sci(c.tolerance)}) "
                f"{verdict}"
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
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<title>sciml validation report</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<h1>sciml validation report</h1>",
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
            f"<strong>wall time:</strong> {r.wall_time_s:.2f} s</li>"
        )
        for c in r.checks:
            parts.append(
                f"<li><strong>{e(c.metric)}:</strong> {e(_fmt_sci(c.error))} "
                f"(tolerance {e(_fmt_sci(c.tolerance))}) {_status_html(c.passed)}</li>"
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
