"""PDE problems for physics-informed networks, each with its reference solution.

Geometry (`Box`, `Interval`, `BoxWithHole`, `SpaceTime`) and the `PDEProblem` contract
live here beside the problems themselves.
"""

from sciml.problems.pde._allen_cahn import AllenCahn
from sciml.problems.pde._base import PDEProblem, ScalarField, laplacian
from sciml.problems.pde._burgers import Burgers, cole_hopf
from sciml.problems.pde._elliptic import (
    Helmholtz2D,
    NonlinearElliptic,
    Peak,
    Poisson1D,
    Poisson2D,
    peak_alpha_for,
)
from sciml.problems.pde._geometry import Box, BoxWithHole, Geometry, Interval, SpaceTime

__all__ = [
    "AllenCahn",
    "Burgers",
    "cole_hopf",
    "Helmholtz2D",
    "NonlinearElliptic",
    "Peak",
    "Poisson1D",
    "Poisson2D",
    "peak_alpha_for",
    "Box",
    "BoxWithHole",
    "Geometry",
    "Interval",
    "PDEProblem",
    "ScalarField",
    "SpaceTime",
    "laplacian",
]
