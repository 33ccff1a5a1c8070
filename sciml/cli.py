"""The `sciml` command line.

```
sciml validate [--suite quick|full] [--only NAME ...] [--out DIR] [--list] [--no-progress]
sciml train-dcdm --out PATH [--n N] [--systems K] [--steps S] [--seed SEED] [--loss L]
sciml train-potentials --out DIR [--models NAME ...] [--steps S]
sciml --version
```

This is the one place that reaches every package, so it imports them inside the commands:
`sciml --version` and `sciml --help` load neither JAX nor the validation cases.

`sciml validate` checks its output directory (and the dataset cache, when a selected case's
problem is a registered dataset) before anything runs, and publishes the report as one unit (see
`sciml.validation.runner`). SIGINT and SIGTERM stop it with a report marked partial.

Exit codes of `sciml validate`:

- 0: every check passed;
- 1: a check failed or a case raised;
- 2: usage or environment error (bad option, unknown case, an output path that is a file
  or cannot be created, permission denied, full disk, missing dependency): a one-line
  message on stderr, no traceback, and the published report left as it was;
- 130: interrupted by SIGINT (Ctrl-C); 143: terminated by SIGTERM. The cases that
  finished are published in a report marked partial.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from sciml import __version__

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_EXIT_CODES = """\
exit codes:
  0    every check passed
  1    a check failed or a case raised
  2    usage or environment error (bad option or path, permission denied, full disk,
       missing dependency): one line on stderr, the published report left as it was
  130  interrupted by SIGINT (Ctrl-C); the finished cases are published as a partial report
  143  terminated by SIGTERM; likewise
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sciml", description="A JAX toolkit for scientific machine learning."
    )
    parser.add_argument("--version", action="version", version=f"sciml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = sub.add_parser(
        "validate",
        help="run validation cases against exact references and write a report",
        description="Run a validation suite and publish results.json, report.md, "
        "report.html, figures/ and data/ at the output directory (a symlink to the newest "
        "run under DIR.runs/, replaced in one step). With --only, the other cases of the "
        "report are kept.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Suites are checked by the registry, so that parsing needs no import of it.
    validate.add_argument(
        "--suite", default="quick", help="suite to run: quick or full (default: quick)"
    )
    validate.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these cases (a name, or a prefix ending before a dot); the report "
        "keeps the other cases of its previous run",
    )
    validate.add_argument(
        "--out",
        default="validation-report",
        metavar="DIR",
        help="report directory, a symlink to the newest run in DIR.runs/ "
        "(default: ./validation-report)",
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

    train = sub.add_parser(
        "train-dcdm",
        help="train a DCDM network (sciml.precond) on obstacle layouts and save it",
        description="Train sciml.precond.MultigridNetwork with the unsupervised DCDM loss on "
        "layouts of the training seeds (sciml.solvers.train_dcdm) and write it, without "
        "pickle, to OUT with the command and its numbers in the header. The shipped network "
        "(sciml.precond.pretrained) was made by this command with its defaults.",
    )
    train.add_argument("--out", required=True, metavar="PATH", help="file to write")
    train.add_argument("--n", type=int, default=32, help="cells per axis (default 32)")
    train.add_argument("--systems", type=int, default=20, help="layouts (default 20)")
    train.add_argument("--steps", type=int, default=400, help="Adam steps (default 400)")
    train.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    train.add_argument("--loss", default="residual", choices=("residual", "energy"),
                       help="training loss (sciml.solvers.dcdm_loss; default residual)")
    train.set_defaults(func=_train_dcdm)

    pots = sub.add_parser(
        "train-potentials",
        help="train the Cu potentials of the atomistic validation cases and save them",
        description="Train the models of sciml.validation.cases.atomistic (MODELS) on the "
        "atomic_structures dataset (EMT Cu) and write each, without pickle, to "
        "DIR/<name>.ckpt with the command, data and held-out errors in its header. The "
        "shipped potentials (sciml.potentials.pretrained) were made by this command.",
    )
    pots.add_argument("--out", required=True, metavar="DIR", help="directory to write to")
    pots.add_argument("--models", nargs="*", default=None, metavar="NAME",
                      help="models to train (default: all, cu-mace and cu-invariant)")
    pots.add_argument("--steps", type=int, default=None,
                      help="optimiser steps (default: each model's own)")
    pots.set_defaults(func=_train_potentials)
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


class _Terminated(KeyboardInterrupt):
    """Raised by the SIGTERM handler: an interruption that remembers its signal."""

    def __init__(self, signum: int):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated(signum)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM interrupt like Ctrl-C does, restoring the previous handler after."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals go elsewhere
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error(message: object) -> None:
    text = " ".join(str(message).split())  # one line, whatever the message holds
    print(f"sciml validate: error: {text}", file=sys.stderr)


def _os_error(e: OSError) -> str:
    if e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return e.strerror or str(e)


def _validate(args: argparse.Namespace) -> int:
    # A fresh handler per call: it binds the current sys.stderr, and leaves none behind.
    log = logging.getLogger("sciml")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with _sigterm_interrupts():
            return _run_validate(args)
    except KeyboardInterrupt as e:
        return _interrupted(e)
    except ImportError as e:
        _error(f"missing dependency: {e}; install the package (pip install -e .)")
        return EXIT_USAGE
    except OSError as e:
        _error(_os_error(e))
        return EXIT_USAGE
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


def _train_dcdm(args: argparse.Namespace) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)  # float64 Krylov vectors for the residual data
    from sciml.precond import MultigridNetwork, save_network
    from sciml.provenance import timestamp
    from sciml.solvers import DCDMTrainingConfig, train_dcdm

    try:
        config = DCDMTrainingConfig(n=args.n, systems=args.systems, steps=args.steps,
                                    loss=args.loss)
        from sciml.io import check_writable_dir

        check_writable_dir(Path(args.out).resolve().parent, "the output directory")
    except (TypeError, ValueError, OSError) as e:
        print(f"sciml train-dcdm: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    network = MultigridNetwork(key=jax.random.key(args.seed))
    result = train_dcdm(network, config, seed=args.seed, progress=True)
    loss = result.history["loss"].values
    save_network(args.out, result.model, {
        "command": f"sciml train-dcdm --out {args.out} --n {args.n} --systems "
                   f"{args.systems} --steps {args.steps} --seed {args.seed} --loss {args.loss}",
        "date": timestamp(), "samples": result.stats["samples"],
        "loss_first": float(loss[0]), "loss_last": float(loss[-1]),
        "wall_time_s": result.wall_time_s})
    print(f"wrote {args.out}: loss {loss[0]:.3g} -> {loss[-1]:.3g} in "
          f"{result.wall_time_s:.0f} s")
    return EXIT_OK


def _train_potentials(args: argparse.Namespace) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)  # float32 training, float64 evaluation
    from sciml.io import check_writable_dir
    from sciml.validation.cases.atomistic import MODELS, train_and_save

    names = args.models or list(MODELS)
    unknown = sorted(set(names) - set(MODELS))
    try:
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; choose from {sorted(MODELS)}")
        if args.steps is not None and args.steps < 1:
            raise ValueError(f"--steps must be a positive integer, got {args.steps}")
        check_writable_dir(Path(args.out).resolve(), "the output directory")
    except (ValueError, OSError) as e:
        print(f"sciml train-potentials: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    report = train_and_save(args.out, names, args.steps)
    for name, prov in report.items():
        err = prov["test_errors"]["all"]
        print(f"wrote {Path(args.out) / name}.ckpt: held-out {err['energy_mae']:.2f} meV/atom, "
              f"{err['forces_mae']:.1f} meV/Å in {prov['training_s']:.0f} s")
    return EXIT_OK


def _interrupted(e: KeyboardInterrupt) -> int:
    signum = getattr(e, "signum", signal.SIGINT)
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    report = getattr(e, "report", None)
    case = getattr(e, "case", None)
    during = f" while {case} was running" if case else ""
    if report is not None:
        print(f"sciml validate: interrupted by {name}{during}; partial report with "
              f"{len(report.ran)} finished case(s): {report.markdown}", file=sys.stderr)
    else:
        print(f"sciml validate: interrupted by {name}{during}; no report written (the "
              "previous one, if any, is unchanged)", file=sys.stderr)
    return 128 + int(signum)


def _run_validate(args: argparse.Namespace) -> int:
    from sciml.validation import registry

    try:
        cases = registry.select_cases(args.suite, args.only)
    except ValueError as e:
        _error(e)
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

    from sciml.validation.runner import ReportError, check_output, run_cases

    # Every path is checked before anything is computed.
    check_output(args.out)
    _check_dataset_cache(cases)

    import jax

    # Validation compares with exact references, so it runs in float64 (see ARCHITECTURE.md).
    jax.config.update("jax_enable_x64", True)

    # A bar redrawn into a log file (CI) is noise, so it is for terminals only.
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        report = run_cases(
            cases,
            args.out,
            suite=None if args.only else args.suite,  # --only chooses by name, not suite
            only=args.only,
            progress=progress,
        )
    except ReportError as e:
        _error(e)
        return EXIT_USAGE

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
    if report.kept:
        print(f"kept from the previous report: {', '.join(report.kept)}")
    print(f"report: {report.markdown}")
    return EXIT_OK if report.passed else EXIT_FAILED


def _check_dataset_cache(cases: Sequence[object]) -> None:
    """Check the dataset cache is writable when a case's problem is a registered dataset."""
    from sciml.datasets import dataset_names, default_cache_dir
    from sciml.io import check_writable_dir

    names = set(dataset_names())
    if any(getattr(c, "problem", None) in names for c in cases):
        check_writable_dir(default_cache_dir(), "dataset cache directory")


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
