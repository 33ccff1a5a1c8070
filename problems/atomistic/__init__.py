"""Atomic structures and reference calculators that give energies, forces and stresses.

    atoms = strained(fcc_bulk("Cu", 2), eps)               # 32 atoms, periodic
    labels = reference_labels(atoms, emt(atoms))           # energy, forces, stress
    configs = generate_configurations(seed=0)              # labelled ase.Atoms, one cycle
    train, val, test = split_by_trajectory(configs)        # whole trajectories per split
    lj13 = lj_cluster_minimum(13)                          # -44.326801 ε and its geometry

- builders (`fcc_bulk`, `strained`, `with_vacancies`, `fcc_surface`, `cluster`,
  `rattled`) return `ase.Atoms`; `check_structure` refuses NaN positions, overlapping
  atoms and atoms outside a non-periodic box.
- references: ASE's `EMT` (Ag, Al, Au, Cu, Ni, Pd, Pt; analytic, exact to float64 for the
  model) and the exact all-pairs `LennardJones`; `LJ_MINIMA` from the Cambridge Cluster
  Database (literature).
- `AtomicStructures`: the problem behind the `atomic_structures` dataset
  (`sciml.datasets.load("atomic_structures")`); `to_atoms` / `from_atoms` convert its
  ragged layout to labelled `ase.Atoms` and back; `read_extxyz` / `write_extxyz` read
  and write a user's extended-XYZ files.
- registered problems: "emt" (`EMTStructure`), "lj_cluster" (`LJCluster`), both
  `AtomisticProblem`s.

Units throughout: positions and cells Å, energies eV, forces eV/Å, stress eV/Å³ with ASE's
convention σ = (1/V) ∂E/∂ε (stored 3×3), masses amu, time fs, temperature K. Lennard-Jones
quantities are in ε and σ. Stress is labelled only for cells periodic along all three axes
(`Labels.has_stress`); elsewhere it is stored as zeros and masked.
"""

from sciml.problems.atomistic._calculators import (
    EMT_ELEMENTS,
    Labels,
    LennardJones,
    emt,
    labelled,
    labels_of,
    reference_labels,
)
from sciml.problems.atomistic._configurations import (
    EMT_REFERENCE,
    KINDS,
    STATIC_KINDS,
    TRAJECTORY_STREAM_OFFSET,
    AtomicStructures,
    TrajectorySpec,
    generate_configurations,
    split_by_trajectory,
    static_structure,
    trajectory_split,
)
from sciml.problems.atomistic._convert import (
    VARIABLES,
    atoms_arrays,
    from_atoms,
    structure_problems,
    to_atoms,
)
from sciml.problems.atomistic._extxyz import read_extxyz, write_extxyz
from sciml.problems.atomistic._lj import CITATION, LJ_MINIMA, LJMinimum, lj_cluster_minimum
from sciml.problems.atomistic._problem import AtomisticProblem, EMTStructure, LJCluster
from sciml.problems.atomistic._structures import (
    CLUSTER_SIZES,
    FACETS,
    FCC_METALS,
    MAX_STRAIN,
    MIN_DISTANCE,
    check_strain,
    check_structure,
    close_pairs,
    cluster,
    fcc_bulk,
    fcc_surface,
    random_strain,
    rattled,
    strained,
    with_vacancies,
)

__all__ = [
    "CITATION",
    "CLUSTER_SIZES",
    "EMT_ELEMENTS",
    "EMT_REFERENCE",
    "FACETS",
    "FCC_METALS",
    "KINDS",
    "LJ_MINIMA",
    "MAX_STRAIN",
    "MIN_DISTANCE",
    "STATIC_KINDS",
    "TRAJECTORY_STREAM_OFFSET",
    "VARIABLES",
    "AtomicStructures",
    "AtomisticProblem",
    "EMTStructure",
    "LJCluster",
    "LJMinimum",
    "Labels",
    "LennardJones",
    "TrajectorySpec",
    "atoms_arrays",
    "check_strain",
    "check_structure",
    "close_pairs",
    "cluster",
    "emt",
    "fcc_bulk",
    "fcc_surface",
    "from_atoms",
    "generate_configurations",
    "labelled",
    "labels_of",
    "lj_cluster_minimum",
    "random_strain",
    "rattled",
    "read_extxyz",
    "reference_labels",
    "split_by_trajectory",
    "static_structure",
    "strained",
    "structure_problems",
    "to_atoms",
    "trajectory_split",
    "with_vacancies",
    "write_extxyz",
]
