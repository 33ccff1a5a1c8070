"""The contract of a 1-D quantum well: what eigen-solvers and their checks need of it.

Units: ħ²/(2m) = 1, so the equation is the dimensionless

    -ψ''(x) + V(x) ψ(x) = E ψ(x),   x in [0, L],   ψ(0) = ψ(L) = 0.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import numpy as np

from sciml.problems.base import Problem


class QuantumWell(Problem):
    """A 1-D well in the box [0, L] with hard walls and exact (or semi-analytic) eigenpairs.

    Solvers read the box, the potential and where it jumps; `errors` compares an
    approximate eigenpair with `energies` and `eigenfunction` on `quadrature` nodes.
    """

    @property
    @abc.abstractmethod
    def L(self) -> float:
        """The width of the box [0, L]."""

    @property
    @abc.abstractmethod
    def breakpoints(self) -> np.ndarray:
        """Interior points where V jumps (or is otherwise not smooth), increasing; shape
        (k,), possibly empty."""

    @abc.abstractmethod
    def potential(self, x):
        """V(x) for x in [0, L] (numpy or jax array, any shape; the result is of the same
        kind and shape)."""

    @abc.abstractmethod
    def energies(self, n: int) -> np.ndarray:
        """The lowest `n` eigenvalues E_1 < ... < E_n, shape (n,)."""

    @abc.abstractmethod
    def eigenfunction(self, index: int, x, derivative: int = 0) -> np.ndarray:
        """Normalised ψ_index(x) (1 = ground state), or its first/second derivative, at
        points x in [0, L] (any shape), sign fixed by ψ'(0) > 0."""

    @abc.abstractmethod
    def quadrature(self, n_per_region: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes and weights, shapes (m,), (m,), of a rule on [0, L] that is exact to
        rounding for ψ_i ψ_j and (ψ_i − ψ)² integrals of smooth pieces: Gauss–Legendre on
        each region between breakpoints, `n_per_region` nodes each."""

    def aligned(self, index: int, psi: Callable, x, n_per_region: int = 200) -> np.ndarray:
        """An approximate state `psi` (a function of points) at x, scaled to unit norm and
        signed to overlap positively with eigenfunction `index`, by this well's quadrature."""
        xq, wq = self.quadrature(n_per_region)
        values = np.asarray(psi(xq))
        factor = np.sign(np.sum(wq * values * self.eigenfunction(index, xq)))
        return factor / np.sqrt(np.sum(wq * values**2)) * np.asarray(psi(np.asarray(x)))

    def errors(self, index: int, psi: Callable, n_per_region: int = 200,
               **energies: float) -> dict[str, float]:
        """Errors of an approximate eigenpair against the exact one: `energy_exact`,
        `<name>_rel_error` for each estimate given as `name=value` (|E − E_exact|/|E_exact|),
        and `psi_l2_error` ‖ψ/‖ψ‖ − ψ_exact‖₂ with the sign aligned (a relative error:
        ψ_exact has unit norm)."""
        xq, wq = self.quadrature(n_per_region)
        exact = float(self.energies(index)[-1])
        diff = self.aligned(index, psi, xq, n_per_region) - self.eigenfunction(index, xq)
        return {"energy_exact": exact,
                **{f"{k}_rel_error": abs(v - exact) / abs(exact) for k, v in energies.items()},
                "psi_l2_error": float(np.sqrt(np.sum(wq * diff**2)))}
