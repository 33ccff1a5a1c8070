"""`KohnSham`: a molecule, a functional, a basis and a grid, with PySCF's energy as the
reference on exactly that basis, grid and initial guess."""

from __future__ import annotations

import abc

from sciml.problems.base import Problem, Reference
from sciml.problems.molecules._molecule import molecule as named_molecule
from sciml.problems.molecules._references import PYSCF_XC, pyscf_energy
from sciml.problems.molecules._system import build_system


class ElectronicStructureProblem(Problem):
    """The molecules family's contract: `build()` gives `(MolecularSystem, SystemInfo)`,
    `reference_energy(info)` the reference energy (Ha) on that system."""

    @abc.abstractmethod
    def build(self): ...

    @abc.abstractmethod
    def reference_energy(self, info): ...


class KohnSham(ElectronicStructureProblem):
    """Kohn–Sham DFT of a named molecule (`molecule_names()`), RKS for closed shells and
    UKS otherwise.

    Args:
        molecule: a named molecule, e.g. "H2O", "O2" (triplet), "N" (quartet).
        xc: a functional name of `sciml.dft.functional` with a PySCF counterpart
            (`PYSCF_XC`): "lda" (PySCF "LDA,VWN"), "pbe", "b3lyp", ...
        basis: a basis-set name PySCF knows.
        grid_level: PySCF's grid level (0–9).
    """

    name = "kohn_sham"

    def __init__(self, molecule: str = "H2O", xc: str = "lda", basis: str = "6-31g*",
                 grid_level: int = 3):
        if xc not in PYSCF_XC:
            raise ValueError(f"unknown functional {xc!r}; known: {', '.join(PYSCF_XC)}")
        self.molecule = named_molecule(molecule, basis)
        self.xc, self.basis, self.grid_level = xc, basis, grid_level
        self._molecule_name = molecule

    @property
    def params(self):
        return {"molecule": self._molecule_name, "xc": self.xc, "basis": self.basis,
                "grid_level": self.grid_level}

    @property
    def reference(self) -> Reference:
        return Reference("numerical", 1e-9, evidence=(
            "PySCF's Kohn–Sham SCF with libxc on the same basis, grid points and weights and "
            "initial guess, converged to 1e-11 Ha (its energy is reproducible to ~1e-12 Ha)"))

    @property
    def restricted(self) -> bool:
        return self.molecule.spin == 0

    def build(self):
        """`(MolecularSystem, SystemInfo)` of this problem."""
        return build_system(self.molecule, grid_level=self.grid_level)

    def reference_energy(self, info) -> tuple[float, int]:
        """PySCF's energy (Ha) and cycles on the system `build` made."""
        return pyscf_energy(info, self.xc)
