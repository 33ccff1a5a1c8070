"""Elliptic problems with manufactured exact solutions: Poisson, Helmholtz, sharp peaks,
and a nonlinear problem in variational (energy) form.

Each gives `exact(x)` in closed form; the source term is derived from it, so the
reference is analytic (`solution` evaluates `exact` in float64).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from sciml import checks
from sciml.problems.base import Reference
from sciml.problems.pde._base import PDEProblem, laplacian
from sciml.problems.pde._geometry import Box, BoxWithHole, Interval

_ANALYTIC = Reference("analytic", tolerance=0.0, evidence="manufactured closed-form solution")


class _Analytic(PDEProblem):
    """A problem whose exact solution is closed-form and traceable."""

    @property
    def reference(self) -> Reference:
        return _ANALYTIC

    def solution(self, points) -> np.ndarray:
        with jax.enable_x64(True):
            p = self.check_points(jnp.asarray(np.asarray(points, dtype=np.float64)))
            return np.asarray(jax.vmap(self.exact)(p), dtype=np.float64)


class Poisson1D(_Analytic):
    """−u'' = f on [−1, 1], u(±1) = 0, with u(x) = sin(πx) + a·sin(kπx).

    The second term (amplitude `a`, integer wavenumber `k`) adds a fine scale.
    """

    name = "poisson_1d"
    variables = ("x",)
    has_lift = True

    def __init__(self, amplitude: float = 0.5, wavenumber: int = 4):
        self.amplitude = checks.real("amplitude", amplitude)  # a tracer under jit/vmap
        self.wavenumber = checks.count("wavenumber", wavenumber)
        self.domain = Interval(-1.0, 1.0)

    @property
    def params(self):
        return {"amplitude": self.amplitude, "wavenumber": self.wavenumber}

    def exact(self, x):
        k = self.wavenumber * jnp.pi
        return jnp.sin(jnp.pi * x[0]) + self.amplitude * jnp.sin(k * x[0])

    def source(self, x):
        """f = −u'' at one point."""
        k = self.wavenumber * jnp.pi
        return jnp.pi**2 * jnp.sin(jnp.pi * x[0]) + self.amplitude * k**2 * jnp.sin(k * x[0])

    def residual(self, u, x):
        return -laplacian(u, x) - self.source(x)

    def lift(self, x):
        return jnp.zeros((), x.dtype)


class Poisson2D(_Analytic):
    """−Δu = f on the square [−1, 1]² with a disc of radius `hole` removed at the
    origin (no hole when `hole = 0`); u = sin(πx)·sin(πy) + x·y on the whole boundary.

    The `x·y` term makes the boundary data non-zero on the outer square and on the hole,
    so this problem is trained with soft boundary losses.
    """

    name = "poisson_2d"
    variables = ("x", "y")

    def __init__(self, hole: float = 0.3):
        self.hole = checks.real("hole", hole, low=0.0, high=1.0, strict_high=True)
        if self.hole > 0:
            self.domain = BoxWithHole([-1, -1], [1, 1], [0.0, 0.0], self.hole)
        else:
            self.domain = Box([-1, -1], [1, 1])

    @property
    def params(self):
        return {"hole": self.hole}

    def exact(self, x):
        return jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1]) + x[0] * x[1]

    def residual(self, u, x):
        f = 2 * jnp.pi**2 * jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])
        return -laplacian(u, x) - f


class Helmholtz2D(_Analytic):
    """Δu + k²u = f on [−1, 1]², u = 0 on the boundary, u = sin(a₁πx)·sin(a₂πy).

    Defaults (a₁, a₂, k) = (1, 4, 1) are the standard PINN Helmholtz benchmark
    (Wang, Teng & Perdikaris 2021).
    """

    name = "helmholtz_2d"
    variables = ("x", "y")
    has_lift = True

    def __init__(self, a1: int = 1, a2: int = 4, k: float = 1.0):
        self.a1, self.a2 = checks.count("a1", a1), checks.count("a2", a2)
        self.k = checks.positive("k", k)
        self.domain = Box([-1, -1], [1, 1])

    @property
    def params(self):
        return {"a1": self.a1, "a2": self.a2, "k": self.k}

    def exact(self, x):
        return jnp.sin(self.a1 * jnp.pi * x[0]) * jnp.sin(self.a2 * jnp.pi * x[1])

    def residual(self, u, x):
        w2 = (self.a1**2 + self.a2**2) * jnp.pi**2
        f = (self.k**2 - w2) * self.exact(x)
        return laplacian(u, x) + self.k**2 * u(x) - f

    def lift(self, x):
        return jnp.zeros((), x.dtype)


class Peak(_Analytic):
    """−Δu = f on [−1, 1]^dim with a sharp peak u = exp(−α|x − x₀|²).

    As in the adversarial-adaptive-sampling paper's peak tests: for α ≈ 1000 the peak
    covers about π/α of the square, so uniform collocation puts almost no points on it.
    The default α is 1000 in 2-D and, in other dimensions, the α that gives the peak
    the same share of the cube's volume (`peak_alpha_for`).
    Dirichlet data are u on the boundary; when they underflow to 0 in float64
    (α·dist(x₀, ∂Ω)² > 745) the zero lift is exact and `has_lift` is True, otherwise the
    problem is trained with soft boundary losses.
    """

    name = "peak"

    def __init__(self, dim: int = 2, alpha: float | None = None, center=None):
        dim = checks.count("dim", dim)
        alpha = peak_alpha_for(dim) if alpha is None else alpha
        self.alpha = checks.positive("alpha", alpha)
        self.center = np.zeros(dim) if center is None else _point("center", center)
        if self.center.shape != (dim,) or np.any(np.abs(self.center) >= 1):
            raise ValueError(f"parameter 'center' must be a point inside (−1, 1)^{dim}, "
                             f"got {center!r}")
        self.domain = Box(-np.ones(dim), np.ones(dim))
        self.variables = tuple(f"x{i + 1}" for i in range(dim))
        gap = float(np.min(1 - np.abs(self.center)))
        self.has_lift = self.alpha * gap**2 > 745.0

    @property
    def params(self):
        return {"dim": self.dim, "alpha": self.alpha, "center": tuple(self.center.tolist())}

    def exact(self, x):
        return jnp.exp(-self.alpha * jnp.sum((x - self.center) ** 2))

    def source(self, x):
        """f = −Δu = (2αd − 4α²|x − x₀|²)·u at one point."""
        r2 = jnp.sum((x - self.center) ** 2)
        return (2 * self.alpha * x.shape[0] - 4 * self.alpha**2 * r2) * self.exact(x)

    def residual(self, u, x):
        return -laplacian(u, x) - self.source(x)

    def error_quadrature(self, n: int = 2**16):
        """Quadrature that resolves the peak. In 1-D/2-D: tensor Gauss–Legendre with
        panels no wider than half the peak's width 1/sqrt(2α). Higher dimensions:
        importance sampling from the mixture ½·uniform + ½·N(x₀, 1/(2α)·I) restricted to
        the cube (Sobol-driven), weights 1/(m·q(x)), unbiased for ∫ over the cube."""
        sigma = 1.0 / math.sqrt(2 * self.alpha)
        if self.dim <= 2:
            panels = max(round(n ** (1 / self.dim) / 4), math.ceil(2 / (sigma / 2)))
            return self.domain.quadrature(panels, 4)
        from scipy.stats import norm, qmc

        d, m = self.dim, n
        u = qmc.Sobol(d + 1, scramble=True, seed=20231).random(m)
        lo, hi = norm.cdf((-1 - self.center) / sigma), norm.cdf((1 - self.center) / sigma)
        gauss = self.center + sigma * norm.ppf(lo + u[:, :d] * (hi - lo))
        unif = -1 + 2 * u[:, :d]
        pts = np.where(u[:, d:] < 0.5, gauss, unif)
        z = np.prod(hi - lo)
        q_gauss = np.exp(-np.sum((pts - self.center) ** 2, 1) / (2 * sigma**2)) / (
            (2 * math.pi) ** (d / 2) * sigma**d * z)
        q = 0.5 * q_gauss + 0.5 / 2.0**d
        return jnp.asarray(pts), jnp.asarray(1.0 / (m * q))

    def lift(self, x):
        if not self.has_lift:
            return super().lift(x)
        return jnp.zeros((), x.dtype)


class NonlinearElliptic(_Analytic):
    """−Δu + u³ = f on [−1, 1]², u = 0 on the boundary, u = sin(πx)·sin(πy).

    Variational form: u minimises E(v) = ∫ ½|∇v|² + ¼v⁴ − f v dx over v = 0 on ∂Ω (the
    functional is strictly convex, so the minimiser is unique), which Deep Ritz training
    uses through `energy_density`. `exact_energy` is E(u) by tensor Gauss quadrature.
    """

    name = "nonlinear_elliptic"
    variables = ("x", "y")
    has_lift = True

    def __init__(self, amplitude: float = 1.0):
        self.amplitude = checks.positive("amplitude", amplitude)
        self.domain = Box([-1, -1], [1, 1])

    @property
    def params(self):
        return {"amplitude": self.amplitude}

    def exact(self, x):
        return self.amplitude * jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])

    def source(self, x):
        """f = −Δu + u³ at one point."""
        u = self.exact(x)
        return 2 * jnp.pi**2 * u + u**3

    def residual(self, u, x):
        return -laplacian(u, x) + u(x) ** 3 - self.source(x)

    def energy_density(self, u, x):
        v, g = jax.value_and_grad(u)(x)
        return 0.5 * jnp.sum(g**2) + 0.25 * v**4 - self.source(x) * v

    def lift(self, x):
        return jnp.zeros((), x.dtype)

    def exact_energy(self, n: int = 64) -> float:
        """E(u) for the exact solution, by an n×n Gauss–Legendre rule (exact to float64
        for n ≥ 32 on this smooth integrand)."""
        t, w = np.polynomial.legendre.leggauss(n)
        with jax.enable_x64(True):
            pts = jnp.asarray(np.stack(np.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2))
            dens = jax.vmap(lambda x: self.energy_density(self.exact, x))(pts)
            return float(jnp.sum(dens * jnp.asarray(np.outer(w, w).ravel())))


def _point(name: str, value) -> np.ndarray:
    """A point given as a sequence of real numbers, as a float64 array of shape (d,)."""
    if np.ndim(value) != 1:
        raise TypeError(f"parameter {name!r} must be a sequence of real numbers, got {value!r}")
    return np.array([checks.real(f"{name}[{i}]", v) for i, v in enumerate(value)])


def peak_alpha_for(dim: int) -> float:
    """A default α for a `dim`-dimensional peak whose mass fraction in the cube matches a
    2-D peak with α = 1000: (π/α)^{d/2} / 2^d held equal (about 2e-4)."""
    frac = (math.pi / 1000.0) / 4.0
    return math.pi / (4.0 * frac ** (2.0 / dim))
