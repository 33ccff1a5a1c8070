"""Right-hand sides: smoke-like divergences, and manufactured solutions (discrete and continuum)."""

from __future__ import annotations

import functools

import numpy as np

from sciml import checks
from sciml.problems.linear_systems._system import PoissonSystem


def _check(system, seed) -> int:
    if not isinstance(system, PoissonSystem):
        raise TypeError(f"parameter 'system' must be a PoissonSystem, got {type(system).__name__}")
    return checks.integer("seed", seed, low=0)


def _fourier(rng, d: int, modes: int, kmax: int):
    """A random smooth field Σ c_m cos(2π k_m·x + φ_m), drawn independently of any grid."""
    k = rng.integers(-kmax, kmax + 1, (modes, d))
    phase, amp = rng.uniform(0, 2 * np.pi, modes), rng.normal(size=modes) / np.sqrt(modes)
    return lambda x: sum(amp[m] * np.cos(2 * np.pi * sum(k[m, a] * x[a] for a in range(d))
                                         + phase[m]) for m in range(modes))


def smoke_velocity(system: PoissonSystem, *, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A random smooth MAC velocity field with closed faces zeroed, as in smoke simulation.

    Face velocities (order-1 values) of a few low Fourier modes (wavenumbers ≤ 2) per
    component, plus 1–3 upward Gaussian plumes (width 0.05–0.15), all drawn from `seed` in
    unit coordinates. The normal velocity vanishes on every face that touches a solid cell
    or a Neumann domain face.

    Returns:
        d arrays; component a has shape `shape` with n + 1 along axis a: its faces at
        `x_a = k h` (k = 0 … n), at cell centres along the other axes.
    """
    seed = _check(system, seed)
    d, n, f = system.ndim, system.n, system.fluid
    rng = np.random.default_rng([seed, 7, d])
    fields = [_fourier(rng, d, 4, 2) for _ in range(d)]
    plumes = [(rng.uniform(0.2, 0.8, d), rng.uniform(0.05, 0.15), rng.uniform(1, 3))
              for _ in range(rng.integers(1, 4))]
    velocity = []
    for a in range(d):
        x = np.ix_(*(np.arange(n + 1) / n if b == a else (np.arange(n) + 0.5) / n
                     for b in range(d)))
        u = fields[a](x) + np.zeros(tuple(n + (b == a) for b in range(d)))
        if a == d - 1:
            for c, width, amp in plumes:
                u = u + amp * np.exp(-sum((x[b] - c[b]) ** 2 for b in range(d)) / (2 * width**2))
        # open faces: both neighbours fluid; a domain face is open when Dirichlet
        lo, hi = np.take(f, [0], axis=a), np.take(f, [-1], axis=a)
        inner = np.take(f, range(n - 1), axis=a) & np.take(f, range(1, n), axis=a)
        is_open = np.concatenate([lo & (system.boundary[2 * a] == "dirichlet"), inner,
                                  hi & (system.boundary[2 * a + 1] == "dirichlet")], axis=a)
        velocity.append(u * is_open)
    return tuple(velocity)


def smoke_rhs(system: PoissonSystem, *, seed: int = 0) -> np.ndarray:
    """The pressure-projection right-hand side of `smoke_velocity(system, seed=seed)`.

    `b_i = −Σ_a (u_a[i + 1] − u_a[i])`, minus the net outflow of fluid cell i: `−h ∇·u`
    in physical units (velocity units, not divided by h; order-h entries), 0 on solids.
    If `A p = b`, correcting each open face from cell i to j by `u −= p_j − p_i` (ghost
    `−p_i` beyond a Dirichlet face) leaves every fluid cell divergence-free: p is the
    pressure in units of ρh/Δt. Closed faces carry no flux, so b sums to zero over every
    floating component: consistent with `pockets="project"`.

    Returns:
        float64 array of `system.shape`.
    """
    velocity = smoke_velocity(system, seed=seed)
    outflow = sum(np.diff(u, axis=a) for a, u in enumerate(velocity))
    return np.where(system.fluid, -outflow, 0.0)


def manufactured(system: PoissonSystem, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`(u_exact, b)` with `A u_exact = b` exactly (to float64 rounding) for the discrete system.

    `u_exact` is a smooth random field (8 Fourier modes, wavenumbers ≤ 3, drawn from `seed`)
    at the cell centres, zero on solids, orthogonal to the null space (`system.project`)
    when components float; `b = A u_exact` by the sparse matrix. Both float64, `shape`.
    """
    seed = _check(system, seed)
    rng = np.random.default_rng([seed, 11, system.ndim])
    centres = (np.arange(system.n) + 0.5) * system.h
    x = np.ix_(*(centres,) * system.ndim)
    u = np.where(system.fluid, _fourier(rng, system.ndim, 8, 3)(x), 0.0)
    u = system.project(u)
    b = (system.matrix(reduced=False) @ u.ravel()).reshape(system.shape)
    return u, b


def sine_solution(system: PoissonSystem) -> tuple[np.ndarray, np.ndarray]:
    """`(u_exact, b)` of the continuum problem `−Δu = f` on an all-Dirichlet empty box:
    `u = Π_a sin(π x_a)`, `f = d π² u`, `b = h² f`, at the cell centres (float64, `shape`).
    The discrete solution of `A u = b` is within O(h²) of `u_exact`."""
    _check(system, 0)
    if not system.fluid.all() or set(system.boundary) != {"dirichlet"}:
        raise ValueError(f"sine_solution needs an all-Dirichlet box without obstacles, such as "
                         f"layout('empty', n), got {system!r}")
    centres = (np.arange(system.n) + 0.5) * system.h
    u = functools.reduce(np.multiply, np.ix_(*(np.sin(np.pi * centres),) * system.ndim))
    return u, system.h**2 * system.ndim * np.pi**2 * u
