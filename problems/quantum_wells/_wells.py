"""One-dimensional quantum wells in a box, with exact eigenpairs.

Units: ħ²/(2m) = 1, so the equation is the dimensionless

    -ψ''(x) + V(x) ψ(x) = E ψ(x),   x in [0, L],   ψ(0) = ψ(L) = 0,

with lengths in units of a chosen length ℓ and energies in units of ħ²/(2m ℓ²).
For the empty box of width L = 1, E_n = n² π².

Every potential here is piecewise constant, so on each region the solution is a
combination of cos/sin (E > V) or cosh/sinh (E < V). The eigenvalues are the roots of the
matching condition ψ(L; E) = 0 of the solution shot from ψ(0) = 0, ψ'(0) = 1 through the
regions with ψ, ψ' continuous at each jump. Each root is bracketed by Sturm's oscillation
theorem (the number of zeros of ψ(·; E) in (0, L) equals the number of eigenvalues below
E), then solved to ~1e-14 relative with `optimistix.Bisection`.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from sciml.problems.base import Reference, check_finite, check_nonnegative, check_positive

# Gauss-Legendre nodes per region for normalisation integrals: ψ² on one region is a sum of
# a few exponentials/trigonometric terms, for which this rule is exact to rounding.
_QUAD_NODES = 96


@dataclass(frozen=True)
class Eigenstate:
    """One exact eigenpair.

    Attributes:
        index: 1 for the ground state, n for the n-th state.
        energy: the eigenvalue E_n (units of ħ²/(2m ℓ²)).
        starts: (n_regions, 2) values (ψ, ψ') at each region's left edge, already normalised
            so that ∫ψ² dx = 1 and ψ'(0) > 0.
    """

    index: int
    energy: float
    starts: np.ndarray


class QuantumWell:
    """Base of the three wells: a piecewise-constant potential on [0, L] with hard walls.

    Subclasses set `name`, `_params` and the region table `edges` (n+1 increasing points
    from 0 to L) and `values` (n potential values).
    """

    name: str = ""

    def __init__(self, L: float, edges: list[float], values: list[float]):
        self.L = check_positive("L", L)
        self.edges = np.asarray(edges, dtype=np.float64)
        self.values = np.asarray(values, dtype=np.float64)
        self._states: dict[int, Eigenstate] = {}

    # --- description -------------------------------------------------------------------
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
        return np.array([self.state(k).energy for k in range(1, _check_count(n) + 1)])

    def state(self, index: int) -> Eigenstate:
        """The `index`-th eigenpair (1 = ground state), computed once and cached."""
        index = _check_count(index, "index")
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
        if derivative not in (0, 1, 2):
            raise ValueError(f"derivative must be 0, 1 or 2, got {derivative}")
        st = self.state(index)
        x = np.asarray(x, dtype=np.float64)
        if np.any(~np.isfinite(x)) or np.any((x < 0) | (x > self.L)):
            raise ValueError(f"x must lie in [0, L] = [0, {self.L:g}]")
        return _evaluate(self.edges, self.values, st.energy, st.starts, x, derivative)

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
            c, s = _cs(np.float64(q), np.float64(h))
            new_psi, new_dpsi = c * psi + s * dpsi, -q * s * psi + c * dpsi
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

    def _solve_state(self, index: int) -> Eigenstate:
        lo = float(self.values.min())
        hi = float(self.values.max()) + (index * np.pi / self.L) ** 2 + 1.0
        if self._count_below(hi) < index:  # cannot happen for a bounded potential; guard anyway
            raise RuntimeError(f"{self!r}: failed to bracket eigenvalue {index}")
        # Bisect on the count until [lo, hi) holds exactly eigenvalue `index`.
        for _ in range(200):
            if self._count_below(lo) == index - 1 and self._count_below(hi) == index:
                break
            mid = 0.5 * (lo + hi)
            if self._count_below(mid) >= index:
                hi = mid
            else:
                lo = mid
        else:
            raise RuntimeError(f"{self!r}: could not isolate eigenvalue {index}")
        energy = _root(self.edges, self.values, lo, hi)
        starts = _starts(self.edges, self.values, energy)
        # normalise: ∫ψ² = 1 by Gauss-Legendre per region, exact for these smooth pieces
        xq, wq = self.quadrature()
        norm = np.sqrt(np.sum(wq * _evaluate(self.edges, self.values, energy, starts, xq) ** 2))
        return Eigenstate(index, energy, starts / norm)


def _check_count(n: int, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return int(n)


def _cs(q, dx):
    """c = cos(√q dx) and s = sin(√q dx)/√q, continued analytically (cosh, sinh) to q <= 0."""
    q = np.asarray(q, dtype=np.float64)
    k = np.sqrt(np.abs(q))
    pos, neg = q > 0, q < 0
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(pos, np.cos(k * dx), np.where(neg, np.cosh(k * dx), 1.0))
        s = np.where(pos, np.sin(k * dx) / k, np.where(neg, np.sinh(k * dx) / k, dx))
    return c, s


def _evaluate(edges, values, energy, starts, x, derivative=0):
    """ψ (or ψ', ψ'') at x from the per-region start values; numpy float64."""
    k = np.clip(np.searchsorted(edges[1:-1], x, side="right"), 0, len(values) - 1)
    q = energy - values[k]
    c, s = _cs(q, x - edges[k])
    psi0, dpsi0 = starts[k, 0], starts[k, 1]
    if derivative == 0:
        return c * psi0 + s * dpsi0
    if derivative == 1:
        return -q * s * psi0 + c * dpsi0
    return -q * (c * psi0 + s * dpsi0)


def _shoot_end(energy, edges, values):
    """ψ(L; E) for ψ(0) = 0, ψ'(0) = 1, renormalised per region (jax, differentiable)."""
    state = jnp.array([0.0, 1.0])
    for i in range(values.shape[0]):
        q = energy - values[i]
        h = edges[i + 1] - edges[i]
        k = jnp.sqrt(jnp.abs(q))
        ks = jnp.where(q == 0, 1.0, k)
        c = jnp.where(q > 0, jnp.cos(k * h), jnp.cosh(k * h))
        s = jnp.where(q > 0, jnp.sin(k * h), jnp.sinh(k * h)) / ks
        s = jnp.where(q == 0, h, s)
        state = jnp.array([c * state[0] + s * state[1], -q * s * state[0] + c * state[1]])
        state = state / jnp.linalg.norm(state)  # positive rescaling keeps the sign of ψ(L)
    return state[0]


@jax.jit
def _bisect(edges, values, lo, hi):
    # Solve for ε = E / hi so both of Bisection's tests are relative: the bracket width
    # below ~1e-13·hi, and the normalised |ψ(L)| below 1e-13.
    fn = lambda eps, _: _shoot_end(eps * hi, edges, values)
    solver = optx.Bisection(rtol=1e-14, atol=1e-13)
    sol = optx.root_find(fn, solver, 0.5 * (lo + hi) / hi,
                         options=dict(lower=lo / hi, upper=1.0), max_steps=400, throw=False)
    return sol.value * hi, sol.result


def _root(edges: np.ndarray, values: np.ndarray, lo: float, hi: float) -> float:
    # references are float64 whatever the caller's global precision
    with jax.enable_x64(True):
        value, result = _bisect(jnp.asarray(edges, dtype=jnp.float64),
                                jnp.asarray(values, dtype=jnp.float64),
                                jnp.float64(lo), jnp.float64(hi))
        if result != optx.RESULTS.successful:
            raise RuntimeError(f"eigenvalue root find failed in [{lo}, {hi}]: {result}")
        return float(value)


def _starts(edges: np.ndarray, values: np.ndarray, energy: float) -> np.ndarray:
    """(ψ, ψ') at the left edge of every region for ψ(0) = 0, ψ'(0) = 1."""
    out = np.empty((len(values), 2))
    psi, dpsi = 0.0, 1.0
    for i, v in enumerate(values):
        out[i] = psi, dpsi
        q = energy - v
        c, s = _cs(q, edges[i + 1] - edges[i])
        psi, dpsi = c * psi + s * dpsi, -q * s * psi + c * dpsi
    return out


class InfiniteWell(QuantumWell):
    """The empty box: V = 0 on [0, L]. E_n = (nπ/L)², ψ_n = √(2/L) sin(nπx/L)."""

    name = "infinite_well"

    def __init__(self, L: float = 1.0):
        L = check_positive("L", L)
        self._params = {"L": L}
        super().__init__(L, [0.0, L], [0.0])

    @property
    def reference(self) -> Reference:
        return Reference(kind="analytic", evidence="E_n = (n pi / L)^2, psi_n = sqrt(2/L) sin")

    def energies(self, n: int) -> np.ndarray:
        return (np.arange(1, _check_count(n) + 1) * np.pi / self.L) ** 2

    def state(self, index: int) -> Eigenstate:
        index = _check_count(index, "index")
        k = index * np.pi / self.L
        amp = np.sqrt(2.0 / self.L)
        return Eigenstate(index, k**2, np.array([[0.0, amp * k]]))


class _InnerStep(QuantumWell):
    """A box with one step of V on [center - width/2, center + width/2] strictly inside."""

    _level_name = ""  # the parameter that sets V's step: "depth" or "height"
    _what = ""  # "well" or "barrier", for messages

    def _setup(self, L, level, width, center) -> tuple[float, float, float, float]:
        L = check_positive("L", L)
        level = check_nonnegative(self._level_name, level)
        width = check_positive("width", width)
        center = check_finite("center", L / 2 if center is None else center)
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
        self._params = {"L": L, self._level_name: level, "width": width, "center": center}
        return L, level, a, b


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

    def __init__(
        self, L: float = 1.0, height: float = 100.0, width: float = 0.2, center: float | None = None
    ):
        L, height, a, b = self._setup(L, height, width, center)
        super().__init__(L, [0.0, a, b, L], [0.0, height, 0.0])
