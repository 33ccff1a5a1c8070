"""Problem definitions with exact references (no neural code).

`get_problem(name, **params)` builds any registered problem by name; every problem
carries a `reference` that states how exact its reference solution is.
"""

from sciml.problems._registry import get_problem, problem_names
from sciml.problems.base import Reference

__all__ = ["Reference", "get_problem", "problem_names"]
