"""Eigen-PINN beside scipy's eigensolver on the same quantum well: error against wall time.

For each well's ground state, in one run on one machine:

- scipy: second-order finite differences solved with `scipy.linalg.eigh_tridiagonal`
  for N = m·2^k intervals (m puts every jump of V on a node); each point is (wall time
  of the solve, its error).
- PINN: `sciml.solvers.solve_eigenstate` (float64); its history gives the
  energy error against elapsed wall time (compilation included) over training.

Errors are against the exact eigenpair: |E - E_exact|/E_exact and the L2 error of the
normalised, sign-aligned ψ. Writes `quantum_wells_pinn_vs_scipy-<size>.{json,md,png}`.

    python benchmarks/quantum_wells_pinn_vs_scipy.py --size small   # finite well, ~1 min
    python benchmarks/quantum_wells_pinn_vs_scipy.py --size full    # three wells, ~3 min
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg as sl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

SIZES = {
    "small": dict(wells=("finite_well",), fd_k=range(5, 14),
                  pinn=dict(width=16, depth=2, n_colloc=32, ritz_steps=200, adam_steps=500,
                            lbfgs_steps=1000)),
    "full": dict(wells=("infinite_well", "finite_well", "finite_barrier"), fd_k=range(5, 17),
                 pinn={}),
}


def fd_ground_state(problem, n: int) -> tuple[float, np.ndarray, np.ndarray]:
    """FD ground state on N = n intervals: (E, interior nodes x, ψ at x with Σhψ² = 1).

    A node exactly on a jump of V takes the mean of the two sides (keeps second order);
    a jump between nodes makes the scheme first order there.
    """
    h = problem.L / n
    x = np.arange(1, n) * h
    v = np.asarray(problem.potential(x), dtype=float)
    for b in problem.breakpoints:
        on = np.abs(x - b) < 1e-9 * h
        if on.any():
            v[on] = 0.5 * (problem.potential(np.array([b - h / 2]))[0]
                           + problem.potential(np.array([b + h / 2]))[0])
    w, vec = sl.eigh_tridiagonal(2 / h**2 + v, -np.ones(n - 2) / h**2, select="i",
                                 select_range=(0, 0))
    return float(w[0]), x, vec[:, 0] / np.sqrt(h)


def node_multiplier(problem, max_m: int = 64) -> int:
    """Smallest m such that every jump of V falls on a node of a grid of m·2^k intervals."""
    for m in range(1, max_m + 1):
        t = np.asarray(problem.breakpoints) * m / problem.L
        if np.all(np.abs(t - np.round(t)) < 1e-9):
            return m
    return 1


def fd_study(problem, ks) -> list[dict]:
    """FD at N = m·2^k intervals, m putting the jumps of V on nodes (second order)."""
    exact_e = float(problem.energies(1)[0])
    m = node_multiplier(problem)
    rows = []
    for k in ks:
        n = m * 2**k
        times = []
        for _ in range(3 if n < 2**14 else 1):
            t = time.perf_counter()
            e, x, psi = fd_ground_state(problem, n)
            times.append(time.perf_counter() - t)
        ex = problem.eigenfunction(1, x)
        psi = psi * np.sign(np.sum(psi * ex))
        rows.append(dict(N=n, time_s=min(times), energy_rel_error=abs(e - exact_e) / exact_e,
                         psi_l2_error=float(np.sqrt(problem.L / n * np.sum((psi - ex) ** 2)))))
    return rows


def pinn_study(problem, config) -> dict:
    import jax

    from sciml.solvers import compare_with_exact, solve_eigenstate

    sol = solve_eigenstate(problem, config=config, key=jax.random.PRNGKey(0))
    err = compare_with_exact(sol, problem)
    h = sol.history.dropna("step", subset=["energy"])
    curve_e = np.abs(h.energy.values - err["energy_exact"]) / err["energy_exact"]
    return dict(time_s=sol.wall_time_s, energy_rel_error=err["energy_rel_error"],
                psi_l2_error=err["psi_l2_error"], curve_time_s=h.elapsed_s.values.tolist(),
                curve_energy_rel_error=curve_e.tolist())


def fd_time_to_reach(rows: list[dict], key: str, target: float) -> float | None:
    """Wall time at which FD reaches `target` error (log-log interpolation), or None."""
    for lo, hi in zip(rows[:-1], rows[1:], strict=True):
        if hi[key] <= target < lo[key]:
            f = np.log(target / lo[key]) / np.log(hi[key] / lo[key])
            return float(np.exp(np.log(lo["time_s"]) + f * np.log(hi["time_s"] / lo["time_s"])))
    return rows[0]["time_s"] if rows and rows[0][key] <= target else None


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wells = list(results)
    fig, axes = plt.subplots(2, len(wells), figsize=(4.6 * len(wells), 7), squeeze=False)
    for j, name in enumerate(wells):
        fd, pinn = results[name]["fd"], results[name]["pinn"]
        t = [r["time_s"] for r in fd]
        for i, key in enumerate(("energy_rel_error", "psi_l2_error")):
            ax = axes[i, j]
            ax.loglog(t, [max(r[key], 1e-17) for r in fd], "o-",
                      label="scipy FD (eigh_tridiagonal)")
            for r in fd[:: max(1, len(fd) // 4)]:
                ax.annotate(f"N={r['N']}", (r["time_s"], max(r[key], 1e-17)), fontsize=7,
                            textcoords="offset points", xytext=(4, 4))
            if key == "energy_rel_error":
                ax.loglog(pinn["curve_time_s"], np.maximum(pinn["curve_energy_rel_error"], 1e-17),
                          "-", color="C1", label="PINN during training")
            ax.loglog([pinn["time_s"]], [max(pinn[key], 1e-17)], "*", ms=14, color="C1",
                      label="PINN final")
            ax.set_xlabel("wall time (s)")
            ax.set_ylabel("|ΔE|/E" if i == 0 else "ψ L2 error")
            ax.set_title(name)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
    fig.tight_layout()
    from sciml.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    from sciml.io import atomic_write_text
    from sciml.problems import get_problem
    from sciml.solvers import EigenPINNConfig

    size = SIZES[args.size]
    config = EigenPINNConfig(**size["pinn"])
    results = {}
    for name in size["wells"]:
        problem = get_problem(name)
        fd = fd_study(problem, size["fd_k"])
        pinn = pinn_study(problem, config)
        reach = {key: fd_time_to_reach(fd, key, pinn[key])
                 for key in ("energy_rel_error", "psi_l2_error")}
        results[name] = dict(problem=repr(problem), fd=fd, pinn=pinn, fd_time_to_reach_pinn=reach)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"quantum_wells_pinn_vs_scipy-{args.size}"
    meta = dict(command="python " + " ".join(sys.argv),
                date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                machine=machine(), pinn_config=size["pinn"] or "EigenPINNConfig() defaults")
    atomic_write_text(stem.with_suffix(".json"), json.dumps({**meta, "wells": results}, indent=1))
    plot(results, stem.with_suffix(".png"))

    lines = [f"# Eigen-PINN vs scipy FD, ground state ({args.size})", "",
             f"`{meta['command']}` on {meta['machine']['platform']}, "
             f"{meta['machine']['cpu_count']} CPUs, {meta['date']}", "",
             "| well | solver | wall time (s) | rel. energy error | ψ L2 error |",
             "|---|---|--:|--:|--:|"]
    for name, r in results.items():
        p = r["pinn"]
        lines.append(f"| {name} | PINN (float64) | {p['time_s']:.1f} | "
                     f"{p['energy_rel_error']:.2e} | {p['psi_l2_error']:.2e} |")
        for f in r["fd"]:
            lines.append(f"| {name} | FD N={f['N']} | {f['time_s']:.2e} | "
                         f"{f['energy_rel_error']:.2e} | {f['psi_l2_error']:.2e} |")
        for key, t in r["fd_time_to_reach_pinn"].items():
            what = (f"FD reaches the PINN's {key} in {t:.2e} s: PINN/FD time ratio "
                    f"{p['time_s'] / t:.0f}") if t else f"FD never reaches the PINN's {key}"
            lines.append(f"\n- {name}: {what}")
        lines.append("")
    report = "\n".join(lines) + "\n"
    atomic_write_text(stem.with_suffix(".md"), report)
    print(report)
    print(f"written: {stem}.json/.md/.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
