"""Allen–Cahn: the spectral reference against its convergence study, an independent plain
Fourier solve, the PDE itself and its symmetries; the residual operator by hand."""

import math

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.problems.pde._allen_cahn import AllenCahn

D, R = 1e-4, 5.0


@pytest.fixture(scope="module")
def allen_cahn():
    p = AllenCahn()
    p.solution(np.array([[0.0, 0.5]]))  # solve once for the module
    return p


def initial(x):
    return x**2 * np.cos(np.pi * x)


def plain_fourier(ts, modes=4096):
    """Independent check: plain Fourier collocation of u itself (no seam-layer splitting),
    started from the *exact* cosine coefficients of x² cos(πx) so the seam kink is not
    aliased; accurate once diffusion has smoothed the kink (t >~ 0.03). Returns the cosine
    coefficients b_n(t), u = Σ b_n cos(π n x), shape (len(ts), modes//2 + 1)."""
    n = np.arange(modes // 2 + 1)

    def moment(m):  # ∫_0^1 x² cos(π m x) dx
        m = np.abs(m).astype(float)
        with np.errstate(divide="ignore"):
            return np.where(m == 0, 1 / 3, 2 * (-1.0) ** m / (np.pi * np.maximum(m, 1)) ** 2)

    a = 0.5 * (moment(n - 1) + moment(n + 1))  # ∫_0^1 x² cos(πx) cos(πnx) dx
    b0 = np.where((n == 0) | (n == modes // 2), 1.0, 2.0) * a
    x = -1 + 2 * np.arange(modes) / modes
    u0 = b0 @ np.cos(np.pi * np.outer(n, x))
    with jax.enable_x64(True):
        k2 = (jnp.pi * jnp.arange(modes // 2 + 1)) ** 2

        def rhs(t, u, args):
            return D * jnp.fft.irfft(-k2 * jnp.fft.rfft(u), n=modes) + R * (u - u**3)

        sol = dfx.diffeqsolve(
            dfx.ODETerm(rhs),
            dfx.Tsit5(),
            0.0,
            float(ts[-1]),
            None,
            jnp.asarray(u0),
            saveat=dfx.SaveAt(ts=jnp.asarray(ts)),
            stepsize_controller=dfx.PIDController(rtol=1e-12, atol=1e-12),
            max_steps=100_000,
        )
        c = np.fft.rfft(np.asarray(sol.ys), axis=1) / modes * (-1.0) ** n
    return np.where((n == 0) | (n == modes // 2), 1.0, 2.0) * c.real


def test_reference_metadata():
    ref = AllenCahn().reference
    assert ref.kind == "numerical" and ref.tolerance == 1e-9
    assert "convergence()" in ref.evidence
    other = AllenCahn(diffusion=1e-3).reference
    assert other.kind == "numerical" and other.tolerance is None


def test_quick_convergence(allen_cahn):
    study = allen_cahn.convergence(full=False)
    # time integration + Hermite interpolation in t: measured 6.2e-11
    assert study["rtol"] < 2e-10
    assert study["odd_part"] < 1e-13  # the solve keeps the even parity


@pytest.mark.slow
def test_full_convergence(allen_cahn):
    study = allen_cahn.convergence()
    tol = allen_cahn.reference.tolerance
    assert study["modes"] < tol / 3  # measured 1.6e-10
    assert study["rtol"] < tol / 3
    assert study["modes"] < study["coarse_modes"] < 1e-8  # 2048 points: 1.3e-9


def test_matches_independent_plain_fourier_solve(allen_cahn):
    ts = np.array([0.0, 0.05, 0.25, 0.5, 1.0])
    coef = plain_fourier(ts)
    x = np.linspace(-1, 1, 401)
    plain = coef[1:] @ np.cos(np.pi * np.outer(np.arange(coef.shape[1]), x))
    xx, tt = np.meshgrid(x, ts[1:])
    ours = allen_cahn.solution(np.stack([xx.ravel(), tt.ravel()], axis=1)).reshape(xx.shape)
    assert np.max(np.abs(ours - plain)) < 1e-10  # measured 6.4e-12


def test_initial_condition_and_grid(allen_cahn):
    x, t, u = allen_cahn.reference_grid(nx=129, nt=21)
    assert x.shape == (129,) and t.shape == (21,) and u.shape == (21, 129)
    assert (x[0], x[-1], t[0], t[-1]) == (-1.0, 1.0, 0.0, 1.0)
    np.testing.assert_allclose(u[0], initial(x), atol=1e-14)
    assert u.min() >= -1 - 1e-9 and u.max() <= 1 + 1e-9  # maximum principle: |u0| <= 1


def test_periodic_in_x(allen_cahn):
    rng = np.random.default_rng(0)
    x, t = rng.uniform(-1, 1, 50), rng.uniform(0, 1, 50)
    u = allen_cahn.solution(np.stack([x, t], axis=1))
    shifted = allen_cahn.solution(np.stack([x + 2.0, t], axis=1))
    np.testing.assert_allclose(shifted, u, atol=1e-12)
    ends = allen_cahn.solution(np.array([[-1.0, 0.3], [1.0, 0.3]]))
    assert abs(ends[0] - ends[1]) < 1e-14


@settings(max_examples=20, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_even_in_x(allen_cahn, x, t):
    u = allen_cahn.solution(np.array([[x, t], [-x, t]]))
    assert abs(u[0] - u[1]) <= 1e-10


def test_reference_satisfies_pde(allen_cahn):
    # fourth-order differences; FD truncation and the Hermite interpolation in t (u_t is
    # O(Δt³) accurate) leave ~2e-8, against terms of size ~r = 5
    rng = np.random.default_rng(1)
    pts = np.stack([rng.uniform(-1, 1, 100), rng.uniform(0.02, 0.98, 100)], axis=1)

    def u(dx, dt):
        return allen_cahn.solution(pts + np.array([dx, dt]))

    h, k = 3e-4, 1e-3
    u0 = u(0, 0)
    uxx = (-u(2 * h, 0) + 16 * u(h, 0) - 30 * u0 + 16 * u(-h, 0) - u(-2 * h, 0)) / (12 * h**2)
    ut = (-u(0, 2 * k) + 8 * u(0, k) - 8 * u(0, -k) + u(0, -2 * k)) / (12 * k)
    assert np.max(np.abs(ut - D * uxx + R * (u0**3 - u0))) < 1e-7


def test_residual_operator_hand_computed():
    p = AllenCahn(diffusion=0.01, reaction=3.0)
    # u = x² t + x: u_t = x², u_xx = 2t
    u = lambda q: q[0] ** 2 * q[1] + q[0]
    x, t = 0.5, 0.3
    v = x**2 * t + x
    expected = x**2 - 0.01 * 2 * t + 3.0 * (v**3 - v)
    assert float(p.residual(u, jnp.array([x, t]))) == pytest.approx(expected, rel=1e-14)
    batched = jax.jit(jax.vmap(lambda q: p.residual(u, q)))(jnp.array([[x, t], [0.1, 0.2]]))
    assert float(batched[0]) == pytest.approx(expected, rel=1e-14)


def test_lift_and_distance():
    p = AllenCahn(t_end=2.0)
    for x in (-1.0, -0.4, 0.0, 0.7, 1.0):
        assert float(p.lift(jnp.array([x, 0.0]))) == pytest.approx(initial(x), abs=1e-15)
        assert float(p.distance(jnp.array([x, 0.0]))) == 0.0
    assert float(p.distance(jnp.array([1.0, 1.0]))) == pytest.approx(0.5)  # not 0 at x = ±1
    assert float(p.distance(jnp.array([0.3, 2.0]))) == pytest.approx(1.0)
    assert p.periodic == (0,) and p.variables == ("x", "t")


def test_lift_smooths_the_seam_and_tracks_the_reference_layer(allen_cahn):
    """For t > 0 the lift is C¹ across the seam x = ±1 (the initial condition is not), and
    u − lift = v(x, t) − v(x, 0) stays small next to the seam, where the layer lives."""
    p = allen_cahn
    slope = jax.grad(lambda x, t: p.lift(jnp.array([x, t])))
    for t in (1e-3, 0.1, 0.5):
        assert float(slope(1.0 - 1e-12, t)) == pytest.approx(float(slope(-1.0 + 1e-12, t)),
                                                            abs=1e-6)
        assert float(p.lift(jnp.array([1.0, t]))) == pytest.approx(
            float(p.lift(jnp.array([-1.0, t]))), abs=1e-14)
    assert float(slope(1.0 - 1e-12, 0.0)) == pytest.approx(-2.0, abs=1e-9)
    # Near the seam at early times the lift carries the layer: u − lift is far smaller than
    # the static-lift mismatch u − g.
    pts = np.array([[x, t] for x in (0.99, 0.995, -0.995, -0.99) for t in (1e-3, 1e-2)])
    u = p.solution(pts)
    lift = np.array([float(p.lift(jnp.asarray(q))) for q in pts])
    static = pts[:, 0] ** 2 * np.cos(np.pi * pts[:, 0])
    assert np.max(np.abs(u - lift)) < 0.1 * np.max(np.abs(u - static))


def test_float64_without_global_x64(allen_cahn):
    pts = np.array([[0.123456789, 0.4], [0.987654321, 0.2]])
    with jax.enable_x64(False):
        u = allen_cahn.solution(pts)
    assert u.dtype == np.float64
    np.testing.assert_array_equal(u, allen_cahn.solution(pts))


def test_bad_input(allen_cahn):
    with pytest.raises(ValueError, match="shape"):
        allen_cahn.solution(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="NaN"):
        allen_cahn.solution(np.array([[np.inf, 0.5]]))
    with pytest.raises(ValueError, match="times"):
        allen_cahn.solution(np.array([[0.0, 1.5]]))
    with pytest.raises(ValueError, match="diffusion"):
        AllenCahn(diffusion=-1.0)
    with pytest.raises(TypeError, match="reaction"):
        AllenCahn(reaction="five")
    assert allen_cahn.params == {"diffusion": 1e-4, "reaction": 5.0, "t_end": 1.0}
    assert math.isclose(allen_cahn.domain.t1, 1.0)
