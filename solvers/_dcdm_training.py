"""Training the DCDM network on the one driver (`fit`), unsupervised, from a seed.

Two losses, each invariant to the scale of `N(r)`, for a residual `r = A e` of a known error
`e`, and `d = N(r)`:

- `"residual"` (the default), Kaneda et al.'s: with `v = A d`, `min_s ‖r − s v‖² / ‖r‖²
  = 1 − (rᵀv)² / (‖r‖² ‖v‖²)`: how well `A N` approximates the identity in the 2-norm;
- `"energy"`: `1 − (rᵀd)² / ((dᵀAd)(rᵀe))`, the fraction of the error's energy norm ‖e‖²_A
  left after one exact line search along `d`: the quantity a conjugate-direction step
  reduces, so it weighs error components by what they cost the solver. Trained on the
  same data, it left 32³ solves at 11–14 steps where the residual loss gave 4–8 (and the
  untrained network 7–12); both gave 7–8 at 64³ and 128³ (issue 13's closing note).

Averaged over a minibatch. The vectors are shaped like the residuals DCDM meets: smoke-like
right-hand sides (divergences of random velocity fields) and the residuals of the first
steps of DCDM with the network as initialised, on obstacle layouts from the training seeds
(below 1000; `sciml.problems.linear_systems.is_held_out`); their errors come from a solve to
1e-10.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optax

from sciml import checks
from sciml.precond import Hierarchy, MultigridNetwork
from sciml.problems import linear_systems as ls
from sciml.solvers._batching import Minibatches
from sciml.solvers._dcdm import DCDM
from sciml.solvers._result import TrainingResult
from sciml.solvers._train import fit

logger = logging.getLogger(__name__)


LOSSES = ("residual", "energy")


def dcdm_loss(network: MultigridNetwork, batch: tuple[Hierarchy, jax.Array, jax.Array],
              kind: str = "residual") -> jax.Array:
    """Mean over the batch of the `kind` loss (module docstring). `batch`: stacked
    hierarchies without gates (`MultigridNetwork.coarsen`), residuals `r` and errors `e`
    (`A e = r`), each `(batch, *shape)`."""
    if kind not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    hierarchies, residuals, errors = batch

    def one(h, r, e):
        h = network.attach(h)
        d = network(h, r)
        ad = h.levels[0].mv(d)
        if kind == "residual":
            return 1 - jnp.vdot(r, ad) ** 2 / (jnp.vdot(r, r) * jnp.vdot(ad, ad))
        return 1 - jnp.vdot(r, d) ** 2 / (jnp.vdot(d, ad) * jnp.vdot(r, e))

    return jnp.mean(jax.vmap(one)(hierarchies, residuals, errors))


@dataclass(frozen=True)
class DCDMTrainingConfig:
    """What `train_dcdm` trains on and how.

    Attributes:
        n: grid cells per axis of the training layouts (training is cheap at 32).
        ndim: 2 or 3.
        kinds: obstacle layout kinds (`sciml.problems.linear_systems.LAYOUT_KINDS`).
        systems: layouts drawn (seeds 0 … systems−1, all below the held-out 1000).
        rhs_per_system: smoke-like right-hand sides per layout.
        residual_steps: DCDM steps whose residuals join the data, per right-hand side.
        loss: `"residual"` or `"energy"` (module docstring).
        steps, batch_size, learning_rate: Adam on minibatches, the rate decaying to 0 on a
            cosine.
    """

    n: int = 32
    ndim: int = 3
    kinds: Sequence[str] = ("spheres", "boxes", "walls", "mixed", "empty")
    systems: int = 20
    rhs_per_system: int = 2
    residual_steps: int = 3
    steps: int = 400
    batch_size: int = 8
    learning_rate: float = 3e-3
    loss: str = "residual"

    def __post_init__(self):
        checks.counts(n=self.n, systems=self.systems, rhs_per_system=self.rhs_per_system,
                      steps=self.steps, batch_size=self.batch_size)
        checks.integer("residual_steps", self.residual_steps, low=0)
        checks.positive("learning_rate", self.learning_rate)
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        unknown = set(self.kinds) - set(ls.LAYOUT_KINDS)
        if not self.kinds or unknown:
            raise ValueError(f"kinds must be among {ls.LAYOUT_KINDS}, got {self.kinds}")
        if self.systems > 1000:
            raise ValueError("systems must be at most 1000: seeds from 1000 on are held out")


def training_data(network: MultigridNetwork, config: DCDMTrainingConfig, *,
                  seed: int = 0) -> tuple[Hierarchy, jax.Array, jax.Array]:
    """The training set: per sample a gate-less hierarchy, a unit-norm residual `r` and its
    error `e` (`A e = r`), in the network's dtype."""
    hierarchies, residuals, errors = [], [], []
    coarsen = eqx.filter_jit(lambda net, s: net.coarsen(s.weights, s.dirichlet, s.fluid))
    steps = config.residual_steps
    for i in range(config.systems):
        kind = config.kinds[i % len(config.kinds)]
        system = ls.layout(kind, config.n, seed=seed + i, ndim=config.ndim)
        operator = system.operator(jnp.float64)
        h = coarsen(network, system.stencil(network.dtype))
        for j in range(config.rhs_per_system):
            b = jnp.asarray(ls.smoke_rhs(system, seed=1000 * (seed + i) + j), jnp.float64)
            exact = _solve(operator, b, DCDM(network, 1e-10, 200)).value
            iterates = [jnp.zeros_like(b)] + [_solve(operator, b, DCDM(network, 1e-30, k)).value
                                              for k in range(1, steps + 1)]
            for y in iterates:
                e = exact - y
                r = operator.mv(e)
                norm = jnp.linalg.norm(r)
                residuals.append(np.asarray(r / norm))
                errors.append(np.asarray(e / norm))
                hierarchies.append(h)
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *hierarchies)
    return (stacked, jnp.asarray(np.stack(residuals), network.dtype),
            jnp.asarray(np.stack(errors), network.dtype))


@eqx.filter_jit
def _solve(operator, b, solver):
    return lx.linear_solve(operator, b, solver, throw=False)


def train_dcdm(network: MultigridNetwork, config: DCDMTrainingConfig = DCDMTrainingConfig(),
               *, seed: int = 0, progress: bool = False, log_every: int = 50,
               checkpoint=None, resume: bool = False) -> TrainingResult:
    """Train `network` with `dcdm_loss` on layouts and vectors drawn from `seed`.

    Returns:
        `fit`'s result (model, history of the loss over steps, wall time), its stats with
        the number of samples and the configuration.
    """
    data = training_data(network, config, seed=seed)
    n_samples = int(data[1].shape[0])
    schedule = optax.cosine_decay_schedule(config.learning_rate, config.steps)
    logger.info("DCDM training: %d samples on %d layouts of %d^%d cells", n_samples,
                config.systems, config.n, config.ndim)
    loss = functools.partial(dcdm_loss, kind=config.loss)
    fitted = fit(network, loss, optax.adam(schedule), steps=config.steps,
                 data=data, batcher=Minibatches(min(config.batch_size, n_samples)),
                 key=jax.random.key(seed), log_every=log_every, progress=progress,
                 desc="dcdm", checkpoint=checkpoint, resume=resume)
    fitted.stats.update(samples=n_samples, config=dict(config.__dict__))
    return fitted
