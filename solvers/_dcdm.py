"""The deep conjugate-direction method (Kaneda et al., ICML 2023) as a `lineax` solver, and
Jacobi-preconditioned CG beside it.

`lx.linear_solve(system.operator(), b, DCDM(network, rtol=1e-6))`: each step takes the
network's output on the current residual, A-orthogonalises it against the last `memory`
directions, and moves along it with an exact line search:

    d = N(r) − Σ_j (N(r)ᵀ A p_j / p_jᵀ A p_j) p_j,   α = rᵀ d / dᵀ A d,
    y ← y + α d,   r ← r − α A d

(one product with A per step: `A p_j` are kept). The network need not be linear or
symmetric; the Krylov vectors stay in the right-hand side's dtype (float64 for a 1e-6
residual at 128³: float32 rounding of `b − A y` alone is ~1e-4 there), the network runs in
its own (float32). Stops on ‖b − A y‖₂ ≤ rtol·‖b‖₂, the rule of `CG` and of the baselines.
`stats`: `num_steps`, `residuals` (‖r_k‖₂/‖b‖₂, k = 0 … max_steps, NaN after the last).
Differentiable through `linear_solve`'s implicit adjoint (the tangent solves run DCDM too).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx

from sciml.precond import MultigridNetwork
from sciml.solvers._cg import CG

_REFRESH = 50  # steps between recomputations of the recursive residual


def _check_operator(operator: lx.AbstractLinearOperator, who: str) -> None:
    if operator.in_structure() != operator.out_structure():
        raise ValueError(f"{who} needs a square operator (equal input and output structure), "
                         f"got {operator.in_structure()} -> {operator.out_structure()}")
    if not (lx.is_symmetric(operator) and lx.is_positive_semidefinite(operator)):
        raise ValueError(f"{who} needs a symmetric positive (semi)definite operator: tag it "
                         "with lineax.symmetric_tag and lineax.positive_semidefinite_tag (a "
                         "non-symmetric operator has no conjugate directions)")


def _symmetric(operator: lx.AbstractLinearOperator, like: jax.Array) -> jax.Array:
    """`like`, raising (inside jit) unless `uᵀAv = vᵀAu` for two random `u, v`: a tag
    cannot tell a numerically non-symmetric matrix (two products with A)."""
    structure = operator.in_structure()
    ku, kv = jax.random.split(jax.random.key(0))
    u = jax.random.normal(ku, structure.shape, structure.dtype)
    v = jax.random.normal(kv, structure.shape, structure.dtype)
    au, av = operator.mv(u), operator.mv(v)
    gap = jnp.abs(jnp.vdot(u, av) - jnp.vdot(v, au))
    scale = jnp.linalg.norm(u) * jnp.linalg.norm(av) + jnp.linalg.norm(v) * jnp.linalg.norm(au)
    tol = 100 * jnp.finfo(structure.dtype).eps
    return eqx.error_if(like, ~(gap <= tol * scale),
                        "the operator is not symmetric (uᵀAv ≠ vᵀAu for random u, v): "
                        "conjugate-direction solvers need a symmetric positive definite A")


def _check_rhs(vector: jax.Array) -> jax.Array:
    return eqx.error_if(vector, ~jnp.all(jnp.isfinite(vector)),
                        "the right-hand side has NaN or infinite entries")


class DCDM(lx.AbstractLinearSolver):
    """Deep conjugate directions with `network` (a `sciml.precond.MultigridNetwork`) on an
    operator that carries its grid stencil (`operator.stencil`, as
    `sciml.problems.linear_systems.PoissonSystem.operator()` does).

    Attributes:
        network: the trained network; its hierarchy is built once per solve (`init`).
        rtol: stop when ‖b − A y‖₂ ≤ rtol·‖b‖₂.
        max_steps: give up (`max_steps_reached`, raised unless `throw=False`) after this.
        memory: how many earlier directions each new one is A-orthogonalised against.
    """

    network: MultigridNetwork
    rtol: float
    max_steps: int = eqx.field(static=True, default=100)
    memory: int = eqx.field(static=True, default=2)

    def __check_init__(self):
        if not isinstance(self.network, MultigridNetwork):
            raise TypeError("DCDM needs a sciml.precond.MultigridNetwork, got "
                            f"{type(self.network).__name__}")
        if not self.rtol > 0 or isinstance(self.max_steps, bool) or self.max_steps < 1:
            raise ValueError(f"DCDM needs rtol > 0 and max_steps >= 1, got {self.rtol}, "
                             f"{self.max_steps}")
        if isinstance(self.memory, bool) or self.memory < 1:
            raise ValueError(f"DCDM needs memory >= 1, got {self.memory}")

    def init(self, operator: lx.AbstractLinearOperator, options: dict[str, Any]):
        _check_operator(operator, "DCDM")
        stencil = getattr(operator, "stencil", None)
        if stencil is None:
            raise TypeError("DCDM needs an operator that carries its grid stencil (`.stencil`),"
                            " e.g. sciml.problems.linear_systems.PoissonSystem(...).operator();"
                            f" got a {type(operator).__name__}")
        shape = operator.in_structure().shape
        if tuple(stencil.fluid.shape) != tuple(shape):
            raise ValueError(f"the operator acts on arrays of shape {shape}, its stencil is "
                             f"for a grid {stencil.fluid.shape}")
        self.network.depths(shape)  # raises if the network cannot serve this grid
        hierarchy = self.network.setup(stencil.weights, stencil.dirichlet, stencil.fluid)
        hierarchy = eqx.tree_at(lambda h: h.coarse_inverse, hierarchy,
                                _symmetric(operator, hierarchy.coarse_inverse))
        return operator, hierarchy

    def compute(self, state, vector, options):
        operator, hierarchy = state
        vector = _check_rhs(vector)
        b_norm = jnp.linalg.norm(vector)
        scale = jnp.where(b_norm > 0, b_norm, 1.0)
        y = jnp.where(b_norm > 0, options.get("y0", jnp.zeros_like(vector)), 0)
        r = vector - operator.mv(y)
        history = jnp.full(self.max_steps + 1, jnp.nan, vector.dtype).at[0].set(
            jnp.linalg.norm(r) / scale)
        zeros = jnp.zeros((self.memory,) + vector.shape, vector.dtype)

        def cond(c):
            _, r, _, _, _, k, _, bad = c
            return (k < self.max_steps) & (jnp.linalg.norm(r) > self.rtol * b_norm) & ~bad

        def body(c):
            y, r, p, ap, pap, k, history, _ = c
            d = self.network(hierarchy, r)
            ad = operator.mv(d)
            # A-orthogonalise against the kept directions (empty slots have pap = 0)
            coef = jnp.where(pap > 0, jnp.tensordot(ap, d, d.ndim) / jnp.where(pap > 0, pap, 1),
                             0)
            d = d - jnp.tensordot(coef, p, 1)
            ad = ad - jnp.tensordot(coef, ap, 1)
            curvature = jnp.vdot(d, ad)
            bad = ~(curvature > 0)
            alpha = jnp.where(bad, 0.0, jnp.vdot(r, d) / jnp.where(bad, 1.0, curvature))
            y, r = y + alpha * d, r - alpha * ad
            r = jax.lax.cond((k + 1) % _REFRESH == 0, lambda: vector - operator.mv(y),
                             lambda: r)
            p = jnp.roll(p, 1, axis=0).at[0].set(d)
            ap = jnp.roll(ap, 1, axis=0).at[0].set(ad)
            pap = jnp.roll(pap, 1).at[0].set(jnp.where(bad, 0.0, curvature))
            history = history.at[k + 1].set(jnp.linalg.norm(r) / scale)
            return y, r, p, ap, pap, k + 1, history, bad

        init = (y, r, zeros, zeros, jnp.zeros(self.memory, vector.dtype), jnp.asarray(0),
                history, jnp.asarray(False))
        y, r, _, _, _, k, history, bad = jax.lax.while_loop(cond, body, init)
        finite = jnp.isfinite(r_norm := jnp.linalg.norm(vector - operator.mv(y)))
        history = history.at[k].set(r_norm / scale)
        result = lx.RESULTS.where(
            (r_norm <= self.rtol * b_norm) | ~finite, lx.RESULTS.successful,
            lx.RESULTS.where(bad, lx.RESULTS.breakdown, lx.RESULTS.where(
                k == self.max_steps, lx.RESULTS.max_steps_reached, lx.RESULTS.stagnation)))
        y = jnp.where(finite, y, jnp.nan)
        return y, result, {"num_steps": k, "residuals": history}

    def transpose(self, state, options):  # symmetric: the operator and hierarchy stay
        operator, hierarchy = state
        return (operator.transpose(), hierarchy), {k: v for k, v in options.items()
                                                   if k != "y0"}

    def conj(self, state, options):
        operator, hierarchy = state
        return (lx.conj(operator), hierarchy), {k: v for k, v in options.items() if k != "y0"}

    def assume_full_rank(self) -> bool:
        return True


class JacobiPCG(lx.AbstractLinearSolver):
    """CG preconditioned by the inverse of the operator's diagonal (`lx.diagonal`), with
    `CG`'s stopping rule, statistics and outcomes."""

    rtol: float
    max_steps: int = eqx.field(static=True, default=1000)

    def __check_init__(self):
        CG(self.rtol, self.max_steps)  # the same checks

    def init(self, operator, options):
        _check_operator(operator, "JacobiPCG")
        diagonal = lx.diagonal(operator)
        diagonal = eqx.error_if(_symmetric(operator, diagonal), ~jnp.all(diagonal > 0),
                                "JacobiPCG needs a positive diagonal")
        inverse = lx.DiagonalLinearOperator(1 / diagonal.reshape(operator.in_structure().shape))
        return CG(self.rtol, self.max_steps).init(operator, options), inverse

    def compute(self, state, vector, options):
        cg_state, inverse = state
        return CG(self.rtol, self.max_steps).compute(
            cg_state, _check_rhs(vector), {**options, "preconditioner": inverse})

    def transpose(self, state, options):
        cg_state, inverse = state
        return (cg_state.transpose(), inverse), {k: v for k, v in options.items() if k != "y0"}

    def conj(self, state, options):
        cg_state, inverse = state
        return (lx.conj(cg_state), inverse), {k: v for k, v in options.items() if k != "y0"}

    def assume_full_rank(self) -> bool:
        return True
