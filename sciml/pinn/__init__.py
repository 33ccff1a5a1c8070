"""Physics-informed trial functions that satisfy boundary and interface conditions exactly."""

from sciml.pinn._ansatz import DirichletAnsatz, PiecewiseC1Ansatz

__all__ = ["DirichletAnsatz", "PiecewiseC1Ansatz"]
