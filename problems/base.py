"""The contract every problem follows.

`Problem` is the abstract base of every problem: a registered `name`, its `params` and a
`reference` that states how exact its reference solution is. Each family names its own
contract in an abstract subclass, and every concrete problem derives from exactly one:

- `sciml.problems.quantum_wells.QuantumWell`: 1-D Schrödinger eigenproblems in a box;
- `sciml.problems.pde.PDEProblem`: PDEs for physics-informed networks;
- `sciml.problems.operator_learning.OperatorLearningProblem`: operators with an
  input-function sampler and a reference solver;
- `sciml.problems.molecules.ElectronicStructureProblem`: molecules with integrals, a DFT
  grid and reference energies;
- `sciml.problems.atomistic.AtomisticProblem`: atomic structures with a reference
  calculator (energy, forces, stress).

Constructors check their parameters with `sciml.checks`: a `str` or `bool` is not a number
(TypeError), NaN, infinities and values out of range are refused (ValueError), and every
message names the parameter.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar, Literal

ReferenceKind = Literal["analytic", "semi-analytic", "numerical", "literature"]


@dataclass(frozen=True)
class Reference:
    """How exact a problem's reference solution is.

    Attributes:
        kind: `analytic` (closed form), `semi-analytic` (closed form up to roots or
            quadrature solved to `tolerance`), `numerical` (a converged solve, with
            `evidence`), or `literature` (with `citation`).
        tolerance: bound on the reference's own relative error, where known.
        evidence: how the accuracy was established (refinement study, cross-check).
        citation: source of a literature value.
    """

    kind: ReferenceKind
    tolerance: float | None = None
    evidence: str = ""
    citation: str = ""

    def __post_init__(self):
        if self.kind not in ("analytic", "semi-analytic", "numerical", "literature"):
            raise ValueError(f"unknown reference kind {self.kind!r}")
        if self.kind == "literature" and not self.citation:
            raise ValueError("a literature reference needs a citation")


class Problem(abc.ABC):
    """What every problem provides: a registered name, its parameters, its reference.

    Attributes:
        name: the name the problem is registered under (`sciml.problems.get_problem`).
    """

    name: ClassVar[str]

    @property
    @abc.abstractmethod
    def params(self) -> dict[str, float]:
        """The problem's parameters as keyword arguments of its constructor: real numbers
        (a point, such as a centre, is a tuple of them) or names (str: a molecule, a
        functional, a basis), so that
        `get_problem(p.name, **p.params)` rebuilds `p`."""

    @property
    @abc.abstractmethod
    def reference(self) -> Reference:
        """How exact the problem's reference solution is."""

    def __repr__(self) -> str:
        args = (f"{k}={v:g}" if isinstance(v, int | float) else f"{k}={v!r}"
                for k, v in self.params.items())
        return f"{type(self).__name__}({', '.join(args)})"

