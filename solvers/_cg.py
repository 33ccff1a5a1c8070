"""Conjugate gradients as a `lineax` solver that records its residual history.

`lx.linear_solve(A, b, CG(rtol=1e-6, max_steps=500))` stops when ‖r‖₂ ≤ rtol·‖b‖₂, the rule
every Krylov solver here and every baseline uses (`lineax.CG` tests each entry against
atol + rtol·|b_i|, never met with atol = 0 where b has zeros, and keeps no history).
`stats`: `num_steps`, and `residuals` ‖r_k‖₂/‖b‖₂ for k = 0 … max_steps (NaN after the last
step; the last one is the true residual, the others the recursion's, refreshed every 50
steps). Out of steps is `max_steps_reached`, pᵀAp ≤ 0 (not positive definite) `breakdown`,
a recursion that met the rule while b − Ay does not `stagnation`: `linear_solve` raises
them, inside `jit` too, unless `throw=False`.
`options`: `preconditioner` (a positive definite operator M ≈ A⁻¹) and `y0` (default 0).
Differentiable through `linear_solve`'s implicit adjoint.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx


class CG(lx.AbstractLinearSolver):
    """(Preconditioned) CG for a symmetric positive definite operator on one array: stop
    when ‖b − A y‖₂ ≤ `rtol`·‖b‖₂, give up after `max_steps` iterations."""

    rtol: float
    max_steps: int = eqx.field(static=True, default=1000)

    def __check_init__(self):
        if not self.rtol > 0 or isinstance(self.max_steps, bool) or self.max_steps < 1:
            raise ValueError(f"CG needs rtol > 0 and max_steps >= 1, got {self.rtol}, "
                             f"{self.max_steps}")

    def init(self, operator: lx.AbstractLinearOperator, options: dict[str, Any]):
        if operator.in_structure() != operator.out_structure():
            raise ValueError("CG needs a square operator (equal input and output structure), "
                             f"got {operator.in_structure()} -> {operator.out_structure()}")
        if not lx.is_positive_semidefinite(operator):
            raise ValueError("CG needs a symmetric positive definite operator: tag it with "
                             "lineax.positive_semidefinite_tag (and symmetric_tag)")
        return lx.linearise(operator)

    def compute(self, state, vector, options):
        operator = state
        precond = options.get("preconditioner", lx.IdentityLinearOperator(state.in_structure()))
        b_norm = jnp.linalg.norm(vector)
        y = jnp.where(b_norm > 0, options.get("y0", jnp.zeros_like(vector)), 0)  # b = 0: y = 0
        r = vector - operator.mv(y)
        z = precond.mv(r)
        scale = jnp.where(b_norm > 0, b_norm, 1.0)
        history = jnp.full(self.max_steps + 1, jnp.nan, vector.dtype).at[0].set(
            jnp.linalg.norm(r) / scale)

        def cond(c):
            _, r, _, _, k, _, bad = c
            return (k < self.max_steps) & (jnp.linalg.norm(r) > self.rtol * b_norm) & ~bad

        def body(c):
            y, r, p, gamma, k, history, _ = c
            ap = operator.mv(p)
            curvature = jnp.vdot(p, ap)
            bad = ~(curvature > 0)
            alpha = jnp.where(bad, 0.0, gamma / jnp.where(bad, 1.0, curvature))
            y, r = y + alpha * p, r - alpha * ap
            # every 50 steps b − Ay replaces the recursive residual, which drifts from it
            r = jax.lax.cond((k + 1) % 50 == 0, lambda: vector - operator.mv(y), lambda: r)
            z = precond.mv(r)
            gamma_new = jnp.vdot(r, z)
            p = z + gamma_new / jnp.where(gamma == 0, 1.0, gamma) * p
            history = history.at[k + 1].set(jnp.linalg.norm(r) / scale)
            return y, r, p, gamma_new, k + 1, history, bad

        y, r, _, _, k, history, bad = jax.lax.while_loop(
            cond, body, (y, r, z, jnp.vdot(r, z), jnp.asarray(0), history, jnp.asarray(False)))
        # the rule on the true residual; NaN/inf: a non-finite answer, which linear_solve
        # reports as nonfinite_input/singular; met by the recursion only: stagnation
        finite = jnp.isfinite(r_norm := jnp.linalg.norm(vector - operator.mv(y)))
        history = history.at[k].set(r_norm / scale)
        result = lx.RESULTS.where((r_norm <= self.rtol * b_norm) | ~finite, lx.RESULTS.successful,
                                  lx.RESULTS.where(bad, lx.RESULTS.breakdown, lx.RESULTS.where(
                                      k == self.max_steps, lx.RESULTS.max_steps_reached,
                                      lx.RESULTS.stagnation)))
        y = jnp.where(finite, y, jnp.nan)
        return y, result, {"num_steps": k, "residuals": history}

    def transpose(self, state, options):  # symmetric: A and M stay, the guess does not
        return state.transpose(), {k: v for k, v in options.items() if k != "y0"}

    def conj(self, state, options):
        return lx.conj(state), {k: lx.conj(v) if k == "preconditioner" else v
                                for k, v in options.items() if k != "y0"}

    def assume_full_rank(self) -> bool:
        return True
