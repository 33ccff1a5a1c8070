"""Physics-informed trial functions that satisfy boundary and interface conditions exactly."""

from sciml.pinn._ansatz import DirichletAnsatz, EigenModel, PiecewiseC1Ansatz
from sciml.pinn._constraint import HardConstraint

__all__ = ["DirichletAnsatz", "EigenModel", "HardConstraint", "PiecewiseC1Ansatz"]
