"""Global minima of Lennard-Jones clusters: literature energies, and geometries built and
relaxed here with the exact all-pairs potential.

Energies are in ε and lengths in σ (LJ units, ε = σ = 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from sciml import checks
from sciml.problems.atomistic._calculators import LennardJones
from sciml.problems.atomistic._structures import cluster
from sciml.problems.base import Reference

CITATION = (
    "D. J. Wales, J. P. K. Doye, J. Phys. Chem. A 101, 5111 (1997); The Cambridge Cluster "
    "Database, https://www-wales.ch.cam.ac.uk/CCD.html (energies to 1e-6 ε)")

# Putative global minima (ε), as tabulated in the Cambridge Cluster Database.
LJ_MINIMA = {
    2: -1.0, 3: -3.0, 4: -6.0, 5: -9.103852, 6: -12.712062, 7: -16.505384,
    8: -19.821489, 9: -24.113360, 10: -28.422532, 11: -32.765970, 12: -37.967600,
    13: -44.326801, 14: -47.845157, 19: -72.659782, 26: -108.315616, 38: -173.928427,
    55: -279.248470,
}

R_MIN = 2.0 ** (1.0 / 6.0)  # the pair minimum (σ)


@dataclass(frozen=True)
class LJMinimum:
    """A Lennard-Jones cluster's global minimum.

    Attributes:
        n: number of atoms.
        energy: the literature energy (ε).
        reference: its provenance (`Reference`, kind "literature").
        atoms: the geometry (σ), relaxed with the exact potential to `fmax`, or None
            where no builder exists for this `n`.
    """

    n: int
    energy: float
    reference: Reference
    atoms: Atoms | None


def _icosahedron_vertices() -> np.ndarray:
    phi = (1 + 5**0.5) / 2
    v = [(0, s1, s2 * phi) for s1 in (-1, 1) for s2 in (-1, 1)]
    v = [p for q in v for p in (q, (q[1], q[2], q[0]), (q[2], q[0], q[1]))]
    v = np.array(v, float)
    return v / np.linalg.norm(v[0])


def _start(n: int) -> np.ndarray | None:
    """A starting geometry (σ) in the basin of the global minimum, or None."""
    r = R_MIN
    if n == 2:
        return np.array([[0, 0, 0], [r, 0, 0]], float)
    if n == 3:
        return r * np.array([[0, 0, 0], [1, 0, 0], [0.5, 3**0.5 / 2, 0]])
    if n == 4:
        return r / 8**0.5 * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    if n == 5:  # trigonal bipyramid
        t = 2 * np.pi * np.arange(3) / 3
        ring = r / 3**0.5 * np.stack([np.cos(t), np.sin(t), np.zeros(3)], 1)
        h = r * (2 / 3) ** 0.5
        return np.vstack([ring, [[0, 0, h], [0, 0, -h]]])
    if n == 6:  # octahedron
        return r / 2**0.5 * np.vstack([np.eye(3), -np.eye(3)])
    if n == 7:  # pentagonal bipyramid
        t = 2 * np.pi * np.arange(5) / 5
        rho = r / (2 * np.sin(np.pi / 5))
        ring = np.stack([rho * np.cos(t), rho * np.sin(t), np.zeros(5)], 1)
        h = (r**2 - rho**2) ** 0.5
        return np.vstack([ring, [[0, 0, h], [0, 0, -h]]])
    if n in (12, 13):  # the centred icosahedron; 12 lacks one vertex
        x = np.vstack([[0, 0, 0], r * _icosahedron_vertices()])
        return x[:n]
    if n in (38, 55):
        return cluster("Ar", n, a=2**0.5 * r).positions
    return None


def lj_cluster_minimum(n: int, *, fmax: float = 1e-7, max_steps: int = 2000) -> LJMinimum:
    """The global minimum of the `n`-atom Lennard-Jones cluster (ε = σ = 1): the literature
    energy (`LJ_MINIMA`, Cambridge Cluster Database) and, for n in 2-7, 12, 13, 38, 55, the
    geometry, built in its basin (simplex, tetrahedron, bipyramids, octahedron,
    icosahedra, truncated octahedron) and relaxed with ASE's FIRE on the exact potential
    until every force is below `fmax` (ε/σ).

    Raises:
        ValueError: no literature energy for `n` (the message lists the sizes).
        RuntimeError: the relaxation did not converge in `max_steps`.
    """
    # FIRE rather than BFGS: BFGS diagonalises its 3n x 3n Hessian every step, which a
    # threaded BLAS on a busy machine slows by 20x; FIRE needs no linear algebra.
    n = checks.integer("n", n, low=2)
    if n not in LJ_MINIMA:
        raise ValueError(f"no literature minimum for LJ{n}; known sizes: "
                         f"{', '.join(map(str, sorted(LJ_MINIMA)))}")
    ref = Reference("literature", 1e-6 / abs(LJ_MINIMA[n]), citation=CITATION)
    x = _start(n)
    atoms = None
    if x is not None:
        from ase.optimize import FIRE

        atoms = Atoms(["Ar"] * n, positions=x - x.mean(0), pbc=False)
        atoms.calc = LennardJones()
        if not FIRE(atoms, logfile=None).run(fmax=fmax, steps=max_steps):
            raise RuntimeError(f"LJ{n}: FIRE did not reach fmax {fmax:g} in {max_steps} "
                               "steps")
        atoms.calc = None
    return LJMinimum(n, LJ_MINIMA[n], ref, atoms)
