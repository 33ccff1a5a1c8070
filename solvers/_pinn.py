"""Physics-informed training on a `PDEProblem` with adaptive sampling: `train_pinn`
alternates Adam rounds on `fit` with `sampler.step`, then L-BFGS; the loss
(`ResidualLoss`, `RitzLoss`) and the boundary treatment (`Hard`, `Soft`) are objects.
Errors against the reference: `reference_error(problem, model)`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from sciml import checks
from sciml.pinn import HardConstraint
from sciml.problems.pde import PDEProblem, SpaceTime
from sciml.solvers._evaluate import predict, relative_l2
from sciml.solvers._result import TrainingResult
from sciml.solvers._sampling import AbstractSampler, SamplerState
from sciml.solvers._train import LogRecord, bfgs, concat_histories, fit, lbfgs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PINNConfig:
    """The training schedule.

    Attributes:
        rounds: rounds of the first phase; the sampler updates the collocation set after
            each.
        adam_steps: total steps of the first phase over all rounds (at least `rounds`).
        optimiser: the first phase's optimiser: "adam" (default), or "bfgs", dense BFGS
            with a strong-Wolfe line search (`bfgs`; no learning rate), the fastest to a
            small loss on networks of up to a few thousand parameters.
        learning_rate: Adam's initial rate (> 0); it decays exponentially to
            `learning_rate * final_lr_ratio` over `adam_steps` (`final_lr_ratio` in (0, 1]).
        lbfgs_steps: L-BFGS steps on the final collocation set (0 to skip).
        log_every: history rows every this many steps.
    """

    rounds: int = 1
    adam_steps: int = 5000
    optimiser: str = "adam"
    learning_rate: float = 1e-3
    final_lr_ratio: float = 0.05
    lbfgs_steps: int = 2000
    log_every: int = 100

    def __post_init__(self):
        # strict types, stored canonical (Python int/float): np.int64(10) is fine, 10.0 is not
        rounds = checks.count("rounds", self.rounds)
        adam_steps = checks.count("adam_steps", self.adam_steps)
        if adam_steps < rounds:
            raise ValueError(f"parameter 'adam_steps' must be at least rounds = {rounds} (a "
                             f"round takes at least one step), got {adam_steps}")
        values = dict(
            rounds=rounds,
            adam_steps=adam_steps,
            learning_rate=checks.positive("learning_rate", self.learning_rate),
            final_lr_ratio=checks.real("final_lr_ratio", self.final_lr_ratio, low=0.0,
                                       high=1.0, strict_low=True),
            lbfgs_steps=checks.integer("lbfgs_steps", self.lbfgs_steps, low=0),
            log_every=checks.count("log_every", self.log_every),
        )
        for name, value in values.items():  # a frozen dataclass
            object.__setattr__(self, name, value)
        if self.optimiser not in ("adam", "bfgs"):
            raise ValueError(f"optimiser must be 'adam' or 'bfgs', got {self.optimiser!r}")


class ResidualLoss(eqx.Module):
    """The (weighted) mean squared PDE residual over the collocation points.

    `causal`: ε of causal weighting for space-time problems (Wang, Sankaran & Perdikaris
    2022): the loss is split into `bins` slabs in t and slab k is weighted by
    exp(−ε Σ_{j<k} L_j) (no gradient through the weights), so later times train only once
    earlier ones are resolved; `None` = off.
    """

    causal: float | None = eqx.field(static=True, default=None)
    bins: int = eqx.field(static=True, default=32)

    def __check_init__(self):
        if self.causal is not None:  # causal weighting: ε >= 0 over at least 2 slabs
            checks.nonnegative("causal", self.causal)
            checks.integer("bins", self.bins, low=2)

    def check(self, problem: PDEProblem, hard: bool) -> None:
        if self.causal is not None and not isinstance(problem.domain, SpaceTime):
            raise ValueError(f"causal weighting needs a space-time problem; {problem.name} "
                             "is not")

    def __call__(self, problem, model, pts, weights):
        dens = jax.vmap(lambda x: problem.residual(model, x))(pts) ** 2
        w = jnp.ones_like(dens) if weights is None else weights
        if self.causal is None:
            return jnp.sum(w * dens) / jnp.sum(w), {}
        dom = problem.domain
        slab = jnp.clip(((pts[:, -1] - dom.t0) / (dom.t1 - dom.t0) * self.bins).astype(int), 0,
                        self.bins - 1)
        total = jax.ops.segment_sum(w * dens, slab, num_segments=self.bins)
        mass = jax.ops.segment_sum(w, slab, num_segments=self.bins)
        per_slab = total / jnp.maximum(mass, jnp.finfo(dens.dtype).tiny)
        cw = jax.lax.stop_gradient(jnp.exp(-self.causal * (jnp.cumsum(per_slab) - per_slab)))
        # the smallest slab weight reaches ~1 once every slab is resolved
        return jnp.mean(cw * per_slab), {"causal_min": jnp.min(cw)}


class RitzLoss(eqx.Module):
    """The problem's energy functional ∫ L(x, u, ∇u) − f u (Deep Ritz), by the collocation
    set's quadrature weights (or Monte Carlo); needs a hard constraint."""

    def check(self, problem: PDEProblem, hard: bool) -> None:
        if not hard:
            raise ValueError("the energy (Deep Ritz) loss needs the Hard() constraint")
        try:
            problem.energy_density(problem.lift, jnp.asarray(problem.domain.lower))
        except NotImplementedError as e:
            raise ValueError(f"{problem.name} has no energy functional: {e}") from None

    def __call__(self, problem, model, pts, weights):
        dens = jax.vmap(lambda x: problem.energy_density(model, x))(pts)
        if weights is None:
            return jnp.sum(dens) * (problem.domain.volume / dens.size), {}
        return jnp.sum(weights * dens), {}


class Hard(eqx.Module):
    """u = lift + distance · N: the Dirichlet (and initial) data hold exactly."""

    def wrap(self, problem: PDEProblem, net):
        if not problem.has_lift:
            raise ValueError(f"{problem.name} gives no lift of its boundary data; use Soft()")
        return HardConstraint(net, problem.lift, problem.distance)

    def points(self, problem, key):
        return None


class Soft(eqx.Module):
    """Boundary (and, in space × time, initial) data as a loss term of weight `weight` on
    `n_boundary` boundary and `n_initial` (default `n_boundary`) initial points."""

    weight: float = eqx.field(static=True, default=10.0)
    n_boundary: int = eqx.field(static=True, default=256)
    n_initial: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        checks.nonnegative("weight", self.weight)
        checks.count("n_boundary", self.n_boundary)
        if self.n_initial is not None:
            checks.count("n_initial", self.n_initial)

    def wrap(self, problem, net):
        return net

    def points(self, problem: PDEProblem, key):
        """Boundary points (none for periodic problems) and, in space × time, the initial
        slice."""
        kb, ki = jax.random.split(key)
        parts = [] if problem.periodic else [problem.domain.sample_boundary(kb, self.n_boundary)]
        if isinstance(problem.domain, SpaceTime):
            parts.append(problem.domain.sample_initial(
                ki, self.n_boundary if self.n_initial is None else self.n_initial))
        return jnp.concatenate(parts)


class ResidualField(eqx.Module):
    """The PDE residual of `model` as a function of one point (a PyTree, so samplers
    can pass it through `jit` without recompiling as the weights change)."""

    model: Any
    problem: PDEProblem = eqx.field(static=True)

    def __call__(self, x):
        return self.problem.residual(self.model, x)


@dataclass(kw_only=True)
class PINNResult(TrainingResult):
    """`TrainingResult` of `train_pinn` (history over steps, phases `adam 1/R`… `lbfgs`, with
    `round` and `rel_l2` when measured), plus:

    Attributes:
        points: the final collocation set `(n, dim)`.
        n_points_used: collocation points drawn over the whole run (the budget).
        sampler: the sampler's name.
        config: the `PINNConfig`.
    """

    points: np.ndarray
    n_points_used: int
    sampler: str
    config: PINNConfig


def train_pinn(problem: PDEProblem, net, sampler: AbstractSampler,
               config: PINNConfig = PINNConfig(), *,
               loss: ResidualLoss | RitzLoss = ResidualLoss(),
               constraint: Hard | Soft | None = None,
               optimiser: optax.GradientTransformation | None = None, key: jax.Array,
               progress: bool = False, eval_every_round: bool = False,
               callbacks: Sequence[Callable[[LogRecord], bool | None]] = ()) -> PINNResult:
    """Train `net` (a scalar network of one point) on `problem` with `sampler`.

    Args:
        problem: a `PDEProblem`.
        net: the network N, wrapped into the trial function by `constraint`.
        sampler: where the collocation points come from (`sciml.solvers.Uniform`, `RAD`...).
        config: the `PINNConfig` schedule.
        loss: `ResidualLoss(...)` or `RitzLoss()`.
        constraint: `Hard()`, `Soft(...)`, or None: `Hard()` when the problem gives a lift.
        optimiser: the first phase's optimiser, overriding `config.optimiser` (Adam's
            rate decays exponentially from `config.learning_rate` by
            `config.final_lr_ratio`).
        key: PRNG key for sampling.
        progress: progress bars per phase (on a terminal).
        eval_every_round: record `rel_l2` against the reference after every round.
        callbacks: `fit` callbacks, called at every history row of every phase (a true
            return stops that phase); e.g. to record the error against wall time.
    """
    t0 = time.perf_counter()
    if constraint is None:
        constraint = Hard() if problem.has_lift else Soft()
    model = constraint.wrap(problem, net)
    loss.check(problem, isinstance(constraint, Hard))
    # One loss and one optimiser object per call: every round reuses `fit`'s compiled chunk.
    loss_fn = _make_loss(problem, loss, constraint)
    phase = config.optimiser if optimiser is None else "phase 1"
    if optimiser is None and config.optimiser == "bfgs":
        optimiser = bfgs()
    first = optimiser or optax.adam(optax.exponential_decay(
        config.learning_rate, config.adam_steps, config.final_lr_ratio))
    steps_per_round = config.adam_steps // config.rounds

    key, ks, kb = jax.random.split(key, 3)
    state: SamplerState = sampler.init(problem.domain, ks)
    bpts = constraint.points(problem, kb)
    used = int(state.points.shape[0])
    histories, opt_state, step = [], None, 0
    for r in range(config.rounds):
        n = steps_per_round if r < config.rounds - 1 else config.adam_steps - step
        res = fit(model, loss_fn, first, steps=n, data=(state.points, state.weights, bpts),
                  has_aux=True, log_every=min(config.log_every, n), opt_state=opt_state,
                  start_step=step, progress=progress, callbacks=callbacks,
                  desc=f"{phase} {r + 1}/{config.rounds}")
        model, opt_state, step = res.model, res.opt_state, res.step
        h = res.history.assign_coords(step=res.history["step"].values - (step - n))
        h["round"] = ("step", np.full(h.sizes["step"], r))
        if eval_every_round:
            h["rel_l2"] = ("step", np.full(h.sizes["step"], np.nan))
            h["rel_l2"][-1] = reference_error(problem, model)
        histories.append(h)
        if r < config.rounds - 1 or config.lbfgs_steps > 0:
            key, kr = jax.random.split(key)
            state = sampler.step(state, problem.domain, ResidualField(model, problem), kr)
            used += sampler.new_points(state)
    if config.lbfgs_steps > 0:
        res = fit(model, loss_fn, lbfgs(), steps=config.lbfgs_steps,
                  data=(state.points, state.weights, bpts), has_aux=True,
                  log_every=min(config.log_every, config.lbfgs_steps), progress=progress,
                  callbacks=callbacks, desc="lbfgs")
        model = res.model
        h = res.history
        h["round"] = ("step", np.full(h.sizes["step"], config.rounds))
        histories.append(h)
    history = concat_histories(*histories)
    history.attrs.update({"sampler": sampler.name, "loss": repr(loss),
                          "constraint": repr(constraint),
                          **{k: str(v) for k, v in asdict(config).items()}})
    wall = time.perf_counter() - t0
    logger.info("%s/%s: %d points used, %.1f s", problem.name, sampler.name, used, wall)
    return PINNResult(model=model, history=history, wall_time_s=wall,
                      stats={"adam_steps": config.adam_steps, "lbfgs_steps": config.lbfgs_steps},
                      points=np.asarray(state.points), n_points_used=used, sampler=sampler.name,
                      config=config)


def _make_loss(problem: PDEProblem, loss, constraint):
    def total(model, data):
        pts, weights, bpts = data
        li, aux = loss(problem, model, pts, weights)
        if bpts is None:
            return li, {"interior": li, **aux}
        lb = jnp.mean((jax.vmap(model)(bpts) - jax.vmap(problem.boundary_value)(bpts)) ** 2)
        return li + constraint.weight * lb, {"interior": li, "boundary": lb, **aux}

    return total


def reference_error(problem: PDEProblem, model, quadrature=None) -> float:
    """sqrt(∫(u − u_ref)² / ∫u_ref²) with the problem's error quadrature
    (`error_quadrature(problem)`, or `quadrature=(points, weights, u_ref)`)."""
    pts, w, ref = quadrature if quadrature is not None else error_quadrature(problem)
    return float(relative_l2(predict(model, pts), ref, weights=w))


@functools.lru_cache(maxsize=4)
def error_quadrature(problem: PDEProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, weights, reference values) for L2 errors on `problem`; the last few
    problems are cached (the reference can take seconds), and released after."""
    pts, w = problem.error_quadrature()
    return np.asarray(pts), np.asarray(w), problem.solution(pts)
