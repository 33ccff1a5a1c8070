"""The contract every PDE problem for PINNs follows.

A problem is a domain, a pointwise residual operator, its boundary/initial data and a
reference solution. The residual takes the trial function `u` (a scalar function of one
point, shape `(dim,) -> ()`) and one point `x` of shape `(dim,)`, and differentiates `u`
with JAX autodiff; solvers `jax.vmap` it over collocation points. Problems hold no
neural code: any callable `u` will do, the exact solution included (the residual of the
exact solution is a test every problem passes).
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from sciml import checks
from sciml.problems.base import Problem
from sciml.problems.pde._geometry import Geometry

ScalarField = Callable[[Float[Array, " dim"]], Float[Array, ""]]


class PDEProblem(Problem):
    """A PDE on `domain` with a reference solution: the family contract of PINN problems.

    Subclasses give `params` and `reference` (`Problem`), the pointwise `residual` and the
    reference `solution`; analytic problems also `exact`, problems with a closed-form
    boundary lift `lift` (and `has_lift = True`), variational ones `energy_density`.

    Attributes:
        name: the registered name.
        domain: where the PDE holds (`Box`, `BoxWithHole`, `SpaceTime`).
        variables: coordinate names, one per dimension (time last), for plots.
        periodic: axes (indices into a point) on which the solution is periodic with the
            domain's width as period; trial functions must respect it (`PeriodicEmbedding`).
    """

    name: str
    domain: Geometry
    variables: tuple[str, ...]
    periodic: tuple[int, ...] = ()

    @property
    def dim(self) -> int:
        return self.domain.dim

    @abc.abstractmethod
    def residual(self, u: ScalarField, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """The PDE residual `N[u](x)` at one point; zero for the exact solution."""

    @abc.abstractmethod
    def solution(self, points: Float[Array, "n dim"]) -> np.ndarray:
        """Reference solution at `points` (rows), as a float64 numpy array of shape `(n,)`."""

    has_lift: bool = False

    def lift(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """A smooth function equal to the Dirichlet (and initial) data where `distance`
        vanishes, so that `lift + distance · N` meets them exactly for any `N`.

        Only problems with `has_lift = True` give one; it never uses the solution
        inside the domain. Others are trained with soft boundary losses."""
        raise NotImplementedError(
            f"{type(self).__name__} gives no lift of its boundary data; train it with soft "
            "boundary losses (constraint='soft')"
        )

    def distance(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """A smooth factor vanishing where `lift` imposes data (the domain's Dirichlet
        boundary, and the initial time for space × time), positive elsewhere."""
        return self.domain.distance(x)

    def exact(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """The exact solution at one point, traceable by JAX (analytic problems only)."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form solution")

    def boundary_value(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """Dirichlet data at a boundary (or initial) point, for soft-constraint losses.
        The default is the exact solution there."""
        return self.exact(x)

    def energy_density(self, u: ScalarField, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """Integrand `L(x, u, ∇u) − f u` of the energy the solution minimises
        (variational problems only)."""
        raise NotImplementedError(f"{type(self).__name__} is not in variational form")

    def error_quadrature(self, n: int = 2**16) -> tuple[Array, Array]:
        """Points `(m, dim)` and weights `(m,)` for L2 error integrals over the domain.

        Tensor Gauss–Legendre (about `n` nodes) on boxes of dimension ≤ 3; otherwise
        scrambled Sobol points with equal weights `volume / m`.
        """
        if hasattr(self.domain, "quadrature") and self.dim <= 3:
            try:
                per_axis = max(1, round(n ** (1 / self.dim) / 4))
                return self.domain.quadrature(per_axis, 4)
            except TypeError:
                pass
        pts = self.domain.sample_qmc(n, seed=20231)
        return pts, jnp.full(pts.shape[0], self.domain.volume / pts.shape[0])

    def reference_grid(self, nx: int = 256, nt: int = 101
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The reference on uniform grids including the endpoints (1-D space × time).

        Returns:
            x of shape `(nx,)`, t of shape `(nt,)` and u of shape `(nt, nx)` with
            `u[j, i] = u(x[i], t[j])`.
        """
        from sciml.problems.pde._geometry import SpaceTime

        if not isinstance(self.domain, SpaceTime) or self.dim != 2:
            raise TypeError(f"{self.name}: reference_grid needs a 1-D space × time domain")
        # at least 2: the grid includes both ends
        nx, nt = checks.integer("nx", nx, low=2), checks.integer("nt", nt, low=2)
        (x0, t0), (x1, t1) = self.domain.lower, self.domain.upper
        x, t = np.linspace(x0, x1, nx), np.linspace(t0, t1, nt)
        xx, tt = np.meshgrid(x, t)
        return x, t, self.solution(np.stack([xx.ravel(), tt.ravel()], axis=1)).reshape(tt.shape)

    def check_points(self, points) -> Array:
        """`points` as an `(n, dim)` array, or a clear error."""
        p = jnp.asarray(points)
        if p.ndim != 2 or p.shape[1] != self.dim:
            raise ValueError(
                f"{self.name}: points must have shape (n, {self.dim}) "
                f"(columns {', '.join(self.variables)}), got {p.shape}"
            )
        if not bool(jnp.all(jnp.isfinite(p))):
            raise ValueError(f"{self.name}: points contain NaN or inf")
        return p


def laplacian(u: ScalarField, x: Float[Array, " dim"], axes: int | None = None) -> Array:
    """Sum of second derivatives of `u` at `x` over the first `axes` coordinates
    (all by default): forward-over-reverse, one Hessian-vector product per axis."""
    n = x.shape[0] if axes is None else axes
    g = jax.grad(u)
    eye = jnp.eye(x.shape[0], dtype=x.dtype)
    return sum(jax.jvp(g, (x,), (eye[i],))[1][i] for i in range(n))


def value_grad_uxx(u: ScalarField, x: Float[Array, " dim"]) -> tuple[Array, Array, Array]:
    """`(u(x), ∇u(x), ∂²u/∂x₀²)` at one point: the second derivative along the first
    coordinate by one forward-over-reverse Hessian-vector product (1-D space × time)."""
    e0 = jnp.zeros_like(x).at[0].set(1.0)
    grad, hess_col = jax.jvp(jax.grad(u), (x,), (e0,))
    return u(x), grad, hess_col[0]
