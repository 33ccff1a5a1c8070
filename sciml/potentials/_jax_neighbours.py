"""Neighbour lists rebuilt inside jitted code (molecular dynamics), with an overflow flag.

`NeighbourSpec` fixes everything shape-determining once, in Python: the cut-off, the
capacity (neighbour slots per atom), the cell-image offsets to search and the cell grid.
`spec.build(positions, cell)` then runs under `jit` and returns a `DenseNeighbours` value
whose `overflow` flag callers must check (`check_overflow`, with `eqx.error_if`): an atom
with more neighbours than slots is reported, never silently truncated.

Two searches, chosen by the cell: a cell list when every periodic direction holds at least
three cells of width ≥ the cut-off (candidates: the 27 surrounding cells, so the cost is
O(n)), otherwise all pairs over the needed periodic images (small cells, where a cell list
has fewer than three cells a side and would visit every atom anyway).
"""

from __future__ import annotations

import itertools
import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from sciml.potentials._graph import _heights


class DenseNeighbours(eqx.Module):
    """A dense neighbour list: `neighbours (n, K)`, `shifts (n, K, 3)` image counts,
    `mask (n, K)`, `overflow` (scalar bool: some atom had more than K neighbours) and
    `max_count` (the most neighbours any atom had, for choosing K)."""

    neighbours: Int[Array, "n K"]
    shifts: Float[Array, "n K 3"]
    mask: Bool[Array, "n K"]
    overflow: Bool[Array, ""]
    max_count: Int[Array, ""]


def check_overflow(nl: DenseNeighbours, capacity: int) -> DenseNeighbours:
    """`nl`, raising (under `jit` too, via `eqx.error_if`) if it overflowed."""
    return eqx.error_if(nl, nl.overflow,
                        f"neighbour list overflow: an atom has more neighbours than the "
                        f"capacity {capacity}; raise the neighbour capacity")


class NeighbourSpec(eqx.Module):
    """How to build a dense neighbour list of one structure under `jit`.

    Attributes:
        r_list: search radius, Å (the model's cut-off plus the MD skin).
        capacity: neighbour slots per atom.
        pbc: periodic directions.
        images: `(n_images, 3)` image offsets searched (all-pairs search).
        grid: cells per direction of the cell list (None: all-pairs search).
        cell_capacity: atom slots per cell of the cell list.
    """

    r_list: float = eqx.field(static=True)
    capacity: int = eqx.field(static=True)
    pbc: tuple[bool, bool, bool] = eqx.field(static=True)
    images: tuple[tuple[int, int, int], ...] = eqx.field(static=True)
    grid: tuple[int, int, int] | None = eqx.field(static=True)
    cell_capacity: int = eqx.field(static=True)

    def __init__(self, cell, pbc, r_list: float, capacity: int, n_atoms: int,
                 cell_list: bool | None = None, cell_capacity: int | None = None):
        cell, pbc = np.asarray(cell, float).reshape(3, 3), tuple(bool(p) for p in pbc)
        self.r_list, self.capacity, self.pbc = float(r_list), int(capacity), pbc
        heights = _heights(cell) if any(pbc) else np.zeros(3)
        reach = [math.ceil(r_list / heights[d]) if pbc[d] else 0 for d in range(3)]
        self.images = tuple(itertools.product(*[range(-r, r + 1) for r in reach]))
        grid = tuple(int(heights[d] // r_list) if pbc[d] else 0 for d in range(3))
        usable = all(pbc) and min(grid) >= 3
        if cell_list and not usable:
            raise ValueError(f"a cell list needs a periodic cell at least 3 cut-offs wide "
                             f"(heights {heights} Å, r_list {r_list} Å)")
        use = usable if cell_list is None else bool(cell_list)
        self.grid = grid if use else None
        if use:
            mean = n_atoms / np.prod(grid)
            default = int(math.ceil(2 * mean + 8))
            self.cell_capacity = int(cell_capacity or default)
        else:
            self.cell_capacity = 0

    def build(self, positions: Float[Array, "n 3"], cell: Float[Array, "3 3"]
              ) -> DenseNeighbours:
        """The neighbour list of `positions` (Å) in `cell` (rows, Å); jittable."""
        if self.grid is None:
            return self._all_pairs(positions, cell)
        return self._cell_list(positions, cell)

    def _compact(self, d2, j, image, self_pair):
        """Keep candidates within r_list, packed into `capacity` slots per atom."""
        within = (d2 < self.r_list**2) & ~self_pair
        count = within.sum(axis=1)
        # stable argsort of "not within" moves the kept candidates first, in order
        order = jnp.argsort(~within, axis=1, stable=True)[:, : self.capacity]
        keep = jnp.take_along_axis(within, order, axis=1)
        n = d2.shape[0]
        nbr = jnp.where(keep, jnp.take_along_axis(j, order, axis=1),
                        jnp.arange(n)[:, None])
        shift = jnp.where(keep[..., None], jnp.take_along_axis(image, order[..., None], axis=1),
                          0.0)
        return DenseNeighbours(nbr, shift, keep, jnp.any(count > self.capacity), count.max())

    def _all_pairs(self, positions, cell):
        n = positions.shape[0]
        wrap = jnp.zeros_like(positions)
        if any(self.pbc):  # search from wrapped positions: the image range assumes them
            periodic = jnp.asarray(self.pbc)
            frac = positions @ jnp.linalg.inv(jnp.where(periodic[:, None], cell, jnp.eye(3)))
            wrap = jnp.where(periodic, jnp.floor(frac), 0.0)
            positions = positions - wrap @ cell
        images = jnp.asarray(np.array(self.images), positions.dtype)    # (I, 3)
        offsets = images @ cell                                         # (I, 3)
        cand = positions[None, :, None, :] + offsets[None, None] - positions[:, None, None, :]
        d2 = jnp.sum(cand**2, axis=-1).reshape(n, -1)                   # (n, n*I)
        j = jnp.broadcast_to(jnp.repeat(jnp.arange(n), len(self.images))[None], d2.shape)
        image = jnp.broadcast_to(jnp.tile(images, (n, 1))[None], (n, n * len(self.images), 3))
        zero = np.all(np.array(self.images) == 0, axis=1)
        self_pair = (j == jnp.arange(n)[:, None]) & jnp.tile(jnp.asarray(zero), n)[None]
        # back to the caller's positions: r_ij = x_j − x_i + (S − wrap_j + wrap_i)·cell
        image = image - wrap[j] + wrap[:, None, :]
        return self._compact(d2, j, image, self_pair)

    def _cell_list(self, positions, cell):
        n = positions.shape[0]
        g = np.array(self.grid)
        inv = jnp.linalg.inv(cell)
        frac = positions @ inv
        wrap = jnp.floor(frac)                     # image of each atom's wrapped position
        frac = frac - wrap
        c3 = jnp.minimum((frac * g).astype(jnp.int32), g - 1)           # (n, 3)
        cid = (c3[:, 0] * g[1] + c3[:, 1]) * g[2] + c3[:, 2]
        n_cells = int(np.prod(g))
        # slots per cell: rank of each atom within its cell
        order = jnp.argsort(cid, stable=True)
        sorted_c = cid[order]
        first = jnp.searchsorted(sorted_c, sorted_c, side="left")
        rank = jnp.zeros(n, jnp.int32).at[order].set(
            jnp.arange(n, dtype=jnp.int32) - first.astype(jnp.int32))
        cell_overflow = jnp.any(rank >= self.cell_capacity)
        table = jnp.full((n_cells, self.cell_capacity), -1, jnp.int32)
        table = table.at[cid, rank].set(jnp.arange(n, dtype=jnp.int32), mode="drop")
        moves = np.array(list(itertools.product((-1, 0, 1), repeat=3)))  # (27, 3)
        nb3 = c3[:, None, :] + moves[None]                               # (n, 27, 3)
        crossing = jnp.floor_divide(nb3, g)                              # image count
        nb3 = nb3 - crossing * g
        nb_id = (nb3[..., 0] * g[1] + nb3[..., 1]) * g[2] + nb3[..., 2]
        j = table[nb_id].reshape(n, -1)                                  # (n, 27*cap)
        valid = j >= 0
        jj = jnp.where(valid, j, 0)
        # r_ij = x_j − x_i + S·cell with x = (frac + wrap)·cell:
        # S = crossing + wrap_i − wrap_j
        cross = jnp.repeat(crossing, self.cell_capacity, axis=1).astype(positions.dtype)
        image = cross + wrap[:, None, :] - wrap[jj]
        vec = positions[jj] - positions[:, None, :] + image @ cell
        d2 = jnp.where(valid, jnp.sum(vec**2, axis=-1), jnp.inf)
        self_pair = (jj == jnp.arange(n)[:, None]) & jnp.all(image == 0, axis=-1)
        nl = self._compact(d2, jj, image, self_pair)
        return eqx.tree_at(lambda t: t.overflow, nl, nl.overflow | cell_overflow)
