"""Physics-informed training of a network on a `PDEProblem`, with adaptive sampling.

`train_pinn(problem, net, sampler, config, key=...)` builds the trial function (hard
constraints through the problem's lift and distance, or soft boundary/initial losses),
then alternates `config.rounds` rounds of Adam on the current collocation set with
`sampler.step`, and finishes with L-BFGS on the last set. Residuals are computed by
JAX autodiff inside the problem (`problem.residual`), Laplacians forward-over-reverse.
With `config.loss = "energy"` the loss is the problem's energy functional (Deep Ritz)
instead of the squared residual.

Errors are measured by `relative_l2(problem, model)`: sqrt(∫(u − u_ref)² / ∫u_ref²)
by the problem's error quadrature, against its reference solution.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from sciml.pinn import HardConstraint
from sciml.problems.pde import PDEProblem, SpaceTime
from sciml.solvers.sampling import AbstractSampler, SamplerState
from sciml.solvers.train import concat_histories, fit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PINNConfig:
    """Training settings.

    Attributes:
        loss: `residual` (mean squared PDE residual) or `energy` (Deep Ritz: the
            problem's energy functional; needs a hard constraint).
        constraint: `hard` (u = lift + distance·N), `soft` (boundary/initial losses), or
            `auto` (hard when the problem gives a lift).
        boundary_weight: weight of the soft boundary (and initial) loss.
        n_boundary: soft-constraint boundary points.
        n_initial: soft-constraint initial points for space-time problems (default:
            `n_boundary`).
        rounds: Adam rounds; the sampler updates the collocation set after each.
        adam_steps: total Adam steps over all rounds.
        learning_rate: Adam's initial rate; it decays exponentially to
            `learning_rate * final_lr_ratio` over `adam_steps`.
        lbfgs_steps: L-BFGS steps on the final collocation set (0 to skip).
        log_every: history rows every this many steps.
        causal: for space-time residual losses, ε of causal weighting (Wang, Sankaran &
            Perdikaris 2022): the interior loss is split into `causal_bins` slabs in t and
            slab k is weighted by exp(−ε Σ_{j<k} L_j) (no gradient through the weights),
            so later times train only once earlier ones are resolved. `None` = off.
        causal_bins: slabs in t for `causal`.
    """

    loss: Literal["residual", "energy"] = "residual"
    constraint: Literal["auto", "hard", "soft"] = "auto"
    boundary_weight: float = 10.0
    n_boundary: int = 256
    n_initial: int | None = None
    rounds: int = 1
    adam_steps: int = 5000
    learning_rate: float = 1e-3
    final_lr_ratio: float = 0.05
    lbfgs_steps: int = 2000
    log_every: int = 100
    causal: float | None = None
    causal_bins: int = 32

    def __post_init__(self):
        if self.loss not in ("residual", "energy"):
            raise ValueError(f"loss must be 'residual' or 'energy', got {self.loss!r}")
        if self.constraint not in ("auto", "hard", "soft"):
            raise ValueError(f"constraint must be auto/hard/soft, got {self.constraint!r}")
        if self.rounds < 1 or self.adam_steps < self.rounds or self.lbfgs_steps < 0:
            raise ValueError("need rounds >= 1, adam_steps >= rounds and lbfgs_steps >= 0")
        if self.causal is not None and (self.causal < 0 or self.causal_bins < 2):
            raise ValueError("causal weighting needs causal >= 0 and causal_bins >= 2, got "
                             f"{self.causal}, {self.causal_bins}")


class ResidualField(eqx.Module):
    """The PDE residual of `model` as a function of one point (a PyTree, so samplers
    can pass it through `jit` without recompiling as the weights change)."""

    model: Any
    problem: PDEProblem = eqx.field(static=True)

    def __call__(self, x):
        return self.problem.residual(self.model, x)


@dataclass
class PINNResult:
    """What `train_pinn` returns.

    Attributes:
        model: the trained trial function (one point `(dim,)` -> scalar).
        history: loss (and `rel_l2` when measured) over steps, phases `adam`/`lbfgs`.
        points: the final collocation set `(n, dim)`.
        n_points_used: collocation points drawn over the whole run (the budget).
        wall_time_s: training time, compilation included.
        sampler: the sampler's name.
    """

    model: Any
    history: xr.Dataset
    points: np.ndarray
    n_points_used: int
    wall_time_s: float
    sampler: str
    config: PINNConfig


def trial_function(problem: PDEProblem, net, constraint: str = "auto"):
    """Wrap `net` so that it meets the problem's data exactly (`hard`) or return it as is."""
    if constraint == "auto":
        constraint = "hard" if problem.has_lift else "soft"
    if constraint == "hard":
        if not problem.has_lift:
            raise ValueError(f"{problem.name} gives no lift of its boundary data; "
                             "use constraint='soft'")
        return HardConstraint(net, problem.lift, problem.distance)
    return net


def _interior_loss(problem: PDEProblem, kind: str, causal: float | None, bins: int):
    def loss(model, pts, weights):
        if kind == "energy":
            dens = jax.vmap(lambda x: problem.energy_density(model, x))(pts)
        else:
            dens = jax.vmap(lambda x: problem.residual(model, x))(pts) ** 2
        w = jnp.ones_like(dens) if weights is None else weights
        if causal is not None:
            return _causal_mean(problem, pts, w, dens, causal, bins)
        if kind == "energy":
            return jnp.sum(w * dens) * (problem.domain.volume / dens.size
                                        if weights is None else 1.0), {}
        return jnp.sum(w * dens) / jnp.sum(w), {}

    return loss


def _causal_mean(problem: PDEProblem, pts, w, dens, eps: float, bins: int):
    """Causally weighted mean of `dens` over slabs in t (see `PINNConfig.causal`); also
    returns the smallest slab weight, which reaches ~1 once every slab is resolved."""
    dom = problem.domain
    slab = jnp.clip(((pts[:, -1] - dom.t0) / (dom.t1 - dom.t0) * bins).astype(int), 0, bins - 1)
    total = jax.ops.segment_sum(w * dens, slab, num_segments=bins)
    mass = jax.ops.segment_sum(w, slab, num_segments=bins)
    per_slab = total / jnp.maximum(mass, jnp.finfo(dens.dtype).tiny)
    before = jnp.cumsum(per_slab) - per_slab
    cw = jax.lax.stop_gradient(jnp.exp(-eps * before))
    return jnp.mean(cw * per_slab), {"causal_min": jnp.min(cw)}


def _make_loss(problem: PDEProblem, config: PINNConfig, soft: bool):
    causal = config.causal if config.loss == "residual" else None
    if causal is not None and not isinstance(problem.domain, SpaceTime):
        raise ValueError(f"causal weighting needs a space-time problem; {problem.name} is not")
    interior = _interior_loss(problem, config.loss, causal, config.causal_bins)
    weight = config.boundary_weight

    def loss(model, data):
        pts, weights, bpts = data
        li, aux = interior(model, pts, weights)
        if not soft:
            return li, {"interior": li, **aux}
        ub = jax.vmap(model)(bpts)
        gb = jax.vmap(problem.boundary_value)(bpts)
        lb = jnp.mean((ub - gb) ** 2)
        return li + weight * lb, {"interior": li, "boundary": lb, **aux}

    return loss


def _constraint_points(problem: PDEProblem, n: int, n_initial: int | None, key) -> jax.Array:
    """Soft-constraint points: the Dirichlet boundary (none for periodic problems) and,
    in space × time, the initial slice."""
    kb, ki = jax.random.split(key)
    parts = [] if problem.periodic else [problem.domain.sample_boundary(kb, n)]
    if isinstance(problem.domain, SpaceTime):
        parts.append(problem.domain.sample_initial(ki, n if n_initial is None else n_initial))
    return jnp.concatenate(parts)


def train_pinn(
    problem: PDEProblem,
    net,
    sampler: AbstractSampler,
    config: PINNConfig = PINNConfig(),
    *,
    key: jax.Array,
    progress: bool = False,
    eval_every_round: bool = False,
) -> PINNResult:
    """Train `net` (a scalar network of one point) on `problem` with `sampler`.

    Args:
        problem: a `PDEProblem`.
        net: the network N; it is wrapped into the trial function by `config.constraint`.
        sampler: where the collocation points come from (`sciml.solvers.sampling`).
        config: `PINNConfig`.
        key: PRNG key for sampling.
        progress: tqdm bars per phase (stderr).
        eval_every_round: record `rel_l2` against the reference after every round.

    Returns:
        `PINNResult`.
    """
    t0 = time.perf_counter()
    model = trial_function(problem, net, config.constraint)
    soft = not isinstance(model, HardConstraint)
    if config.loss == "energy" and soft:
        raise ValueError("the energy (Deep Ritz) loss needs constraint='hard'")
    if config.loss == "energy":
        try:
            problem.energy_density(problem.lift, jnp.asarray(problem.domain.lower))
        except NotImplementedError as e:
            raise ValueError(f"{problem.name} has no energy functional: {e}") from None
    # One loss and one optimiser object per call: every round reuses `fit`'s compiled chunk.
    loss_fn = _make_loss(problem, config, soft)
    steps_per_round = config.adam_steps // config.rounds
    schedule = optax.exponential_decay(config.learning_rate, config.adam_steps,
                                       config.final_lr_ratio)
    adam = optax.adam(schedule)
    lbfgs = optax.lbfgs(memory_size=20)

    key, ks, kb = jax.random.split(key, 3)
    state: SamplerState = sampler.init(problem.domain, ks)
    bpts = (_constraint_points(problem, config.n_boundary, config.n_initial, kb) if soft
            else None)
    used = int(state.points.shape[0])
    histories, opt_state, step = [], None, 0
    for r in range(config.rounds):
        n = steps_per_round if r < config.rounds - 1 else config.adam_steps - step
        res = fit(model, loss_fn, adam, steps=n, data=(state.points, state.weights, bpts),
                  has_aux=True, log_every=min(config.log_every, n), opt_state=opt_state,
                  start_step=step, progress=progress, desc=f"adam {r + 1}/{config.rounds}")
        model, opt_state, step = res.model, res.opt_state, res.step
        h = res.history.assign_coords(step=res.history["step"].values - (step - n))
        h["round"] = ("step", np.full(h.sizes["step"], r))
        if eval_every_round:
            h["rel_l2"] = ("step", np.full(h.sizes["step"], np.nan))
            h["rel_l2"][-1] = relative_l2(problem, model)
        histories.append(h)
        if r < config.rounds - 1 or config.lbfgs_steps > 0:
            key, kr = jax.random.split(key)
            state = sampler.step(state, problem.domain, ResidualField(model, problem), kr)
            used += _new_points(sampler, state)
    if config.lbfgs_steps > 0:
        res = fit(model, loss_fn, lbfgs, steps=config.lbfgs_steps,
                  data=(state.points, state.weights, bpts), has_aux=True,
                  log_every=min(config.log_every, config.lbfgs_steps), progress=progress,
                  desc="lbfgs")
        model = res.model
        h = res.history
        h["round"] = ("step", np.full(h.sizes["step"], config.rounds))
        histories.append(h)
    history = concat_histories(*histories)
    history.attrs.update({"sampler": sampler.name, **{k: str(v) for k, v in
                                                      asdict(config).items()}})
    wall = time.perf_counter() - t0
    logger.info("%s/%s: %d points used, %.1f s", problem.name, sampler.name, used, wall)
    return PINNResult(model, history, np.asarray(state.points), used, wall, sampler.name,
                      config)


def _new_points(sampler, state) -> int:
    # RAR grows its set (count the additions); the others draw a fresh set each round.
    from sciml.solvers.sampling import RAR, Quadrature, QuasiRandom

    if isinstance(sampler, RAR):
        return sampler.n_add
    if isinstance(sampler, QuasiRandom | Quadrature):
        return 0
    return int(state.points.shape[0])


def predict(model, points, chunk: int = 65536) -> np.ndarray:
    """`model` at every row of `points`, as float64 numpy `(n,)`."""
    pts = jnp.asarray(points)
    return np.concatenate([np.asarray(_batched(model, pts[i : i + chunk]))
                           for i in range(0, len(pts), chunk)])


@eqx.filter_jit
def _batched(model, pts):
    return jax.vmap(model)(pts)


def relative_l2(problem: PDEProblem, model, quadrature=None) -> float:
    """sqrt(∫(u − u_ref)² / ∫u_ref²) with the problem's error quadrature
    (`problem.error_quadrature()`, or `quadrature=(points, weights, u_ref)`)."""
    pts, w, ref = quadrature if quadrature is not None else error_quadrature(problem)
    u = predict(model, pts)
    return float(np.sqrt(np.sum(w * (u - ref) ** 2) / np.sum(w * ref**2)))


@functools.lru_cache(maxsize=4)
def error_quadrature(problem: PDEProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, weights, reference values) for L2 errors on `problem`; the last few
    problems are cached (the reference can take seconds), and released after."""
    pts, w = problem.error_quadrature()
    return np.asarray(pts), np.asarray(w), problem.solution(pts)




NETWORKS = ("mlp", "fourier", "siren", "modified", "periodic")


def build_network(kind: str, problem: PDEProblem, *, key: jax.Array, width: int = 32,
                  depth: int = 3, activation: str = "tanh", **kwargs):
    """A scalar network of one point for `problem`, inputs scaled from its bounding box.

    `kind` is one of `mlp`, `fourier` (Fourier-feature MLP), `siren`, `modified`
    (modified MLP) or `periodic` (exactly periodic in `problem.periodic` axes);
    extra keyword arguments go to the class.
    """
    from sciml import nn

    lo, hi = jnp.asarray(problem.domain.lower), jnp.asarray(problem.domain.upper)
    common = dict(lower=lo, upper=hi, key=key)
    d = problem.dim
    if kind == "mlp":
        return nn.MLP(d, "scalar", width, depth, activation=activation, **common, **kwargs)
    if kind == "fourier":
        return nn.FourierFeatureMLP(d, "scalar", width, depth, activation=activation,
                                    **common, **kwargs)
    if kind == "siren":
        return nn.Siren(d, "scalar", width, depth, **common, **kwargs)
    if kind == "modified":
        return nn.ModifiedMLP(d, "scalar", width, depth, activation=activation, **common,
                              **kwargs)
    if kind == "periodic":
        axes = tuple(problem.periodic)
        periods = tuple(float(hi[a] - lo[a]) for a in axes)
        return nn.PeriodicMLP(d, "scalar", width, depth, axes=axes, periods=periods,
                              activation=activation, **common, **kwargs)
    raise ValueError(f"unknown network {kind!r}; choose one of {', '.join(NETWORKS)}")


__all__ = [
    "NETWORKS",
    "PINNConfig",
    "build_network",
    "PINNResult",
    "ResidualField",
    "error_quadrature",
    "predict",
    "relative_l2",
    "train_pinn",
    "trial_function",
]
