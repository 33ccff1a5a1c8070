"""One-dimensional quantum wells in a box, with exact eigenpairs.

Units: ħ²/(2m) = 1, so the equation is the dimensionless

    -ψ''(x) + V(x) ψ(x) = E ψ(x),   x in [0, L],   ψ(0) = ψ(L) = 0,

with lengths in units of a chosen length ℓ and energies in units of ħ²/(2m ℓ²).
For the empty box of width L = 1, E_n = n² π².

Every potential here is piecewise constant, so on each region the solution is a
combination of cos/sin (E > V) or cosh/sinh (E < V). The eigenvalues are the roots of the
matching condition: the solutions shot from ψ(0) = 0 and from ψ(L) = 0 through the regions
(ψ, ψ' continuous at each jump) have zero Wronskian where they meet, in the middle of the
lowest region. Each root is bracketed by Sturm's oscillation
theorem (the number of zeros of ψ(·; E) in (0, L) equals the number of eigenvalues below
E), then bisected on the Wronskian's sign down to neighbouring floats (`_bisect_sign`: at
most ~64 evaluations, no step limit, nothing to stall), so E is exact to the rounding of the
matching condition (~1e-15 relative against an independent spectral-element solve in
tests/problems/test_well_grid.py; stopping at 1e-14 relative, as before, left ψ's
orthogonality at 6e-13). The shots are carried by positive rescalings (`_carry`), with
cosh/sinh times e^{-κ|h|} across a forbidden region where κ|h| > 300, so nothing overflows.

The barrier (a double well) has its own matching condition: the shots from the two walls
reach the barrier's edges, each split into the barrier's two exponentials, and
gL·gR = e^{-2κw}·uL·uR (`_barrier_match`) resolves a tunnelling-split pair down to the
rounding of the wells' own levels, where the Wronskian of shots carried across the barrier
loses accuracy as √height·width grows (energies off by 9e-11 at 16, a pair's splitting and
mixing noise above ~20). In the barrier, ψ is stored as those two exponentials. Where float64
cannot resolve a state to the 1e-12 tolerance, it raises `UnresolvedStateError` (a
ValueError) naming the parameters; where that is because the state is one of a pair split
below rounding, the error names the pair, and `subspace(pair)` gives the pair's exact span
(each well's state at the pair's level), which `subspace_error` judges an approximation
against. `doublet(i)` names the pairs split by less than `DOUBLET_RTOL` = 1e-3 of E, resolved
or not: an approximate solve is judged on those as a subspace.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sciml import checks
from sciml.problems.base import Reference
from sciml.problems.quantum_wells._base import DOUBLET_RTOL, QuantumWell, _indices

# Gauss-Legendre nodes per region for normalisation integrals: ψ² on one region is a sum of
# a few exponentials/trigonometric terms, for which this rule is exact to rounding.
_QUAD_NODES = 96
# Largest log-growth κd + log(1 + κ) of a state through a forbidden region (κ = √(V − E)):
# its stored (ψ, ψ') reach about e^{κd}·max(1, κ), and float64 overflows past e^{709.78}.
_MAX_LOG_GROWTH = 700.0
# Across a forbidden region with κ|h| above this, the propagation that only needs the
# direction of (ψ, ψ') uses cosh and sinh times e^{-κ|h|} (finite for any κ|h|).
_SCALED = 300.0
# Where a centred barrier's lowest pair stops resolving (calibrated against an 80-digit
# reference: exact to ~2e-15 up to sqrt(height)·width = 30.5 for widths 0.1-0.6; refused
# from about 31). For messages; the refusal itself is decided per state.
_SYMMETRIC_LIMIT = 30.0
# Largest estimated L2 error of a barrier's eigenfunction from float64's rounding of how
# tunnelling mixes its two wells (a near-degenerate pair): above it the state is refused.
# The estimate is conservative: over 43 wells tuned to exact degeneracy (√height·width 3 to
# 57), the error measured against an 80-digit reference was 0.006-0.05 of it.
_MIX_TOL = 1e-12


@dataclass(frozen=True)
class Eigenstate:
    """One exact eigenpair.

    Attributes:
        index: 1 for the ground state, n for the n-th state.
        energy: the eigenvalue E_n (units of ħ²/(2m ℓ²)).
        edges, values: the piecewise-constant grid the state is stored on (the problem's,
            with the lowest region split at the matching point), shapes (r+1,), (r,).
        anchors: (r,) the point of each region where (ψ, ψ') is stored: its left edge left
            of the matching point, its right edge right of it, so evaluation always runs
            away from the wall the shot started at (stable through forbidden regions).
        states: (r, 2) (ψ, ψ') at the anchors, normalised so ∫ψ² dx = 1 and ψ'(0) > 0.
        decay: None, or (r, 2) rows (P, Q) for the forbidden regions stored as
            ψ = P e^{-κ(x - lo)} + Q e^{-κ(hi - x)} on [lo, hi] (κ = √(V - E)), NaN rows
            for the others: each term is evaluated to rounding whichever way ψ decays, where
            ψ from one anchor loses the part that decays towards it (a double well's pair).
    """

    index: int
    energy: float
    edges: np.ndarray
    values: np.ndarray
    anchors: np.ndarray
    states: np.ndarray
    decay: np.ndarray | None = None


class UnresolvedStateError(ValueError):
    """An eigenstate float64 cannot give to the reference's tolerance (a `ValueError`).

    Attributes:
        index: the state asked for.
        energy: where it lies (to the reference's tolerance), or None if unknown.
        pair: (i, i + 1), the doublet the state belongs to, where its splitting is below
            float64's rounding: then `subspace(pair)` still gives the pair's exact 2-D span
            (where the problem supports it), and `subspace_error` judges an approximation of
            it; None where the state is refused for another reason.
    """

    def __init__(self, message: str, *, index: int, energy: float | None = None,
                 pair: tuple[int, int] | None = None):
        super().__init__(message)
        self.index, self.energy, self.pair = index, energy, pair


class PiecewiseConstantWell(QuantumWell):
    """A `QuantumWell` whose potential is piecewise constant on [0, L]: the three wells'
    implementation (transfer matrices, module docstring).

    Subclasses set `name`, `_params` and the region table `edges` (n+1 increasing points
    from 0 to L) and `values` (n potential values).
    """

    _params: dict[str, float]

    def __init__(self, L: float, edges: list[float], values: list[float]):
        self._L = checks.positive("L", L)
        self.edges = np.asarray(edges, dtype=np.float64)
        self.values = np.asarray(values, dtype=np.float64)
        self._states: dict[int, Eigenstate] = {}

    # --- description -------------------------------------------------------------------
    @property
    def L(self) -> float:
        return self._L

    @property
    def params(self) -> dict[str, float]:
        return dict(self._params)

    @property
    def breakpoints(self) -> np.ndarray:
        """Interior points where V jumps, shape (n_regions - 1,)."""
        return self.edges[1:-1]

    @property
    def reference(self) -> Reference:
        return Reference(
            kind="semi-analytic",
            tolerance=1e-12,
            evidence=(
                "roots of the transfer-matrix matching condition (Wronskian of the shots "
                "from both walls), bracketed by Sturm zero counting and bisected to "
                "neighbouring floats; energies within 1e-13 relative of an independent "
                "spectral-element Galerkin solve over depth 10-2000, width 0.1-0.8, centred "
                "and off-centre (tests/problems/test_well_grid.py)"
            ),
        )

    def potential(self, x):
        """V(x) for x in [0, L] (numpy or jax array, any shape). At a jump, the right value."""
        xp = jnp if isinstance(x, jax.Array) else np
        idx = xp.clip(xp.searchsorted(self.edges[1:-1], x, side="right"), 0, len(self.values) - 1)
        return xp.asarray(self.values)[idx]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"

    # --- exact eigenpairs ---------------------------------------------------------------
    def energies(self, n: int) -> np.ndarray:
        """The lowest `n` eigenvalues E_1 < ... < E_n, shape (n,)."""
        return np.array([self.state(k).energy for k in range(1, checks.count("n", n) + 1)])

    def state(self, index: int) -> Eigenstate:
        """The `index`-th eigenpair (1 = ground state), computed once and cached."""
        index = checks.count("index", index)
        if index not in self._states:
            self._states[index] = self._solve_state(index)
        return self._states[index]

    def eigenfunction(self, index: int, x, derivative: int = 0) -> np.ndarray:
        """Normalised ψ_index(x) (or its first/second derivative), sign fixed by ψ'(0) > 0.

        Args:
            index: 1 for the ground state.
            x: points in [0, L], any shape (float64).
            derivative: 0, 1 or 2.
        """
        derivative = checks.integer("derivative", derivative, low=0, high=2)
        st = self.state(index)
        x = np.asarray(x, dtype=np.float64)
        if np.any(~np.isfinite(x)) or np.any((x < 0) | (x > self.L)):
            raise ValueError(f"x must lie in [0, L] = [0, {self.L:g}]")
        return _evaluate(st, x, derivative)

    def subspace(self, indices: Sequence[int]) -> Callable[[np.ndarray], np.ndarray]:
        """A basis of the exact span of states `indices`, as `basis(x)` of shape
        (len(indices), *x.shape): the eigenfunctions, except where a pair of them is split
        below float64's rounding (`UnresolvedStateError.pair`, a tall wide barrier): there the
        pair's span is given by another basis of it (`FiniteBarrier`), and `subspace_error`
        judges an approximation of the pair as a subspace."""
        states = self._subspace_states(_indices(indices))

        def basis(x):
            x = np.asarray(x, dtype=np.float64)
            if np.any(~np.isfinite(x)) or np.any((x < 0) | (x > self.L)):
                raise ValueError(f"x must lie in [0, L] = [0, {self.L:g}]")
            return np.stack([_evaluate(st, x) for st in states])

        return basis

    def _subspace_states(self, indices: tuple[int, ...]) -> list[Eigenstate]:
        return [self.state(i) for i in indices]

    def quadrature(self, n_per_region: int = _QUAD_NODES) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Legendre nodes and weights on each region, concatenated; shapes (m,), (m,)."""
        g, w = _gauss_legendre(checks.count("n_per_region", n_per_region))
        xs, ws = [], []
        for a, b in zip(self.edges[:-1], self.edges[1:], strict=True):
            xs.append(0.5 * (b - a) * g + 0.5 * (a + b))
            ws.append(0.5 * (b - a) * w)
        return np.concatenate(xs), np.concatenate(ws)

    def _count_below(self, energy: float) -> int:
        """Number of eigenvalues below `energy` (Sturm: zeros of ψ(·; E) in (0, L))."""
        psi, dpsi, zeros = 0.0, 1.0, 0
        edges, values = self.edges.tolist(), self.values.tolist()
        for a, b, v in zip(edges[:-1], edges[1:], values, strict=True):
            q, h = float(energy) - v, b - a
            new_psi, new_dpsi = _carry(psi, dpsi, q, h)  # rescaled by a positive factor
            if q > 0:
                # Prüfer phase ψ = r sin φ, ψ'/k = r cos φ advances by exactly k·h.
                k = math.sqrt(q)
                phi0 = math.atan2(psi, dpsi / k)
                zeros += math.floor((phi0 + k * h) / math.pi) - math.floor(phi0 / math.pi)
            elif psi * new_psi < 0:  # cosh/sinh combinations vanish at most once
                zeros += 1
            psi, dpsi = new_psi, new_dpsi
        # a zero exactly at L is an eigenvalue at `energy`, not below it
        if psi == 0.0:
            zeros -= 1
        return zeros

    def _isolate(self, index: int) -> tuple[float, float]:
        """A bracket [lo, hi) holding eigenvalue `index` and no other, by Sturm counting.

        Raises `_Crowded` (with the last bracket) where neighbouring floats cannot separate
        it from a neighbour: the count jumps by two or more between them."""
        lo = float(self.values.min())
        hi = float(self.values.max()) + (index * np.pi / self.L) ** 2 + 1.0
        n_lo, n_hi = self._count_below(lo), self._count_below(hi)
        if n_hi < index:  # cannot happen for a bounded potential; guard anyway
            raise RuntimeError(f"{self!r}: failed to bracket eigenvalue {index}")
        # Bisect on the count until [lo, hi) holds exactly eigenvalue `index`: each step
        # halves a float interval, so this ends within ~2100 steps from any float64 bracket
        while not (n_lo == index - 1 and n_hi == index):
            mid = lo + 0.5 * (hi - lo)
            if not lo < mid < hi:
                raise _Crowded(lo, hi, n_lo, n_hi)
            n_mid = self._count_below(mid)
            if n_mid >= index:
                hi, n_hi = mid, n_mid
            else:
                lo, n_lo = mid, n_mid
        return lo, hi

    def _solve_state(self, index: int) -> Eigenstate:
        try:
            lo, hi = self._isolate(index)
        except _Crowded as crowd:
            raise self._inseparable(index, crowd) from None
        edges, values, m = _split_lowest(self.edges, self.values)
        match = functools.partial(_mismatch, edges=edges, values=values, m=m)
        ends = match(lo), match(hi)
        if ends[0] != 0.0 and ends[1] != 0.0 and (ends[0] > 0) == (ends[1] > 0):
            raise self._inseparable(index, _Crowded(lo, hi, index - 1, index))
        energy = _bisect_sign(match, lo, hi, *ends)
        anchors, states = _anchored_states(edges, values, energy, m)
        # normalise: ∫ψ² = 1 by Gauss-Legendre per region, exact for these smooth pieces
        xq, wq = self.quadrature()
        with np.errstate(over="ignore", invalid="ignore"):
            norm = np.sqrt(np.sum(wq * _evaluate(Eigenstate(index, energy, edges, values,
                                                            anchors, states), xq) ** 2))
        if not np.isfinite(norm):  # after a deep forbidden region: scale ψ to O(1) first
            amplitude = np.max(np.abs(states[:, 0]))
            states = states / (amplitude if amplitude > 0 else np.max(np.abs(states)))
            psi = _evaluate(Eigenstate(index, energy, edges, values, anchors, states), xq)
            peak = np.max(np.abs(psi))
            norm = peak * np.sqrt(np.sum(wq * (psi / peak) ** 2))
        return Eigenstate(index, energy, edges, values, anchors, states / norm)

    def _inseparable(self, index: int, crowd: _Crowded) -> UnresolvedStateError:
        """The error for a state whose Sturm bracket float64 cannot narrow to it alone."""
        return UnresolvedStateError(
            f"{self!r}: eigenvalue {index} cannot be separated from its neighbour in float64 "
            f"near E = {crowd.hi:.15g} (their splitting is below rounding, as for a barrier "
            "too high or wide to tunnel through); lower the barrier or narrow it",
            index=index, energy=crowd.hi, pair=crowd.pair)

    def _level(self, index: int) -> float:
        return self.state(index).energy


class _Crowded(Exception):  # noqa: N818 (internal signal, never escapes)
    """Neighbouring floats lo < hi between which the Sturm count jumps by more than one."""

    def __init__(self, lo: float, hi: float, n_lo: int, n_hi: int):
        super().__init__(lo, hi, n_lo, n_hi)
        self.lo, self.hi = lo, hi
        # the states between lo and hi: a pair if the count jumps by exactly two
        self.pair = (n_lo + 1, n_hi) if n_hi - n_lo == 2 else None


@functools.lru_cache(maxsize=16)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1], computed once per n (read-only)."""
    g, w = np.polynomial.legendre.leggauss(n)
    g.flags.writeable = w.flags.writeable = False
    return g, w


def _cs(q, dx, scaled: bool = False):
    """c = cos(√q dx) and s = sin(√q dx)/√q, continued analytically (cosh, sinh) to q <= 0.

    `scaled`: where q < 0, both times e^{-√(-q)|dx|}, a positive factor (signs and zeros
    unchanged) that keeps them finite through a forbidden region of any depth and width.
    """
    q = np.asarray(q, dtype=np.float64)
    k = np.sqrt(np.abs(q))
    pos, neg = q > 0, q < 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if scaled:
            t = -2.0 * k * np.abs(dx)
            ch, sh = 0.5 * (1.0 + np.exp(t)), np.sign(dx) * -np.expm1(t) / (2.0 * k)
        else:
            ch, sh = np.cosh(k * dx), np.sinh(k * dx) / k
        c = np.where(pos, np.cos(k * dx), np.where(neg, ch, 1.0))
        s = np.where(pos, np.sin(k * dx) / k, np.where(neg, sh, dx))
    return c, s


def _barrier_match(energy: float, height: float, la: float, w: float, lc: float):
    """G(E) for a box of wells la and lc (V = 0) around a barrier of width w (V = height),
    zero exactly at the eigenvalues and of one sign between them; and its parts.

    The shots from the walls reach the barrier as (ψ, ±ψ') = (sin kℓ/k, cos kℓ) (k = √E,
    ψ' pointing into the barrier). Below it (κ = √(height - E)), ψ in the barrier is
    P e^{-κ(x-a)} + Q e^{-κ(b-x)}; the left shot alone gives P ∝ uL = κψ - ψ' and
    Q e^{-κw} ∝ gL = κψ + ψ', the right one likewise, and they are one state iff

        gL·gR = t²·uL·uR,   t = e^{-κw}.

    Each g is near zero at its own well's level, so a pair split by tunnelling is two roots
    of a product of two well-conditioned factors: G = (gL gR - t² uL uR)/(2κ) resolves them
    to the rounding of each well's level, where the Wronskian of shots carried across the
    barrier does not (it forms gL·e^{κw} + uL·e^{-κw}, and so loses the t² term). Where
    κw < 1, and above the barrier, nothing grows: there G = -W·e^{-κw} (and -W above the
    barrier), W the Wronskian of the two shots at the right edge: the same function of E.
    """
    k = math.sqrt(energy)
    sl, cl = (math.sin(k * la) / k if k > 0 else la), math.cos(k * la)
    sr, cr = (math.sin(k * lc) / k if k > 0 else lc), math.cos(k * lc)
    parts = {"shots": (sl, cl, sr, cr), "factored": False}
    q = energy - height
    if q < 0 and math.sqrt(-q) * w >= 1.0:
        kap = math.sqrt(-q)
        t = math.exp(-kap * w)
        gl, ul, gr, ur = kap * sl + cl, kap * sl - cl, kap * sr + cr, kap * sr - cr
        parts.update(factored=True, kappa=kap, t=t, gl=gl, ul=ul, gr=gr, ur=ur)
        return (gl * gr - (t * ul) * (t * ur)) / (2 * kap), parts
    c, s = _cs(np.float64(q), np.float64(w))
    psi, dpsi = c * sl + s * cl, -q * (s * sl) + c * cl
    wronskian = float(psi * -cr - dpsi * sr)
    return -wronskian * (math.exp(-math.sqrt(-q) * w) if q < 0 else 1.0), parts


def _evaluate(st: Eigenstate, x, derivative=0):
    """ψ (or ψ', ψ'') of a stored state at x, from each region's anchor (or, for the
    regions in `st.decay`, from their two exponentials); numpy float64."""
    k = np.clip(np.searchsorted(st.edges[1:-1], x, side="right"), 0, len(st.values) - 1)
    q = st.energy - st.values[k]
    c, s = _cs(q, x - st.anchors[k])
    psi0, dpsi0 = st.states[k, 0], st.states[k, 1]
    if derivative == 0:
        out = c * psi0 + s * dpsi0
    elif derivative == 1:
        out = -q * (s * psi0) + c * dpsi0
    else:
        out = -q * (c * psi0 + s * dpsi0)
    if st.decay is None:
        return out
    p, qq = st.decay[k, 0], st.decay[k, 1]
    use = np.isfinite(p) & (q < 0)
    if not np.any(use):
        return out
    kap = np.sqrt(np.where(use, -q, 1.0))
    ea = np.exp(-kap * np.clip(x - st.edges[k], 0.0, None))
    eb = np.exp(-kap * np.clip(st.edges[k + 1] - x, 0.0, None))
    pq = (p * ea + qq * eb, kap * (qq * eb - p * ea), kap**2 * (p * ea + qq * eb))[derivative]
    return np.where(use, pq, out)


def _carry(psi: float, dpsi: float, q: float, h: float) -> tuple[float, float]:
    """(ψ, ψ') carried across a region of constant V (q = E - V) of signed width h, divided
    by a positive factor (max(|ψ|, |ψ'|) = 1 after): signs and zeros are unchanged. Across a
    forbidden region with κ|h| > _SCALED, cosh and sinh come times e^{-κ|h|}, so nothing
    overflows or underflows however deep or wide it is (the direction is all a shot needs)."""
    if q > 0:
        k = math.sqrt(q)
        c, s = math.cos(k * h), math.sin(k * h) / k
    elif q < 0:
        k = math.sqrt(-q)
        if k * abs(h) > _SCALED:
            t = -2.0 * k * abs(h)
            c, s = 0.5 * (1.0 + math.exp(t)), math.copysign(-math.expm1(t) / (2.0 * k), h)
        else:
            c, s = math.cosh(k * h), math.sinh(k * h) / k
    else:
        c, s = 1.0, h
    # -q * (s * ψ): q·s alone can overflow where ψ is small
    new_psi, new_dpsi = c * psi + s * dpsi, -q * (s * psi) + c * dpsi
    scale = max(abs(new_psi), abs(new_dpsi))
    return new_psi / scale, new_dpsi / scale


def _mismatch(energy: float, edges: np.ndarray, values: np.ndarray, m: int) -> float:
    """Wronskian at edge m of the solutions shot from ψ(0) = 0 and from ψ(L) = 0.

    Zero exactly at eigenvalues, and of one sign between two (the shots are only rescaled
    by positive factors, so it changes sign only where they become parallel). Shooting from
    both walls towards a point in the lowest region keeps both shots in their stable
    direction: a single shot from 0 grows like e^{κx} through a forbidden region, making
    ψ(L; E) flip sign over a window of width ~e^{-2κw} around each eigenvalue, too steep to
    bracket in floating point.
    """
    left = (0.0, 1.0)
    for i in range(m):
        left = _carry(*left, float(energy - values[i]), float(edges[i + 1] - edges[i]))
    right = (0.0, -1.0)
    for i in range(len(values) - 1, m - 1, -1):
        right = _carry(*right, float(energy - values[i]), float(edges[i] - edges[i + 1]))
    return left[0] * right[1] - left[1] * right[0]


def _bisect_sign(fn, lo: float, hi: float, flo: float, fhi: float) -> float:
    """The root of `fn` in [lo, hi] (fn(lo) = flo and fn(hi) = fhi of opposite signs, or one
    of them 0) by bisection down to neighbouring floats: the endpoint where |fn| is smaller.

    Every step halves the bracket, so it ends after about 53 + log2((hi - lo)/|root|)
    evaluations (~60 from a Sturm bracket), with no step limit to hit and nothing to stall,
    however steep `fn` is: the answer is exact to the rounding of `fn`'s sign near the root.
    """
    while flo != 0.0 and fhi != 0.0:
        mid = lo + 0.5 * (hi - lo)
        if not lo < mid < hi:
            break
        fm = fn(mid)
        if fm != 0.0 and (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi, fhi = mid, fm
    return lo if abs(flo) <= abs(fhi) else hi


def _split_lowest(edges: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Split the lowest region at its midpoint; return the new grid and the split edge."""
    k = int(np.argmin(values))
    edges = np.insert(edges, k + 1, 0.5 * (edges[k] + edges[k + 1]))
    return edges, np.insert(values, k + 1, values[k]), k + 1


def _anchored_states(edges: np.ndarray, values: np.ndarray, energy: float, m: int):
    """Anchors and (ψ, ψ') there: shot from ψ(0) = 0, ψ'(0) = 1 up to edge m (anchored at
    left edges) and from ψ(L) = 0 back to it (anchored at right edges), the right part
    scaled to meet the left at edge m. Shapes (r,), (r, 2)."""
    n = len(values)
    anchors = np.where(np.arange(n) < m, edges[:-1], edges[1:])
    states = np.empty((n, 2))
    state = np.array([0.0, 1.0])
    for i in range(m):
        states[i] = state
        state = _step(state, energy - values[i], edges[i + 1] - edges[i])
    meet = state
    state = np.array([0.0, -1.0])
    for i in range(n - 1, m - 1, -1):
        states[i] = state
        state = _step(state, energy - values[i], edges[i] - edges[i + 1])
    # at an eigenvalue the two shots are parallel at edge m: scale the right one onto the left
    # (through u = state/max|state| where state @ state overflows: a deep forbidden region)
    with np.errstate(over="ignore", invalid="ignore"):
        scale = (meet @ state) / (state @ state)
    if not np.isfinite(scale) or scale == 0.0:
        u = state / np.max(np.abs(state))
        scale = (meet @ u) / (state @ u)
    states[m:] *= scale
    return anchors, states


def _step(state: np.ndarray, q: float, h: float) -> np.ndarray:
    c, s = _cs(q, h)
    # -q * (s * ψ): q·s alone can overflow where ψ is small
    return np.array([c * state[0] + s * state[1], -q * (s * state[0]) + c * state[1]])


class InfiniteWell(PiecewiseConstantWell):
    """The empty box: V = 0 on [0, L]. E_n = (nπ/L)², ψ_n = √(2/L) sin(nπx/L)."""

    name = "infinite_well"

    def __init__(self, L: float = 1.0):
        L = checks.positive("L", L)
        self._params = {"L": L}
        super().__init__(L, [0.0, L], [0.0])

    @property
    def reference(self) -> Reference:
        return Reference(kind="analytic", evidence="E_n = (n pi / L)^2, psi_n = sqrt(2/L) sin")

    def energies(self, n: int) -> np.ndarray:
        return (np.arange(1, checks.count("n", n) + 1) * np.pi / self.L) ** 2

    def state(self, index: int) -> Eigenstate:
        index = checks.count("index", index)
        k = index * np.pi / self.L
        amp = np.sqrt(2.0 / self.L)
        return Eigenstate(index, k**2, self.edges, self.values, self.edges[:1],
                          np.array([[0.0, amp * k]]))


class _InnerStep(PiecewiseConstantWell):
    """A box with one step of V on [center - width/2, center + width/2] strictly inside."""

    _level_name = ""  # the parameter that sets V's step: "depth" or "height"
    _what = ""  # "well" or "barrier", for messages

    def _setup(self, L, level, width, center) -> tuple[float, float, float, float]:
        L = checks.positive("L", L)
        level = checks.nonnegative(self._level_name, level)
        width = checks.positive("width", width)
        center = checks.real("center", L / 2 if center is None else center)
        a, b = center - width / 2, center + width / 2
        if width >= L:
            raise ValueError(
                f"the {self._what} (width={width:g}) must be narrower than the box (L={L:g})"
            )
        if a <= 0 or b >= L:
            raise ValueError(
                f"the {self._what} [{a:g}, {b:g}] (center={center:g}, width={width:g}) must "
                f"lie strictly inside the box (0, {L:g}); move `center` or reduce `width`"
            )
        if not a < b:
            raise ValueError(f"the {self._what} (width={width:g}) is too narrow for float64 to "
                             f"resolve at center={center:g}; widen it")
        self._check_growth(level, width if self._what == "barrier" else max(a, L - b))
        self._params = {"L": L, self._level_name: level, "width": width, "center": center}
        return L, level, a, b

    def _check_growth(self, level: float, d: float) -> None:
        """Refuse a step too high for float64: below it, across a stretch of length d, a
        state grows like κ·e^{κd} (κ = √(level − E) <= √level), and the stored states
        overflow past ~e^{709}."""
        growth = lambda kappa: kappa * d + math.log1p(kappa)  # noqa: E731
        if growth(math.sqrt(level)) <= _MAX_LOG_GROWTH:
            return
        lo, hi = 0.0, _MAX_LOG_GROWTH / d  # the largest usable κ, by bisection
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if growth(mid) <= _MAX_LOG_GROWTH else (lo, mid)
        where = "across the barrier" if self._what == "barrier" else (
            "between the well and the box wall")
        raise ValueError(
            f"parameter {self._level_name!r} must be <= {lo**2:.4g} for this geometry "
            f"(a stretch of {d:g} {where}), got {level:g}: a state grows like "
            f"sqrt({self._level_name})·exp(sqrt({self._level_name})·{d:g}) there, which "
            f"overflows float64; lower `{self._level_name}` or shorten that stretch "
            "(`L`, `width`, `center`)"
        )


class FiniteWell(_InnerStep):
    """A finite square well inside the box.

    V = 0 on the well [center - width/2, center + width/2] and V = depth elsewhere in
    (0, L); hard walls at 0 and L. `center` defaults to L/2.
    """

    name = "finite_well"
    _level_name, _what = "depth", "well"

    def __init__(
        self, L: float = 1.0, depth: float = 100.0, width: float = 0.5, center: float | None = None
    ):
        L, depth, a, b = self._setup(L, depth, width, center)
        super().__init__(L, [0.0, a, b, L], [depth, 0.0, depth])


class FiniteBarrier(_InnerStep):
    """A finite barrier inside the box.

    V = height on [center - width/2, center + width/2] and V = 0 elsewhere in (0, L);
    hard walls at 0 and L (a symmetric double well when centred). `center` defaults to L/2.
    """

    name = "finite_barrier"
    _level_name, _what = "height", "barrier"

    @property
    def reference(self) -> Reference:
        return Reference(
            kind="semi-analytic",
            tolerance=_MIX_TOL,
            evidence=(
                "roots of the double-well matching condition gL*gR = exp(-2*kappa*w)*uL*uR "
                "(each well's shot split into the barrier's two exponentials), bracketed by "
                "Sturm zero counting and bisected to neighbouring floats; energies and "
                "eigenfunctions checked against an 80-digit mpmath reference up to "
                "sqrt(height)*width ~ 60 (tests/problems/test_well_limits.py); states float64 "
                "cannot resolve to this tolerance (a tunnelling pair split below rounding, "
                "two wells' levels nearly degenerate) raise UnresolvedStateError (a "
                "ValueError); for a pair split below rounding it names the pair, whose 2-D "
                "span subspace(pair) still gives (within 1e-14 of a spectral-element solve, "
                "tests/problems/test_well_grid.py)"
            ),
        )

    def __init__(
        self, L: float = 1.0, height: float = 100.0, width: float = 0.2, center: float | None = None
    ):
        L, height, a, b = self._setup(L, height, width, center)
        super().__init__(L, [0.0, a, b, L], [0.0, height, 0.0])
        center = self._params["center"]
        # the wells' widths, each rounded once from the parameters: equal (and the state
        # exactly even or odd) when the barrier is centred
        self._wells = (center - width / 2, (L - center) - width / 2)
        self._mixing_error: dict[int, float] = {}  # the estimate each state was checked with

    def _solve_state(self, index: int, mixing_check: bool = True) -> Eigenstate:
        """The eigenpair from the barrier's own matching condition (`_barrier_match`): the
        two wells' shots meet across the barrier through its exponentials, each decaying one
        kept apart, so a tunnelling-split pair is resolved down to float64's rounding of the
        wells' own levels; raises where that rounding would decide the state instead."""
        height, width = self._params["height"], self._params["width"]
        la, lc = self._wells
        match = functools.partial(_barrier_match, height=height, la=la, w=width, lc=lc)
        try:
            lo, hi = self._isolate(index)
        except _Crowded as crowd:
            raise self._unresolved(index, crowd.hi, "their splitting is below rounding",
                                   pair=crowd.pair) from None
        glo, ghi = match(lo)[0], match(hi)[0]
        if glo != 0.0 and ghi != 0.0 and (glo > 0) == (ghi > 0):
            raise self._unresolved(index, hi, "their splitting is below rounding",
                                   pair=self._pair_at(hi))
        energy = _bisect_sign(lambda e: match(e)[0], lo, hi, glo, ghi)
        _, parts = match(energy)
        k = math.sqrt(energy)
        sl, cl, sr, cr = parts["shots"]
        n = len(self.values)
        decay = None
        if parts["factored"]:
            kap, t, gl, ul, gr, ur = (parts[key] for key in ("kappa", "t", "gl", "ul", "gr", "ur"))
            # the rounding of each well's g = κψ + ψ' (phases, lengths, E): ~ε(κ|ψ| + |ψ'|
            # + ℓ(κ + k)) each (calibrated against an 80-digit reference in the tests)
            eps = np.finfo(np.float64).eps
            rounding = 8 * eps * (kap * (abs(sl) + abs(sr)) + abs(cl) + abs(cr))
            noise = rounding + 8 * eps * (la + lc) * (kap + k)
            big = max(abs(gl), abs(gr))
            # β/α from either matching equation α·uL·t = β·gR, β·uR·t = α·gL: the one
            # dividing by the larger g; both at once (|β/α| = 1) for a centred barrier,
            # whose two wells (and their roundings) are the same: then only the sign of g,
            # ±t·u at the pair's two roots, needs resolving
            if la == lc:
                if big < 16 * rounding:
                    raise self._unresolved(index, energy, "their splitting is below rounding",
                                           pair=self._pair_at(energy))
                r = math.copysign(1.0, ul * gr)
                err = 0.0
            else:
                if big < 16 * noise:
                    raise self._unresolved(index, energy, "their splitting is below rounding",
                                           pair=self._pair_at(energy))
                r = ul * t / gr if abs(gr) >= abs(gl) else gl / (ur * t)
                err = noise / big
            alpha, beta = (1.0, r) if abs(r) <= 1.0 else (1.0 / abs(r), math.copysign(1.0, r))
            # relative error `err` in β/α moves ψ by ~err·√(p_L p_R) (p: the wells' weights)
            wl = alpha**2 * (la - sl * cl) / (2 * k * k)
            wr = beta**2 * (lc - sr * cr) / (2 * k * k)
            err *= math.sqrt(abs(wl * wr)) / (abs(wl) + abs(wr))
            self._mixing_error[index] = err
            if err > _MIX_TOL and mixing_check:
                raise self._unresolved(
                    index, energy, f"how much of each well the state holds is fixed by "
                    f"float64 only to ~{err:.1g}, a conservative estimate", near=True,
                    pair=self._pair_at(energy, DOUBLET_RTOL))
            decay = np.full((n, 2), np.nan)
            pp, qq = alpha * ul / (2 * kap), beta * ur / (2 * kap)
            decay[1] = pp, qq
            # ∫ψ² in closed form: (ℓ - sin kℓ cos kℓ / k)/(2k²) per well (scaled by α², β²),
            # (P² + Q²)(1 - t²)/(2κ) + 2PQ·w·t over the barrier (exact however thin its layers)
            norm = math.sqrt(wl + wr + (pp * pp + qq * qq) * -math.expm1(-2 * kap * width)
                             / (2 * kap) + 2 * pp * qq * width * t)
        else:
            # above the barrier, or κ·width < 1: the left shot carried across it is exact
            alpha = 1.0
            c, s_ = _cs(np.float64(energy - height), np.float64(width))
            psi_b = c * sl + s_ * cl
            dpsi_b = -(energy - height) * (s_ * sl) + c * cl
            beta = float((psi_b * sr - dpsi_b * cr) / (sr * sr + cr * cr))
        anchors = np.array([0.0, self.edges[1], self.L])
        states = np.array([[0.0, alpha], [alpha * sl, alpha * cl], [0.0, -beta]])
        if decay is None:
            st = Eigenstate(index, energy, self.edges, self.values, anchors, states)
            xq, wq = self.quadrature()
            norm = math.sqrt(float(np.sum(wq * _evaluate(st, xq) ** 2)))
        return Eigenstate(index, energy, self.edges, self.values, anchors, states / norm,
                          None if decay is None else decay / norm)

    def _count_below(self, energy: float) -> int:
        """Sturm count (zeros of the shot from ψ(0) = 0 in (0, L)) from the same pieces as
        `_barrier_match`, so that it steps exactly where G changes sign."""
        if not energy > 0:
            return 0  # V >= 0: every eigenvalue is positive
        height, width = self._params["height"], self._params["width"]
        la, lc = self._wells
        _, parts = _barrier_match(energy, height, la, width, lc)
        k = math.sqrt(energy)
        sl, cl, _, _ = parts["shots"]
        zeros = math.floor(k * la / math.pi)  # sin(kx) on (0, la]
        q = energy - height
        if parts["factored"]:
            # ψ ∝ gL e^{κ(x-a)} + uL e^{-κ(x-a)} on the barrier: one zero where
            # e^{2κ(x-a)} = -uL/gL lies in (1, 1/t²]
            gl, ul, t, kap = parts["gl"], parts["ul"], parts["t"], parts["kappa"]
            if gl * ul < 0 and abs(gl) < abs(ul) and abs(gl) > t * (t * abs(ul)):
                zeros += 1
            psi, dpsi = (gl + t * (t * ul)) / (2 * kap), (gl - t * (t * ul)) / 2
        else:
            c, s = _cs(np.float64(q), np.float64(width))
            psi, dpsi = float(c * sl + s * cl), float(-q * (s * sl) + c * cl)
            if q > 0:
                kb = math.sqrt(q)
                phi = math.atan2(sl, cl / kb)
                zeros += math.floor((phi + kb * width) / math.pi) - math.floor(phi / math.pi)
            elif sl * psi < 0:
                zeros += 1
        # the right well, by the Prüfer phase; a zero exactly at L is not below `energy`
        phi = math.atan2(psi, dpsi / k)
        return zeros + math.ceil((phi + k * lc) / math.pi) - 1 - math.floor(phi / math.pi)

    def _unresolved(self, index: int, energy, why: str, near: bool = False,
                    pair: tuple[int, int] | None = None) -> UnresolvedStateError:
        """The error for a state float64 cannot give to the reference's tolerance."""
        height, width = self._params["height"], self._params["width"]
        at = "" if energy is None else f" near E = {energy:.15g}"
        if near:
            fix = ("the two wells' levels are nearly degenerate here; lower `height` or "
                   "`width`, or move `center` away from this near-degeneracy")
        else:
            fix = (f"float64 resolves a centred barrier's lowest pairs up to about "
                   f"sqrt(height)·width = {_SYMMETRIC_LIMIT:g}; lower `height` or `width`")
        span = "" if pair is None else f" (the pair's 2-D span: `subspace({pair})`)"
        return UnresolvedStateError(
            f"{self!r}: eigenvalue {index} cannot be separated from its neighbour in float64"
            f"{at} to the reference's {_MIX_TOL:g} tolerance: {why} (tunnelling through "
            f"sqrt(height)·width = {math.sqrt(height) * width:.4g}); {fix}{span}",
            index=index, energy=energy, pair=pair)

    def _pair_at(self, energy: float, rtol: float = 1e-10) -> tuple[int, int] | None:
        """The two states within rtol·E of `energy` (by default a pair split below
        rounding), by Sturm counting either side, or None if there are not exactly two."""
        n_lo = self._count_below(energy * (1 - rtol))
        n_hi = self._count_below(energy * (1 + rtol))
        return (n_lo + 1, n_hi) if n_hi - n_lo == 2 else None

    def _level(self, index: int) -> float:
        """E_index, also for a state refused as inseparable or nearly degenerate (its energy
        is still resolved to the tolerance where the error carries it)."""
        try:
            return self.state(index).energy
        except UnresolvedStateError as err:
            if err.energy is None:
                raise
            return float(err.energy)

    def _subspace_states(self, indices: tuple[int, ...]) -> list[Eigenstate]:
        """As the base class, but for a doublet whose members are refused
        (`UnresolvedStateError.pair`), a basis of its exact span:

        - split below rounding: the two wells' states at the pair's level (`_localised`).
          They span the pair's eigenspace up to the pair's splitting and the well's rounding
          (both below float64's resolution here), and are orthonormal up to their overlap
          ~w·e^{-κw}, below rounding too (`subspace_error` re-orthonormalises);
        - nearly degenerate wells (the mixing of the two wells fixed only to `err` > 1e-12):
          the two states as computed. A mixing error moves a state along the other well's
          function at its own energy, which leaves the pair's span only by how that function
          changes between the pair's energies: ~err·(ΔE/E)·(1 + k·(la + lc)) (k = √E), the
          estimate refused above 1e-12. Measured over 16 barriers tuned to degeneracy
          (height 1e3-1e4, err 1.4e-11 to 1.2e-7, ΔE/E 1e-4 to 7e-8): span within 4.1e-15
          of a spectral-element solve's (tests/problems/test_well_grid.py).
        """
        out, done = [], set()
        for i in indices:
            if i in done:
                continue
            try:
                out.append(self.state(i))
                done.add(i)
            except UnresolvedStateError as err:
                if err.pair is None or not set(err.pair) <= set(indices):
                    raise
                if self._pair_at(float(err.energy)) == err.pair:  # split below rounding
                    out.extend(self._localised(float(err.energy), err.pair))
                else:
                    out.extend(self._mixed_pair(err))
                done.update(err.pair)
        return out

    def _mixed_pair(self, err: UnresolvedStateError) -> list[Eigenstate]:
        """A nearly degenerate doublet's two states, mixing unchecked, if their span is
        good to the reference's tolerance (`_subspace_states`); else `err` is raised."""
        pair = [self._solve_state(j, mixing_check=False) for j in err.pair]
        e_lo, e_hi = pair[0].energy, pair[1].energy
        la, lc = self._wells
        span = (max(self._mixing_error.get(j, 0.0) for j in err.pair) * (e_hi - e_lo) / e_hi
                * (1 + math.sqrt(e_hi) * (la + lc)))
        if span > _MIX_TOL:
            raise err
        return pair

    def _localised(self, energy: float, pair: tuple[int, int]) -> list[Eigenstate]:
        """Each well's normalised state at `energy`: sin(kx)/k from its wall, then
        P·e^{-κ·distance} into the barrier (P = (κψ - ψ')/(2κ) at the edge, the part that
        decays away from the well), and 0 beyond; indices pair[0] (left), pair[1] (right)."""
        height, width = self._params["height"], self._params["width"]
        la, lc = self._wells
        k, kap = math.sqrt(energy), math.sqrt(height - energy)
        anchors = np.array([0.0, self.edges[1], self.L])
        out = []
        for ell, side in ((la, 0), (lc, 1)):
            s_, c_ = math.sin(k * ell) / k, math.cos(k * ell)
            u = (kap * s_ - c_) / (2 * kap)  # the decaying exponential's amplitude
            well = (ell - s_ * c_) / (2 * k * k)  # ∫ sin²(k x)/k² over the well
            norm = math.sqrt(well + u * u * -math.expm1(-2 * kap * width) / (2 * kap))
            states = np.zeros((3, 2))
            decay = np.full((3, 2), np.nan)
            if side == 0:
                states[0] = 0.0, 1.0
                decay[1] = u, 0.0
            else:
                states[2] = 0.0, -1.0
                decay[1] = 0.0, u
            out.append(Eigenstate(pair[side], energy, self.edges, self.values, anchors,
                                  states / norm, decay / norm))
        return out
