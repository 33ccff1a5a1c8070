"""The `sciml` command line.

```
sciml validate [--suite quick|full] [--only NAME ...] [--out DIR] [--list] [--no-progress]
sciml --version
```

This is the one place that reaches every package, so it imports them inside the commands:
`sciml --version` and `sciml --help` load neither JAX nor the validation cases.

Exit codes: 0 all checks passed, 1 a check failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sciml import __version__

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sciml", description="A JAX toolkit for scientific machine learning."
    )
    parser.add_argument("--version", action="version", version=f"sciml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = sub.add_parser(
        "validate",
        help="run validation cases against exact references and write a report",
        description="Run a validation suite and write results.json, report.md, report.html, "
        "figures/ and data/ into the output directory. Exit code 0 when every check "
        "passes, 1 when one fails, 2 on a usage error.",
    )
    # Suites are checked by the registry, so that parsing needs no import of it.
    validate.add_argument(
        "--suite", default="quick", help="suite to run: quick or full (default: quick)"
    )
    validate.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these cases (a name, or a prefix ending before a dot)",
    )
    validate.add_argument(
        "--out",
        default="validation-report",
        metavar="DIR",
        help="report directory (default: ./validation-report)",
    )
    validate.add_argument(
        "--list", action="store_true", help="list the selected cases and exit without running"
    )
    validate.add_argument(
        "--no-progress",
        action="store_true",
        help="hide the progress bar (it is shown only when stderr is a terminal)",
    )
    validate.set_defaults(func=_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `sciml` command line with `argv` (default: `sys.argv[1:]`); return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version and argparse's own usage errors
        return e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_USAGE)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return args.func(args)


def _validate(args: argparse.Namespace) -> int:
    # A fresh handler per call: it binds the current sys.stderr, and leaves none behind.
    log = logging.getLogger("sciml")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        return _run_validate(args)
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


def _run_validate(args: argparse.Namespace) -> int:
    from sciml.validation import registry

    try:
        cases = registry.select_cases(args.suite, args.only)
    except ValueError as e:
        print(f"sciml validate: error: {e}", file=sys.stderr)
        return EXIT_USAGE

    if args.list:
        _print_table(
            ("case", "problem", "suites", "description"),
            [(c.name, c.problem, ",".join(c.suites), c.description) for c in cases],
        )
        return EXIT_OK
    if not cases:
        print(f"sciml validate: no cases in suite {args.suite!r}", file=sys.stderr)
        return EXIT_FAILED

    import jax

    # Validation compares with exact references, so it runs in float64 (see ARCHITECTURE.md).
    jax.config.update("jax_enable_x64", True)

    from sciml.validation.runner import run_cases

    # A bar redrawn into a log file (CI) is noise, so it is for terminals only.
    progress = not args.no_progress and sys.stderr.isatty()
    report = run_cases(cases, args.out, suite=args.suite, progress=progress)

    _print_table(
        ("case", "metric", "error", "tolerance", "result", "time"),
        [
            (
                e["name"],
                e["metric"],
                _fmt(e["error"]),
                _fmt(e["tolerance"]),
                "PASS" if e["passed"] else "FAIL",
                f"{e['wall_time_s']:.2f} s",
            )
            for e in report.entries
        ],
    )
    n_passed = sum(e["passed"] for e in report.entries)
    print(f"\n{n_passed}/{len(report.entries)} checks passed")
    print(f"report: {report.markdown}")
    return EXIT_OK if report.passed else EXIT_FAILED


def _fmt(x: float) -> str:
    return f"{x:.2e}" if x == x else "-"  # NaN (an exception entry) has no value to show


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(v)) for v in col) for col in zip(header, *rows, strict=False)]
    # The last column (descriptions, times) is left ragged rather than padded.
    for row in (header, *rows):
        cells = [str(v).ljust(w) for v, w in zip(row[:-1], widths, strict=False)]
        print("  ".join([*cells, str(row[-1])]))


if __name__ == "__main__":
    raise SystemExit(main())
