"""PDE problems for physics-informed networks, each with its reference solution.

Geometry (`Box`, `Interval`, `BoxWithHole`, `SpaceTime`) and the `PDEProblem` contract
live here beside the problems themselves.
"""

from sciml.problems.pde._base import PDEProblem, ScalarField, laplacian
from sciml.problems.pde._geometry import Box, BoxWithHole, Geometry, Interval, SpaceTime

__all__ = [
    "Box",
    "BoxWithHole",
    "Geometry",
    "Interval",
    "PDEProblem",
    "ScalarField",
    "SpaceTime",
    "laplacian",
]
