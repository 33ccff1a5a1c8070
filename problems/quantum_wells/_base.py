"""The contract of a 1-D quantum well: what eigen-solvers and their checks need of it.

Units: ħ²/(2m) = 1, so the equation is the dimensionless

    -ψ''(x) + V(x) ψ(x) = E ψ(x),   x in [0, L],   ψ(0) = ψ(L) = 0.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import numpy as np

from sciml import checks
from sciml.problems.base import Problem

# States whose energies differ by less than this fraction of E form a doublet (a tunnelling-
# split pair): an approximate solve cannot be asked to tell its members apart, so the pair is
# judged as a 2-D subspace (`QuantumWell.doublet`, `subspace_error`).
DOUBLET_RTOL = 1e-3


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

    # --- doublets: pairs judged as a subspace ---------------------------------------------
    def doublet(self, index: int, rtol: float = DOUBLET_RTOL) -> tuple[int, int] | None:
        """The doublet state `index` belongs to: (i, i + 1) with |E_{i+1} − E_i| < rtol·|E|
        (E the larger of the two in magnitude), the closer neighbour if both qualify; None
        if neither does. Also for a pair split below float64's rounding, whose members the
        reference refuses (`UnresolvedStateError`) but whose energy it resolves."""
        index = checks.count("index", index)
        rtol = checks.positive("rtol", rtol)
        e = self._level(index)
        best = None
        for j in (index - 1, index + 1):
            if j < 1:
                continue
            ej = self._level(j)
            split = abs(ej - e) / max(abs(e), abs(ej))
            if split < rtol and (best is None or split < best[0]):
                best = (split, (min(index, j), max(index, j)))
        return None if best is None else best[1]

    def _level(self, index: int) -> float:
        """E_index (subclasses: also where the state itself is refused but its energy is not)."""
        return float(self.energies(index)[-1])

    def subspace(self, indices: Sequence[int]) -> Callable[[np.ndarray], np.ndarray]:
        """A basis of the exact span of states `indices`, as `basis(x)` of shape
        (len(indices), *x.shape): here their eigenfunctions (subclasses give another basis
        of a pair float64 cannot split)."""
        indices = _indices(indices)
        return lambda x: np.stack([self.eigenfunction(i, x) for i in indices])

    def subspace_error(self, indices: Sequence[int], psis: Sequence[Callable],
                       n_per_region: int = 200) -> float:
        """Projector error of approximate states `psis` against the exact span of `indices`.

        Both sets of functions are orthonormalised (Löwdin, by this well's quadrature), and
        the error is the Frobenius norm of the difference of the two orthogonal projectors,

            ‖P_exact − P_approx‖_F = sqrt(2 (k − ‖S‖_F²)) = sqrt(2 Σ sin² θ_i),

        S the k×k overlaps ⟨u_i, w_j⟩ and θ_i the principal angles between the spans;
        computed as √2·‖(I − P_exact) w‖ (Σ over the k approximate functions), which has no
        cancellation, so an exact span scores ~1e-15, not √eps. Invariant under any
        invertible mixing of `psis` (rotation, sign, scale): the measure for a doublet, whose
        members a solver cannot be asked to tell apart. For k = 1 it is √2·sin θ, where
        `errors`' psi_l2_error is 2 sin(θ/2) (the same to first order, times √2).

        Args:
            indices: the exact states (1 = ground state), distinct, e.g. `doublet(i)`.
            psis: as many functions of points (numpy arrays in, arrays out), linearly
                independent.
            n_per_region: Gauss–Legendre nodes per region of the quadrature.
        """
        indices = _indices(indices)
        psis = list(psis)
        if len(psis) != len(indices):
            raise ValueError(f"psis has {len(psis)} functions for {len(indices)} indices "
                             f"{indices}: give one approximate state per exact one")
        xq, wq = self.quadrature(n_per_region)
        exact = _orthonormal(np.asarray(self.subspace(indices)(xq), dtype=np.float64), wq,
                             "the exact states")
        approx = _orthonormal(np.stack([np.asarray(p(xq), dtype=np.float64).reshape(xq.shape)
                                        for p in psis]), wq, "psis")
        residual = approx - ((approx * wq) @ exact.T) @ exact
        return float(np.sqrt(2.0 * np.sum(wq * residual**2)))


def subspace_error(problem: QuantumWell, indices: Sequence[int], psis: Sequence[Callable],
                   n_per_region: int = 200) -> float:
    """`problem.subspace_error(indices, psis, n_per_region)`: the projector error
    ‖P_exact − P_approx‖_F of approximate states against the exact span of `indices`
    (`QuantumWell.subspace_error`)."""
    return problem.subspace_error(indices, psis, n_per_region)


def _indices(indices: Sequence[int]) -> tuple[int, ...]:
    """State indices as a tuple of distinct positive integers (at least one)."""
    if isinstance(indices, int | np.integer):
        raise TypeError(f"indices must be a sequence of state indices, got {indices!r}; "
                        "for one state write (i,)")
    out = tuple(checks.count("index", i) for i in indices)
    if not out or len(set(out)) != len(out):
        raise ValueError(f"indices must be distinct and at least one, got {out}")
    return out


def _orthonormal(f: np.ndarray, w: np.ndarray, what: str) -> np.ndarray:
    """Rows of f (k, m) made orthonormal in the inner product Σ w f g (Löwdin: G^{-1/2} f,
    G the Gram matrix, so near-orthonormal rows move least)."""
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{what} are not finite at every quadrature node")
    gram = (f * w) @ f.T
    lam, vec = np.linalg.eigh(gram)
    if not lam[0] > 1e-13 * lam[-1]:
        raise ValueError(f"{what} are linearly dependent (Gram eigenvalues {lam[0]:.3g} to "
                         f"{lam[-1]:.3g}): give independent functions")
    return (vec / np.sqrt(lam)) @ vec.T @ f
