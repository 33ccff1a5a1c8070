"""Validation cases for DCDM (`sciml.solvers.DCDM` with the shipped network) on Poisson
pressure systems with obstacle layouts never seen in training (held-out seeds ≥ 1000).

Each case solves a discrete manufactured problem (`A u* = b` for a known smooth `u*`, so the
solver's error is measured exactly, apart from discretisation) with DCDM, CG and
Jacobi-PCG, in float64 Krylov vectors (the network in float32), and checks DCDM's solution
against `u*` and its iterations against CG's. The continuum error of the same grid (the
empty box's sine solution, second order) is reported separately.
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from sciml.validation.registry import Case, Check, Outcome

RTOL = 1e-10


def _solve_all(kind: str, n: int, seed: int, cg_steps: int):
    import equinox as eqx
    import jax.numpy as jnp
    import lineax as lx

    from sciml.precond import pretrained
    from sciml.problems import linear_systems as ls
    from sciml.solvers import CG, DCDM, JacobiPCG

    system = ls.layout(kind, n, seed=seed)
    exact, b = ls.manufactured(system, seed=seed)
    op, rhs = system.operator(), jnp.asarray(b)
    solve = eqx.filter_jit(lambda op, b, s: lx.linear_solve(op, b, s))
    runs = {}
    for name, solver in (("DCDM", DCDM(pretrained(), rtol=RTOL, max_steps=60)),
                         ("CG", CG(rtol=RTOL, max_steps=cg_steps)),
                         ("Jacobi-PCG", JacobiPCG(rtol=RTOL, max_steps=cg_steps))):
        solve(op, rhs, solver).value.block_until_ready()  # compile
        start = time.perf_counter()
        sol = solve(op, rhs, solver)
        sol.value.block_until_ready()
        runs[name] = (np.asarray(sol.value), int(sol.stats["num_steps"]),
                      np.asarray(sol.stats["residuals"]), time.perf_counter() - start)
    return system, exact, b, runs


def _discretisation_error(n: int) -> float:
    """Max-norm error of the discrete solution of −Δu = 3π² Π sin(πx) on the empty Dirichlet
    box against the continuum solution (second order in h)."""
    import jax.numpy as jnp
    import lineax as lx

    from sciml.precond import pretrained
    from sciml.problems import linear_systems as ls
    from sciml.solvers import DCDM

    system = ls.layout("empty", n)
    u, b = ls.sine_solution(system)
    x = lx.linear_solve(system.operator(), jnp.asarray(b), DCDM(pretrained(), rtol=RTOL)).value
    return float(np.abs(np.asarray(x) - u).max() / np.abs(u).max())


def _outcome(kind: str, n: int, seed: int, ratio: float, cg_steps: int) -> Outcome:
    system, exact, b, runs = _solve_all(kind, n, seed, cg_steps)
    x, steps, _, seconds = runs["DCDM"]
    error = float(np.linalg.norm(x - exact) / np.linalg.norm(exact))
    residual = float(np.linalg.norm(b.ravel() - system.matrix(reduced=False) @ x.ravel())
                     / np.linalg.norm(b))
    cg_steps_taken = runs["CG"][1]
    checks = [
        Check("relative_residual", residual, RTOL),
        # ‖x − u*‖/‖u*‖ ≤ κ(A)·rtol; κ ≤ 1e4 on these grids (n ≤ 128, smoke boundaries)
        Check("solution_rel_error", error, 1e4 * RTOL),
        Check("dcdm_to_cg_iterations", steps / cg_steps_taken, ratio),
    ]
    histories = np.full((3, 1 + max(r[1] for r in runs.values())), np.nan)
    for i, r in enumerate(runs.values()):
        histories[i, :r[1] + 1] = r[2][:r[1] + 1]
    mid = n // 2
    data = xr.Dataset(
        {"residual": (("solver", "iteration"), histories),
         "fluid": (("x", "z"), system.fluid[:, mid, :]),
         "solution": (("x", "z"), x.reshape(system.shape)[:, mid, :]),
         "error": (("x", "z"), (x - exact).reshape(system.shape)[:, mid, :])},
        coords={"solver": list(runs), "iteration": np.arange(histories.shape[1])},
        attrs={"layout": kind, "seed": seed, "n": n})
    info = {"system": f"{kind} layout, seed {seed} (held out), {n}³ cells, "
                      f"{system.num_fluid} unknowns, boundary {system.boundary}",
            "iterations": ", ".join(f"{k}: {r[1]}" for k, r in runs.items()),
            "solve time (compiled)": ", ".join(f"{k}: {r[3]:.2f} s" for k, r in runs.items()),
            "precision": "Krylov vectors float64, network float32",
            "network": "sciml.precond.pretrained() (trained at 32³ on seeds < 1000)"}
    if kind == "empty" or n <= 32:
        info["discretisation error (sine solution, empty box, max rel.)"] = (
            f"{_discretisation_error(n):.2e} at {n}³")
    return Outcome(checks=checks, figures=_figures(data), data=data, info=info)


def _figures(ds: xr.Dataset) -> dict:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for solver in ds.solver.values:
        h = ds.residual.sel(solver=solver)
        axes[0].semilogy(ds.iteration, h, label=str(solver))
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel("‖r‖ / ‖b‖")
    axes[0].legend()
    axes[1].imshow(ds.fluid.T, origin="lower", cmap="gray")
    axes[1].set_title(f"{ds.attrs['layout']} layout, y = mid-plane (white: fluid)")
    im = axes[2].imshow(np.where(ds.fluid, ds.solution, np.nan).T, origin="lower")
    axes[2].set_title("DCDM solution, mid-plane")
    fig.colorbar(im, ax=axes[2])
    fig.tight_layout()
    return {"solve": fig}


CASES = [
    Case(name="linear_systems.dcdm.quick", problem="poisson_system",
         description="DCDM on a 32³ pressure system with an unseen obstacle layout: solution "
                     "against a manufactured exact one, iterations ≤ 1/5 of CG's",
         run=lambda: _outcome("mixed", 32, 1000, 0.2, 2000), suites=("quick",)),
    Case(name="linear_systems.dcdm.poisson_128", problem="poisson_system",
         description="DCDM at 128³ (2.1 M cells) on an unseen wall layout: solution against a "
                     "manufactured exact one, iterations ≤ 1/10 of CG's",
         run=lambda: _outcome("walls", 128, 1001, 0.1, 5000), suites=("full",)),
]
