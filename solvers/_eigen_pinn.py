"""Physics-informed networks for 1-D Schrödinger eigenproblems with hard walls.

Solves -ψ'' + V(x) ψ = E ψ on [0, L], ψ(0) = ψ(L) = 0 (units ħ²/2m = 1: lengths in units
of ℓ, energies in units of ħ²/(2m ℓ²)) for the lowest states, one at a time, following
"Physics-Informed Neural Networks for One-Dimensional Quantum Well Problems": a trial
function that vanishes at the walls, a loss of mean squared residual plus a normalisation
penalty, and the energy either fixed or trained.

Each state starts from a Ritz warm start: the Rayleigh quotient ∫ψ'² + Vψ² / ∫ψ², restricted
to ψ orthogonal to the states found, minimised exactly over the networks' last layers (ψ is
linear in them; a generalised eigenproblem, `EigenPINNConfig.last_layer_ritz`), optionally
after Adam on it over every weight (`ritz_steps`, off by default). By the variational
principle this picks the *lowest* remaining state (every eigenpair zeroes the residual, so
the residual loss alone cannot). Then Adam and L-BFGS, both on `fit`, train the residual
loss, the energy trainable (or fixed). Where V jumps, ψ'' jumps with it and one smooth
network smears the kink: the trial function is then `PiecewiseC1Ansatz`, one network per
region joined C¹, collocated on Gauss-Legendre nodes inside each region; where V exceeds
the state's energy across a decay length or more, that piece decays like the exact state
there (`PiecewiseC1Ansatz`'s decaying pieces, `EigenPINNConfig.envelopes`). The residual
of state n is measured in units of (nπ/L)² + |E_n|, E_n from finite differences.
Only the network weights (and the energy) train: the input box of each network is held
fixed (a trained box can collapse, saturating every unit so the network is a constant and
its region keeps a residual no step can remove).

Every state is then certified without the exact reference (`EigenSolution`): its Rayleigh
quotient ρ and residual norm η = ‖Hψ − ρψ‖/‖ψ‖ on a finer quadrature than the collocation
give the Krylov–Weinstein interval [ρ − η, ρ + η] and, with the gap δ to the rest of the
spectrum, Kato–Temple and Davis–Kahan bounds on the errors of the energy and of ψ.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax
import scipy.linalg
import xarray as xr
from jaxtyping import Array, Float, PRNGKeyArray

from sciml import checks
from sciml.nn import MLP
from sciml.pinn import DirichletAnsatz, EigenModel, PiecewiseC1Ansatz
from sciml.problems.quantum_wells import QuantumWell
from sciml.solvers._result import RESULTS, TrainingResult
from sciml.solvers._train import concat_histories, fit, lbfgs

logger = logging.getLogger(__name__)

# Grid points of the finite-difference spectrum that supplies gap estimates (`_fd_energies`).
_FD_POINTS = 2000
# A forbidden region gets a decaying piece (`EigenPINNConfig.envelopes`) from this many
# decay lengths across.
ENVELOPE_MIN_DECAYS = 1.0
# Relative cut-off on the Gram matrix of the last layers' span (`_last_layer_ritz`).
_RITZ_RCOND = 1e-12


@dataclass(frozen=True)
class EigenPINNConfig:
    """Settings of the eigen-PINN solve and of its certificate. The defaults reach, and
    certify, relative energy errors ≤ 1e-5 and ψ L2 errors ≤ 1e-4 for the lowest three
    states of the three wells in float64 (`sciml validate --only quantum_wells`; how they
    were chosen: `benchmarks/results/eigen_defaults.md`, measured before the last-layer
    Ritz start and the decaying pieces); over a grid of wells 10-2000 deep or high: the
    `quantum_wells.sweep` case.

    Attributes:
        width, depth, activation: each network (one per region of constant V).
        piecewise: one network per region of constant V joined C¹ (True), or a single
            network.
        envelopes: with `piecewise`, a region where V − E_n > 0 (E_n the state's
            finite-difference energy) spans at least `ENVELOPE_MIN_DECAYS` decay lengths
            1/κ, κ = √(V − E_n), is a decaying piece of rate κ (`PiecewiseC1Ansatz`): its
            continuation from the left decays like e^(−κs) instead of growing linearly,
            which the network would otherwise have to cancel to e^(−κℓ) across the region.
        n_colloc: Gauss-Legendre collocation nodes per piece.
        last_layer_ritz: start from the exact minimiser of the deflated Rayleigh quotient
            over the networks' last layers at their initial hidden layers.
        ritz_steps, ritz_lr: before that, Adam on the deflated Rayleigh quotient (plus an
            orthogonality penalty) over every weight; 0 (the default) skips it. It was the
            only warm start before `last_layer_ritz`; measured on the 2000 × 0.8 well
            (seed 0, 500 steps) it left states 2 and 3 at Rayleigh quotients 230 and 400
            (levels 55.4 and 124.5) and their hidden layers a worse basis: the last-layer
            step after it found 55.37 and 218, from the random start 55.37 and 124.51.
        adam_steps, adam_lr: residual training with Adam (cosine-decayed rate).
        lbfgs_steps, lbfgs_memory: residual training with L-BFGS (at most `lbfgs_steps`,
            see `stop_margin`), keeping `lbfgs_memory` curvature pairs.
        train_energy: energy is a trainable parameter (True) or fixed to `energy`.
        exact_energy_step: with a trainable energy, also minimise the loss over E exactly
            (it is quadratic in E) after every `log_every` optimiser steps.
        energy: the fixed energy when `train_energy` is False (e.g. π² for the empty box).
        residual_scale: the residual of state n is divided by (nπ/L)² + |E_n| with E_n its
            finite-difference estimate ("energy"), or by (nπ/L)² + max|V| ("potential").
            In a deep well E_n ≪ max V, and dividing by max V leaves the residual too weak
            against the penalties to be trained below the ψ target.
        norm_weight, ortho_weight: weights of the normalisation and orthogonality penalties.
        rayleigh_weight: weight of the Rayleigh quotient (/ energy scale) kept in the
            residual phases. It is stationary at every eigenstate, so it does not move the
            minimiser, but it restores a near-degenerate admixture δ·ψ_m with force ∝
            δ·(E_m - E)/scale where the residual alone gives δ·((E_m - E)/scale)².
            Against lower states it pulls the other way; `ortho_weight` must exceed
            rayleigh_weight·(E_n - E_1)/scale (< rayleigh_weight) to keep deflation exact.
        log_every: steps between history rows.
        certify_nodes: Gauss-Legendre nodes of the certificate's quadrature per region of V
            and per piece of the ansatz (independent of, and finer than, the collocation
            nodes).
        energy_rtol: a state is certified only if its energy's relative error bound is at
            most this...
        psi_tol: ...and its bound on the normalised, sign-aligned ψ L2 error at most this.
        stop_margin: L-BFGS stops early once the state's provisional certificate (its gap
            above from finite differences) meets `stop_margin` times both tolerances; 0 runs
            all `lbfgs_steps`. The final certificate is computed either way.
        raise_uncertified: raise `UncertifiedEigenstateError` when a state is not certified
            (and the solve's `throw` is True) instead of warning and returning it.
    """

    width: int = 24
    depth: int = 2
    activation: str = "tanh"
    piecewise: bool = True
    envelopes: bool = True
    n_colloc: int = 64
    last_layer_ritz: bool = True
    ritz_steps: int = 0
    ritz_lr: float = 5e-3
    adam_steps: int = 2000
    adam_lr: float = 2e-3
    lbfgs_steps: int = 8000
    lbfgs_memory: int = 100
    train_energy: bool = True
    exact_energy_step: bool = True
    energy: float | None = None
    residual_scale: str = "energy"
    norm_weight: float = 1.0
    ortho_weight: float = 10.0
    rayleigh_weight: float = 1.0
    log_every: int = 100
    certify_nodes: int = 256
    energy_rtol: float = 1e-5
    psi_tol: float = 1e-4
    stop_margin: float = 0.5
    raise_uncertified: bool = False

    def __post_init__(self):
        for name in ("width", "depth", "n_colloc", "lbfgs_memory", "log_every",
                     "certify_nodes"):
            checks.count(name, getattr(self, name))
        for name in ("ritz_steps", "adam_steps", "lbfgs_steps"):
            checks.integer(name, getattr(self, name), low=0)
        for name in ("ritz_lr", "adam_lr", "norm_weight", "energy_rtol", "psi_tol"):
            checks.positive(name, getattr(self, name))
        for name in ("ortho_weight", "rayleigh_weight", "stop_margin"):
            checks.nonnegative(name, getattr(self, name))
        for name in ("piecewise", "envelopes", "last_layer_ritz", "train_energy",
                     "exact_energy_step", "raise_uncertified"):
            value = getattr(self, name)
            if not isinstance(value, bool | np.bool_):
                raise TypeError(f"parameter {name!r} must be a bool, got {value!r} "
                                f"({type(value).__name__})")
        if not isinstance(self.activation, str):
            raise TypeError(f"parameter 'activation' must be a str, got {self.activation!r} "
                            f"({type(self.activation).__name__})")
        if self.residual_scale not in ("energy", "potential"):
            raise ValueError("residual_scale must be 'energy' or 'potential', got "
                             f"{self.residual_scale!r}")
        if self.energy is not None:
            checks.real("energy", self.energy)
        elif not self.train_energy:
            raise ValueError("a fixed-energy solve needs `energy`")


@dataclass(kw_only=True)
class EigenSolution(TrainingResult):
    """One solved state: a `TrainingResult` whose `model` is the trained `EigenModel`, with
    `history` over `step` (loss terms and `energy`) and `stats` (`pieces`, `scale`,
    `residual_spectrum` and `certificate`: the nearest finite-difference state and the
    reasons a state was not certified), and its certificate.

    The certificate uses no exact reference. H = −d²/dx² + V with hard walls; ρ and η are
    computed by Gauss-Legendre on each region of V (and each piece of the ansatz within it)
    with `certify_nodes` nodes, independent of the collocation nodes; λ is the eigenvalue
    nearest ρ, φ its normalised eigenfunction and θ = ∠(ψ, φ).

    - Krylov–Weinstein: some eigenvalue lies in [ρ − η, ρ + η] (`energy_interval`), for any
      ψ in the domain of H (ours is C¹ with ψ'' piecewise smooth, so Hψ is in L²).
    - Gap assumption: `gap` δ is an *estimate* of dist(ρ, σ(H) ∖ {λ}), from the
      Krylov–Weinstein intervals of the neighbouring states of the same solve where they
      were computed, else from a finite-difference spectrum of the well less twice its
      change under halving the grid. When δ does not exceed the true distance,
      |λ − ρ| ≤ η²/δ (Kato–Temple) and sin θ ≤ η/δ (Davis–Kahan).
    - Sharper forms of the same bounds, under the same assumption (`_bounds`): the
      residual measured in weaker norms (its sine spectrum against −d²/dx² + μ, which
      bounds H + μ − min V from below) and the other states of the solve taken one by one.
      The bounds stored are the smallest.

    `result` is `RESULTS.successful` only if the trained state is certified: ρ's nearest
    finite-difference eigenvalue is the `index`-th, `energy_rel_bound` ≤ `energy_rtol` and
    `psi_bound` ≤ `psi_tol`; otherwise `RESULTS.uncertified` (and a logged warning naming
    the state and the numbers), or `RESULTS.nonfinite_loss` if training diverged (with
    `throw=False`).

    Attributes:
        index: 1 for the ground state.
        energy: trained energy E (units of ħ²/(2m ℓ²)).
        rayleigh: the Rayleigh quotient ρ = ⟨ψ, Hψ⟩/⟨ψ, ψ⟩ of the trained ψ (a second energy
            estimate; units of ħ²/(2m ℓ²)).
        residual_norm: η = ‖Hψ − ρψ‖/‖ψ‖ (L² norms; units of ħ²/(2m ℓ²)).
        gap: δ, the estimated distance from ρ to the rest of the spectrum (units of
            ħ²/(2m ℓ²)).
        energy_bound: bound on |E − λ| (units of ħ²/(2m ℓ²)): |E − ρ| plus a bound on
            |λ − ρ| of at most min(η, η²/δ).
        psi_bound: bound on the normalised, sign-aligned L² error ‖ψ/‖ψ‖ − φ‖ (relative:
            φ has unit norm): 2 sin(θ/2) for the bound on sin θ, which is at most η/δ;
            √2 (no information) when none is below 1.
    """

    index: int
    energy: float
    rayleigh: float
    residual_norm: float = math.nan
    gap: float = math.nan
    energy_bound: float = math.inf
    psi_bound: float = math.inf

    def wavefunction(self, x: Float[Array, " n"]) -> Float[Array, " n"]:
        """Trained ψ at points x (as trained; normalised to ∫ψ² ≈ 1 by the penalty)."""
        return _psi_at(self.model, jnp.asarray(x))

    @property
    def energy_interval(self) -> tuple[float, float]:
        """[ρ − η, ρ + η]: it contains an eigenvalue (Krylov–Weinstein)."""
        return (self.rayleigh - self.residual_norm, self.rayleigh + self.residual_norm)

    @property
    def energy_rel_bound(self) -> float:
        """Bound on |E − λ|/|λ|: `energy_bound` / (|E| − `energy_bound`) (inf if ≤ 0)."""
        denominator = abs(self.energy) - self.energy_bound
        return self.energy_bound / denominator if denominator > 0 else math.inf

    @property
    def certified(self) -> bool:
        """Training succeeded and the certificate met the configured tolerances."""
        return self.successful


class UncertifiedEigenstateError(RuntimeError):
    """Raised (with `EigenPINNConfig(raise_uncertified=True)`) when a solved state's a
    posteriori certificate misses its tolerances; `solutions` holds the states solved."""

    def __init__(self, message: str, solutions: Sequence[EigenSolution]):
        super().__init__(message)
        self.solutions = list(solutions)


# --- quadrature and the loss --------------------------------------------------------------
def _gauss(edges: Sequence[float], n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    g, w = np.polynomial.legendre.leggauss(n)
    xs = [0.5 * (b - a) * g + 0.5 * (a + b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    ws = [0.5 * (b - a) * w for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return xs, ws


class _Grid(eqx.Module):
    """Per-region Gauss nodes with V and earlier states there, the residual scale and the
    penalty weights: everything the losses read, as arrays, so that one compiled loss
    serves every state of a solve."""

    x: tuple[Array, ...]
    w: tuple[Array, ...]
    v: tuple[Array, ...]
    previous: tuple[Array, ...]  # per region: (slots, n_nodes), zero rows past the states
    scale: Array  # residual scale ~ the state's energy (units of ħ²/(2m ℓ²))
    weights: Array  # norm, ortho, rayleigh


def _make_grid(problem: QuantumWell, edges, n: int, previous: Sequence[EigenSolution],
               slots: int, scale: float, config: EigenPINNConfig) -> _Grid:
    xs, ws = _gauss(edges, n)
    vs = [np.asarray(problem.potential(x), dtype=np.float64) for x in xs]
    prev = []
    for x in xs:
        rows = np.zeros((slots, len(x)))
        for i, s in enumerate(previous):
            rows[i] = np.asarray(s.wavefunction(x))
        prev.append(rows)
    as_jnp = lambda seq: tuple(jnp.asarray(a) for a in seq)
    weights = [config.norm_weight, config.ortho_weight, config.rayleigh_weight]
    return _Grid(as_jnp(xs), as_jnp(ws), as_jnp(vs), as_jnp(prev), jnp.asarray(scale),
                 jnp.asarray(weights, dtype=float))


def _with_derivatives(f, x):
    """(f, f', f'') of a scalar function at each of the points x (forward mode in x)."""
    df = lambda t: jax.jvp(f, (t,), (1.0,))[1]

    def at(t):
        d1, d2 = jax.jvp(df, (t,), (1.0,))
        return f(t), d1, d2

    return jax.vmap(at)(x)


def _pieces(model: EigenModel, xs: Sequence[Array]):
    """(ψ, ψ', ψ'') at the nodes of every region, regions being the ansatz's pieces."""
    return [_with_derivatives(lambda t, k=k: model.psi.piece(k, t), x) for k, x in enumerate(xs)]


def _terms(model: EigenModel, grid: _Grid):
    """Quadrature estimates of ∫r², ∫ψ², ∫ψ'² + Vψ² and ⟨ψ, φ_j⟩ (r scaled by 1/scale)."""
    res = norm = kinetic = 0.0
    overlap = 0.0
    for (psi, d1, d2), w, v, prev in zip(_pieces(model, grid.x), grid.w, grid.v, grid.previous,
                                          strict=True):
        r = (-d2 + (v - model.energy) * psi) / grid.scale
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
    for (psi, _, d2), w, v in zip(_pieces(model, grid.x), grid.w, grid.v, strict=True):
        num = num + jnp.sum(w * psi * (-d2 + v * psi))
        den = den + jnp.sum(w * psi**2)
    return num / den


# Module-level losses, projection and optimisers: `fit` caches its compiled chunk on them, so
# the states of one solve (same shapes) compile each phase once.
def _ritz_loss(m: EigenModel, g: _Grid):
    _, norm, kinetic, overlap = _terms(m, g)
    rq = kinetic / norm
    return rq / g.scale + g.weights[1] * jnp.sum(overlap**2) / norm, {"rayleigh": rq}


def _residual_loss(m: EigenModel, g: _Grid):
    res, norm, kinetic, overlap = _terms(m, g)
    pen_n = (norm - 1.0) ** 2
    pen_o = jnp.sum(overlap**2)
    loss = (res + g.weights[0] * pen_n + g.weights[1] * pen_o
            + g.weights[2] * kinetic / norm / g.scale)
    return loss, {"residual": res, "norm_penalty": pen_n, "ortho_penalty": pen_o}


def _optimal_energy(m: EigenModel, g: _Grid) -> EigenModel:
    return eqx.tree_at(lambda m: m.e, m, _loss_optimal_energy(m, g) / m.unit)


@functools.lru_cache(maxsize=8)
def _adam(lr: float, steps: int | None) -> optax.GradientTransformationExtraArgs:
    """Adam at rate `lr`, cosine-decayed over `steps` (None: constant)."""
    rate = lr if steps is None else optax.cosine_decay_schedule(lr, max(steps, 1), alpha=1e-2)
    return optax.with_extra_args_support(optax.adam(rate))


@functools.lru_cache(maxsize=4)
def _lbfgs(memory: int) -> optax.GradientTransformationExtraArgs:
    return lbfgs(memory)


def _trainable(model: EigenModel, *, energy: bool):
    """Filter spec: every network weight, the energy if `energy`; never an MLP's input box."""
    spec = jax.tree.map(eqx.is_inexact_array, model)
    is_mlp = lambda n: isinstance(n, MLP)
    spec = jax.tree.map(lambda n: eqx.tree_at(lambda n: (n.lower, n.upper), n, (False, False))
                        if is_mlp(n) else n, spec, is_leaf=is_mlp)
    return spec if energy else eqx.tree_at(lambda m: m.e, spec, False)


@eqx.filter_jit
def _psi_at(model: EigenModel, x: Array) -> Array:
    return jax.vmap(model.psi)(x)


@eqx.filter_jit
def _normalised(model: EigenModel, grid: _Grid, set_energy: bool) -> EigenModel:
    """ψ scaled to unit norm at the nodes; with `set_energy`, E at its Rayleigh quotient."""
    _, norm, kinetic, _ = _terms(model, grid)
    model = eqx.tree_at(lambda m: m.psi, model, model.psi.scaled(1.0 / jnp.sqrt(norm)))
    if set_energy:
        model = eqx.tree_at(lambda m: m.e, model, kinetic / norm / model.unit)
    return model


@eqx.filter_jit
def _collocation_summary(model: EigenModel, grid: _Grid):
    _, norm, kinetic, _ = _terms(model, grid)
    return _loss_optimal_energy(model, grid), kinetic / norm


def _last_layers(model: EigenModel) -> list:
    psi = model.psi
    nets = psi.nets if isinstance(psi, PiecewiseC1Ansatz) else (psi.net,)
    return [leaf for n in nets for leaf in (n.mlp.layers[-1].weight, n.mlp.layers[-1].bias)]


def _last_layer_partition(model: EigenModel):
    spec = jax.tree.map(lambda _: False, model)
    spec = eqx.tree_at(_last_layers, spec, [True] * len(_last_layers(model)))
    return eqx.partition(model, spec)


@eqx.filter_jit
def _last_layer_basis(model: EigenModel, grid: _Grid):
    """ψ and ψ' at the collocation nodes as linear maps of the networks' last layers (ψ is
    linear in them: the joints are): Jacobians of shape (nodes, parameters)."""
    params, static = _last_layer_partition(model)
    flat, unravel = jax.flatten_util.ravel_pytree(params)

    def values(theta):
        pieces = _pieces(eqx.combine(unravel(theta), static), grid.x)
        return (jnp.concatenate([p for p, _, _ in pieces]),
                jnp.concatenate([d for _, d, _ in pieces]))

    return jax.jacfwd(values)(flat)


def _last_layer_ritz(model: EigenModel, grid: _Grid, n_previous: int) -> EigenModel:
    """`model` with its networks' last layers at the exact minimiser of the Rayleigh
    quotient ∫ψ'² + Vψ² / ∫ψ² over them (the hidden layers fixed), among ψ orthogonal to
    the `n_previous` states of `grid.previous` (`EigenPINNConfig.last_layer_ritz`).

    A generalised symmetric eigenproblem on the span of the last layers' Jacobian: the
    orthogonality constraints are eliminated by a null-space basis; the span is whitened in
    the energy norm ∫ψ'² + (V − min V + 1)ψ² (positive definite) after dropping directions
    below `_RITZ_RCOND` of its largest eigenvalue (numerically dependent combinations,
    whose coefficients would be huge and cancelling), and the state is the direction of
    largest ∫ψ² there. (Whitening in the L² norm instead drops directions of small norm
    but large slope, which the excited states of a deep well need: measured on the
    2000 × 0.8 well, Rayleigh quotients of 2e5 against level 3's 124.5.)"""
    phi, dphi = (np.asarray(a) for a in _last_layer_basis(model, grid))
    w = np.concatenate([np.asarray(a) for a in grid.w])
    v = np.concatenate([np.asarray(a) for a in grid.v])
    gram = phi.T @ (w[:, None] * phi)
    shift = float(np.min(v)) - 1.0
    energy = dphi.T @ (w[:, None] * dphi) + phi.T @ ((w * (v - shift))[:, None] * phi)
    basis = np.eye(phi.shape[1])
    if n_previous:
        prev = np.concatenate([np.asarray(p)[:n_previous] for p in grid.previous], axis=1)
        _, sv, vt = np.linalg.svd(prev @ (w[:, None] * phi))
        rank = int(np.sum(sv > _RITZ_RCOND * sv[0]))
        basis = vt[rank:].T
    k = basis.T @ energy @ basis
    e, u = scipy.linalg.eigh(0.5 * (k + k.T))
    keep = e > _RITZ_RCOND * e[-1]
    whiten = basis @ (u[:, keep] / np.sqrt(e[keep]))
    g = whiten.T @ gram @ whiten
    m = g.shape[0]
    _, y = scipy.linalg.eigh(0.5 * (g + g.T), subset_by_index=(m - 1, m - 1))
    theta = whiten @ y[:, 0]
    theta = theta / math.sqrt(float(theta @ gram @ theta))  # unit norm at the nodes
    params, static = _last_layer_partition(model)
    _, unravel = jax.flatten_util.ravel_pytree(params)
    return eqx.combine(unravel(jnp.asarray(theta)), static)


# --- the certificate -----------------------------------------------------------------------
def _regions(problem: QuantumWell) -> tuple[float, ...]:
    return (0.0, *(float(b) for b in np.asarray(problem.breakpoints)), float(problem.L))


@eqx.filter_jit
def _rayleigh_residual(model: EigenModel, xs, ws, vs, same_pieces: bool):
    """ρ = ⟨ψ, Hψ⟩/⟨ψ, ψ⟩, η = ‖Hψ − ρψ‖/‖ψ‖ and (Hψ − ρψ)/‖ψ‖ at the nodes, by
    Gauss-Legendre on each region of V."""
    if same_pieces:
        values = _pieces(model, xs)
    else:
        values = [_with_derivatives(model.psi, x) for x in xs]
    psi = jnp.concatenate([p for p, _, _ in values])
    h_psi = jnp.concatenate([-d2 + v * p for (p, _, d2), v in zip(values, vs, strict=True)])
    w = jnp.concatenate(ws)
    norm = jnp.sum(w * psi**2)
    rho = jnp.sum(w * psi * h_psi) / norm
    r = (h_psi - rho * psi) / jnp.sqrt(norm)
    return rho, jnp.sqrt(jnp.sum(w * r**2)), r


def _certificate_data(model: EigenModel, problem: QuantumWell, nodes: int) -> dict:
    """ρ, η and the sine spectrum of the residual r = (Hψ − ρψ)/‖ψ‖ on the certificate's
    quadrature (nodes per interval between consecutive edges of the regions of V and of
    the ansatz's pieces): `coefficients` ⟨r, s_j⟩ of s_j = √(2/L) sin(jπx/L),
    j = 1..nodes/2 (resolved by the rule), `tail` = η² − Σ_j ⟨r, s_j⟩² (Parseval),
    `v_min`, `v_max`: the extremes of V at the nodes, and the rule's `nodes`, `weights` with
    `residual` r there."""
    edges = tuple(sorted(set(_regions(problem)) | {float(e) for e in model.psi.edges}))
    xs, ws = _gauss(edges, nodes)
    vs = [np.asarray(problem.potential(x), dtype=np.float64) for x in xs]
    same = tuple(float(e) for e in model.psi.edges) == edges
    rho, eta, r = _rayleigh_residual(model, *(tuple(jnp.asarray(a) for a in s)
                                             for s in (xs, ws, vs)), same)
    x, w, r = np.concatenate(xs), np.concatenate(ws), np.asarray(r)
    L = float(problem.L)
    j = np.arange(1, nodes // 2 + 1)
    coefficients = np.sqrt(2.0 / L) * np.sin(np.pi / L * np.outer(j, x)) @ (w * r)
    eta = float(eta)
    return {"rayleigh": float(rho), "residual_norm": eta, "coefficients": coefficients,
            "tail": max(eta**2 - float(np.sum(coefficients**2)), 0.0),
            "v_min": float(min(np.min(v) for v in vs)),
            "v_max": float(max(np.max(v) for v in vs)), "L": L,
            "nodes": x, "weights": w, "residual": r}


def _fd_energies(problem: QuantumWell, n: int, points: int = _FD_POINTS):
    """The lowest `n` eigenvalues of the second-order finite-difference Hamiltonian on a
    uniform grid of `points` interior nodes, and an estimate of their error (twice their
    change from a grid of half as many nodes). Shapes (n,), (n,)."""

    def spectrum(m):
        h = float(problem.L) / (m + 1)
        v = np.asarray(problem.potential(h * np.arange(1, m + 1)), dtype=np.float64)
        return scipy.linalg.eigh_tridiagonal(2.0 / h**2 + v, np.full(m - 1, -1.0 / h**2),
                                             eigvals_only=True, select="i",
                                             select_range=(0, n - 1))

    fine = spectrum(points)
    return fine, 2.0 * np.abs(fine - spectrum(points // 2))


def _bounds(spectrum: dict, rho: float, eta: float, below: float, above: float,
            near: Sequence[tuple[float, float]] = ()) -> tuple[float, float]:
    """Bounds on sin θ = sin∠(ψ, φ) and on |λ − ρ| (λ, φ: the eigenpair sought).

    Write r_i = c_i (λ_i − ρ) for the components of r = (H − ρ)ψ (‖ψ‖ = 1) on the
    eigenbasis, so that sin²θ = Σ_{i≠k} r_i²/(λ_i − ρ)² and cos²θ |λ − ρ| ≤ Σ_{i≠k}
    r_i²/|λ_i − ρ|. `near` lists, for eigenvalues treated one by one, (a_i, d_i) with
    |r_i| ≤ a_i and |λ_i − ρ| ≥ d_i; the rest of the spectrum (but λ) lies outside
    (ρ − below, ρ + above) (either may be inf). Directly, |λ − ρ| ≤ min(η, η²/δ') with
    δ' the distance to all the other eigenvalues (Krylov–Weinstein, Kato–Temple). The sums
    over the rest are bounded three ways, the smallest kept:

    - with δ = min(below, above): Σ r_i²/(λ_i − ρ)² ≤ η²/δ², Σ r_i²/|λ_i − ρ| ≤ η²/δ
      (Davis–Kahan, Kato–Temple);
    - in weaker norms of r, much smaller when r oscillates faster than the states: with
      μ ≥ 0, c = μ − min V, A = H + c and B = −d²/dx² + μ with Dirichlet walls (diagonal in
      s_j = √(2/L) sin(jπx/L)), A ≥ B, so ⟨r, A⁻¹r⟩ ≤ q = Σ_j ⟨r, s_j⟩²/((jπ/L)² + μ)
      (modes past the resolved ones bounded by the first of them), and Σ r_i²/(λ_i − ρ)²
      ≤ q · max (λ + c)/(λ − ρ)², Σ r_i²/|λ_i − ρ| ≤ q · max (λ + c)/|λ − ρ|, the maxima
      over λ outside the interval (at its edges);
    - when β = (π/L)² + μ exceeds w = max V − min V, A⁻¹ = B⁻¹ − B⁻¹(V − min V)A⁻¹ gives
      ‖A⁻¹r‖ ≤ ‖B⁻¹r‖/(1 − w/β), so Σ r_i²/(λ_i − ρ)² ≤ (max (λ + c)/|λ − ρ| ·
      ‖B⁻¹r‖/(1 − w/β))²;

    each minimised over a grid of μ. Returns (sin θ bound, |λ − ρ| bound).
    """
    if not (math.isfinite(eta) and min(below, above) > 0 and all(d > 0 for _, d in near)):
        return 1.0, eta
    gap = min(below, above)
    far_sin2, far_energy = (eta / gap) ** 2, eta**2 / gap
    coefficients, L = spectrum["coefficients"], spectrum["L"]
    w = spectrum["v_max"] - spectrum["v_min"]
    k2 = (np.pi / L * np.arange(1, len(coefficients) + 2)) ** 2
    c2, tail = coefficients**2, spectrum["tail"]
    edges = [lam for lam in (rho - below, rho + above) if math.isfinite(lam)]
    for mu in np.concatenate([[0.0], (np.pi / L) ** 2 * np.logspace(-2, 4, 25)]):
        c = mu - spectrum["v_min"]
        if any(lam + c <= 0 for lam in edges):
            continue
        q1 = float(np.sum(c2 / (k2[:-1] + mu)) + tail / (k2[-1] + mu))
        g = max((lam + c) / abs(lam - rho) for lam in edges)
        far_sin2 = min(far_sin2, q1 * max((lam + c) / (lam - rho) ** 2 for lam in edges))
        far_energy = min(far_energy, q1 * g)
        beta = k2[0] + mu
        if beta > w:
            q2 = float(np.sum(c2 / (k2[:-1] + mu) ** 2) + tail / (k2[-1] + mu) ** 2)
            far_sin2 = min(far_sin2, (g * math.sqrt(q2) / (1.0 - w / beta)) ** 2)
    sin2 = min(1.0, far_sin2 + sum((a / d) ** 2 for a, d in near))
    delta = min([gap, *(d for _, d in near)])
    energy = min(eta, eta**2 / delta)  # Krylov–Weinstein, Kato–Temple
    if sin2 < 1:
        energy = min(energy, (far_energy + sum(a**2 / d for a, d in near)) / (1.0 - sin2))
    return math.sqrt(sin2), energy


def _certified(states: Sequence[EigenSolution], problem: QuantumWell, config: EigenPINNConfig,
               *, fd: tuple[np.ndarray, np.ndarray] | None = None,
               warn: Sequence[int] | None = None) -> list[EigenSolution]:
    """`states` (distinct indices, each with its `rayleigh`, `residual_norm` and
    `stats["residual_spectrum"]`) with their gap, bounds and `result` set, and a warning for
    each one not certified among the indices `warn` (None: all).

    Pass 1 bounds each state by the gap to its neighbours: a neighbour of this solve by the
    far end of its Krylov–Weinstein interval, else finite differences less their error
    estimate; a neighbour counts only if its Rayleigh quotient is nearest its own index's
    finite-difference eigenvalue. Pass 2 sharpens this when the gap is small (a double
    well): the other states of the solve are taken one by one,
    |r_i| = |⟨r, φ_i⟩| ≤ |⟨r, ψ̂_i⟩| + η ‖ψ̂_i − φ_i‖ with pass 1's bound on the last
    factor and |λ_i − ρ| ≥ |ρ_i − ρ| − η_i, and only the states not computed are left to
    the gap bounds (`_bounds`).
    """
    by_index = {s.index: s for s in states}
    top = max(by_index) + 1
    fd, fd_err = _fd_energies(problem, top) if fd is None else fd
    fd_below = lambda i, rho: rho - (fd[i - 1] + fd_err[i - 1])  # ρ − (upper end of λ_i)
    fd_above = lambda i, rho: (fd[i - 1] - fd_err[i - 1]) - rho
    # A computed state stands for its index's eigenvalue (as a neighbour's gap and in pass
    # 2) only if its Rayleigh quotient is nearest that finite-difference eigenvalue (up to
    # the latter's error): a state that converged to another level would otherwise hide
    # the level it skipped from its neighbours' gaps, certifying them falsely.
    placed = lambda k, rho: abs(rho - fd[k - 1]) <= np.min(np.abs(fd - rho)) + fd_err[k - 1]
    known = {k for k, s in by_index.items()
             if math.isfinite(s.residual_norm) and placed(k, s.rayleigh)}
    first = {}
    for k, s in by_index.items():
        rho, eta = s.rayleigh, s.residual_norm
        lower, upper = by_index.get(k - 1), by_index.get(k + 1)
        if k == 1:
            below = math.inf
        elif k - 1 in known:
            below = rho - (lower.rayleigh + lower.residual_norm)
        else:
            below = fd_below(k - 1, rho)
        above = ((upper.rayleigh - upper.residual_norm) - rho if k + 1 in known
                 else fd_above(k + 1, rho))
        sin, distance = _bounds(s.stats["residual_spectrum"], rho, eta, below, above)
        first[k] = (min(below, above), sin, distance)

    out = []
    for k, s in by_index.items():
        gap, sin, distance = first[k]
        rho, eta = s.rayleigh, s.residual_norm
        spectrum = s.stats["residual_spectrum"]
        others = sorted(known - {k})
        if math.isfinite(eta) and others:
            x, w, r = spectrum["nodes"], spectrum["weights"], spectrum["residual"]
            near = []
            for i in others:
                psi_i = np.asarray(by_index[i].wavefunction(x))
                overlap = abs(np.sum(w * r * psi_i)) / math.sqrt(np.sum(w * psi_i**2))
                eps = 2.0 * math.sin(0.5 * math.asin(first[i][1]))
                near.append((overlap + eta * eps,
                             abs(by_index[i].rayleigh - rho) - by_index[i].residual_norm))
            missing_below = [i for i in range(1, k) if i not in known]
            missing_above = next(i for i in range(k + 1, top + 1) if i not in known)
            below = fd_below(missing_below[-1], rho) if missing_below else math.inf
            sin2, distance2 = _bounds(spectrum, rho, eta, below,
                                      fd_above(missing_above, rho), near)
            sin, distance = min(sin, sin2), min(distance, distance2)
        psi_bound = 2.0 * math.sin(0.5 * math.asin(sin))  # ‖ψ̂ − φ‖ = 2 sin(θ/2)
        s = replace(s, gap=gap, psi_bound=psi_bound, energy_bound=abs(s.energy - rho) + distance)
        nearest = int(np.argmin(np.abs(fd - rho))) + 1
        reasons = []
        if nearest != k:
            reasons.append(f"its Rayleigh quotient is nearest eigenvalue {nearest} of a "
                           "finite-difference spectrum, not the sought one")
        if not s.energy_rel_bound <= config.energy_rtol:
            reasons.append(f"energy bound {s.energy_bound:.3g} (relative "
                           f"{s.energy_rel_bound:.3g}) > energy_rtol {config.energy_rtol:g}")
        if not psi_bound <= config.psi_tol:
            reasons.append(f"psi bound {psi_bound:.3g} > psi_tol {config.psi_tol:g}")
        stats = {**s.stats, "certificate": {"nearest_fd_state": nearest, "reasons": reasons}}
        result = s.result
        if reasons and result == RESULTS.successful:
            result = RESULTS.uncertified
        if reasons and (warn is None or k in warn):
            logger.warning(
                "%r state %d not certified: %s (E %.12g, Rayleigh quotient %.12g, |E - rho| "
                "%.3g, residual norm eta %.3g, gap delta %.3g)", problem, k, "; ".join(reasons),
                s.energy, rho, abs(s.energy - rho), eta, gap)
        out.append(replace(s, result=result, stats=stats))
    return out


# --- the solve ------------------------------------------------------------------------------
def _scale(problem: QuantumWell, index: int, config: EigenPINNConfig,
           fd: np.ndarray) -> float:
    """Energy scale of state `index` (keeps the loss O(1)): (index π / L)² + |E_index| with
    E_index from the finite-difference spectrum `fd` (`residual_scale="energy"`), or
    (index π / L)² + max|V| ("potential")."""
    if config.residual_scale == "energy":
        extra = abs(float(fd[index - 1]))
    else:
        extra = max(float(np.max(np.abs(np.asarray(problem.potential(x), dtype=np.float64))))
                    for x in _gauss(_regions(problem), config.n_colloc)[0])
    return float((np.pi / float(problem.L)) ** 2 * index**2 + extra)


def _decay_rates(problem: QuantumWell, edges: Sequence[float], config: EigenPINNConfig,
                 energy: float) -> tuple[float, ...]:
    """Per piece: κ = √(min V − `energy`) where the piece is classically forbidden across
    at least `ENVELOPE_MIN_DECAYS` decay lengths (and `config.envelopes`), else 0."""
    rates = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        x = _gauss((a, b), config.n_colloc)[0][0]
        excess = float(np.min(np.asarray(problem.potential(x), dtype=np.float64))) - energy
        kappa = math.sqrt(excess) if excess > 0 else 0.0
        rates.append(kappa if config.envelopes and kappa * (b - a) >= ENVELOPE_MIN_DECAYS
                     else 0.0)
    return tuple(rates)


def _measured(model: EigenModel, index: int, problem: QuantumWell, config: EigenPINNConfig,
              **fields) -> EigenSolution:
    """A solution with its Rayleigh quotient, residual norm and residual spectrum
    (`_certificate_data`), not yet certified."""
    spectrum = _certificate_data(model, problem, config.certify_nodes)
    rho, eta = spectrum.pop("rayleigh"), spectrum.pop("residual_norm")
    stats = {**fields.pop("stats", {}), "residual_spectrum": spectrum}
    return EigenSolution(index=index, model=model, energy=float(model.energy), rayleigh=rho,
                         residual_norm=eta, stats=stats, **fields)


def _stop_when_certified(problem: QuantumWell, index: int, previous: Sequence[EigenSolution],
                         config: EigenPINNConfig):
    """A `fit` callback: True once the state meets `stop_margin` times its tolerances."""
    strict = replace(config, energy_rtol=config.stop_margin * config.energy_rtol,
                     psi_tol=config.stop_margin * config.psi_tol)
    fd = _fd_energies(problem, index + 1)

    def callback(record) -> bool:
        trial = _measured(record.model, index, problem, config, history=xr.Dataset(),
                          wall_time_s=0.0)
        return _certified([*previous, trial], problem, strict, fd=fd, warn=())[-1].certified

    return callback


def _solve(problem: QuantumWell, index: int, previous: Sequence[EigenSolution],
           config: EigenPINNConfig, key: PRNGKeyArray, progress: bool, throw: bool,
           slots: int, unit_index: int) -> EigenSolution:
    """Train one state (no certificate yet): `slots` rows for the states to deflate against
    and the energy unit of state `unit_index`, shared by the states of a solve so that
    they share compiled code."""
    t0 = time.perf_counter()
    L = float(problem.L)
    fd = _fd_energies(problem, max(index, unit_index))[0]
    edges = _regions(problem) if config.piecewise else (0.0, L)
    scale = _scale(problem, index, config, fd)
    grid = _make_grid(problem, edges, config.n_colloc, previous, slots, scale, config)
    kwargs = dict(width=config.width, depth=config.depth, activation=config.activation, key=key)
    if len(edges) > 2:
        decay = _decay_rates(problem, edges, config, float(fd[index - 1]))
        psi = PiecewiseC1Ansatz(0.0, L, edges[1:-1], decay=decay, **kwargs)
    else:
        psi = DirichletAnsatz(0.0, L, **kwargs)
    unit = _scale(problem, unit_index, config, fd)
    e0 = config.energy if config.energy is not None else scale
    model = EigenModel(psi, jnp.asarray(e0 / unit, dtype=float), unit)
    energy_metric = lambda m: {"energy": m.energy}
    # The loss is quadratic in E: after every chunk, move E to its exact minimiser.
    project = _optimal_energy if config.train_energy and config.exact_energy_step else None
    only_psi = _trainable(model, energy=False)
    spec = _trainable(model, energy=True) if config.train_energy else only_psi
    histories = []
    result = RESULTS.successful
    common = dict(data=grid, has_aux=True, log_every=config.log_every, progress=progress,
                  throw=throw)

    if config.ritz_steps:
        r = fit(model, _ritz_loss, _adam(config.ritz_lr, None), steps=config.ritz_steps,
                filter_spec=only_psi, desc=f"state {index}: Ritz",
                **common)
        model, result = r.model, r.result
        histories.append(r.history)
    if config.last_layer_ritz and result == RESULTS.successful:
        model = _last_layer_ritz(model, grid, len(previous))
    # normalise the warm start and put the energy at its Rayleigh quotient
    model = _normalised(model, grid, config.train_energy)

    stop = ([_stop_when_certified(problem, index, previous, config)]
            if config.stop_margin > 0 else [])
    phases = ((config.adam_steps, _adam(config.adam_lr, config.adam_steps), "Adam", []),
              (config.lbfgs_steps, _lbfgs(config.lbfgs_memory), "L-BFGS", stop))
    for steps, optimiser, name, callbacks in phases:
        if steps and result == RESULTS.successful:
            r = fit(model, _residual_loss, optimiser, steps=steps, filter_spec=spec,
                    metrics=energy_metric, project=project,
                    callbacks=callbacks, desc=f"state {index}: {name}", **common)
            model, result = r.model, r.result
            histories.append(r.history)

    optimal, rq = (float(a) for a in _collocation_summary(model, grid))
    logger.info("state %d: trained E %.12g, loss-optimal E %.12g, Rayleigh %.12g", index,
                float(model.energy), optimal, rq)
    return _measured(model, index, problem, config, history=concat_histories(*histories),
                     wall_time_s=time.perf_counter() - t0, result=result,
                     stats={"pieces": len(edges) - 1, "scale": scale})


def _check_solve(problem: QuantumWell, config: EigenPINNConfig, deflating: bool) -> None:
    if not isinstance(config, EigenPINNConfig):
        raise TypeError(f"config must be an EigenPINNConfig, got {type(config).__name__}")
    if not isinstance(problem, QuantumWell):
        raise TypeError(f"problem must be a QuantumWell, got {type(problem).__name__}")
    if deflating and config.ortho_weight <= config.rayleigh_weight:
        raise ValueError(
            f"excited states need ortho_weight > rayleigh_weight to stay orthogonal to the "
            f"states below (got {config.ortho_weight} <= {config.rayleigh_weight})")


def _raise_if_uncertified(states: Sequence[EigenSolution], config: EigenPINNConfig,
                          throw: bool) -> None:
    failed = [s for s in states if s.result == RESULTS.uncertified]
    if failed and config.raise_uncertified and throw:
        numbers = "; ".join(
            f"state {s.index}: energy bound {s.energy_rel_bound:.3g} (relative), psi bound "
            f"{s.psi_bound:.3g}, residual norm {s.residual_norm:.3g}, gap {s.gap:.3g}"
            for s in failed)
        raise UncertifiedEigenstateError(f"{numbers}. " + RESULTS[RESULTS.uncertified],
                                         states)


def solve_eigenstate(problem: QuantumWell, index: int = 1, *,
                     previous: Sequence[EigenSolution] = (),
                     config: EigenPINNConfig = EigenPINNConfig(), key: PRNGKeyArray,
                     progress: bool = False, throw: bool = True) -> EigenSolution:
    """Find the lowest eigenstate orthogonal to `previous` (the ground state if none), and
    certify it (`EigenSolution`; the gap above it is estimated by finite differences).

    Args:
        problem: a well: `L`, `potential(x)`, `breakpoints` (points where V jumps).
        index: label of the state sought (1 = ground); `previous` should hold 1..index-1.
        previous: solved lower states, to deflate against.
        config: network, training and certificate settings.
        key: PRNG key for the network initialisation.
        progress: show progress bars.
        throw: raise `FloatingPointError` if training diverges (else return the last finite
            model with `RESULTS.nonfinite_loss`), and, with `config.raise_uncertified`,
            `UncertifiedEigenstateError` if the state is not certified. An uncertified state
            is otherwise returned with `RESULTS.uncertified` and a logged warning.
    """
    index = checks.count("index", index)
    _check_solve(problem, config, bool(previous))
    if len({p.index for p in previous} | {index}) != len(previous) + 1:
        raise ValueError(f"previous states must have distinct indices other than {index}, "
                         f"got {[p.index for p in previous]}")
    s = _solve(problem, index, previous, config, key, progress, throw,
               slots=len(previous), unit_index=index)
    s = _certified([*previous, s], problem, config, warn=(index,))[-1]
    _raise_if_uncertified([s], config, throw)
    return s


def solve_eigenstates(problem: QuantumWell, n: int, *, config: EigenPINNConfig = EigenPINNConfig(),
                      key: PRNGKeyArray, progress: bool = False,
                      throw: bool = True) -> list[EigenSolution]:
    """The lowest `n` states, each deflated against those found before it, then certified
    together (each state's gap from its computed neighbours; `solve_eigenstate` for `throw`
    and the certificate)."""
    n = checks.count("n", n)
    _check_solve(problem, config, n > 1)
    found: list[EigenSolution] = []
    for i, k in enumerate(jax.random.split(key, n)):
        found.append(_solve(problem, i + 1, found, config, k, progress, throw, slots=n - 1,
                            unit_index=n))
    found = _certified(found, problem, config)
    _raise_if_uncertified(found, config, throw)
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
