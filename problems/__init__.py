"""Problem definitions with exact references (no neural code).

`get_problem(name, **params)` builds any registered problem by name; every problem
is a `Problem` (a name, its `params`, a `reference` that states how exact its reference
solution is) and derives from one family base: `quantum_wells.QuantumWell`,
`pde.PDEProblem`, `operator_learning.OperatorLearningProblem`,
`molecules.ElectronicStructureProblem` or `atomistic.AtomisticProblem`.
"""

from sciml.problems._registry import get_problem, problem_names
from sciml.problems.base import Problem, Reference

__all__ = ["Problem", "Reference", "get_problem", "problem_names"]
