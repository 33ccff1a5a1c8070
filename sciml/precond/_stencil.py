"""Weighted graph Laplacians on cell grids, the operators a learned multigrid works on.

A level holds, on a grid of `shape = (n,)*d` cells, `weights[a]` (the coupling of cell `i`
to its `+a` neighbour; 0 at the last index) and `dirichlet` (a diagonal term from Dirichlet
faces), and acts as

    (A u)_i = Σ_a [w_a,i (u_i − u_{i+a}) + w_a,i−a (u_i − u_{i−a})] + e_i u_i   (active i)
    (A u)_i = u_i                                                           (inactive i)

Coarsening sums the couplings across each interface of the `2^d`-cell aggregates (the
Galerkin product with piecewise-constant prolongation) and halves them: the operator
rediscretised on the coarse grid, which pairs with linear interpolation.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float


def shift(x: Array, axis: int, step: int) -> Array:
    """`y[i] = x[i + step]` along `axis` (`step` = ±1), zero where `i + step` is outside."""
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    if step > 0:
        pad[axis] = (0, 1)
        return jnp.pad(jnp.take(x, jnp.arange(1, n), axis=axis), pad)
    pad[axis] = (1, 0)
    return jnp.pad(jnp.take(x, jnp.arange(n - 1), axis=axis), pad)


class Level(eqx.Module):
    """One grid of the hierarchy: couplings, Dirichlet diagonal, active cells and diagonal.

    Attributes:
        weights: `d` arrays of `shape`, coupling of each cell to its `+a` neighbour.
        dirichlet: array of `shape`, the diagonal term of Dirichlet faces.
        active: bool array of `shape`, cells that carry unknowns.
        diagonal: array of `shape`, the operator's diagonal (1 on inactive cells).
    """

    weights: tuple[Float[Array, "*shape"], ...]
    dirichlet: Float[Array, "*shape"]
    active: Bool[Array, "*shape"]
    diagonal: Float[Array, "*shape"]

    def __init__(self, weights, dirichlet, active):
        self.weights = tuple(weights)
        self.dirichlet, self.active = dirichlet, active
        links = sum(w + shift(w, a, -1) for a, w in enumerate(self.weights))
        self.diagonal = jnp.where(active, links + dirichlet, 1)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.active.shape

    def mv(self, u: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """`A u`, with `u` of `shape` (zero on inactive cells)."""
        off = sum(w * shift(u, a, 1) + shift(w * u, a, -1) for a, w in enumerate(self.weights))
        return jnp.where(self.active, self.diagonal * u - off, u)

    def coarsen(self) -> Level:
        """The next coarser level: `2^d` cells per aggregate, couplings summed and halved."""
        d = len(self.shape)
        if any(n % 2 for n in self.shape):
            raise ValueError(f"cannot coarsen a grid of odd size {self.shape}")
        split = tuple(s for n in self.shape for s in (n // 2, 2))
        pairs = tuple(range(1, 2 * d, 2))

        def blocks(x):
            return x.reshape(split)

        weights = []
        for a, w in enumerate(self.weights):
            # the links leaving an aggregate along +a start at its second cell (index 1)
            x = jnp.take(blocks(w), 1, axis=2 * a + 1)
            weights.append(0.5 * x.sum(axis=tuple(p - (p > 2 * a + 1) for p in pairs
                                                   if p != 2 * a + 1)))
        dirichlet = 0.5 * blocks(self.dirichlet).sum(axis=pairs)
        active = blocks(self.active).any(axis=pairs)
        return Level(weights, dirichlet, active)


def restrict(x: Array) -> Array:
    """Sum over each `2^d` aggregate: the transpose of piecewise-constant prolongation."""
    d = x.ndim
    return x.reshape(tuple(s for n in x.shape for s in (n // 2, 2))).sum(
        axis=tuple(range(1, 2 * d, 2)))


def prolong(u: Array, active: Bool[Array, "*coarse"]) -> Array:
    """Cell-centred linear interpolation (weights 3/4 and 1/4 per axis) from a coarse grid
    to the grid twice as fine; an inactive or missing neighbour repeats the cell's own value
    (a no-flux wall), so values never leak across an obstacle."""
    for a in range(u.ndim):
        lo, hi = shift(u, a, -1), shift(u, a, 1)
        lo = jnp.where(shift(active, a, -1), lo, u)
        hi = jnp.where(shift(active, a, 1), hi, u)
        pair = jnp.stack([0.75 * u + 0.25 * lo, 0.75 * u + 0.25 * hi], axis=a + 1)
        shape = list(u.shape)
        shape[a] *= 2
        u = pair.reshape(shape)
        active = jnp.repeat(active, 2, axis=a)
    return u
