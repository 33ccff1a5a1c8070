"""Molecules for Kohn–Sham DFT: geometries, PySCF integrals and grids as a PyTree, and
reference energies that state how exact they are.

    mol = molecule("H2O", basis="6-31g*")            # coordinates in bohr
    system, info = build_system(mol, grid_level=3)    # MolecularSystem (jit/grad-able)

PySCF is the integral and grid engine; it is imported only when a system or a
reference is built.
"""

from sciml.problems.molecules._molecule import (
    BOHR_PER_ANGSTROM,
    ELEMENTS,
    Molecule,
    from_label,
    h2,
    molecule,
    molecule_names,
)
from sciml.problems.molecules._problem import ElectronicStructureProblem, KohnSham
from sciml.problems.molecules._references import (
    EXACT,
    PYSCF_XC,
    ExactEnergy,
    MoleculeEnergies,
    basis_set_error,
    correlated_energy,
    pyscf_energy,
)
from sciml.problems.molecules._system import (
    PAD_SHIFT,
    MolecularSystem,
    SystemInfo,
    build_system,
    pad_system,
    stack_systems,
)

__all__ = [
    "EXACT",
    "PYSCF_XC",
    "ElectronicStructureProblem",
    "ExactEnergy",
    "KohnSham",
    "basis_set_error",
    "correlated_energy",
    "pyscf_energy",
    "BOHR_PER_ANGSTROM",
    "ELEMENTS",
    "PAD_SHIFT",
    "MolecularSystem",
    "Molecule",
    "MoleculeEnergies",
    "SystemInfo",
    "build_system",
    "from_label",
    "h2",
    "molecule",
    "molecule_names",
    "pad_system",
    "stack_systems",
]
