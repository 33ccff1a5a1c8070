"""1-D quantum wells with exact eigenpairs: infinite well, finite well, finite barrier.

`QuantumWell` is the family's contract (box width, potential, breakpoints, energies,
eigenfunctions, quadrature, and the error measures `errors` per state and `subspace_error`
for a doublet, `doublet(i)` naming the pairs split by less than `DOUBLET_RTOL`);
`PiecewiseConstantWell` implements it for the three wells.

Units: ħ²/(2m) = 1 (E₁ = π² for the empty box of width 1). Run
`python -m sciml.problems.quantum_wells` to solve all three and write figures.
"""

from sciml.problems.quantum_wells._base import DOUBLET_RTOL, QuantumWell, subspace_error
from sciml.problems.quantum_wells._wells import (
    Eigenstate,
    FiniteBarrier,
    FiniteWell,
    InfiniteWell,
    PiecewiseConstantWell,
    UnresolvedStateError,
)

__all__ = [
    "DOUBLET_RTOL",
    "Eigenstate",
    "FiniteBarrier",
    "FiniteWell",
    "InfiniteWell",
    "PiecewiseConstantWell",
    "QuantumWell",
    "UnresolvedStateError",
    "subspace_error",
]
