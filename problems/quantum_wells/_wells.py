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
E), then solved to ~1e-14 relative with `optimistix.Bisection`.

The barrier (a double well) has its own matching condition: the shots from the two walls
reach the barrier's edges, each split into the barrier's two exponentials, and
gL·gR = e^{-2κw}·uL·uR (`_barrier_match`) resolves a tunnelling-split pair down to the
rounding of the wells' own levels, where the Wronskian of shots carried across the barrier
loses accuracy as √height·width grows (energies off by 9e-11 at 16, a pair's splitting and
mixing noise above ~20). In the barrier, ψ is stored as those two exponentials. Where float64
cannot resolve a state to the 1e-12 tolerance, it raises a ValueError naming the parameters.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from sciml import checks
from sciml.problems.base import Reference
from sciml.problems.quantum_wells._base import QuantumWell

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
                "roots of the transfer-matrix matching condition psi(L; E) = 0, bracketed "
                "by Sturm zero counting and solved with optimistix.Bisection; cross-checked "
                "against a Richardson-extrapolated finite-difference eigensolve in the tests"
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

    def quadrature(self, n_per_region: int = _QUAD_NODES) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Legendre nodes and weights on each region, concatenated; shapes (m,), (m,)."""
        g, w = np.polynomial.legendre.leggauss(n_per_region)
        xs, ws = [], []
        for a, b in zip(self.edges[:-1], self.edges[1:], strict=True):
            xs.append(0.5 * (b - a) * g + 0.5 * (a + b))
            ws.append(0.5 * (b - a) * w)
        return np.concatenate(xs), np.concatenate(ws)

    def _count_below(self, energy: float) -> int:
        """Number of eigenvalues below `energy` (Sturm: zeros of ψ(·; E) in (0, L))."""
        psi, dpsi, zeros = 0.0, 1.0, 0
        for a, b, v in zip(self.edges[:-1], self.edges[1:], self.values, strict=True):
            q, h = energy - v, b - a
            c, s = _cs(np.float64(q), np.float64(h), scaled=q < 0 and -q * h * h > _SCALED**2)
            qs = -q * s  # overflows for a huge q: then -q * (s * psi)
            new_psi = c * psi + s * dpsi
            new_dpsi = (qs * psi if np.isfinite(qs) else -q * (s * psi)) + c * dpsi
            if q > 0:
                # Prüfer phase ψ = r sin φ, ψ'/k = r cos φ advances by exactly k·h.
                k = np.sqrt(q)
                phi0 = np.arctan2(psi, dpsi / k)
                zeros += int(np.floor((phi0 + k * h) / np.pi) - np.floor(phi0 / np.pi))
            elif psi * new_psi < 0:  # cosh/sinh combinations vanish at most once
                zeros += 1
            norm = np.hypot(new_psi, new_dpsi)
            psi, dpsi = new_psi / norm, new_dpsi / norm
        # a zero exactly at L is an eigenvalue at `energy`, not below it
        if psi == 0.0:
            zeros -= 1
        return zeros

    def _isolate(self, index: int) -> tuple[float, float]:
        """A bracket [lo, hi) holding eigenvalue `index` and no other, by Sturm counting."""
        lo = float(self.values.min())
        hi = float(self.values.max()) + (index * np.pi / self.L) ** 2 + 1.0
        if self._count_below(hi) < index:  # cannot happen for a bounded potential; guard anyway
            raise RuntimeError(f"{self!r}: failed to bracket eigenvalue {index}")
        # Bisect on the count until [lo, hi) holds exactly eigenvalue `index` (enough halvings
        # to come down from any float64 bracket to neighbouring floats).
        for _ in range(2200):
            if self._count_below(lo) == index - 1 and self._count_below(hi) == index:
                return lo, hi
            mid = 0.5 * (lo + hi)
            if self._count_below(mid) >= index:
                hi = mid
            else:
                lo = mid
        raise RuntimeError(f"{self!r}: could not isolate eigenvalue {index}")

    def _solve_state(self, index: int) -> Eigenstate:
        lo, hi = self._isolate(index)
        edges, values, m = _split_lowest(self.edges, self.values)
        with jax.enable_x64(True):
            ends = [float(_mismatch_jit(jnp.float64(e), jnp.asarray(edges), jnp.asarray(values), m))
                    for e in (lo, hi)]
        if ends[0] * ends[1] > 0:
            raise RuntimeError(
                f"{self!r}: eigenvalue {index} cannot be separated from its neighbour in "
                f"float64 near E = {hi:.15g} (their splitting is below rounding, as for a "
                "barrier too high or wide to tunnel through); lower the barrier or narrow it"
            )
        energy = _root(edges, values, lo, hi, m)
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


def _propagate(state, q, h):
    """(ψ, ψ') carried across a region of constant V (q = E - V) of signed width h, then
    renormalised: positive rescalings, so signs and zeros are unchanged. Across a forbidden
    region with k|h| > _SCALED, cosh and sinh come times e^{-k|h|} (as `_cs(scaled=True)`),
    so nothing overflows however deep or wide it is."""
    k = jnp.sqrt(jnp.abs(q))
    ks = jnp.where(q == 0, 1.0, k)
    t = -2.0 * k * jnp.abs(h)
    big = k * jnp.abs(h) > _SCALED
    ch = jnp.where(big, 0.5 * (1.0 + jnp.exp(t)), jnp.cosh(jnp.where(big, 0.0, k * h)))
    sh = jnp.where(big, -0.5 * jnp.sign(h) * jnp.expm1(t), jnp.sinh(jnp.where(big, 0.0, k * h)))
    c = jnp.where(q > 0, jnp.cos(k * h), ch)
    s = jnp.where(q == 0, h, jnp.where(q > 0, jnp.sin(k * h), sh) / ks)
    qs = -q * s
    qs_psi = jnp.where(jnp.isfinite(qs), qs * state[0], -q * (s * state[0]))  # q·s can overflow
    state = jnp.array([c * state[0] + s * state[1], qs_psi + c * state[1]])
    norm = jnp.linalg.norm(state)
    # |state|² overflows when k is huge: then scale it to max 1 first
    safe = state / jnp.max(jnp.abs(state))
    return jnp.where(jnp.isfinite(norm), state / norm, safe / jnp.linalg.norm(safe))


def _mismatch(energy, edges, values, m: int):
    """Wronskian at edge m of the solutions shot from ψ(0) = 0 and from ψ(L) = 0.

    Zero exactly at eigenvalues. Shooting from both walls towards a point in the lowest
    region keeps both shots in their stable direction: a single shot from 0 grows like
    e^{κx} through a forbidden region, making ψ(L; E) flip sign over a window of width
    ~e^{-2κw} around each eigenvalue, too steep to bracket in floating point.
    """
    left = jnp.array([0.0, 1.0])
    for i in range(m):
        left = _propagate(left, energy - values[i], edges[i + 1] - edges[i])
    right = jnp.array([0.0, -1.0])
    for i in range(values.shape[0] - 1, m - 1, -1):
        right = _propagate(right, energy - values[i], edges[i] - edges[i + 1])
    return left[0] * right[1] - left[1] * right[0]


_mismatch_jit = jax.jit(_mismatch, static_argnums=3)


@functools.partial(jax.jit, static_argnums=4)
def _bisect(edges, values, lo, hi, m):
    # Solve for ε = E / hi so both of Bisection's tests are relative: the bracket width
    # below ~1e-13·hi, and the Wronskian of unit vectors below 1e-13.
    fn = lambda eps, _: _mismatch(eps * hi, edges, values, m)
    solver = optx.Bisection(rtol=1e-14, atol=1e-13)
    sol = optx.root_find(fn, solver, 0.5 * (lo + hi) / hi,
                         options=dict(lower=lo / hi, upper=1.0), max_steps=400, throw=False)
    # Where the Wronskian is steep its value at the floats either side of the root can
    # exceed atol: a bracket collapsed to a few ulps has found the root all the same.
    collapsed = sol.state.upper - sol.state.lower <= 4 * jnp.finfo(sol.value.dtype).eps
    return sol.value * hi, (sol.result == optx.RESULTS.successful) | collapsed, sol.result


def _split_lowest(edges: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Split the lowest region at its midpoint; return the new grid and the split edge."""
    k = int(np.argmin(values))
    edges = np.insert(edges, k + 1, 0.5 * (edges[k] + edges[k + 1]))
    return edges, np.insert(values, k + 1, values[k]), k + 1


def _root(edges: np.ndarray, values: np.ndarray, lo: float, hi: float, m: int) -> float:
    # references are float64 whatever the caller's global precision
    with jax.enable_x64(True):
        value, found, result = _bisect(jnp.asarray(edges, dtype=jnp.float64),
                                       jnp.asarray(values, dtype=jnp.float64),
                                       jnp.float64(lo), jnp.float64(hi), m)
        if not found:
            raise RuntimeError(f"eigenvalue root find failed in [{lo}, {hi}]: {result}")
        return float(value)


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
                "two wells' levels nearly degenerate) raise ValueError"
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

    def _solve_state(self, index: int) -> Eigenstate:
        """The eigenpair from the barrier's own matching condition (`_barrier_match`): the
        two wells' shots meet across the barrier through its exponentials, each decaying one
        kept apart, so a tunnelling-split pair is resolved down to float64's rounding of the
        wells' own levels; raises where that rounding would decide the state instead."""
        height, width = self._params["height"], self._params["width"]
        la, lc = self._wells
        match = functools.partial(_barrier_match, height=height, la=la, w=width, lc=lc)
        try:
            lo, hi = self._isolate(index)
        except RuntimeError:
            raise self._unresolved(index, None, "their splitting is below rounding") from None
        glo, ghi = match(lo)[0], match(hi)[0]
        if glo != 0.0 and ghi != 0.0 and (glo > 0) == (ghi > 0):
            raise self._unresolved(index, hi, "their splitting is below rounding")
        while glo != 0.0 and ghi != 0.0:  # bisect G down to neighbouring floats
            mid = 0.5 * (lo + hi)
            if not lo < mid < hi:
                break
            gm = match(mid)[0]
            if (gm > 0) == (glo > 0) and gm != 0.0:
                lo, glo = mid, gm
            else:
                hi, ghi = mid, gm
        energy = lo if abs(glo) <= abs(ghi) else hi
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
                    raise self._unresolved(index, energy, "their splitting is below rounding")
                r = math.copysign(1.0, ul * gr)
                err = 0.0
            else:
                if big < 16 * noise:
                    raise self._unresolved(index, energy, "their splitting is below rounding")
                r = ul * t / gr if abs(gr) >= abs(gl) else gl / (ur * t)
                err = noise / big
            alpha, beta = (1.0, r) if abs(r) <= 1.0 else (1.0 / abs(r), math.copysign(1.0, r))
            # relative error `err` in β/α moves ψ by ~err·√(p_L p_R) (p: the wells' weights)
            wl = alpha**2 * (la - sl * cl) / (2 * k * k)
            wr = beta**2 * (lc - sr * cr) / (2 * k * k)
            err *= math.sqrt(abs(wl * wr)) / (abs(wl) + abs(wr))
            self._mixing_error[index] = err
            if err > _MIX_TOL:
                raise self._unresolved(
                    index, energy, f"how much of each well the state holds is fixed by "
                    f"float64 only to ~{err:.1g}, a conservative estimate", near=True)
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

    def _unresolved(self, index: int, energy, why: str, near: bool = False) -> ValueError:
        """The error for a state float64 cannot give to the reference's tolerance."""
        height, width = self._params["height"], self._params["width"]
        at = "" if energy is None else f" near E = {energy:.15g}"
        if near:
            fix = ("the two wells' levels are nearly degenerate here; lower `height` or "
                   "`width`, or move `center` away from this near-degeneracy")
        else:
            fix = (f"float64 resolves a centred barrier's lowest pairs up to about "
                   f"sqrt(height)·width = {_SYMMETRIC_LIMIT:g}; lower `height` or `width`")
        return ValueError(
            f"{self!r}: eigenvalue {index} cannot be separated from its neighbour in float64"
            f"{at} to the reference's {_MIX_TOL:g} tolerance: {why} (tunnelling through "
            f"sqrt(height)·width = {math.sqrt(height) * width:.4g}); {fix}"
        )
