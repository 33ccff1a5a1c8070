"""The Poisson operator in stencil form (`Stencil`) and as a lineax operator (`PoissonOperator`)."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jax import lax
from jaxtyping import Array, Bool, Float

# a dense matrix of this many unknowns is 3.2 GB in float64: beyond it, use `matrix()`
MAX_DENSE = 20_000


def _next(x: Array, axis: int) -> Array:
    """`x[i + 1]` along `axis`, 0 past the end (pad and slice: no wrap-around as in roll)."""
    pad = [(0, 0)] * x.ndim
    pad[axis] = (0, 1)
    return jnp.pad(lax.slice_in_dim(x, 1, x.shape[axis], axis=axis), pad)


def _prev(x: Array, axis: int) -> Array:
    """`x[i - 1]` along `axis`, 0 before the start."""
    pad = [(0, 0)] * x.ndim
    pad[axis] = (1, 0)
    return jnp.pad(lax.slice_in_dim(x, 0, x.shape[axis] - 1, axis=axis), pad)


class Stencil(eqx.Module):
    """A symmetric cell-grid operator `A` in stencil form, on arrays of shape `shape`.

    For a fluid cell i, `(A p)_i = Σ_a Σ_± w (p_i − p_j) + dirichlet_i p_i` over its two
    neighbours j along each axis a; `(A p)_i = p_i` on a solid cell. `mv` is correct for any
    nonnegative `weights` and `dirichlet` of this form (a multigrid coarsens them by
    summing) as long as weights vanish on faces that touch a solid cell.

    Attributes:
        weights: d float arrays of shape `shape`; `weights[a][i]` couples cell i with its
            +a neighbour (index i + 1 along axis a), 0 at the last index along a.
        dirichlet: float array `shape`: the diagonal's boundary part, 2 per Dirichlet
            domain face a fluid cell touches (ghost value −p), 0 on solid cells.
        fluid: bool array `shape`, the unknowns; solid rows are the identity.
    """

    weights: tuple[Float[Array, " *shape"], ...]
    dirichlet: Float[Array, " *shape"]
    fluid: Bool[Array, " *shape"]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.dirichlet.shape)

    def mv(self, p: Float[Array, "*batch *shape"]) -> Float[Array, "*batch *shape"]:
        """`A p` for `p` of shape `shape` (or `(*batch, *shape)`): differentiable in `p`,
        `weights` and `dirichlet`, under jit, vmap and grad."""
        d = len(self.weights)
        if tuple(p.shape[p.ndim - d:]) != self.shape:
            raise ValueError(f"Stencil.mv: p must have shape (..., {str(self.shape)[1:-1]}), "
                             f"got {p.shape}")
        out = self.dirichlet * p
        for a, w in enumerate(self.weights):
            axis = p.ndim - d + a
            flux = w * (p - _next(p, axis))  # from cell i to i + 1: leaves i, enters i + 1
            out = out + flux - _prev(flux, axis)
        return jnp.where(self.fluid, out, p)

    def diagonal(self) -> Float[Array, "*shape"]:
        """The diagonal of `A`: weights to both neighbours plus `dirichlet`, 1 on solids."""
        diag = self.dirichlet + sum(w + _prev(w, a) for a, w in enumerate(self.weights))
        return jnp.where(self.fluid, diag, jnp.ones_like(diag))


class PoissonOperator(lx.AbstractLinearOperator):
    """`Stencil.mv` as a lineax operator on arrays of the grid's shape, tagged symmetric and
    positive semidefinite (lineax has no definite tag: `definite` says it, True when no
    fluid component floats). Solvers read `operator.stencil`."""

    stencil: Stencil
    definite: bool = eqx.field(static=True, default=False)

    def mv(self, vector):
        return self.stencil.mv(vector)

    def as_matrix(self) -> Float[Array, "N N"]:
        """The dense N × N matrix over all cells (C order), for small grids only."""
        shape = self.stencil.shape
        size = math.prod(shape)
        if size > MAX_DENSE:
            raise ValueError(f"PoissonOperator.as_matrix: {size} unknowns are too many for a "
                             f"dense matrix (at most {MAX_DENSE}); use PoissonSystem.matrix() "
                             "for a sparse one")
        eye = jnp.eye(size, dtype=self.stencil.dirichlet.dtype).reshape(size, *shape)
        return jax.vmap(self.mv)(eye).reshape(size, size).T  # row j of the vmap is A e_j

    def transpose(self):
        return self

    def in_structure(self):
        return jax.ShapeDtypeStruct(self.stencil.shape, self.stencil.dirichlet.dtype)

    def out_structure(self):
        return self.in_structure()


# lineax answers these queries by single dispatch on the operator's type
@lx.linearise.register(PoissonOperator)
@lx.materialise.register(PoissonOperator)  # already structured and cheap: kept as it is
@lx.conj.register(PoissonOperator)  # real
def _itself(operator):
    return operator


@lx.diagonal.register(PoissonOperator)
def _diagonal(operator):
    return operator.stencil.diagonal().reshape(-1)  # lineax flattens one array in C order


for _query, _answer in ((lx.is_symmetric, True), (lx.is_positive_semidefinite, True),
                        (lx.is_negative_semidefinite, False), (lx.is_diagonal, False),
                        (lx.is_tridiagonal, False), (lx.has_unit_diagonal, False),
                        (lx.is_lower_triangular, False), (lx.is_upper_triangular, False)):
    _query.register(PoissonOperator)(lambda operator, answer=_answer: answer)
