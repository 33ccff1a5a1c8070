"""Machine-learned interatomic potentials (energies in eV, lengths in Å, forces in eV/Å).

- `Graph`, `neighbour_list`, `graph_from_atoms`, `batch_graphs`: structures as fixed-shape
  graphs with dense, capacity-checked neighbour lists (vesin for data preparation).
- `InvariantPotential` (three-body invariant message passing) and `MACE` (equivariant,
  higher body order, Clebsch–Gordan products), both `AbstractPotential`s.
- `NeighbourSpec`: neighbour lists rebuilt under `jit` (cell list or all pairs), with an
  overflow flag (`check_overflow`).
- `SciMLCalculator`: an ASE calculator, so ASE's optimisers and MD drivers run a model.
- `predict`: energy, forces (−∂E/∂x) and stress ((1/V) ∂E/∂ε) by autodiff.
"""

from sciml.potentials._calculator import SciMLCalculator
from sciml.potentials._graph import (
    Graph,
    NeighbourOverflowError,
    batch_graphs,
    check_positions,
    graph_from_atoms,
    neighbour_list,
    species_index,
)
from sciml.potentials._io import load_potential, pretrained, save_potential
from sciml.potentials._jax_neighbours import DenseNeighbours, NeighbourSpec, check_overflow
from sciml.potentials._models import MACE, AbstractPotential, InvariantPotential
from sciml.potentials._predict import predict
from sciml.potentials._radial import BesselBasis, PolynomialCutoff

__all__ = [
    "AbstractPotential", "BesselBasis", "DenseNeighbours", "Graph", "InvariantPotential",
    "MACE", "NeighbourOverflowError", "NeighbourSpec", "PolynomialCutoff", "SciMLCalculator",
    "batch_graphs", "check_overflow", "check_positions", "graph_from_atoms", "load_potential",
    "neighbour_list", "predict", "pretrained", "save_potential", "species_index",
]
