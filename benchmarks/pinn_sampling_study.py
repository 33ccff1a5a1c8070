"""Sampling study: uniform, Sobol, RAR, RAD and AAS at equal budget on three PINN problems.

For Burgers (ν = 0.01/π), the 2-D peak (α = 1000) and the 5-D peak, every sampler trains
the same network from the same seed with the same number of collocation points per set,
the same rounds and the same Adam + L-BFGS steps (`sciml.validation.cases.pde.STUDY`).
RAR starts from half the points and adds the rest over the rounds, so its final set has
the same size. The relative L2 error against the problem's reference and the wall time
are recorded, and a figure shows each sampler's final collocation points over the
residual of its trained network.

    python benchmarks/pinn_sampling_study.py --size small   # tiny budgets, ~8 min
    python benchmarks/pinn_sampling_study.py --size medium  # 2000 points, 5000 + 2000 steps
    python benchmarks/pinn_sampling_study.py --size full    # the validation budgets, hours

Writes `results/pinn_sampling_study-<size>.{json,md}` and `...-<problem>.png`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, meta, write_json  # noqa: E402

SAMPLERS = ("uniform", "sobol", "rar", "rad", "aas")
# Reduced budgets (the same for every sampler); "full" is the validation budget.
SIZES = {
    "small": dict(n_points=500, config=dict(rounds=4, adam_steps=1200, lbfgs_steps=300)),
    "medium": dict(n_points=2000, config=dict(rounds=10, adam_steps=5000, lbfgs_steps=2000)),
}


def study_specs(size: str, problems):
    from sciml.validation.cases.pde import STUDY

    for name in problems:
        base = STUDY[name]
        if size in SIZES:
            base = base.replace(n_points=SIZES[size]["n_points"],
                                config={**base.config, **SIZES[size]["config"]})
        for sampler in SAMPLERS:
            yield name, sampler, sampler_spec(base, sampler)


def sampler_spec(base, sampler: str):
    """`base` with `sampler`, at the same budget (RAR: half the points, the rest added)."""
    n, rounds = base.n_points, base.config.get("rounds", 1)
    args = {"rar": dict(n_add=max(1, n // (2 * rounds))), "aas": base.sampler_args
            if base.sampler == "aas" else {}}.get(sampler, {})
    if sampler == "rad" and base.sampler == "rad":
        args = base.sampler_args
    n0 = n - rounds * args["n_add"] if sampler == "rar" else n
    return base.replace(sampler=sampler, n_points=n0, sampler_args=args)


def figure(rows, datasets, name, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(1, len(datasets), figsize=(4 * len(datasets), 3.8), squeeze=False)
    for ax, (sampler, ds) in zip(axs[0], datasets.items(), strict=True):
        dims = list(ds.residual.dims)
        x, y = ds[dims[0]].values, ds[dims[1]].values
        m = ax.pcolormesh(x, y, np.log10(np.asarray(ds.residual).T + 1e-16), shading="auto",
                          cmap="Greys")
        pts = ds.points.values
        ax.scatter(pts[:, 0], pts[:, 1], s=0.4, c="C3", alpha=0.5)
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
        ax.set_title(f"{sampler}: rel. L2 {ds.attrs['rel_l2']:.2e}")
        ax.set_xlabel(dims[0])
        ax.set_ylabel(dims[1])
    fig.colorbar(m, ax=axs[0].tolist(), label="log10 |residual|")
    fig.suptitle(f"{name}: final collocation points over the residual"
                 + (" (x1–x2 slice through the centre)" if name.endswith("5d") else ""))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    from sciml.validation.cases.pde import STUDY

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=("small", "medium", "full"), default="small")
    ap.add_argument("--problems", nargs="+", default=list(STUDY), choices=list(STUDY))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import jax

    jax.config.update("jax_enable_x64", True)  # benchmark entry point
    from sciml.validation.cases.pde import solve_pde

    rows, by_problem = [], {}
    t0 = time.perf_counter()
    stem = f"pinn_sampling_study-{args.size}"
    RESULTS.mkdir(exist_ok=True)
    for name, sampler, spec in study_specs(args.size, args.problems):
        _, err, ds = solve_pde(spec)
        row = dict(problem=name, sampler=sampler, rel_l2=err,
                   wall_time_s=float(ds.attrs["wall_time_s"]), n_points=spec.n_points,
                   n_points_used=int(ds.attrs["n_points_used"]),
                   final_set=int(ds.points.shape[0]), network=spec.network, net=spec.net,
                   config=spec.config, sampler_args=spec.sampler_args)
        logging.info("%s %s: rel L2 %.3e in %.1f s", name, sampler, err, row["wall_time_s"])
        rows.append(row)
        by_problem.setdefault(name, {})[sampler] = ds
        if len(by_problem[name]) == len(SAMPLERS):  # a problem is complete: write it out
            figure(rows, by_problem[name], name, RESULTS / f"{stem}-{name}.png")
            write_tables(rows, stem, args.size, time.perf_counter() - t0)


def write_tables(rows, stem, size, wall) -> None:
    """`<stem>.json` (every row, the machine, the command) and `<stem>.md` (the table)."""
    from sciml.io import atomic_write_text

    info = meta(size=size, total_wall_s=wall)
    write_json(RESULTS / f"{stem}.json", {**info, "rows": rows})
    lines = [f"# PINN sampling study ({size})", "",
             f"`{info['command']}` on {info['machine']['platform']}, "
             f"{info['machine']['cpu_count']} cores, {info['date']}; float64.", "",
             "| problem | " + " | ".join(SAMPLERS) + " |", "|---" * (len(SAMPLERS) + 1) + "|"]
    for name in dict.fromkeys(r["problem"] for r in rows):
        cells = []
        for s in SAMPLERS:
            r = next((r for r in rows if r["problem"] == name and r["sampler"] == s), None)
            cells.append("-" if r is None else f"{r['rel_l2']:.2e} ({r['wall_time_s']:.0f} s)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Relative L2 error against the reference (training wall time). Budgets per "
              "problem (points per set, rounds, Adam and L-BFGS steps, network) are in the "
              "JSON file."]
    atomic_write_text(RESULTS / f"{stem}.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
