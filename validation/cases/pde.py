"""Validation of PINNs on PDEs with exact or converged references, per sampler.

Each case trains one network with one sampler and checks the relative L2 error against
the problem's reference, measured by the problem's error quadrature. The report shows
reference, prediction and error, and the final collocation points over the residual.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from sciml.validation.registry import Case, Check, Outcome


@dataclass(frozen=True)
class PDESpec:
    """One PINN experiment: problem, network, sampler, training settings.

    Attributes:
        problem: registered problem name; `params` its keyword arguments.
        network: `build_network` kind; `net` its keyword arguments (width, depth...).
        sampler: `make_sampler` name; `n_points` and `sampler_args` for it.
        loss, constraint: `make_loss` / `make_constraint` names, with `loss_args` and
            `constraint_args`.
        config: `PINNConfig` keyword arguments.
        seed: PRNG seed for the network and the sampling.
    """

    problem: str
    params: dict = field(default_factory=dict)
    network: str = "mlp"
    net: dict = field(default_factory=dict)
    sampler: str = "uniform"
    n_points: int = 1024
    sampler_args: dict = field(default_factory=dict)
    loss: str = "residual"
    loss_args: dict = field(default_factory=dict)
    constraint: str = "auto"
    constraint_args: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    seed: int = 0

    def replace(self, **changes) -> PDESpec:
        return dataclasses.replace(self, **changes)


def solve_pde(spec: PDESpec, *, progress: bool = False):
    """Train the PINN described by `spec`; return `(PINNResult, rel_l2, Dataset)`.

    The dataset holds the plotting grid (`u_pinn`, `u_ref`, `residual` over the first
    two coordinates, other coordinates at the domain's centre), the final collocation
    points and the training history.
    """
    import jax

    from sciml.problems import get_problem
    from sciml.solvers import (
        PINNConfig,
        ResidualField,
        predict,
        reference_error,
        residual_values,
        train_pinn,
    )
    from sciml.validation.factories import (
        build_network,
        make_constraint,
        make_loss,
        make_sampler,
    )

    problem = get_problem(spec.problem, **spec.params)
    kn, kt = jax.random.split(jax.random.key(spec.seed))
    net = build_network(spec.network, problem, key=kn, **spec.net)
    sampler = make_sampler(spec.sampler, spec.n_points, **spec.sampler_args)
    result = train_pinn(problem, net, sampler, PINNConfig(**spec.config), key=kt,
                        loss=make_loss(spec.loss, **spec.loss_args),
                        constraint=make_constraint(spec.constraint, **spec.constraint_args),
                        progress=progress)
    err = reference_error(problem, result.model)

    grid, shape, axes = _plot_grid(problem)
    inside = np.asarray(problem.domain.contains(grid))
    u = np.where(inside, predict(result.model, grid), np.nan)
    ref = np.where(inside, problem.solution(grid), np.nan)
    res = np.where(inside, np.asarray(residual_values(ResidualField(result.model, problem),
                                                       grid)), np.nan)
    dims = tuple(problem.variables[: len(shape)])
    coords = {d: a for d, a in zip(dims, axes, strict=True)}
    ds = xr.Dataset(
        {
            "u_pinn": (dims, u.reshape(shape)),
            "u_ref": (dims, ref.reshape(shape)),
            "residual": (dims, res.reshape(shape)),
            "points": (("point", "coord"), result.points),
        },
        coords={**coords, "coord": list(problem.variables)},
    )
    hist = result.history.rename({"step": "train_step"})
    ds = ds.merge(hist[[v for v in ("loss", "elapsed_s", "interior", "boundary")
                        if v in hist]].rename({v: f"history_{v}" for v in
                                               ("loss", "elapsed_s", "interior", "boundary")
                                               if v in hist}))
    ds.attrs.update({
        "problem": spec.problem, "sampler": spec.sampler, "network": spec.network,
        "rel_l2": err, "wall_time_s": result.wall_time_s,
        "n_points": spec.n_points, "n_points_used": result.n_points_used, "seed": spec.seed,
        **{f"param_{k}": str(v) for k, v in problem.params.items()},
        **{f"net_{k}": v for k, v in spec.net.items()},
        **{f"config_{k}": str(v) for k, v in dataclasses.asdict(result.config).items()},
        "loss": f"{spec.loss} {spec.loss_args or ''}".strip(),
        "constraint": f"{spec.constraint} {spec.constraint_args or ''}".strip(),
    })
    return result, err, ds


def _plot_grid(problem, n: int = 161):
    lo, hi = problem.domain.lower, problem.domain.upper
    if problem.dim == 1:
        x = np.linspace(lo[0], hi[0], 801)
        return x[:, None], (801,), [x]
    axes = [np.linspace(lo[i], hi[i], n) for i in range(2)]
    centre = (lo + hi) / 2
    mesh = np.meshgrid(*axes, indexing="ij")
    grid = np.tile(centre, (n * n, 1))
    grid[:, 0], grid[:, 1] = mesh[0].ravel(), mesh[1].ravel()
    return grid, (n, n), axes


def pde_figures(ds: xr.Dataset) -> dict[str, Any]:
    """Reference / prediction / error (and residual with collocation points)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title = f"{ds.attrs['problem']} — {ds.attrs['sampler']}, rel. L2 {ds.attrs['rel_l2']:.2e}"
    dims = list(ds.u_pinn.dims)
    if len(dims) == 1:
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
        x = ds[dims[0]].values
        a.plot(x, ds.u_ref, "k-", lw=2, label="reference")
        a.plot(x, ds.u_pinn, "C1--", label="PINN")
        a.set_xlabel(dims[0])
        a.legend()
        b.semilogy(x, np.abs(ds.u_pinn - ds.u_ref), label="|error|")
        b.semilogy(x, ds.residual, alpha=0.6, label="|residual|")
        b.set_xlabel(dims[0])
        b.legend()
        fig.suptitle(title)
        fig.tight_layout()
        return {"solution": fig, **_training_figure(ds)}
    x, y = ds[dims[0]].values, ds[dims[1]].values
    fig, axs = plt.subplots(1, 4, figsize=(17, 3.8))
    panels = [("reference", ds.u_ref, "viridis"), ("PINN", ds.u_pinn, "viridis"),
              ("|error|", np.abs(ds.u_pinn - ds.u_ref), "magma")]
    for ax, (name, val, cmap) in zip(axs, panels, strict=False):
        m = ax.pcolormesh(x, y, np.asarray(val).T, shading="auto", cmap=cmap)
        fig.colorbar(m, ax=ax)
        ax.set_title(name)
    r = np.asarray(ds.residual).T
    m = axs[3].pcolormesh(x, y, np.log10(r + 1e-16), shading="auto", cmap="Greys")
    fig.colorbar(m, ax=axs[3], label="log10 |residual|")
    pts = ds.points.values
    axs[3].scatter(pts[:, 0], pts[:, 1], s=0.5, c="C3", alpha=0.5)
    axs[3].set_title(f"collocation points ({pts.shape[0]}) over residual")
    axs[3].set_xlim(x[0], x[-1])
    axs[3].set_ylim(y[0], y[-1])
    for ax in axs:
        ax.set_xlabel(dims[0])
        ax.set_ylabel(dims[1])
    fig.suptitle(title + ("" if len(ds.coord) == 2 else
                          f" (slice through the centre of {len(ds.coord)}-D cube)"))
    fig.tight_layout()
    return {"solution": fig, **_training_figure(ds)}


def _training_figure(ds: xr.Dataset) -> dict[str, Any]:
    """Loss and its terms (interior residual, boundary) vs optimiser step, if logged."""
    import matplotlib.pyplot as plt

    terms = [(v, label) for v, label in (("history_interior", "interior residual"),
                                         ("history_boundary", "boundary"),
                                         ("history_loss", "total"))
             if v in ds]
    if not terms:
        return {}
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    step = ds.train_step.values
    for (v, label), style in zip(terms, ("-", "--", ":"), strict=False):
        val = ds[v].values
        ok = np.isfinite(val) & (val > 0)
        ax.semilogy(step[ok], val[ok], style, label=label)
    ax.set_xlabel("optimiser step (Adam rounds, then L-BFGS)")
    ax.set_ylabel("loss")
    ax.set_title(f"{ds.attrs['problem']}: training")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"training": fig}


def _outcome(spec: PDESpec, tolerance: float, progress: bool = False) -> Outcome:
    result, err, ds = solve_pde(spec, progress=progress)
    cfg = result.config
    info = {
        "problem": f"{spec.problem} {spec.params or ''}".strip(),
        "network": f"{spec.network} {spec.net}",
        "sampler": f"{spec.sampler}, {spec.n_points} points/round "
                   f"({result.n_points_used} drawn in all) {spec.sampler_args or ''}".strip(),
        "training": f"{ds.attrs['loss']} loss, {ds.attrs['constraint']} constraints, "
                    f"{cfg.optimiser} {cfg.adam_steps} "
                    f"in {cfg.rounds} rounds + L-BFGS {cfg.lbfgs_steps}",
        "wall time": f"{result.wall_time_s:.1f} s",
    }
    return Outcome(checks=[Check("rel_l2", err, tolerance)], figures=pde_figures(ds), data=ds,
                   info=info)


def _case(name: str, spec: PDESpec, tolerance: float, description: str, suite: str) -> Case:
    return Case(name=f"pde.{name}", problem=spec.problem, description=description,
                run=lambda: _outcome(spec, tolerance), suites=(suite,))




# The sampling study (benchmarks/pinn_sampling_study.py) runs each of these with every
# sampler at the same budget; the validation cases below use the best sampler.
STUDY: dict[str, PDESpec] = {
    "burgers": PDESpec(
        "burgers", network="mlp", net=dict(width=48, depth=4), sampler="rad", n_points=4000,
        config=dict(rounds=10, adam_steps=10000, lbfgs_steps=10000)),
    "peak_2d": PDESpec(
        "peak", dict(dim=2), network="mlp", net=dict(width=32, depth=4), sampler="aas",
        n_points=3000, sampler_args=dict(flow_batch=4096),
        config=dict(rounds=15, adam_steps=30000, learning_rate=1e-2, final_lr_ratio=0.01,
                    lbfgs_steps=20000)),
    "peak_5d": PDESpec(
        "peak", dict(dim=5), network="mlp", net=dict(width=32, depth=3), sampler="aas",
        n_points=4000, sampler_args=dict(flow_batch=4096),
        config=dict(rounds=8, adam_steps=6000, learning_rate=1e-2, final_lr_ratio=0.01,
                    lbfgs_steps=2000)),
}

QUICK: dict[str, tuple[PDESpec, float, str]] = {
    "poisson_1d.uniform": (
        PDESpec("poisson_1d", net=dict(width=32, depth=3), sampler="uniform", n_points=256,
                config=dict(rounds=5, adam_steps=3000, lbfgs_steps=3000)),
        1e-3, "Poisson 1-D, hard Dirichlet constraint, uniform points redrawn every round"),
    "poisson_2d.lhs": (
        PDESpec("poisson_2d", net=dict(width=32, depth=3), sampler="lhs", n_points=1024,
                config=dict(adam_steps=2000, lbfgs_steps=1000)),
        5e-3, "Poisson 2-D on a square with a hole, soft boundary losses, Latin hypercube"),
    "helmholtz_2d.sobol": (
        PDESpec("helmholtz_2d", net=dict(width=32, depth=3, activation="sin"),
                sampler="sobol", n_points=1024, config=dict(adam_steps=2000,
                                                            lbfgs_steps=1000)),
        1e-2, "Helmholtz 2-D (a = (1, 4)), sine-activated MLP, hard constraint, Sobol"),
    "nonlinear_elliptic.ritz": (
        PDESpec("nonlinear_elliptic", net=dict(width=24, depth=3), sampler="quadrature",
                n_points=1, sampler_args=dict(panels=12, order=4),
                loss="energy", config=dict(adam_steps=2000, lbfgs_steps=1000)),
        1e-2, "−Δu + u³ = f by minimising the energy (Deep Ritz), Gauss quadrature"),
}

FULL: dict[str, tuple[PDESpec, float, str]] = {
    # Dense BFGS through RAD rounds on a 2-24×4-1 MLP (1,897 parameters). Adam + L-BFGS
    # on the 48×4 MLP of STUDY reached 6.95e-4 in 710 s. Width 20 (1,341 parameters) was
    # faster per step but its third seed of benchmarks/burgers_vs_deepxde.py ended at
    # 2.1e-3 (seeds 0, 1: 2.2e-4, 1.5e-4); at width 24 all three reach 1e-3, after 50-67 s
    # on 2 cores, and this case ends at 3.2e-4 in 134 s.
    "burgers.rad": (
        STUDY["burgers"].replace(net=dict(width=24, depth=4),
                                 config=dict(rounds=10, adam_steps=8000, optimiser="bfgs",
                                             lbfgs_steps=0)),
        1e-3, "Burgers ν = 0.01/π vs Cole–Hopf, hard constraints, RAD resampling, BFGS"),
    # BFGS through RAD rounds: 2.1e-3 in 280 s on one core; Adam + L-BFGS with AAS
    # (STUDY["peak_2d"], the sampling study's setup) took 42 minutes to reach 8.2e-3.
    "peak_2d.rad": (
        STUDY["peak_2d"].replace(sampler="rad", sampler_args={},
                                 config=dict(rounds=10, adam_steps=5000, optimiser="bfgs",
                                             lbfgs_steps=0)),
        1e-2, "2-D peak α = 1000, RAD resampling, BFGS"),
    "peak_5d.aas": (STUDY["peak_5d"], 5e-2,
                    "5-D peak, soft boundary losses, adversarial adaptive sampling"),
    "nonlinear_elliptic.residual": (
        QUICK["nonlinear_elliptic.ritz"][0].replace(loss="residual"),
        1e-2, "−Δu + u³ = f by residual minimisation on the same quadrature points"),
    # BFGS through RAD rounds: 6.9e-4 in 409 s on one core. Adam 5000 + L-BFGS 3000 with
    # causal weighting on 2048 Sobol points ended at 3.4e-2. (Causal weights change the
    # loss between steps, which a line search cannot follow: not used with BFGS.)
    "allen_cahn.rad": (
        PDESpec("allen_cahn", network="periodic", net=dict(width=32, depth=4),
                sampler="rad", n_points=4000,
                config=dict(rounds=10, adam_steps=8000, optimiser="bfgs", lbfgs_steps=0)),
        1e-2, "Allen–Cahn vs spectral reference, periodic MLP, hard initial condition with "
              "the seam layer in the lift, RAD resampling, BFGS"),
}

CASES = [
    *(_case(name, spec, tol, desc, "quick") for name, (spec, tol, desc) in QUICK.items()),
    *(_case(name, spec, tol, desc, "full") for name, (spec, tol, desc) in FULL.items()),
]
