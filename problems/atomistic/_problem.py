"""The atomistic family's contract and its registered problems: `EMTStructure` ("emt") and
`LJCluster` ("lj_cluster").

Units: Å, eV, eV/Å, eV/Å³ (EMT); ε and σ (Lennard-Jones).
"""

from __future__ import annotations

import abc

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from sciml import checks
from sciml.problems.atomistic._calculators import (
    Labels,
    LennardJones,
    emt,
    reference_labels,
)
from sciml.problems.atomistic._configurations import (
    EMT_REFERENCE,
    STATIC_KINDS,
    static_structure,
)
from sciml.problems.atomistic._lj import CITATION, LJ_MINIMA, lj_cluster_minimum
from sciml.problems.atomistic._structures import FACETS, FCC_METALS
from sciml.problems.base import Problem, Reference


class AtomisticProblem(Problem):
    """The atomistic family's contract: `build()` gives the structure (`ase.Atoms`),
    `calculator()` its reference calculator, `labels()` the reference energy, forces and
    stress (`Labels`) of that structure."""

    @abc.abstractmethod
    def build(self) -> Atoms: ...

    @abc.abstractmethod
    def calculator(self) -> Calculator: ...

    def labels(self) -> Labels:
        """The reference labels of `build()`'s structure."""
        return reference_labels(self.build(), self.calculator(), name=repr(self))


class EMTStructure(AtomisticProblem):
    """One rattled structure of an fcc metal, labelled by ASE's EMT (`static_structure`).

    Args:
        metal: one of `FCC_METALS`.
        kind: "bulk", "strain", "vacancy" (2x2x2 cubic cells: 32, 32, 31 atoms),
            "surface" (a slab of `facet`) or "cluster" (13 or 38 atoms).
        facet: the surface's facet, "111" or "100".
        seed: the random seed of the strain, vacancy, cluster and rattle.
        max_strain: largest |ε_ij| of the strain.
        rattle: largest standard deviation of the displacements (Å).
    """

    name = "emt"

    def __init__(self, metal: str = "Cu", kind: str = "bulk", facet: str = "111",
                 seed: int = 0, max_strain: float = 0.03, rattle: float = 0.05):
        if metal not in FCC_METALS:
            raise ValueError(f"unknown metal {metal!r} for EMT; supported fcc metals: "
                             f"{', '.join(FCC_METALS)}")
        if kind not in STATIC_KINDS:
            raise ValueError(f"unknown structure kind {kind!r}; use one of "
                             f"{', '.join(STATIC_KINDS)}")
        if facet not in FACETS:
            raise ValueError(f"unknown facet {facet!r}; supported: {', '.join(FACETS)}")
        self.metal, self.kind, self.facet = metal, kind, facet
        self.seed = checks.integer("seed", seed, low=0)
        self.max_strain = checks.real("max_strain", max_strain, low=0.0, high=0.1)
        self.rattle = checks.real("rattle", rattle, low=0.0, high=0.3)

    @property
    def params(self):
        return {"metal": self.metal, "kind": self.kind, "facet": self.facet,
                "seed": self.seed, "max_strain": self.max_strain, "rattle": self.rattle}

    @property
    def reference(self) -> Reference:
        return EMT_REFERENCE

    def build(self) -> Atoms:
        rng = np.random.default_rng(self.seed)
        option = self.facet if self.kind == "surface" else ""
        return static_structure(self.metal, self.kind, rng, option=option,
                                max_strain=self.max_strain, rattle=self.rattle)

    def calculator(self) -> Calculator:
        return emt()


class LJCluster(AtomisticProblem):
    """The global minimum of the `n`-atom Lennard-Jones cluster (ε = σ = 1): geometry
    relaxed here (`lj_cluster_minimum`), energy from the Cambridge Cluster Database.

    Args:
        n: cluster size with a buildable geometry: 2-7, 12, 13, 38 or 55.
    """

    name = "lj_cluster"
    SIZES = (2, 3, 4, 5, 6, 7, 12, 13, 38, 55)

    def __init__(self, n: int = 13):
        n = checks.integer("n", n, low=2)
        if n not in self.SIZES:
            only = sorted(set(LJ_MINIMA) - set(self.SIZES))
            raise ValueError(f"no geometry for LJ{n}; sizes: {', '.join(map(str, self.SIZES))} "
                             f"(lj_cluster_minimum has literature energies only for {only})")
        self.n = n

    @property
    def params(self):
        return {"n": self.n}

    @property
    def reference(self) -> Reference:
        return Reference("literature", 1e-6 / abs(LJ_MINIMA[self.n]), citation=CITATION)

    @property
    def energy(self) -> float:
        """The literature minimum energy (ε)."""
        return LJ_MINIMA[self.n]

    def build(self) -> Atoms:
        return lj_cluster_minimum(self.n).atoms

    def calculator(self) -> Calculator:
        return LennardJones()
