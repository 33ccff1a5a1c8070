"""Physics-informed trial functions that satisfy boundary and interface conditions exactly."""

from sciml.pinn._ansatz import DirichletAnsatz, PiecewiseC1Ansatz
from sciml.pinn._constraint import HardConstraint

__all__ = ["DirichletAnsatz", "HardConstraint", "PiecewiseC1Ansatz"]
