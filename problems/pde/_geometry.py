"""Domains for PDE problems: intervals, boxes, boxes with a hole, and space × time.

Points are rows: a batch of points has shape `(n, dim)`; one point has shape `(dim,)`.
For space × time the last coordinate is time. Sampling is uniform in the domain
(`sample`), on its boundary (`sample_boundary`), or quasi-random (`sample_qmc`, scrambled
Sobol or Latin hypercube from `scipy.stats.qmc`). Every domain also gives a smooth
`distance` factor that vanishes exactly on its Dirichlet boundary, for hard-constraint
trial functions `u = g + distance · N`.
"""

from __future__ import annotations

import abc
import math
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray
from scipy.stats import qmc

from sciml import checks

QMCMethod = Literal["sobol", "lhs"]


class Geometry(abc.ABC):
    """A domain in R^dim with a bounding box `[lower, upper]`.

    Subclasses give `contains`, `sample_boundary` and `distance`; uniform and
    quasi-random interior sampling come from the bounding box by rejection.
    """

    lower: np.ndarray
    upper: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.lower.shape[0])

    @property
    def volume(self) -> float:
        """Lebesgue measure of the domain."""
        return float(np.prod(self.upper - self.lower))

    @abc.abstractmethod
    def contains(self, points: Float[Array, "n dim"]) -> Array:
        """Boolean mask of shape `(n,)`: which points lie in the closed domain."""

    @abc.abstractmethod
    def sample_boundary(self, key: PRNGKeyArray, n: int) -> Float[Array, "n dim"]:
        """`n` points on the (Dirichlet) boundary, uniform in surface measure."""

    @abc.abstractmethod
    def distance(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """A smooth factor, positive inside, zero on the boundary; O(1) in size."""

    def _box_uniform(self, key: PRNGKeyArray, n: int) -> Array:
        u = jax.random.uniform(key, (n, self.dim), dtype=float)
        return jnp.asarray(self.lower) + u * jnp.asarray(self.upper - self.lower)

    def sample(self, key: PRNGKeyArray, n: int) -> Float[Array, "n dim"]:
        """`n` points uniform in the domain (rejection from the bounding box)."""
        n = checks.count("n", n)
        fraction = self.volume / float(np.prod(self.upper - self.lower))
        out, have = [], 0
        while have < n:
            key, sub = jax.random.split(key)
            m = int(math.ceil(1.2 * (n - have) / fraction)) + 16
            cand = self._box_uniform(sub, m)
            cand = cand[np.asarray(self.contains(cand))]
            out.append(cand)
            have += cand.shape[0]
        return jnp.concatenate(out)[:n]

    def sample_qmc(self, n: int, *, seed: int = 0, method: QMCMethod = "sobol") -> Array:
        """`n` quasi-random points in the domain: scrambled Sobol or Latin hypercube."""
        n = checks.count("n", n)
        if method not in ("sobol", "lhs"):
            raise ValueError(f"unknown QMC method {method!r}; choose 'sobol' or 'lhs'")
        fraction = self.volume / float(np.prod(self.upper - self.lower))
        m = int(math.ceil(1.3 * n / fraction)) + 16
        if method == "sobol":
            eng = qmc.Sobol(self.dim, scramble=True, seed=seed)
            u = eng.random(2 ** math.ceil(math.log2(m)))  # balance properties need 2^k
        else:
            u = qmc.LatinHypercube(self.dim, seed=seed).random(m)
        pts = self.lower + u * (self.upper - self.lower)
        pts = pts[np.asarray(self.contains(jnp.asarray(pts)))]
        if pts.shape[0] < n:  # pragma: no cover - 1.3x margin on the volume fraction
            raise RuntimeError("quasi-random rejection produced too few points")
        return jnp.asarray(pts[:n])


class Box(Geometry):
    """The axis-aligned box `[lower, upper]` in R^dim (an interval when dim = 1)."""

    def __init__(self, lower, upper):
        lower = np.atleast_1d(np.asarray(lower, dtype=float))
        upper = np.atleast_1d(np.asarray(upper, dtype=float))
        if lower.shape != upper.shape or lower.ndim != 1:
            raise ValueError(f"lower and upper must be 1-D of equal length, got "
                             f"{lower.shape} and {upper.shape}")
        if not np.all(np.isfinite(lower)) or not np.all(np.isfinite(upper)):
            raise ValueError("box bounds must be finite")
        if not np.all(upper > lower):
            raise ValueError(f"box needs upper > lower in every coordinate, got "
                             f"lower={lower}, upper={upper}")
        self.lower, self.upper = lower, upper

    def __repr__(self) -> str:
        return f"Box(lower={self.lower.tolist()}, upper={self.upper.tolist()})"

    def contains(self, points):
        points = jnp.asarray(points)
        return jnp.all((points >= self.lower) & (points <= self.upper), axis=-1)

    def sample_boundary(self, key, n):
        n = checks.count("n", n)
        d = self.dim
        widths = self.upper - self.lower
        # Face k (axis k//2, side k%2) has measure prod(widths)/widths[axis].
        face_area = np.repeat(np.prod(widths) / widths, 2) if d > 1 else np.ones(2)
        kf, ku = jax.random.split(key)
        face = jax.random.choice(kf, 2 * d, (n,), p=jnp.asarray(face_area / face_area.sum()))
        pts = self._box_uniform(ku, n)
        axis, side = face // 2, face % 2
        value = jnp.where(side == 0, jnp.asarray(self.lower)[axis], jnp.asarray(self.upper)[axis])
        onehot = jax.nn.one_hot(axis, d, dtype=bool)
        return jnp.where(onehot, value[:, None], pts)

    def quadrature(self, panels: int, order: int = 4) -> tuple[Array, Array]:
        """Composite Gauss–Legendre: `panels` panels of `order` nodes per axis.

        Returns nodes `((panels·order)^dim, dim)` and weights summing to the volume;
        exact for polynomials of degree < 2·order on each panel.
        """
        panels, order = checks.count("panels", panels), checks.count("order", order)
        t, w = np.polynomial.legendre.leggauss(order)
        axes, weights = [], []
        for lo, hi in zip(self.lower, self.upper, strict=True):
            edges = np.linspace(lo, hi, panels + 1)
            h = np.diff(edges)[:, None] / 2
            axes.append((edges[:-1, None] + h * (t + 1)).ravel())
            weights.append((h * w).ravel())
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, self.dim)
        wts = weights[0]
        for wk in weights[1:]:
            wts = np.outer(wts, wk).ravel()
        return jnp.asarray(grid), jnp.asarray(wts)

    def distance(self, x):
        lo, hi = jnp.asarray(self.lower), jnp.asarray(self.upper)
        half = (hi - lo) / 2
        return jnp.prod((x - lo) * (hi - x) / half**2)


def Interval(a: float, b: float) -> Box:  # noqa: N802 - reads as a domain constructor
    """The interval `[a, b]`, a one-dimensional `Box`."""
    return Box([a], [b])


class BoxWithHole(Geometry):
    """A box with a closed ball removed: `[lower, upper] \\ B(center, radius)`.

    The boundary is the box's faces plus the sphere; `sample_boundary` splits points
    between them in proportion to their measure.
    """

    def __init__(self, lower, upper, center, radius: float):
        self.box = Box(lower, upper)
        self.lower, self.upper = self.box.lower, self.box.upper
        self.center = np.asarray(center, dtype=float).reshape(-1)
        if self.center.shape != self.lower.shape:
            raise ValueError(f"hole center needs {self.dim} coordinates, got {self.center.shape}")
        self.radius = checks.positive("radius", radius)
        if not (np.all(self.center - self.radius > self.lower)
                and np.all(self.center + self.radius < self.upper)):
            raise ValueError("the hole must lie strictly inside the box")

    def __repr__(self) -> str:
        return (f"BoxWithHole(lower={self.lower.tolist()}, upper={self.upper.tolist()}, "
                f"center={self.center.tolist()}, radius={self.radius})")

    @property
    def _ball_volume(self) -> float:
        d = self.dim
        return math.pi ** (d / 2) / math.gamma(d / 2 + 1) * self.radius**d

    @property
    def _sphere_area(self) -> float:
        return self.dim * self._ball_volume / self.radius

    @property
    def volume(self) -> float:
        return self.box.volume - self._ball_volume

    def contains(self, points):
        points = jnp.asarray(points)
        outside = jnp.sum((points - self.center) ** 2, axis=-1) >= self.radius**2
        return self.box.contains(points) & outside

    def sample_boundary(self, key, n):
        n = checks.count("n", n)
        widths = self.upper - self.lower
        box_area = 2 * float(np.sum(np.prod(widths) / widths)) if self.dim > 1 else 2.0
        ks, kb, kd = jax.random.split(key, 3)
        n_sphere = int(round(n * self._sphere_area / (self._sphere_area + box_area)))
        n_sphere = min(max(n_sphere, 1), n - 1) if n > 1 else 0
        g = jax.random.normal(kd, (n_sphere, self.dim))
        sphere = self.center + self.radius * g / jnp.linalg.norm(g, axis=1, keepdims=True)
        return jnp.concatenate([self.box.sample_boundary(kb, n - n_sphere), sphere])

    def distance(self, x):
        r2 = jnp.sum((x - self.center) ** 2)
        return self.box.distance(x) * (r2 - self.radius**2) / self.radius**2


class SpaceTime(Geometry):
    """Space × time: `space × [t0, t1]`; a point is `(x_1, ..., x_d, t)`.

    `sample_boundary` samples the lateral boundary `∂space × [t0, t1]`;
    `sample_initial` samples `space × {t0}`. `distance` vanishes on both (it is the
    spatial factor times `(t − t0)/(t1 − t0)`), as hard constraints for a problem with
    Dirichlet boundary and initial data need.
    """

    def __init__(self, space: Geometry, t0: float, t1: float):
        t0, t1 = checks.real("t0", t0), checks.real("t1", t1)
        if not t1 > t0:
            raise ValueError(f"time interval needs t1 > t0, got [{t0}, {t1}]")
        self.space, self.t0, self.t1 = space, t0, t1
        self.lower = np.append(space.lower, self.t0)
        self.upper = np.append(space.upper, self.t1)

    def __repr__(self) -> str:
        return f"SpaceTime({self.space!r}, t0={self.t0}, t1={self.t1})"

    @property
    def volume(self) -> float:
        return self.space.volume * (self.t1 - self.t0)

    def contains(self, points):
        points = jnp.asarray(points)
        t = points[..., -1]
        return self.space.contains(points[..., :-1]) & (t >= self.t0) & (t <= self.t1)

    def quadrature(self, panels: int, order: int = 4) -> tuple[Array, Array]:
        """Tensor Gauss–Legendre over the space-time box (space must be a `Box`)."""
        if not isinstance(self.space, Box):
            raise TypeError("tensor quadrature needs a box in space")
        return Box(self.lower, self.upper).quadrature(panels, order)

    def _times(self, key, n):
        return self.t0 + (self.t1 - self.t0) * jax.random.uniform(key, (n, 1), dtype=float)

    def sample_boundary(self, key, n):
        n = checks.count("n", n)
        kx, kt = jax.random.split(key)
        return jnp.concatenate([self.space.sample_boundary(kx, n), self._times(kt, n)], axis=1)

    def sample_initial(self, key: PRNGKeyArray, n: int) -> Float[Array, "n dim"]:
        """`n` points uniform in `space × {t0}`."""
        n = checks.count("n", n)
        x = self.space.sample(key, n)
        return jnp.concatenate([x, jnp.full((n, 1), self.t0)], axis=1)

    def distance(self, x):
        return self.space.distance(x[:-1]) * (x[-1] - self.t0) / (self.t1 - self.t0)
