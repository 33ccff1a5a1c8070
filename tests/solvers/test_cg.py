"""CG as a lineax solver on a Poisson matrix: the answer, the stopping rule, the residual
history, every outcome of the result enumeration, and gradients through the solve."""

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sciml.solvers import CG, RESULTS

N = 24  # N x N interior cells of the unit square


def poisson(n=N, shift=0.0):
    """The 5-point Dirichlet Laplacian (times h²) plus `shift`·I: scipy matrix, and the same
    as a matrix-free lineax operator tagged symmetric positive definite."""
    t = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    a = (sp.kron(t, sp.identity(n)) + sp.kron(sp.identity(n), t) + shift * sp.identity(n * n))

    def mv(u):
        g = jnp.pad(u.reshape(n, n), 1)
        lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
        return lap.reshape(-1) + shift * u

    op = lx.FunctionLinearOperator(mv, jax.ShapeDtypeStruct((n * n,), jnp.float64),
                                   tags=(lx.symmetric_tag, lx.positive_semidefinite_tag))
    return a.tocsr(), op


def rhs(n=N):
    x = (np.arange(n) + 0.5) / n
    b = np.outer(np.sin(np.pi * x), x**2) + 0.3  # no symmetry CG could exploit
    b[:, 0] = 0.0  # zeros in b: lineax's elementwise test with atol = 0 never converges
    return b.reshape(-1)


def test_solution_and_stopping_rule_match_scipy():
    a, op = poisson()
    b = rhs()
    sol = lx.linear_solve(op, jnp.asarray(b), CG(rtol=1e-8, max_steps=500))
    assert sol.result == lx.RESULTS.successful
    np.testing.assert_allclose(sol.value, spla.spsolve(a, b), rtol=1e-6, atol=1e-9)
    true = np.linalg.norm(b - a @ np.asarray(sol.value)) / np.linalg.norm(b)
    assert true <= 1.01e-8
    steps = []
    spla.cg(a, b, rtol=1e-8, atol=0.0, callback=lambda xk: steps.append(1), maxiter=500)
    k = int(sol.stats["num_steps"])
    assert abs(k - len(steps)) <= 1  # the same rule ‖r‖ <= rtol‖b‖; rounding may differ
    hist = np.asarray(sol.stats["residuals"])
    assert hist.shape == (501,) and hist[0] == pytest.approx(1.0)
    assert hist[k] <= 1e-8 < hist[k - 1] and np.isnan(hist[k + 1:]).all()
    assert hist[k] == pytest.approx(true, rel=1e-4)  # recursive residual tracks the true one


def test_max_steps_returns_or_raises_as_asked():
    _, op = poisson()
    b = jnp.asarray(rhs())
    solver = CG(rtol=1e-10, max_steps=5)
    sol = lx.linear_solve(op, b, solver, throw=False)
    assert sol.result == lx.RESULTS.max_steps_reached
    assert RESULTS.promote(sol.result) == RESULTS.max_steps_reached
    assert int(sol.stats["num_steps"]) == 5 and np.isfinite(sol.stats["residuals"][5])
    with pytest.raises(Exception, match="maximum number of solver steps"):
        lx.linear_solve(op, b, solver)
    # inside jit and under vmap the failure surfaces the same way (eqx.error_if)
    with pytest.raises(Exception, match="maximum number of solver steps"):
        jax.jit(lambda v: lx.linear_solve(op, v, solver).value)(b).block_until_ready()
    results = jax.vmap(lambda v: lx.linear_solve(op, v, solver, throw=False).result._value)(
        jnp.stack([b, 0 * b]))
    assert results.tolist() == [lx.RESULTS.max_steps_reached._value.item(),
                                lx.RESULTS.successful._value.item()]  # b = 0: y = 0 at once


def test_breakdown_on_an_indefinite_operator():
    _, op = poisson(shift=-3.0)  # eigenvalues from −3 + O(h²) to 5: indefinite
    b = jnp.asarray(rhs())
    sol = lx.linear_solve(op, b, CG(rtol=1e-8, max_steps=500), throw=False)
    assert sol.result == lx.RESULTS.breakdown and int(sol.stats["num_steps"]) == 1
    with pytest.raises(Exception, match="breakdown"):
        lx.linear_solve(op, b, CG(rtol=1e-8, max_steps=500))
    flip = lx.MatrixLinearOperator(jnp.diag(jnp.array([1.0, -1.0])),
                                   lx.positive_semidefinite_tag)  # mis-tagged
    sol = lx.linear_solve(flip, jnp.ones(2), CG(rtol=1e-8), throw=False)
    assert sol.result == lx.RESULTS.breakdown  # pᵀAp = 0 at the first step


def test_tight_tolerances_hold_for_the_true_residual():
    """The rule is checked on b − Ay, not on the recursion: near rounding the recursion
    'converges' while the true residual stalls (here at ~2e-13), which is stagnation."""
    a, op = poisson(n=64)
    b = rhs(64)
    sol = lx.linear_solve(op, jnp.asarray(b), CG(rtol=1e-12, max_steps=2000))
    true = np.linalg.norm(b - a @ np.asarray(sol.value)) / np.linalg.norm(b)
    assert true <= 1e-12
    assert float(sol.stats["residuals"][int(sol.stats["num_steps"])]) == pytest.approx(
        true, rel=1e-6)
    stalled = lx.linear_solve(op, jnp.asarray(b), CG(rtol=1e-14, max_steps=2000), throw=False)
    assert stalled.result == lx.RESULTS.stagnation


def test_jacobi_preconditioner_and_initial_guess():
    n = N
    k = 1.0 + 50.0 * (np.arange(n * n) % 7 == 0)  # a strongly varying diagonal
    a, op = poisson()
    a = a + sp.diags(k)
    op = op + lx.DiagonalLinearOperator(jnp.asarray(k))
    op = lx.TaggedLinearOperator(op, (lx.symmetric_tag, lx.positive_semidefinite_tag))
    b = jnp.asarray(rhs())
    plain = lx.linear_solve(op, b, CG(rtol=1e-8, max_steps=500))
    jacobi = lx.DiagonalLinearOperator(jnp.asarray(1.0 / a.diagonal()))
    pre = lx.linear_solve(op, b, CG(rtol=1e-8, max_steps=500),
                          options={"preconditioner": jacobi})
    assert int(pre.stats["num_steps"]) < int(plain.stats["num_steps"])
    np.testing.assert_allclose(pre.value, spla.spsolve(a, np.asarray(b)), rtol=1e-6, atol=1e-9)
    warm = lx.linear_solve(op, b, CG(rtol=1e-8, max_steps=500), options={"y0": pre.value})
    assert int(warm.stats["num_steps"]) <= 1
    zero = lx.linear_solve(op, 0 * b, CG(rtol=1e-8), options={"y0": pre.value})
    assert int(zero.stats["num_steps"]) == 0 and not np.any(zero.value)  # b = 0: y = 0


def test_gradient_through_the_solve_matches_finite_differences():
    """d/dθ of cᵀ (A + θI)⁻¹ b by lineax's implicit adjoint (a second CG solve)."""
    _, base = poisson(n=12)
    b = jnp.asarray(rhs(12))
    c = jnp.cos(jnp.arange(144.0))

    def f(theta):
        op = lx.TaggedLinearOperator(base + theta * lx.IdentityLinearOperator(
            base.in_structure()), (lx.symmetric_tag, lx.positive_semidefinite_tag))
        return c @ lx.linear_solve(op, b, CG(rtol=1e-12, max_steps=1000)).value

    theta, h = 0.3, 1e-4
    fd = (f(theta + h) - f(theta - h)) / (2 * h)
    assert float(jax.grad(f)(theta)) == pytest.approx(float(fd), rel=1e-7)


def test_bad_operators_and_settings_are_named():
    _, op = poisson(n=4)
    untagged = lx.FunctionLinearOperator(op.mv, op.in_structure())
    with pytest.raises(ValueError, match="symmetric positive definite"):
        lx.linear_solve(untagged, jnp.ones(16), CG(rtol=1e-6))
    rect = lx.MatrixLinearOperator(jnp.ones((3, 4)))
    with pytest.raises(ValueError, match="square"):
        CG(rtol=1e-6).init(rect, {})
    for bad in (dict(rtol=0.0), dict(rtol=1e-6, max_steps=0)):
        with pytest.raises(ValueError, match="rtol > 0 and max_steps >= 1"):
            CG(**bad)
    nan = lx.linear_solve(op, jnp.full(16, jnp.nan), CG(rtol=1e-6), throw=False)
    assert nan.result == lx.RESULTS.nonfinite_input
