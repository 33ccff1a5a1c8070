"""Collocation samplers: `init(domain, key)` gives the first set, `step(state, domain,
residual, key)` the next from `residual` (a `ResidualField`: one point `(dim,)` -> the
PDE residual of the current model); `train_pinn` alternates training rounds with `step`, so
a new strategy is one class. `Uniform`, `QuasiRandom` (Sobol/LHS), `Quadrature` (Gauss,
for energies), `RAR` (add the worst candidates), `RAD` (resample ∝ |r|^k/mean + c) and
`AAS` (a normalising flow trained to seek the residual).
"""

from __future__ import annotations

import logging
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from sciml import checks
from sciml.problems.pde import Geometry

logger = logging.getLogger(__name__)


class SamplerState(eqx.Module):
    """The collocation set: `points` `(n, dim)`; `weights` `(n,)` summing to the domain
    volume, or None (equal, Monte Carlo); `aux`, the sampler's own state (AAS: its flow)."""

    points: Float[Array, "n dim"]
    weights: Float[Array, " n"] | None = None
    aux: Any = None


class AbstractSampler(eqx.Module):
    """Contract: `init(domain, key)`, `step(state, domain, residual, key)` and
    `new_points(state)`; samplers with `n_points` start from that many uniform points."""

    def __check_init__(self):
        if hasattr(self, "n_points"):
            checks.count("n_points", self.n_points)

    def init(self, domain: Geometry, key: PRNGKeyArray) -> SamplerState:
        """The first collocation set in `domain`."""
        return SamplerState(domain.sample(key, self.n_points))

    def step(self, state: SamplerState, domain: Geometry, residual, key: PRNGKeyArray
             ) -> SamplerState:
        """The next collocation set; the default keeps the current one."""
        return state

    def new_points(self, state: SamplerState) -> int:
        """Collocation points the last `step` drew (the sampling budget it spent)."""
        return int(state.points.shape[0])

    @property
    def name(self) -> str:
        return type(self).__name__.lower()


def residual_values(residual, points: Float[Array, "n dim"], chunk: int = 32768) -> Array:
    """|residual| at every row of `points`, in chunks to bound memory."""
    out = [_abs_residual(residual, points[i : i + chunk]) for i in range(0, len(points), chunk)]
    return jnp.concatenate(out)


@eqx.filter_jit
def _abs_residual(residual, pts):
    return jnp.abs(jax.vmap(residual)(pts))


class Uniform(AbstractSampler):
    """`n_points` uniform random points, redrawn every round when `resample` is True."""

    n_points: int = eqx.field(static=True)
    resample: bool = eqx.field(static=True, default=True)

    def step(self, state, domain, residual, key):
        return self.init(domain, key) if self.resample else state

    def new_points(self, state):
        return self.n_points if self.resample else 0


class QuasiRandom(AbstractSampler):
    """`n_points` scrambled Sobol (`method="sobol"`) or Latin-hypercube points, fixed."""

    n_points: int = eqx.field(static=True)
    method: str = eqx.field(static=True, default="sobol")

    @property
    def name(self):
        return self.method

    def init(self, domain, key):
        seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        return SamplerState(domain.sample_qmc(self.n_points, seed=seed, method=self.method))

    def new_points(self, state):
        return 0


class Quadrature(AbstractSampler):
    """Tensor Gauss–Legendre on a box: `panels` panels of `order` nodes per axis.

    Points carry their weights, so losses are integrals, not Monte Carlo averages: the
    right tool for energies (Deep Ritz) in low dimension.
    """

    panels: int = eqx.field(static=True, default=16)
    order: int = eqx.field(static=True, default=4)

    def __check_init__(self):
        checks.counts(panels=self.panels, order=self.order)

    def init(self, domain, key):
        if not hasattr(domain, "quadrature"):
            raise TypeError(f"tensor quadrature needs a box domain, got {domain!r}")
        pts, w = domain.quadrature(self.panels, self.order)
        return SamplerState(pts, w)

    def new_points(self, state):
        return 0


class RAR(AbstractSampler):
    """Residual-based adaptive refinement (Lu et al. 2021, DeepXDE): start from
    `n_points` uniform points; each round add the `n_add` candidates (of
    `n_candidates` uniform ones) with the largest |residual|. The set grows."""

    n_points: int = eqx.field(static=True)
    n_add: int = eqx.field(static=True, default=100)
    n_candidates: int = eqx.field(static=True, default=20000)

    def __check_init__(self):
        checks.counts(n_add=self.n_add, n_candidates=self.n_candidates)

    def step(self, state, domain, residual, key):
        cand = domain.sample(key, self.n_candidates)
        r = residual_values(residual, cand)
        top = jnp.argsort(-r)[: self.n_add]
        return SamplerState(jnp.concatenate([state.points, cand[top]]))

    def new_points(self, state):
        return self.n_add


class RAD(AbstractSampler):
    """Residual-based adaptive distribution (Wu et al. 2023): each round draw
    `n_points` of `n_candidates` uniform candidates without replacement, with
    probability ∝ |r|^k / mean(|r|^k) + c. `k = 1, c = 1` is the paper's default;
    large k / small c concentrate harder on the residual. With `weighted=True` the points
    carry importance weights 1/q (q the draw's density relative to uniform), so the loss
    stays an estimate of the uniform mean of r² (the paper uses no weights)."""

    n_points: int = eqx.field(static=True)
    k: float = eqx.field(static=True, default=1.0)
    c: float = eqx.field(static=True, default=1.0)
    n_candidates: int = eqx.field(static=True, default=50000)
    weighted: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        if checks.count("n_candidates", self.n_candidates) < self.n_points:
            raise ValueError(f"parameter 'n_candidates' must be at least n_points = "
                             f"{self.n_points}, got {self.n_candidates}")
        checks.nonnegative("k", self.k)
        checks.nonnegative("c", self.c)

    def step(self, state, domain, residual, key):
        kc, ks = jax.random.split(key)
        cand = domain.sample(kc, self.n_candidates)
        rk = residual_values(residual, cand) ** self.k
        p = rk / jnp.mean(rk) + self.c
        q = p / jnp.mean(p)  # density of the draw relative to uniform
        # Drawing without replacement (the paper's way) biases importance weights once
        # the set holds most of the high-residual candidates; weighted draws replace.
        idx = jax.random.choice(ks, self.n_candidates, (self.n_points,),
                                replace=self.weighted, p=q / jnp.sum(q))
        weights = domain.volume / q[idx] / self.n_points if self.weighted else None
        return SamplerState(cand[idx], weights)


class AAS(AbstractSampler):
    """Adversarial adaptive sampling (after Tang, Zhai, Wan & Yang 2023).

    A normalising flow p_θ on the domain's box (`sciml.nn.RealNVP`; the paper uses KRnet)
    takes `flow_steps` Adam steps per round towards ρ_r ∝ r² + ε·mean r², where the PINN
    is worst. `objective="forward"` (default) minimises KL(ρ_r‖p_θ) by self-normalised
    importance sampling on `flow_batch` points, half from p_θ and half uniform: mass-
    covering, a uniform point on a narrow high-residual spot pulls the flow there.
    `"reverse"` minimises KL(p_θ‖ρ_r) through reparameterised samples: mode-seeking, it
    missed the 2-D peak (rel. L2 0.17 in the sampling study). The next set is `n_points`
    flow samples, a fraction `uniform_fraction` replaced by uniform points (and points in
    a hole too). With `weighted=True` (default) each carries the importance weight 1/q of
    the mixture, so the loss estimates ∫ r² dx; unweighted, the sparse far field is
    under-weighted (rel. L2 0.73 on the 2-D peak).
    """

    n_points: int = eqx.field(static=True)
    flow_steps: int = eqx.field(static=True, default=300)
    flow_batch: int = eqx.field(static=True, default=2048)
    learning_rate: float = eqx.field(static=True, default=2e-3)
    uniform_fraction: float = eqx.field(static=True, default=0.2)
    eps: float = eqx.field(static=True, default=0.05)
    n_layers: int = eqx.field(static=True, default=6)
    width: int = eqx.field(static=True, default=48)
    max_log_scale: float = eqx.field(static=True, default=3.0)
    weighted: bool = eqx.field(static=True, default=True)
    objective: str = eqx.field(static=True, default="forward")

    def __check_init__(self):
        if self.objective not in ("forward", "reverse"):
            raise ValueError(f"objective must be 'forward' or 'reverse', got {self.objective!r}")
        checks.counts(flow_steps=self.flow_steps, flow_batch=self.flow_batch,
                      n_layers=self.n_layers, width=self.width)
        checks.positive("learning_rate", self.learning_rate)
        checks.positive("max_log_scale", self.max_log_scale)
        checks.nonnegative("eps", self.eps)
        checks.real("uniform_fraction", self.uniform_fraction, low=0.0, high=1.0)

    def _optimiser(self):
        return _adam(self.learning_rate)

    def init(self, domain, key):
        from sciml.nn import RealNVP

        kf, ks = jax.random.split(key)
        flow = RealNVP(domain.dim, n_layers=self.n_layers, width=self.width,
                       max_log_scale=self.max_log_scale, lower=jnp.asarray(domain.lower),
                       upper=jnp.asarray(domain.upper), key=kf)
        opt_state = self._optimiser().init(eqx.filter(flow, eqx.is_inexact_array))
        return SamplerState(domain.sample(ks, self.n_points), aux=(flow, opt_state))

    def step(self, state, domain, residual, key):
        from sciml.solvers._train import fit

        flow, opt_state = state.aux
        kt, ks, ku = jax.random.split(key, 3)
        if self.objective == "reverse":
            keys = jax.random.split(kt, self.flow_batch)
            loss, data = _flow_loss, (residual, keys, self.eps)
        else:
            loss, data = _flow_forward_loss, _forward_data(
                flow, domain, residual, kt, self.flow_batch, self.eps)
        result = fit(flow, loss, self._optimiser(), steps=self.flow_steps, data=data,
                     opt_state=opt_state, log_every=self.flow_steps, desc="aas-flow")
        flow = result.model
        x = jax.vmap(flow.sample)(jax.random.split(ks, self.n_points))
        n_uniform = int(round(self.uniform_fraction * self.n_points))
        inside = np.array(domain.contains(x))
        inside[:n_uniform] = False
        pts = np.array(x)
        n_fill = int((~inside).sum())
        if n_fill:
            pts[~inside] = np.asarray(domain.sample(ku, n_fill))
        weights = None
        if self.weighted:
            # the set is a draw from the mixture (1 − ρ)·p_θ + ρ/|Ω| (ρ = uniform share)
            rho = n_fill / self.n_points
            p = jnp.exp(jax.vmap(flow.log_prob)(jnp.asarray(pts)))
            q = (1 - rho) * p + rho / domain.volume
            weights = 1.0 / q / self.n_points
        logger.debug("aas: flow loss %.4g", float(result.history["loss"].values[-1]))
        return SamplerState(jnp.asarray(pts), weights, aux=(flow, result.opt_state))


_ADAM: dict[float, optax.GradientTransformation] = {}


def _adam(lr: float) -> optax.GradientTransformation:
    # One optimiser object per learning rate, so `fit` reuses its compiled chunk.
    if lr not in _ADAM:
        _ADAM[lr] = optax.adam(lr)
    return _ADAM[lr]


def _forward_data(flow, domain, residual, key, n, eps):
    """Half flow samples, half uniform; weights ∝ (r²/mean + ε)/q with q the mixture."""
    kf, ku = jax.random.split(key)
    x = jnp.concatenate([jax.vmap(flow.sample)(jax.random.split(kf, n // 2)),
                         domain._box_uniform(ku, n - n // 2)])
    vol = float(np.prod(domain.upper - domain.lower))
    q = 0.5 * jnp.exp(jax.vmap(flow.log_prob)(x)) + 0.5 / vol
    r2 = residual_values(residual, x) ** 2
    w = (r2 / jnp.mean(r2) + eps) / q
    return x, w / jnp.sum(w)


def _flow_forward_loss(flow, data):
    x, w = data
    return -jnp.sum(w * jax.vmap(flow.log_prob)(x))


def _flow_loss(flow, data):
    residual, keys, eps = data
    x, logp = jax.vmap(flow.sample_and_log_prob)(keys)
    r2 = jax.vmap(residual)(x) ** 2
    r2 = r2 / jax.lax.stop_gradient(jnp.mean(r2) + 1e-30)
    return jnp.mean(logp - jnp.log(r2 + eps))

