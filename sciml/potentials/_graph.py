"""Atomic structures as fixed-shape graphs, and their neighbour lists.

Units: positions and cells in Å. A `Graph` holds one or several structures flat (the atoms of
every structure concatenated, padded to a fixed size), with a *dense* neighbour list: atom i
has up to `K` neighbours `neighbours[i, :K]` (indices into the same flat arrays), each with
the integer cell-image count `shifts[i, k]`, so that the vector from i to its k-th neighbour
j is

    r_ij = x_j − x_i + shifts[i, k] @ cell,

and a strain ε acts on positions and cell alike, which is how the stress is taken. Dense
rows (not an edge list) make the sum over neighbours an array reduction, which XLA:CPU runs
much faster than a scatter. Capacity is explicit: a list that would need more than `K`
neighbours raises `NeighbourOverflowError`, never truncates.

For data preparation, `neighbour_list` calls vesin (a compiled, well-tested periodic cell
list); inside jitted MD `sciml.potentials.jax_neighbour_list` rebuilds the list in JAX.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int


class NeighbourOverflowError(ValueError):
    """A neighbour list needed more slots than its capacity."""


class Graph(eqx.Module):
    """Structures with their neighbour lists, as one flat padded PyTree.

    Attributes:
        positions: `(n_atoms, 3)` Å.
        species: `(n_atoms,)` index into the model's species table (`species_index`).
        neighbours: `(n_atoms, K)` flat index of each neighbour (the atom itself on unused slots).
        shifts: `(n_atoms, K, 3)` cell-image counts (integers stored as floats).
        neighbour_mask: `(n_atoms, K)` True on real neighbours.
        structure: `(n_atoms,)` the structure of each atom; `n_structures` on padding.
        cells: `(n_structures, 3, 3)` Å, rows are the cell vectors (zeros when not periodic).
        atom_mask: `(n_atoms,)` True on real atoms.
    """

    positions: Float[Array, "n_atoms 3"]
    species: Int[Array, " n_atoms"]
    neighbours: Int[Array, "n_atoms K"]
    shifts: Float[Array, "n_atoms K 3"]
    neighbour_mask: Bool[Array, "n_atoms K"]
    structure: Int[Array, " n_atoms"]
    cells: Float[Array, "n_structures 3 3"]
    atom_mask: Bool[Array, " n_atoms"]

    @property
    def n_structures(self) -> int:
        return self.cells.shape[0]

    def edge_vectors(self, positions=None, cells=None) -> Float[Array, "n_atoms K 3"]:
        """r_ij = x_j − x_i + shift @ cell, Å (from the given positions/cells if passed)."""
        x = self.positions if positions is None else positions
        c = self.cells if cells is None else cells
        cell = c[jnp.minimum(self.structure, self.n_structures - 1)]  # (n, 3, 3)
        image = jnp.einsum("nkd,nde->nke", self.shifts, cell)
        return x[self.neighbours] - x[:, None, :] + image

    def sum_per_structure(self, values: Array) -> Array:
        """Per-structure sums of per-atom `values` `(n_atoms, ...)`, padding dropped."""
        shape = (-1,) + (1,) * (values.ndim - 1)
        values = jnp.where(self.atom_mask.reshape(shape), values, 0)
        return jax.ops.segment_sum(values, self.structure, num_segments=self.n_structures)


def species_index(numbers: Sequence[int] | np.ndarray, table: Sequence[int]) -> np.ndarray:
    """Atomic numbers -> indices into a model's species `table`; an element the model was
    not trained on is an error naming it."""
    from ase.data import chemical_symbols

    numbers = np.asarray(numbers, dtype=np.int64)
    lookup = {int(z): i for i, z in enumerate(table)}
    unknown = sorted(set(numbers.tolist()) - set(lookup))
    if unknown:
        names = [chemical_symbols[z] if 0 < z < len(chemical_symbols) else str(z)
                 for z in unknown]
        known = [chemical_symbols[z] for z in table]
        raise ValueError(f"element(s) {names} not in the model's species {known}: the model "
                         "has no embedding for them; train a model that includes them")
    return np.array([lookup[int(z)] for z in numbers], dtype=np.int32)


def check_positions(positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray,
                    what: str = "structure") -> None:
    """Clear errors for non-finite positions and, for a non-periodic direction with a cell
    vector, atoms outside the box (fractional coordinate outside [0, 1])."""
    positions, cell, pbc = np.asarray(positions), np.asarray(cell), np.asarray(pbc, bool)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"{what}: positions must have shape (n_atoms, 3), got "
                         f"{positions.shape}")
    if not np.all(np.isfinite(positions)):
        bad = int(np.argwhere(~np.isfinite(positions))[0, 0])
        raise ValueError(f"{what}: atom {bad} has a non-finite position {positions[bad]}")
    closed = ~pbc & (np.linalg.norm(cell, axis=1) > 0)
    if closed.any() and abs(np.linalg.det(cell)) > 1e-12:
        frac = np.linalg.solve(cell.T, positions.T).T
        outside = np.any((frac[:, closed] < -1e-9) | (frac[:, closed] > 1 + 1e-9), axis=1)
        if outside.any():
            i = int(np.argmax(outside))
            raise ValueError(
                f"{what}: atom {i} at {positions[i]} Å lies outside the non-periodic box "
                f"(fractional {frac[i]}); enlarge the cell (e.g. atoms.center(vacuum=...)) "
                "or set the cell to zero for an isolated structure")


def neighbour_list(positions: np.ndarray, cell: np.ndarray, pbc: Sequence[bool] | np.ndarray,
                   r_cut: float, capacity: int | None = None, min_distance: float = 0.5,
                   what: str = "structure") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense neighbour list of one structure (vesin), for data preparation.

    Args:
        positions: `(n, 3)` Å. cell: `(3, 3)` Å (rows). pbc: three booleans.
        r_cut: cut-off radius, Å. capacity: neighbour slots per atom (default: the most any
            atom has). min_distance: closer pairs are an error (overlapping atoms), Å.

    Returns:
        `neighbours (n, K)` int, `shifts (n, K, 3)` float image counts, `mask (n, K)` bool.
    """
    import vesin

    positions = np.asarray(positions, np.float64)
    cell, pbc = np.asarray(cell, np.float64).reshape(3, 3), np.asarray(pbc, bool).reshape(3)
    check_positions(positions, cell, pbc, what=what)
    n = len(positions)
    if pbc.any():
        heights = _heights(cell)
        if np.any(heights[pbc] <= 0):
            raise ValueError(f"{what}: a periodic direction has a degenerate cell {cell}")
    box = cell if pbc.any() else np.zeros((3, 3))
    i, j, s, d = vesin.NeighborList(cutoff=float(r_cut), full_list=True).compute(
        points=positions, box=box, periodic=pbc if pbc.any() else False, quantities="ijSd")
    if d.size and d.min() < min_distance:
        k = int(np.argmin(d))
        raise ValueError(f"{what}: atoms {i[k]} and {j[k]} overlap ({d[k]:.3f} Å apart, "
                         f"closer than {min_distance} Å); check the positions' units (Å) "
                         "and the cell")
    counts = np.bincount(i, minlength=n)
    K = int(counts.max(initial=0)) if capacity is None else int(capacity)
    if counts.max(initial=0) > K:
        raise NeighbourOverflowError(
            f"{what}: atom {int(np.argmax(counts))} has {int(counts.max())} neighbours within "
            f"{r_cut} Å, more than the capacity {K}: raise the neighbour capacity")
    order = np.argsort(i, kind="stable")
    i, j, s = i[order], j[order], s[order]
    slot = np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts)
    neighbours = np.tile(np.arange(n)[:, None], (1, max(K, 1)))[:, :K]
    shifts = np.zeros((n, K, 3))
    mask = np.zeros((n, K), bool)
    neighbours[i, slot], shifts[i, slot], mask[i, slot] = j, s, True
    return neighbours, shifts, mask


def _heights(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell, Å."""
    volume = abs(np.linalg.det(cell))
    cross = np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    return np.where(cross > 0, volume / np.where(cross > 0, cross, 1), 0.0)


def graph_from_atoms(atoms, table: Sequence[int], r_cut: float, capacity: int | None = None,
                     dtype=None) -> Graph:
    """One `ase.Atoms` as a `Graph` (one structure, no padding).

    `table` is the model's species (atomic numbers); `dtype` the float dtype (default: JAX's).
    """
    return batch_graphs([atoms], table, r_cut, capacity=capacity, dtype=dtype)


def batch_graphs(structures: Sequence, table: Sequence[int], r_cut: float,
                 capacity: int | None = None, n_atoms: int | None = None,
                 dtype=None) -> Graph:
    """Several `ase.Atoms` as one flat `Graph`, padded to `n_atoms` atoms if given."""
    dtype = dtype or jnp.zeros(()).dtype
    rows = []
    for k, atoms in enumerate(structures):
        cell = np.asarray(atoms.cell[:], float)
        nb, sh, m = neighbour_list(atoms.positions, cell, atoms.pbc, r_cut, capacity,
                                   what=f"structure {k}" if len(structures) > 1 else "structure")
        rows.append((atoms, cell, nb, sh, m))
    K = max(r[2].shape[1] for r in rows) if capacity is None else int(capacity)
    total = sum(len(r[0]) for r in rows)
    n = total if n_atoms is None else int(n_atoms)
    if n < total:
        raise ValueError(f"n_atoms={n} is smaller than the {total} atoms given")
    pos, spec = np.zeros((n, 3)), np.zeros(n, np.int32)
    nbrs = np.tile(np.arange(n)[:, None], (1, K))
    shifts, mask = np.zeros((n, K, 3)), np.zeros((n, K), bool)
    structure = np.full(n, len(rows), np.int32)
    start = 0
    for k, (atoms, _, nb, sh, m) in enumerate(rows):
        a = len(atoms)
        sl = slice(start, start + a)
        pos[sl], spec[sl], structure[sl] = atoms.positions, species_index(atoms.numbers, table), k
        kk = nb.shape[1]
        nbrs[sl, :kk], shifts[sl, :kk], mask[sl, :kk] = nb + start, sh, m
        start += a
    cells = np.stack([r[1] if np.asarray(r[0].pbc).any() else np.zeros((3, 3)) for r in rows])
    return Graph(jnp.asarray(pos, dtype), jnp.asarray(spec), jnp.asarray(nbrs),
                 jnp.asarray(shifts, dtype), jnp.asarray(mask), jnp.asarray(structure),
                 jnp.asarray(cells, dtype), jnp.asarray(structure < len(rows)))

