"""1-D quantum wells with exact eigenpairs: infinite well, finite well, finite barrier.

`QuantumWell` is the family's contract (box width, potential, breakpoints, energies,
eigenfunctions, quadrature); `PiecewiseConstantWell` implements it for the three wells.

Units: ħ²/(2m) = 1 (E₁ = π² for the empty box of width 1). Run
`python -m sciml.problems.quantum_wells` to solve all three and write figures.
"""

from sciml.problems.quantum_wells._base import QuantumWell
from sciml.problems.quantum_wells._wells import (
    Eigenstate,
    FiniteBarrier,
    FiniteWell,
    InfiniteWell,
    PiecewiseConstantWell,
)

__all__ = [
    "Eigenstate",
    "FiniteBarrier",
    "FiniteWell",
    "InfiniteWell",
    "PiecewiseConstantWell",
    "QuantumWell",
]
