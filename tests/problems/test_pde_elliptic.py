"""Geometry and the analytic PDE problems: exact solutions satisfy their PDEs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sciml.problems import get_problem
from sciml.problems.pde import (
    Box,
    BoxWithHole,
    Helmholtz2D,
    Interval,
    NonlinearElliptic,
    Peak,
    Poisson1D,
    Poisson2D,
    SpaceTime,
    peak_alpha_for,
)

ANALYTIC = [Poisson1D(), Poisson2D(), Poisson2D(hole=0.0), Helmholtz2D(), Peak(),
            Peak(dim=5), NonlinearElliptic()]


@pytest.mark.parametrize("problem", ANALYTIC, ids=lambda p: f"{p.name}-{p.dim}d")
def test_exact_solution_has_zero_residual(problem):
    pts = problem.domain.sample(jax.random.key(0), 512)
    # jitted: op by op, every operation of the derivatives would compile on its own
    r = jax.jit(jax.vmap(lambda x: problem.residual(problem.exact, x)))(pts)
    # residuals are sums of O(scale) terms; scale = the largest second derivative involved
    scale = float(jnp.max(jnp.abs(jax.jit(jax.vmap(
        lambda x: problem.residual(lambda y: 0.0 * y[0], x)))(pts)))) + 1.0
    assert float(jnp.max(jnp.abs(r))) <= 1e-12 * scale


@pytest.mark.parametrize("problem", ANALYTIC, ids=lambda p: f"{p.name}-{p.dim}d")
def test_hard_constraint_data_hold_on_the_boundary(problem):
    b = problem.domain.sample_boundary(jax.random.key(1), 256)
    assert np.allclose(jax.vmap(problem.distance)(b), 0.0, atol=1e-12)
    if problem.has_lift:
        lift = jax.vmap(problem.lift)(b)
        assert np.allclose(lift, problem.solution(b), atol=1e-12)


def test_error_quadrature_integrates_known_integrals():
    for p in ANALYTIC:
        pts, w = p.error_quadrature()
        assert float(jnp.sum(w)) == pytest.approx(p.domain.volume, rel=2e-3 if p.dim > 3 else 1e-12)
        assert bool(jnp.all(p.domain.contains(pts)))
    # ∫ exp(-2α|x|²) over the cube, closed form (erf), for the 2-D and 5-D peaks
    for p, tol in ((Peak(), 1e-10), (Peak(dim=5), 1e-3)):
        pts, w = p.error_quadrature()
        exact = (math.sqrt(math.pi / (2 * p.alpha)) * math.erf(math.sqrt(2 * p.alpha))) ** p.dim
        assert float(jnp.sum(w * p.solution(pts) ** 2)) == pytest.approx(exact, rel=tol)


def test_peak_lift_only_when_boundary_data_underflow():
    assert Peak(dim=2, alpha=1000).has_lift
    assert not Peak(dim=5).has_lift
    with pytest.raises(NotImplementedError, match="soft"):
        Peak(dim=5).lift(jnp.zeros(5))
    assert peak_alpha_for(2) == pytest.approx(1000.0)
    # equal share of the cube's volume under the peak, (π/α)^{d/2} / 2^d
    share = lambda d: (math.pi / peak_alpha_for(d)) ** (d / 2) / 2**d  # noqa: E731
    assert share(5) == pytest.approx(share(2))


def test_nonlinear_elliptic_solution_minimises_the_energy():
    p = NonlinearElliptic()
    t, w = np.polynomial.legendre.leggauss(48)
    pts = jnp.asarray(np.stack(np.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2))
    wts = jnp.asarray(np.outer(w, w).ravel())

    @jax.jit  # op by op, every operation would compile on its own
    def energy(eps):
        v = lambda x: p.exact(x) + eps * jnp.sin(2 * jnp.pi * x[0]) * (1 - x[1] ** 2)  # noqa: E731
        return jnp.sum(wts * jax.vmap(lambda x: p.energy_density(v, x))(pts))

    assert float(jax.grad(energy)(0.0)) == pytest.approx(0.0, abs=1e-10)  # Euler–Lagrange
    assert float(energy(0.1)) > float(energy(0.0)) < float(energy(-0.1))
    assert p.exact_energy() == pytest.approx(float(energy(0.0)), rel=1e-12)


def test_geometry_sampling():
    key = jax.random.key(0)
    hole = BoxWithHole([-1, -1], [1, 1], [0.2, 0.0], 0.3)
    pts = hole.sample(key, 4000)
    assert pts.shape == (4000, 2) and bool(jnp.all(hole.contains(pts)))
    frac = float(jnp.mean(Box([-1, -1], [1, 1]).contains(pts)))
    assert frac == 1.0
    assert hole.volume == pytest.approx(4 - math.pi * 0.09)
    b = hole.sample_boundary(key, 2000)
    on_circle = jnp.abs(jnp.linalg.norm(b - jnp.array([0.2, 0.0]), axis=1) - 0.3) < 1e-12
    on_square = jnp.any(jnp.abs(jnp.abs(b) - 1) < 1e-12, axis=1)
    assert bool(jnp.all(on_circle | on_square))
    # split in proportion to length: circle 2π·0.3 against square 8
    assert float(jnp.mean(on_circle)) == pytest.approx(0.6 * math.pi / (8 + 0.6 * math.pi),
                                                       abs=0.01)
    q = hole.sample_qmc(1000, seed=3)
    assert q.shape == (1000, 2) and bool(jnp.all(hole.contains(q)))
    st = SpaceTime(Interval(-1, 1), 0.0, 2.0)
    assert st.dim == 2 and st.volume == 4.0
    init = st.sample_initial(key, 10)
    assert bool(jnp.all(init[:, 1] == 0.0))
    lat = st.sample_boundary(key, 10)
    assert bool(jnp.all(jnp.abs(lat[:, 0]) == 1.0))
    pts, w = st.quadrature(8, 4)
    assert float(jnp.sum(w * pts[:, 1] ** 3)) == pytest.approx(2 * 2.0**4 / 4, rel=1e-12)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="upper > lower"):
        Box([0, 0], [1, 0])
    with pytest.raises(ValueError, match="inside the box"):
        BoxWithHole([-1, -1], [1, 1], [0.9, 0], 0.3)
    with pytest.raises(ValueError, match="t1 > t0"):
        SpaceTime(Interval(0, 1), 1.0, 1.0)
    with pytest.raises(ValueError, match="positive integer"):
        Box([0], [1]).sample(jax.random.key(0), 0)
    with pytest.raises(ValueError, match="shape"):
        Helmholtz2D().solution(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        Poisson1D().solution(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="hole"):
        Poisson2D(hole=1.5)
    with pytest.raises(KeyError, match="peak"):
        get_problem("peek")


def test_reference_grid_needs_space_time():
    with pytest.raises(TypeError, match="space × time"):
        Poisson1D().reference_grid()
