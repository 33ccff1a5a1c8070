"""Burgers' equation: the Cole–Hopf reference against refinement, symmetry, the PDE itself
and the literature maximum slope; the residual operator against hand-computed values."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from sciml.problems.pde._burgers import Burgers


@pytest.fixture(scope="module")
def burgers():
    return Burgers()


def fd_derivatives(problem, pts, h):
    """u, u_x, u_xx, u_t at `pts` by fourth-order central differences of `solution`."""

    def u(dx, dt):
        return problem.solution(pts + np.array([dx, dt]))

    u0 = u(0.0, 0.0)
    ux = (-u(2 * h, 0) + 8 * u(h, 0) - 8 * u(-h, 0) + u(-2 * h, 0)) / (12 * h)
    uxx = (-u(2 * h, 0) + 16 * u(h, 0) - 30 * u0 + 16 * u(-h, 0) - u(-2 * h, 0)) / (12 * h**2)
    ut = (-u(0, 2 * h) + 8 * u(0, h) - 8 * u(0, -h) + u(0, -2 * h)) / (12 * h)
    return u0, ux, uxx, ut


def test_reference_and_refinement(burgers):
    ref = burgers.reference
    assert ref.kind == "semi-analytic"
    assert ref.tolerance == 1e-12
    err = burgers.refinement_error()
    assert err < 1e-13  # measured 1.4e-15; the stated tolerance has a wide margin
    assert err < ref.tolerance


def test_grid_and_initial_condition(burgers):
    x, t, u = burgers.reference_grid(nx=65, nt=11)
    assert x.shape == (65,) and t.shape == (11,) and u.shape == (11, 65)
    assert (x[0], x[-1], t[0], t[-1]) == (-1.0, 1.0, 0.0, 1.0)
    np.testing.assert_allclose(u[0], -np.sin(np.pi * x), atol=1e-15)
    np.testing.assert_allclose(u[:, [0, -1]], 0.0, atol=1e-14)  # Dirichlet walls
    # at a tiny time the quadrature (not the t = 0 shortcut) reproduces the data
    small = burgers.solution(np.stack([x, np.full_like(x, 1e-12)], axis=1))
    np.testing.assert_allclose(small, -np.sin(np.pi * x), atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_odd_symmetry(x, t):
    p = Burgers()
    u = p.solution(np.array([[x, t], [-x, t]]))
    assert abs(u[0] + u[1]) <= 1e-14


def test_maximum_slope_matches_basdevant(burgers):
    # Basdevant et al. (1986), Computers & Fluids 14:23-41: max |u_x| = 152.00516 at
    # x = 0, t = 1.6037/pi, for nu = 0.01/pi.
    t_lit = 1.6037 / math.pi
    slope = burgers.solution_dx(np.array([[0.0, t_lit]]))[0]
    assert slope == pytest.approx(-152.00516, rel=1e-7)
    res = minimize_scalar(
        lambda t: burgers.solution_dx(np.array([[0.0, t]]))[0],
        bracket=(0.45, 0.51, 0.56),
        tol=1e-10,
    )
    assert res.x * math.pi == pytest.approx(1.6037, abs=1e-4)
    assert -res.fun == pytest.approx(152.00516, rel=1e-7)


def test_slope_matches_finite_differences(burgers):
    x = np.array([-0.5, -0.01, 0.0, 0.003, 0.7])
    pts = np.stack([x, np.full_like(x, 0.5)], axis=1)
    _, ux, _, _ = fd_derivatives(burgers, pts, 1e-5)
    np.testing.assert_allclose(burgers.solution_dx(pts), ux, rtol=1e-7, atol=1e-7)


def test_reference_satisfies_pde_away_from_shock(burgers):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-0.9, -0.3, 40), rng.uniform(0.3, 0.9, 40)])
    t = rng.uniform(0.05, 0.95, 80)
    u, ux, uxx, ut = fd_derivatives(burgers, np.stack([x, t], axis=1), 1e-3)
    residual = ut + u * ux - burgers.nu * uxx
    assert np.max(np.abs(residual)) < 1e-8  # measured 6e-10 (FD truncation)


def test_residual_operator_hand_computed(burgers):
    # u = x² t + x: u_t = x², u_x = 2xt + 1, u_xx = 2t
    u = lambda p: p[0] ** 2 * p[1] + p[0]
    x, t = 0.5, 0.3
    expected = x**2 + (x**2 * t + x) * (2 * x * t + 1) - burgers.nu * 2 * t
    got = burgers.residual(u, jnp.array([x, t]))
    assert float(got) == pytest.approx(expected, rel=1e-14)
    pts = jnp.array([[x, t], [-0.2, 0.9]])
    batched = jax.jit(jax.vmap(lambda p: burgers.residual(u, p)))(pts)
    assert float(batched[0]) == pytest.approx(expected, rel=1e-14)


def test_lift_and_distance(burgers):
    for x in (-1.0, -0.3, 0.0, 0.8, 1.0):
        p0 = jnp.array([x, 0.0])
        assert float(burgers.lift(p0)) == pytest.approx(-math.sin(math.pi * x), abs=1e-15)
        assert float(burgers.distance(p0)) == 0.0
    for x in (-1.0, 1.0):
        p = jnp.array([x, 0.6])
        assert abs(float(burgers.lift(p))) < 1e-15 and float(burgers.distance(p)) == 0.0
    assert float(burgers.distance(jnp.array([0.2, 0.5]))) > 0


def test_float64_without_global_x64(burgers):
    pts = np.array([[0.123456789, 0.4], [0.987654321, 0.2]])
    with jax.enable_x64(False):
        u = burgers.solution(pts)
    assert u.dtype == np.float64
    np.testing.assert_array_equal(u, burgers.solution(pts))


def test_bad_input():
    p = Burgers()
    with pytest.raises(ValueError, match="shape"):
        p.solution(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="shape"):
        p.solution(np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        p.solution(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="times"):
        p.solution(np.array([[0.0, -0.1]]))
    with pytest.raises(ValueError, match="nu"):
        Burgers(nu=0.0)
    with pytest.raises(ValueError, match="t_end"):
        Burgers(t_end=-1.0)
    with pytest.raises(ValueError, match="nx"):
        p.reference_grid(nx=1)
    assert p.params == {"nu": 0.01 / math.pi, "t_end": 1.0}
