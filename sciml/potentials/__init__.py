"""Machine-learned interatomic potentials (energies in eV, lengths in Å, forces in eV/Å).

- `Graph`, `neighbour_list`, `graph_from_atoms`, `batch_graphs`: structures as fixed-shape
  graphs with dense, capacity-checked neighbour lists (vesin for data preparation).
- `InvariantPotential` (three-body invariant message passing) and `MACE` (equivariant,
  higher body order, Clebsch–Gordan products), both `AbstractPotential`s.
- `predict`: energy, forces (−∂E/∂x) and stress ((1/V) ∂E/∂ε) by autodiff.
"""

from sciml.potentials._graph import (
    Graph,
    NeighbourOverflowError,
    batch_graphs,
    check_positions,
    graph_from_atoms,
    neighbour_list,
    species_index,
)
from sciml.potentials._models import AbstractPotential, InvariantPotential, MACE
from sciml.potentials._predict import predict
from sciml.potentials._radial import BesselBasis, PolynomialCutoff

__all__ = [
    "AbstractPotential", "BesselBasis", "Graph", "InvariantPotential", "MACE",
    "NeighbourOverflowError", "PolynomialCutoff", "batch_graphs", "check_positions",
    "graph_from_atoms", "neighbour_list", "predict", "species_index",
]
