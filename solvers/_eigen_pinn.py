"""Physics-informed networks for 1-D Schrödinger eigenproblems with hard walls.

Solves -ψ'' + V(x) ψ = E ψ on [0, L], ψ(0) = ψ(L) = 0 (units ħ²/2m = 1) for the lowest
states, one at a time, following "Physics-Informed Neural Networks for One-Dimensional
Quantum Well Problems": a trial function that vanishes at the walls, a loss of mean
squared residual plus a normalisation penalty, and the energy either fixed or trained.

Three phases per state, all on `fit`: (1) a Ritz warm start, Adam on the Rayleigh quotient
∫ψ'² + Vψ² / ∫ψ² deflated against the states found, which by the variational principle
picks the *lowest* remaining state (every eigenpair zeroes the residual, so the residual
loss alone cannot); (2) Adam and (3) L-BFGS on the residual loss, the energy trainable (or
fixed). Where V jumps, ψ'' jumps with it and one smooth network smears the kink: the trial
function is then `PiecewiseC1Ansatz`, one network per region joined C¹, collocated on
Gauss-Legendre nodes inside each region.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from sciml.pinn import DirichletAnsatz, EigenModel, PiecewiseC1Ansatz
from sciml.problems.quantum_wells import QuantumWell
from sciml.solvers._result import TrainingResult
from sciml.solvers._train import concat_histories, fit, lbfgs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EigenPINNConfig:
    """Settings of the eigen-PINN solve (defaults reach the validated accuracy in float64).

    Attributes:
        width, depth, activation: each network (one per region of constant V).
        piecewise: one network per region joined C¹ (True), or a single network.
        n_colloc: Gauss-Legendre collocation nodes per region.
        ritz_steps, ritz_lr: Rayleigh-quotient warm start (0 to skip).
        adam_steps, adam_lr: residual training with Adam (cosine-decayed rate).
        lbfgs_steps: residual training with L-BFGS.
        train_energy: energy is a trainable parameter (True) or fixed to `energy`.
        exact_energy_step: with a trainable energy, also minimise the loss over E exactly
            (it is quadratic in E) after every `log_every` optimiser steps.
        energy: the fixed energy when `train_energy` is False (e.g. π² for the empty box).
        norm_weight, ortho_weight: weights of the normalisation and orthogonality penalties.
        rayleigh_weight: weight of the Rayleigh quotient (/ energy scale) kept in the
            residual phases. It is stationary at every eigenstate, so it does not move the
            minimiser, but it restores a near-degenerate admixture δ·ψ_m with force ∝
            δ·(E_m - E)/scale where the residual alone gives δ·((E_m - E)/scale)².
            Against lower states it pulls the other way; `ortho_weight` must exceed
            rayleigh_weight·(E_n - E_1)/scale (< rayleigh_weight) to keep deflation exact.
        log_every: steps between history rows.
    """

    width: int = 24
    depth: int = 2
    activation: str = "tanh"
    piecewise: bool = True
    n_colloc: int = 64
    ritz_steps: int = 500
    ritz_lr: float = 5e-3
    adam_steps: int = 2000
    adam_lr: float = 2e-3
    lbfgs_steps: int = 4000
    train_energy: bool = True
    exact_energy_step: bool = True
    energy: float | None = None
    norm_weight: float = 1.0
    ortho_weight: float = 10.0
    rayleigh_weight: float = 1.0
    log_every: int = 100

    def __post_init__(self):
        if not self.train_energy and self.energy is None:
            raise ValueError("a fixed-energy solve needs `energy`")
        for name in ("n_colloc", "width", "depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(kw_only=True)
class EigenSolution(TrainingResult):
    """One solved state: a `TrainingResult` whose `model` is the trained `EigenModel`, with
    `history` over `step` (loss terms and `energy`) and `stats` (`pieces`, `scale`).

    Attributes:
        index: 1 for the ground state.
        energy: trained energy (units of ħ²/(2m ℓ²)).
        rayleigh: the Rayleigh quotient of the trained ψ (a second energy estimate).
    """

    index: int
    energy: float
    rayleigh: float

    def wavefunction(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        """Trained ψ at points x (as trained; normalised to ∫ψ² ≈ 1 by the penalty)."""
        return jax.vmap(self.model.psi)(jnp.asarray(x))


def _gauss(edges: Sequence[float], n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    g, w = np.polynomial.legendre.leggauss(n)
    xs = [0.5 * (b - a) * g + 0.5 * (a + b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    ws = [0.5 * (b - a) * w for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return xs, ws


class _Grid(eqx.Module):
    """Per-region Gauss nodes with V and earlier states there (the loss's data)."""

    x: tuple[Array, ...]
    w: tuple[Array, ...]
    v: tuple[Array, ...]
    previous: tuple[Array, ...]  # per region: (n_prev, n_nodes)


def _make_grid(problem: QuantumWell, edges, n: int, previous: Sequence[EigenSolution]) -> _Grid:
    xs, ws = _gauss(edges, n)
    vs = [np.asarray(problem.potential(x), dtype=np.float64) for x in xs]
    prev = []
    for x in xs:
        rows = [np.asarray(s.wavefunction(x)) for s in previous]
        prev.append(np.stack(rows) if rows else np.zeros((0, len(x))))
    as_jnp = lambda seq: tuple(jnp.asarray(a) for a in seq)
    return _Grid(as_jnp(xs), as_jnp(ws), as_jnp(vs), as_jnp(prev))


def _with_derivatives(f, x):
    """(f, f', f'') of a scalar function at each of the points x (forward mode in x)."""
    df = lambda t: jax.jvp(f, (t,), (1.0,))[1]

    def at(t):
        d1, d2 = jax.jvp(df, (t,), (1.0,))
        return f(t), d1, d2

    return jax.vmap(at)(x)


def _pieces(model: EigenModel, grid: _Grid):
    """(ψ, ψ', ψ'') at every region's nodes."""
    return [_with_derivatives(lambda t, k=k: model.psi.piece(k, t), x)
            for k, x in enumerate(grid.x)]


def _terms(model: EigenModel, grid: _Grid, scale: float):
    """Quadrature estimates of ∫r², ∫ψ², ∫ψ'² + Vψ² and ⟨ψ, φ_j⟩."""
    res = norm = kinetic = 0.0
    overlap = 0.0
    for (psi, d1, d2), w, v, prev in zip(_pieces(model, grid), grid.w, grid.v, grid.previous,
                                          strict=True):
        r = (-d2 + (v - model.energy) * psi) / scale
        res = res + jnp.sum(w * r**2)
        norm = norm + jnp.sum(w * psi**2)
        kinetic = kinetic + jnp.sum(w * (d1**2 + v * psi**2))
        overlap = overlap + prev @ (w * psi)
    return res, norm, kinetic, overlap


def _loss_optimal_energy(model: EigenModel, grid: _Grid) -> Array:
    """argmin over E of the residual loss for this ψ: ⟨ψ, -ψ'' + Vψ⟩ / ⟨ψ, ψ⟩ at the nodes.

    The loss is quadratic in E, so this is exact block-coordinate descent along E.
    """
    num = den = 0.0
    for (psi, _, d2), w, v in zip(_pieces(model, grid), grid.w, grid.v, strict=True):
        num = num + jnp.sum(w * psi * (-d2 + v * psi))
        den = den + jnp.sum(w * psi**2)
    return num / den


def solve_eigenstate(problem: QuantumWell, index: int = 1, *,
                     previous: Sequence[EigenSolution] = (),
                     config: EigenPINNConfig = EigenPINNConfig(), key: PRNGKeyArray,
                     progress: bool = False) -> EigenSolution:
    """Find the lowest eigenstate orthogonal to `previous` (the ground state if none).

    Args:
        problem: a well: `L`, `potential(x)`, `breakpoints` (points where V jumps).
        index: label of the state sought (1 = ground); `previous` should hold 1..index-1.
        previous: solved lower states, to deflate against.
        config: network and training settings.
        key: PRNG key for the network initialisation.
        progress: show progress bars.
    """
    t0 = time.perf_counter()
    L = float(problem.L)
    breaks = tuple(float(b) for b in np.asarray(problem.breakpoints))
    edges = (0.0, *breaks, L) if config.piecewise else (0.0, L)
    grid = _make_grid(problem, edges, config.n_colloc, previous)
    v_nodes = np.concatenate([np.asarray(v) for v in grid.v])
    # residual scale ~ E: keeps the loss O(1) whatever the units or the depth of the well
    scale = float((np.pi / L) ** 2 * index**2 + np.max(np.abs(v_nodes)))
    kwargs = dict(width=config.width, depth=config.depth, activation=config.activation, key=key)
    if config.piecewise and breaks:
        psi = PiecewiseC1Ansatz(0.0, L, breaks, **kwargs)
    else:
        psi = DirichletAnsatz(0.0, L, **kwargs)
    e0 = config.energy if config.energy is not None else scale
    model = EigenModel(psi, jnp.asarray(e0 / scale, dtype=float), scale)
    ow = config.ortho_weight

    def rayleigh_loss(m, g):
        _, norm, kinetic, overlap = _terms(m, g, scale)
        rq = kinetic / norm
        return rq / scale + ow * jnp.sum(overlap**2) / norm, {"rayleigh": rq}

    def residual_loss(m, g):
        res, norm, kinetic, overlap = _terms(m, g, scale)
        pen_n = (norm - 1.0) ** 2
        pen_o = jnp.sum(overlap**2)
        loss = res + config.norm_weight * pen_n + ow * pen_o
        if config.rayleigh_weight:
            loss = loss + config.rayleigh_weight * kinetic / norm / scale
        return loss, {"residual": res, "norm_penalty": pen_n, "ortho_penalty": pen_o}

    energy_metric = lambda m: {"energy": m.energy}
    # The loss is quadratic in E: after every chunk, move E to its exact minimiser.
    project = None
    if config.train_energy and config.exact_energy_step:
        project = lambda m, g: eqx.tree_at(lambda m: m.e, m, _loss_optimal_energy(m, g) / scale)
    only_psi = eqx.tree_at(lambda m: m.e, jax.tree.map(eqx.is_inexact_array, model), False)
    histories = []
    common = dict(data=grid, has_aux=True, log_every=config.log_every, progress=progress)

    if config.ritz_steps:
        r = fit(model, rayleigh_loss, optax.adam(config.ritz_lr), steps=config.ritz_steps,
                filter_spec=only_psi, desc=f"state {index}: Ritz", **common)
        model = r.model
        histories.append(r.history)
    _, norm, kinetic, _ = _terms(model, grid, scale)
    # normalise the warm start and put the energy at its Rayleigh quotient
    model = eqx.tree_at(lambda m: m.psi, model, model.psi.scaled(1.0 / jnp.sqrt(norm)))
    if config.train_energy:
        model = eqx.tree_at(lambda m: m.e, model, kinetic / norm / scale)
        spec = jax.tree.map(eqx.is_inexact_array, model)
    else:
        spec = only_psi

    sched = optax.cosine_decay_schedule(config.adam_lr, max(config.adam_steps, 1), alpha=1e-2)
    for steps, optimiser, name in ((config.adam_steps, optax.adam(sched), "Adam"),
                                   (config.lbfgs_steps, lbfgs(), "L-BFGS")):
        if steps:
            r = fit(model, residual_loss, optimiser, steps=steps, filter_spec=spec,
                    metrics=energy_metric, project=project, desc=f"state {index}: {name}",
                    **common)
            model = r.model
            histories.append(r.history)

    _, norm, kinetic, _ = _terms(model, grid, scale)
    logger.info("state %d: trained E %.12g, loss-optimal E %.12g, Rayleigh %.12g", index,
                float(model.energy), float(_loss_optimal_energy(model, grid)),
                float(kinetic / norm))
    wall = time.perf_counter() - t0
    return EigenSolution(index=index, model=model, energy=float(model.energy),
                         rayleigh=float(kinetic / norm), history=concat_histories(*histories),
                         wall_time_s=wall, stats={"pieces": len(edges) - 1, "scale": scale})


def solve_eigenstates(problem: QuantumWell, n: int, *, config: EigenPINNConfig = EigenPINNConfig(),
                      key: PRNGKeyArray, progress: bool = False) -> list[EigenSolution]:
    """The lowest `n` states, each deflated against those found before it."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    found: list[EigenSolution] = []
    for i, k in enumerate(jax.random.split(key, n)):
        found.append(solve_eigenstate(problem, i + 1, previous=found, config=config, key=k,
                                      progress=progress))
    return found


def aligned_wavefunction(solution: EigenSolution, problem: QuantumWell, x,
                         n_per_region: int = 200) -> np.ndarray:
    """ψ_PINN at x, unit norm and signed like the exact state (`QuantumWell.aligned`)."""
    return problem.aligned(solution.index, solution.wavefunction, x, n_per_region)


def compare_with_exact(solution: EigenSolution, problem: QuantumWell,
                       n_per_region: int = 200) -> dict:
    """Errors of a solved state against the exact eigenpair (`QuantumWell.errors`):
    `energy_exact`, `energy_rel_error` (trained energy), `rayleigh_rel_error`, `psi_l2_error`."""
    return problem.errors(solution.index, solution.wavefunction, n_per_region,
                          energy=solution.energy, rayleigh=solution.rayleigh)
