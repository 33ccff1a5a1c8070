"""Structures as `ase.Atoms`: fcc bulk, strained and defective cells, surfaces, clusters,
rattles, and the checks every structure passes before it is labelled.

Units: positions and cells in Å; strains dimensionless (ε, 3×3 symmetric).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from sciml import checks

# The fcc metals ASE's EMT has parameters for (Jacobsen, Stoltze, Nørskov 1996); EMT also
# knows H, C, N and O, whose parameters ASE calls unreliable: they get no builders here.
FCC_METALS = ("Ag", "Al", "Au", "Cu", "Ni", "Pd", "Pt")
FACETS = ("111", "100")
CLUSTER_SIZES = (13, 38, 55)  # icosahedron, truncated octahedron, Mackay icosahedron

MIN_DISTANCE = 0.5  # Å: closer atoms are an input error (no real structure has them)
MAX_STRAIN = 0.1  # largest |ε_ij| accepted by default: EMT is fitted near equilibrium


def _metal(metal: str) -> str:
    if metal not in FCC_METALS:
        raise ValueError(f"unknown metal {metal!r} for EMT; supported fcc metals: "
                         f"{', '.join(FCC_METALS)}")
    return metal


def fcc_bulk(metal: str = "Cu", repeat: int | Sequence[int] = 2, *,
             a: float | None = None) -> Atoms:
    """The cubic fcc cell of `metal` (4 atoms) repeated `repeat` times along each axis
    (an int, or three), periodic; `a` the lattice constant (Å; default ASE's reference
    value). 2 → 32 atoms, 3 → 108."""
    from ase.build import bulk

    _metal(metal)
    reps = checks.ints("repeat", repeat if not isinstance(repeat, int | np.integer)
                       else (repeat,) * 3, n=3)
    kw = {} if a is None else {"a": checks.positive("a", a)}
    return bulk(metal, "fcc", cubic=True, **kw).repeat(reps)


def check_strain(strain, *, limit: float = MAX_STRAIN) -> np.ndarray:
    """`strain` as a (3, 3) float array, checked symmetric and `max |ε_ij| <= limit`."""
    eps = np.asarray(strain, dtype=float)
    if eps.shape != (3, 3):
        raise ValueError(f"strain must be a 3x3 matrix, got shape {eps.shape}")
    if not np.all(np.isfinite(eps)):
        raise ValueError("strain has NaN or infinite entries")
    asym = float(np.max(np.abs(eps - eps.T)))
    if asym > 1e-12:
        raise ValueError(
            f"strain is not symmetric (max |ε - εᵀ| = {asym:.3g}); a rotation is not a "
            "strain: pass the symmetric part (ε + εᵀ)/2")
    big = float(np.max(np.abs(eps)))
    if big > limit:
        raise ValueError(
            f"strain too large: max |ε_ij| = {big:.3g} > {limit:g} (EMT is fitted near "
            "equilibrium); use a smaller strain or pass a larger `limit`")
    return eps


def strained(atoms: Atoms, strain, *, limit: float = MAX_STRAIN) -> Atoms:
    """A copy of `atoms` with cell and positions deformed by the symmetric strain `strain`
    (3, 3): every vector x ↦ (I + ε) x, so scaled positions are unchanged."""
    eps = check_strain(strain, limit=limit)
    out = atoms.copy()
    deform = np.eye(3) + eps
    out.set_cell(atoms.cell[:] @ deform.T, scale_atoms=False)
    out.positions = atoms.positions @ deform.T
    return out


def random_strain(rng: np.random.Generator, max_strain: float) -> np.ndarray:
    """A symmetric strain (3, 3) with its six independent entries uniform in
    [-max_strain, max_strain]."""
    m = checks.nonnegative("max_strain", max_strain)
    upper = np.triu(rng.uniform(-m, m, (3, 3)))
    return upper + np.triu(upper, 1).T


def with_vacancies(atoms: Atoms, k: int, rng: np.random.Generator) -> Atoms:
    """A copy of `atoms` with `k` atoms, drawn by `rng`, removed."""
    k = checks.integer("k", k, low=0)
    if k >= len(atoms):
        raise ValueError(f"cannot make {k} vacancies in a structure of {len(atoms)} atoms; "
                         f"use k < {len(atoms)} (or a larger cell, e.g. fcc_bulk(repeat=3))")
    out = atoms.copy()
    del out[sorted(rng.choice(len(atoms), size=k, replace=False).tolist())]
    return out


def fcc_surface(metal: str = "Cu", facet: str = "111", size: Sequence[int] = (2, 2, 6), *,
                vacuum: float = 6.0) -> Atoms:
    """An fcc(111) or fcc(100) slab of `size` = (nx, ny, layers) atoms with `vacuum` Å on
    each side, periodic in x and y only. (2, 2, 6) of (111) → 24 atoms."""
    from ase.build import fcc100, fcc111

    _metal(metal)
    if facet not in FACETS:
        raise ValueError(f"unknown facet {facet!r}; supported: {', '.join(FACETS)}")
    size = checks.ints("size", size, n=3)
    build = fcc111 if facet == "111" else fcc100
    return build(metal, size=size, vacuum=checks.positive("vacuum", vacuum))


def cluster(symbol: str = "Cu", n: int = 13, *, a: float | None = None) -> Atoms:
    """A non-periodic cluster of `n` atoms (no cell): 13 and 55 are Mackay icosahedra, 38 the
    fcc truncated octahedron; `a` the fcc lattice constant (Å) they are cut with (default
    ASE's for the element)."""
    from ase.cluster import Icosahedron, Octahedron

    n = checks.integer("n", n)
    if n not in CLUSTER_SIZES:
        raise ValueError(f"no cluster builder for n = {n}; sizes: "
                         f"{', '.join(map(str, CLUSTER_SIZES))}")
    kw = {} if a is None else {"latticeconstant": checks.positive("a", a)}
    out = Octahedron(symbol, 4, 1, **kw) if n == 38 else Icosahedron(
        symbol, 2 if n == 13 else 3, **kw)
    out = Atoms(out.numbers, out.positions - out.positions.mean(0), pbc=False)
    return out


def rattled(atoms: Atoms, stdev: float, rng: np.random.Generator) -> Atoms:
    """A copy of `atoms` with every position displaced by N(0, stdev²) per component (Å)."""
    out = atoms.copy()
    out.positions = atoms.positions + rng.normal(0.0, checks.nonnegative("stdev", stdev),
                                                 (len(atoms), 3))
    return out


# --- checks ----------------------------------------------------------------------------------
def close_pairs(positions: np.ndarray, cell: np.ndarray, pbc, cutoff: float = MIN_DISTANCE):
    """(i, j, d): the pairs of atoms closer than `cutoff` Å (periodic images included
    along the periodic axes), i < j for distinct atoms."""
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    pbc = np.asarray(pbc, dtype=bool).reshape(3)
    if len(positions) == 0:
        return np.empty(0, int), np.empty(0, int), np.empty(0)
    # vesin needs an invertible box along periodic axes and none at all without any; a
    # partly given box (a slab with no vacuum vector) goes through ASE's list instead
    if np.any(pbc) and abs(np.linalg.det(cell)) < 1e-12:
        from ase.neighborlist import neighbor_list

        i, j, d = neighbor_list("ijd", Atoms(positions=positions, cell=cell, pbc=pbc),
                                cutoff, self_interaction=False)
        keep = i < j
        return i[keep], j[keep], d[keep]
    from vesin import NeighborList

    box = cell if np.any(pbc) else np.zeros((3, 3))
    i, j, d = NeighborList(cutoff=cutoff, full_list=False).compute(
        positions, box, pbc.tolist(), "ijd")
    return i.astype(int), j.astype(int), d


def check_structure(atoms: Atoms, *, min_distance: float = MIN_DISTANCE,
                    name: str = "structure") -> None:
    """Raise ValueError, naming `name`, the atoms and the fix, if `atoms` has non-finite
    positions or cell, atoms closer than `min_distance` Å (periodic images included), a
    periodic axis without a cell vector, or, along a non-periodic axis whose cell vector
    is given, atoms outside the box."""
    pos, cell, pbc = atoms.positions, atoms.cell[:], atoms.pbc
    bad = np.flatnonzero(~np.all(np.isfinite(pos), axis=1))
    if bad.size:
        raise ValueError(f"{name}: NaN or infinite positions of atoms {bad[:10].tolist()}; "
                         "fix the coordinates")
    if not np.all(np.isfinite(cell)):
        raise ValueError(f"{name}: the cell has NaN or infinite entries")
    lengths = np.linalg.norm(cell, axis=1)
    if np.any(pbc & (lengths == 0)):
        axes = np.flatnonzero(pbc & (lengths == 0)).tolist()
        raise ValueError(f"{name}: periodic along axes {axes} without a cell vector; give "
                         "the cell or set pbc False there")
    given = ~pbc & (lengths > 0)
    if np.any(given) and abs(np.linalg.det(cell)) > 1e-12:
        frac = np.linalg.solve(cell.T, pos.T).T[:, given]
        tol = 1e-9
        out = np.flatnonzero(np.any((frac < -tol) | (frac > 1 + tol), axis=1))
        if out.size:
            axes = np.flatnonzero(given).tolist()
            raise ValueError(
                f"{name}: atoms {out[:10].tolist()} lie outside the cell along its "
                f"non-periodic axes {axes}; enlarge the cell (e.g. atoms.center(vacuum=...)) "
                "or drop it along those axes")
    i, j, d = close_pairs(pos, cell, pbc, min_distance)
    if i.size:
        k = int(np.argmin(d))
        raise ValueError(
            f"{name}: {i.size} pairs of atoms closer than {min_distance} Å (atoms {i[k]} "
            f"and {j[k]} at {d[k]:.3g} Å, periodic images included); remove the duplicates "
            "or fix the coordinates")
