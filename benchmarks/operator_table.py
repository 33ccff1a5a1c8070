"""All three neural operators on every problem they apply to: one table of test errors.

Rows are the operator datasets (Darcy 64×64, Burgers ν = 0.1 at 1024 points, the
antiderivative on 100 sensors), columns FNO, MgNO and DeepONet. Every cell trains on the
first `n_train` samples of `sciml.datasets.load(...)` and reports the mean relative L2
error on the `n_test` held-out ones, with the parameter count, the training wall time and
the training throughput.

Cells that are validation cases (`operator.darcy.fno`, `operator.darcy.mgno`,
`operator.burgers_periodic.fno`, `operator.burgers_periodic.deeponet`,
`operator.antiderivative.deeponet`) use the case's
`OperatorSpec` unchanged. With `--from-report DIR` their numbers are read from a
`sciml validate` report (`DIR/data/operator.<case>.nc`) instead of being trained again;
the table marks which cells came from where. The other cells use the specs below: the grid
models train with the epochs and batch of the case in their row, the DeepONet on Darcy
for 300 epochs (its steps are cheap).

    python benchmarks/operator_table.py --size small    # 100 train / 20 test, ~4 min
    python benchmarks/operator_table.py --size full \\
        --from-report validation-report                 # 1000 / 200; ~25 min + cases

`--only darcy.deeponet ...` runs a subset; each finished cell is written at once, and a
later run with the same size merges into the same file, so an interrupted run keeps what
it measured. Writes `results/operator_table-<size>.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, meta, write_json  # noqa: E402

PROBLEMS = {"darcy": "Darcy 64×64", "burgers_periodic": "Burgers, 1024 points",
            "antiderivative": "antiderivative, 100 sensors"}
MODELS = {"fno": "FNO", "mgno": "MgNO", "deeponet": "DeepONet"}


def specs() -> dict[str, tuple]:
    """`problem.model` -> (OperatorSpec at full size, name of the validation case or None)."""
    from sciml.validation.cases.operators import FULL, QUICK, OperatorSpec

    cases = {**FULL, **QUICK}
    grid = dict(epochs=80, batch_size=20, learning_rate=1e-3)
    deeponet = dict(latent=128, branch_width=128, branch_depth=3, trunk_width=128,
                    trunk_depth=3)
    anti = cases["antiderivative.deeponet"][0]
    own = {
        "darcy.deeponet": OperatorSpec("darcy", "deeponet", resolution=64, model_args=deeponet,
                                       config=dict(epochs=300, batch_size=20,
                                                   learning_rate=1e-3)),
        "burgers_periodic.mgno": OperatorSpec("burgers_periodic", "mgno", resolution=1024,
                                              model_args=dict(width=32, depth=4, levels=6),
                                              config=grid),
        # 100 points: 3 levels (100 = 4 · 25); the antiderivative's epochs and batch
        "antiderivative.fno": anti.replace(model="fno",
                                           model_args=dict(modes=(16,), width=32, depth=4)),
        "antiderivative.mgno": anti.replace(model="mgno",
                                            model_args=dict(width=32, depth=4, levels=3)),
    }
    out = {name: (spec, None) for name, spec in own.items()}
    for name in ("darcy.fno", "darcy.mgno", "burgers_periodic.fno", "burgers_periodic.deeponet",
                 "antiderivative.deeponet"):
        out[name] = (cases[name][0], f"operator.{name}")
    return out


def shrink(spec):
    """The small size: 100 train / 20 test samples, a tenth of the epochs (at least 5)."""
    cfg = dict(spec.config)
    cfg["epochs"] = max(5, cfg["epochs"] // 10)
    return spec.replace(n_train=100, n_test=20, config=cfg)


def from_report(report: Path, case: str) -> dict | None:
    """The cell of validation case `case` from a `sciml validate` report, or None."""
    from sciml.datasets import read_netcdf
    from sciml.validation._report import safe_name

    path = report / "data" / f"{safe_name(case)}.nc"
    if not path.exists():
        return None
    a = dict(read_netcdf(path).attrs)
    results = json.loads((report / "results.json").read_text())
    created = results.get("created", "?")
    return dict(rel_l2=float(a["rel_l2"]), n_parameters=int(a["n_parameters"]),
                # reports before the solver redesign call it train_time_s
                wall_time_s=float(a.get("wall_time_s", a.get("train_time_s"))),
                samples_per_s=float(a["samples_per_s"]),
                n_train=int(a["n_train"]), n_test=int(a["n_test"]),
                source=f"sciml validate report {report} ({created})")


def train_cell(spec) -> dict:
    from sciml.validation.cases.operators import solve_operator

    t = time.perf_counter()
    result, errors, ds = solve_operator(spec)
    return dict(rel_l2=float(ds.attrs["rel_l2"]), n_parameters=int(ds.attrs["n_parameters"]),
                wall_time_s=float(result.wall_time_s),
                samples_per_s=float(result.samples_per_s), n_train=spec.n_train,
                n_test=spec.n_test, wall_s=time.perf_counter() - t, source="trained here")


def _seconds(cell: dict) -> float:
    return cell.get("wall_time_s", cell.get("train_time_s"))  # older results: train_time_s


def markdown(info: dict, cells: dict) -> str:
    lines = [f"# Neural operators on every problem they apply to ({info['size']})", "",
             f"Last run: `{info['command']}` on {info['date']}; "
             f"{info['machine']['platform']}, {info['machine']['cpu_count']} CPUs. Runs with "
             "`--only` merge into this file; each cell below names the run it is from.", "",
             "Test relative L2 (mean over the held-out samples); below it the parameter count, "
             "training wall time and training samples per second. † from a `sciml validate` "
             "report; other cells trained in this run.", "",
             "| problem | " + " | ".join(MODELS.values()) + " |",
             "|---|" + "---|" * len(MODELS)]
    for prob, label in PROBLEMS.items():
        row = [label]
        for m in MODELS:
            c = cells.get(f"{prob}.{m}")
            if c is None:
                row.append("not run")
                continue
            mark = "†" if c["source"] != "trained here" else ""
            row.append(f"**{c['rel_l2']:.2e}**{mark}<br>{c['n_parameters']:,} params, "
                       f"{_seconds(c):.0f} s, {c['samples_per_s']:.0f}/s")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Specs of the cells (model arguments and training):", ""]
    for name, c in sorted(cells.items()):
        lines.append(f"- `{name}` ({c['n_train']} train / {c['n_test']} test): "
                     f"{c.get('model_args', '')} {c.get('config', '')} — {c['source']}; "
                     f"`{c['command']}` at {c['date']}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", choices=("small", "full"), default="small")
    p.add_argument("--only", nargs="+", metavar="PROBLEM.MODEL")
    p.add_argument("--from-report", type=Path, nargs="+", default=[], metavar="DIR",
                   help="sciml validate report directories to take the case cells from")
    args = p.parse_args(argv)
    from sciml.io import atomic_write_text

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    all_specs = specs()
    names = args.only or list(all_specs)
    unknown = sorted(set(names) - set(all_specs))
    if unknown:
        p.error(f"unknown cells {unknown}; choose from {sorted(all_specs)}")

    stem = f"operator_table-{args.size}"
    path = RESULTS / f"{stem}.json"
    cells = json.loads(path.read_text())["cells"] if path.exists() else {}
    info = meta(size=args.size)
    for name in names:
        spec, case = all_specs[name]
        spec = spec if args.size == "full" else shrink(spec)
        cell = None
        if case and args.size == "full":
            for report in args.from_report:
                cell = from_report(report, case)
                if cell is not None:
                    break
        if cell is None:
            logging.info("training %s", name)
            cell = train_cell(spec)
        cell.update(case=case, date=info["date"], command=info["command"])
        cell.setdefault("model_args", {k: str(v) for k, v in spec.model_args.items()})
        cell.setdefault("config", dict(spec.config))
        cells[name] = cell
        logging.info("%s: rel. L2 %.3e (%s)", name, cell["rel_l2"], cell["source"])
        write_json(path, {**info, "cells": cells})
        atomic_write_text(RESULTS / f"{stem}.md", markdown(info, cells))


if __name__ == "__main__":
    main()
