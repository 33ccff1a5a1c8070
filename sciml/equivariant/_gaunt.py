"""Gaunt tensor product through a spherical quadrature grid.

A natural-parity `IrrepsArray` (irreps `0e + 1o + 2e + 3o + …`, each l once) is the
coefficient vector of a function on the unit sphere, f(r̂) = Σ_lm c_lm Y_lm(r̂), with e3nn's
real spherical harmonics. The Gaunt product of f and g is the coefficient vector of the
pointwise product f·g, truncated at `lmax_out` (Luo, Chen, He & Wang, "Enabling efficient
equivariant operations in the Fourier basis via Gaunt tensor products", ICLR 2024). It
equals a sum of Clebsch–Gordan paths (l1, l2 → l3, l1 + l2 + l3 even) with fixed weights
(the Gaunt coefficients), but costs three matrix products instead of one einsum per path.

The grid is Gauss–Legendre in cos θ (n_θ nodes) × uniform in φ (n_φ points), with the polar
axis along y as in e3nn (`e3nn.to_s2grid(..., quadrature="gausslegendre")` samples the same
points). The integrand of an output coefficient, f·g·Y_l3, is a polynomial of degree
d = l1max + l2max + lmax_out on the sphere: Gauss–Legendre with n_θ = ⌊d/2⌋ + 1 nodes
integrates its cos θ part exactly (degree ≤ 2 n_θ − 1), and n_φ = d + 1 uniform points its
Fourier modes |m| ≤ d. This is the smallest tensor grid that gives the exact Gaunt product.
"""

from __future__ import annotations

import functools
import math

import e3nn_jax as e3nn
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from sciml import checks

_NORMALIZATIONS = ("component", "integral")


def grid_size(degree: int) -> tuple[int, int]:
    """(n_θ, n_φ) of the smallest Gauss–Legendre × uniform grid that integrates every
    polynomial of `degree` on the sphere exactly."""
    return degree // 2 + 1, degree + 1


@functools.lru_cache(maxsize=128)
def _grid(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 3) and weights (N,) (Σ = 4π) of the exact grid for `degree`, θ-major."""
    n_theta, n_phi = grid_size(degree)
    cos_theta, w_theta = np.polynomial.legendre.leggauss(n_theta)  # Σ w_theta = 2
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    # e3nn's s2grid convention: polar axis y, azimuth φ from z towards x.
    points = np.stack(
        [
            sin_theta[:, None] * np.sin(phi)[None, :],
            np.broadcast_to(cos_theta[:, None], (n_theta, n_phi)),
            sin_theta[:, None] * np.cos(phi)[None, :],
        ],
        axis=-1,
    ).reshape(-1, 3)
    weights = np.repeat(w_theta, n_phi) * (2 * np.pi / n_phi)
    points.setflags(write=False)  # cached and shared: read-only
    weights.setflags(write=False)
    return points, weights


@functools.lru_cache(maxsize=128)
def _matrices(
    lmax_in: int, lmax_out: int, degree: int, normalization: str
) -> tuple[np.ndarray, np.ndarray]:
    """The dense transforms on the grid for `degree`, float64 numpy.

    to_grid: ((lmax_in + 1)², N), Y_lm at the grid points, rows in e3nn's layout.
    from_grid: (N, (lmax_out + 1)²), w_j Y_lm(r_j) / ‖Y_lm‖², so that `values @ from_grid`
    are the coefficients of the projection onto the basis (‖Y‖² = 4π for "component",
    1 for "integral").
    """
    _, weights = _grid(degree)
    sh = _sh_on_grid(degree, max(lmax_in, lmax_out))
    if normalization == "component":
        norm2 = 4 * np.pi
    else:  # orthonormal: Y_integral = Y_component / √(4π)
        sh = sh / np.sqrt(4 * np.pi)
        norm2 = 1.0
    to_grid = np.ascontiguousarray(sh[:, : (lmax_in + 1) ** 2].T)
    from_grid = np.ascontiguousarray(weights[:, None] * sh[:, : (lmax_out + 1) ** 2] / norm2)
    to_grid.setflags(write=False)
    from_grid.setflags(write=False)
    return to_grid, from_grid


@functools.lru_cache(maxsize=128)
def _sh_on_grid(degree: int, lmax: int) -> np.ndarray:
    """e3nn's component-normalised Y_lm, l ≤ lmax, at the points of the grid for `degree`:
    (N, (lmax + 1)²) float64 numpy."""
    points, _ = _grid(degree)
    # Built at trace time if called under jit: evaluate now, in float64 whatever the
    # global x64 setting, so float64 callers get exact matrices. In fixed chunks of points,
    # so one compilation per lmax serves every grid (it takes ~1 s at lmax 6).
    chunk = _SH_CHUNK
    padded = np.concatenate([points, np.tile([0.0, 0.0, 1.0], (-len(points) % chunk, 1))])
    with jax.ensure_compile_time_eval(), jax.enable_x64(True):
        sh = [np.asarray(_spherical_harmonics(jnp.asarray(padded[i: i + chunk]), lmax))
              for i in range(0, len(padded), chunk)]
    return np.concatenate(sh)[: len(points)].astype(np.float64)


_SH_CHUNK = 128


@functools.partial(jax.jit, static_argnums=1)
def _spherical_harmonics(points: Array, lmax: int) -> Array:
    # jitted: one compilation instead of dozens of op-by-op dispatches
    return e3nn.spherical_harmonics(
        e3nn.s2_irreps(lmax), points, normalize=True, normalization="component"
    ).array


def _check_sphere_irreps(irreps: e3nn.Irreps, name: str, lmax: int | None = None) -> list[int]:
    """The degrees l of a natural-parity, multiplicity-one irreps, in order; else raises."""
    bad = [str(ir) for mul, ir in irreps if ir.p != (-1) ** ir.l]
    if bad:
        raise ValueError(
            f"Gaunt product: {name} has irreps {irreps}, where {'+'.join(bad)} "
            f"{'has' if len(bad) == 1 else 'have'} parity -(-1)^l. Only natural parity (0e, 1o, "
            "2e, 3o, ...) is a function on the sphere: use cg_product for these irreps, or drop "
            f"them (x.filter(drop=\"{'+'.join(bad)}\")) before the Gaunt product."
        )
    multi = [f"{mul}x{ir}" for mul, ir in irreps if mul != 1]
    if multi:
        raise ValueError(
            f"Gaunt product: {name} has irreps {irreps} with multiplicities {' '.join(multi)}; "
            "each l must appear once. Move channels to a leading axis with x.mul_to_axis()."
        )
    ls = list(irreps.ls)
    if any(b <= a for a, b in zip(ls, ls[1:], strict=False)):
        raise ValueError(
            f"Gaunt product: {name} has irreps {irreps}; the degrees must increase "
            "(use x.regroup() or x.sort())."
        )
    if lmax is not None and ls and ls[-1] > lmax:
        raise ValueError(
            f"Gaunt product: {name} has irreps {irreps}, degree {ls[-1]} above this "
            f"product's lmax {lmax}."
        )
    return ls


def _rows(ls: list[int]) -> np.ndarray:
    """Indices of the irreps `ls` in the full layout 0e + 1o + 2e + …"""
    return np.concatenate([np.arange(deg * deg, (deg + 1) ** 2) for deg in ls]).astype(np.intp)


class GauntProduct(eqx.Module):
    """The Gaunt tensor product, built once for given degrees: `GauntProduct(l1, l2, lout)(x, y)`.

    `x` and `y` are coefficient vectors of functions on the sphere (irreps with natural
    parity, each l once: a sub-list of `0e + 1o + … + l1max`); the result holds the
    coefficients of their pointwise product up to `lmax_out`, with natural parity. It is
    evaluated exactly (to rounding) as

        out = ((x @ Y1) * (y @ Y2)) @ Z,

    Y1, Y2 the spherical harmonics at the N points of the exact grid (see the module
    docstring; N = 190 for 6, 6 → 6) and Z the weighted projection back. Leading axes
    broadcast as in `cg_product`, so `(n_atoms, channels)` or `(n_edges, channels)`
    features go in as they are, and it works under `jit`, `grad` and `vmap`.

    Why dense matrices (`benchmarks/results/tensor_products-full.md`): against the
    separable form (Legendre transform in θ per m, then a DFT in φ; ≈ 3× fewer flops at
    L = 6) and a form halving each matmul by the grid's θ ↔ π − θ symmetry. At these sizes
    (≤ 49 coefficients, ≤ 190 points) XLA:CPU runs the three GEMMs near peak, while the
    others pay for gathers, scatters, transposes and small batched matmuls. The separable
    form was slower at every L (1.5-4×). The halved one was slower forward + backward at
    every L but one, L = 6 with 256 rows (1.3× faster there); with 4096 rows it was slower
    at every L (up to 1.35× forward, 1.3-1.7× backward). Dense is kept: simpler, and fastest
    where a model spends its time (many rows, backward passes).

    Normalisation (`normalization`, e3nn's names for `e3nn.spherical_harmonics`):
    - `"component"` (default): f = Σ c_lm Y_lm with Σ_m Y_lm² = 2l + 1, so Y_00 = 1 and c_00
      is the mean of f over the sphere; out_lm = (1/4π) ∫ f g Y_lm dΩ. A scalar times
      anything is their plain product. This is what e3nn's `to_s2grid` / `from_s2grid` do
      with their default `normalization="integral"`.
    - `"integral"`: orthonormal Y_lm, out_lm = ∫ f g Y_lm dΩ (the textbook Gaunt
      coefficients); outputs are 1/√(4π) times the component ones for the same numbers in.

    In CG terms (component normalisation on both sides), out_l3 = Σ_{l1,l2} κ ·
    `cg_product` path (l1, l2 → l3), κ = `gaunt_coefficient(l1, l2, l3)` =
    √((2 l1 + 1)(2 l2 + 1)/(2 l3 + 1)) · |⟨l1 0 l2 0 | l3 0⟩| > 0 for l1 + l2 + l3 even, 0
    otherwise: the Gaunt product is the CG product with the odd paths dropped and the rest
    summed with fixed weights.

    The grid matrices are float64 numpy constants built once per (degrees, normalisation)
    and shared (cached); they are not pytree leaves, so optimisers never see them, and jit
    embeds them as constants in the input dtype (float32 in, float32 matmuls).
    """

    lmax1: int = eqx.field(static=True)
    lmax2: int = eqx.field(static=True)
    lmax_out: int = eqx.field(static=True)
    normalization: str = eqx.field(static=True)

    def __init__(self, lmax1: int, lmax2: int, lmax_out: int, normalization: str = "component"):
        self.lmax1 = checks.integer("lmax1", lmax1, low=0)
        self.lmax2 = checks.integer("lmax2", lmax2, low=0)
        self.lmax_out = checks.integer("lmax_out", lmax_out, low=0)
        if normalization not in _NORMALIZATIONS:
            raise ValueError(
                f"GauntProduct: normalization must be one of {_NORMALIZATIONS}, "
                f"got {normalization!r}."
            )
        self.normalization = normalization

    @property
    def degree(self) -> int:
        """Polynomial degree the grid integrates exactly: lmax1 + lmax2 + lmax_out."""
        return self.lmax1 + self.lmax2 + self.lmax_out

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(n_θ, n_φ): Gauss–Legendre nodes in cos θ × uniform points in φ."""
        return grid_size(self.degree)

    @property
    def grid_points(self) -> np.ndarray:
        """Unit vectors (N, 3) of the grid, θ-major (row-major in `grid_shape`)."""
        return _grid(self.degree)[0]

    @property
    def grid_weights(self) -> np.ndarray:
        """Quadrature weights (N,), summing to 4π (the area of the unit sphere)."""
        return _grid(self.degree)[1]

    @property
    def irreps_out(self) -> e3nn.Irreps:
        """`0e + 1o + … + lmax_out`."""
        return e3nn.s2_irreps(self.lmax_out)

    def _to_grid(self, x: e3nn.IrrepsArray, name: str, lmax: int) -> Array:
        if not isinstance(x, e3nn.IrrepsArray):
            raise TypeError(
                f"Gaunt product: {name} must be an e3nn.IrrepsArray, got {type(x).__name__}."
            )
        ls = _check_sphere_irreps(x.irreps, name, lmax)
        to_grid, _ = _matrices(max(self.lmax1, self.lmax2), self.lmax_out, self.degree,
                               self.normalization)
        matrix = to_grid[_rows(ls)] if ls else np.zeros((0, to_grid.shape[1]))
        return x.array @ jnp.asarray(matrix, dtype=_float_dtype(x.array))

    def to_grid(self, x: e3nn.IrrepsArray) -> Float[Array, "*leading n_grid"]:
        """Values of the function with coefficients `x` at `grid_points`: (*leading, N)."""
        return self._to_grid(x, "x", max(self.lmax1, self.lmax2))

    def from_grid(self, values: Float[Array, "*leading n_grid"]) -> e3nn.IrrepsArray:
        """Coefficients up to `lmax_out` of the function sampled at `grid_points`; exact
        when that function has degree ≤ lmax1 + lmax2."""
        _, from_grid = _matrices(max(self.lmax1, self.lmax2), self.lmax_out, self.degree,
                                 self.normalization)
        values = jnp.asarray(values)
        if values.shape[-1] != from_grid.shape[0]:
            raise ValueError(
                f"GauntProduct.from_grid: values have {values.shape[-1]} points on their last "
                f"axis, the grid has {from_grid.shape[0]} (shape {self.grid_shape})."
            )
        out = values @ jnp.asarray(from_grid, dtype=_float_dtype(values))
        return e3nn.IrrepsArray(self.irreps_out, out)

    def __call__(self, x: e3nn.IrrepsArray, y: e3nn.IrrepsArray) -> e3nn.IrrepsArray:
        """Gaunt product of `x` (*lx, dim x) and `y` (*ly, dim y), leading shapes broadcast:
        IrrepsArray (*broadcast(lx, ly), (lmax_out + 1)²) with irreps `irreps_out`."""
        try:
            np.broadcast_shapes(x.shape[:-1], y.shape[:-1])
        except ValueError:
            raise ValueError(
                f"Gaunt product: x has leading shape {x.shape[:-1]} and y {y.shape[:-1]}, "
                "which do not broadcast."
            ) from None
        # The pointwise product on the grid is the whole coupling of all paths at once.
        fx = self._to_grid(x, "x", self.lmax1)
        if y is x:  # a square (as in body-order expansions) needs one transform, not two
            _check_sphere_irreps(y.irreps, "y", self.lmax2)
            fy = fx
        else:
            fy = self._to_grid(y, "y", self.lmax2)
        return self.from_grid(fx * fy)


def _float_dtype(a) -> jnp.dtype:
    dtype = jnp.result_type(a)
    return dtype if jnp.issubdtype(dtype, jnp.inexact) else jnp.result_type(float)


def gaunt_product(
    x: e3nn.IrrepsArray,
    y: e3nn.IrrepsArray,
    lmax_out: int | None = None,
    *,
    normalization: str = "component",
) -> e3nn.IrrepsArray:
    """Gaunt tensor product of `x` and `y` up to `lmax_out` (default: lmax x + lmax y).

    Shorthand for `GauntProduct(x.irreps.lmax, y.irreps.lmax, lmax_out, normalization)(x, y)`;
    see `GauntProduct` for shapes, normalisation and the method. The grid matrices are
    cached, so building the module on each call is cheap; a model holds a `GauntProduct`."""
    for name, a in (("x", x), ("y", y)):
        if not isinstance(a, e3nn.IrrepsArray):
            raise TypeError(
                f"gaunt_product: {name} must be an e3nn.IrrepsArray, got {type(a).__name__}."
            )
    l1 = x.irreps.lmax if len(x.irreps) else 0
    l2 = y.irreps.lmax if len(y.irreps) else 0
    if lmax_out is None:
        lmax_out = l1 + l2
    return GauntProduct(l1, l2, lmax_out, normalization)(x, y)


def gaunt_coefficient(l1: int, l2: int, l3: int) -> float:
    """Weight of the CG path (l1, l2 → l3) in the Gaunt product, both component-normalised:

        κ = √((2 l1 + 1)(2 l2 + 1)/(2 l3 + 1)) · |⟨l1 0 l2 0 | l3 0⟩|,

    so that `GauntProduct(...)(x, y)[l3] = Σ_{l1,l2} κ · cg_product(x[l1], y[l2])[l3]`. With
    e3nn's real CG basis every weight is positive (the sign of ⟨l1 0 l2 0 | l3 0⟩ is absorbed
    by the basis; checked in the tests). 0 unless l1 + l2 + l3 is even and the triangle
    |l1 − l2| ≤ l3 ≤ l1 + l2 holds. Closed form (Racah's formula for the 3j symbol), float64.
    For `normalization="integral"` on the Gaunt side divide by √(4π).
    """
    if (l1 + l2 + l3) % 2 or not abs(l1 - l2) <= l3 <= l1 + l2:
        return 0.0
    g = (l1 + l2 + l3) // 2
    f = math.factorial
    # |(l1 l2 l3; 0 0 0)| = √[(2g−2l1)!(2g−2l2)!(2g−2l3)!/(2g+1)!] · g!/Π(g − li)!
    three_j = math.sqrt(
        f(2 * g - 2 * l1) * f(2 * g - 2 * l2) * f(2 * g - 2 * l3) / f(2 * g + 1)
    ) * f(g) / (f(g - l1) * f(g - l2) * f(g - l3))
    # |⟨l1 0 l2 0 | l3 0⟩| = √(2 l3 + 1) · |3j|
    return math.sqrt((2 * l1 + 1) * (2 * l2 + 1) / (2 * l3 + 1)) * math.sqrt(2 * l3 + 1) * three_j
