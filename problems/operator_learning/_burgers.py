"""Viscous Burgers' equation on the periodic unit interval, the FNO benchmark (Li et al. 2021),
with a pseudo-spectral reference checked against the Cole–Hopf solution.

    u_t + (u²/2)_x = ν u_xx,   x in [0, 1) periodic,   u(x, 0) = u0(x),

ν = 0.1 (the viscosity the FNO paper states for its Burgers data), target u(·, t = 1).
u0 ~ N(0, 625 (−Δ + 25 I)^(−2)) periodic (`PeriodicGRF`, wavenumbers 1 … 256, zero mean as in
the FNO generator; the omitted wavenumbers carry 4.5e-8 of the variance). All quantities are
dimensionless. At ν = 0.1 the equation is strongly damped: wavenumber 1 decays by
e^{−4π²ν} ≈ 0.02 by t = 1, so u(·, 1) is a small, smooth field (max |u| from 5e-4 to
0.03 over 1200 samples, where max |u0| is about 1).

Reference method. Fourier pseudo-spectral collocation on `points` = 1024 points with 2/3
dealiasing (the state is the complex Fourier coefficients c_0 … c_341 of u; the flux u²/2 is
formed on the 1024-point grid and truncated back, so no aliasing enters the kept modes). In
time, the IMEX Runge–Kutta `diffrax.KenCarp5`: the stiff diffusion −ν(2πk)² c_k (up to
4.6e5 in magnitude) implicit, the flux explicit, PID step control in the max norm over the
Fourier coefficients at rtol = 1e-10, atol = 1e-12. The implicit term is linear and
diagonal, so each stage's implicit equation is solved exactly by one diagonal chord step
(`_DiagonalLinearRoot`; diffrax's `VeryChord` compares successive updates, and once the
first has solved the linear system the second is rounding noise that its divergence test
often rejects, so nearly every step failed). Samples are batched with `jax.vmap` (each keeps
its own step sizes) in chunks of 8 and the chunks spread over threads (XLA releases the
GIL). The outputs at 512, 256, 128 points are the 1024-point values at every 2nd, 4th,
8th point (exact: the data are trigonometric polynomials).

Accuracy (default parameters; `BurgersPeriodic().convergence()`, about 20 s, samples 0-7 of
seed 0): 2048 points differ from 1024 by at most 6.2e-17 (the spectrum of u(·, t) is
negligible beyond k ≈ 40 once t >~ 0.01, so 1024 points, fewer than the 4096-8192 of the FNO
generator, are converged to rounding); tolerances divided by 100 change u by 5.8e-12; the
Cole–Hopf solution u = −2ν φ_x/φ, φ_t = ν φ_xx (`cole_hopf_periodic`, exact up to an FFT of
the smooth φ0, independent of this solver) differs by 5.9e-12, 6.6e-10 of max |u(·, 1)|.
Over all 1200 samples of `load("burgers_periodic")` (seed 0) the Cole–Hopf difference is at
most 1.0e-11, and 1.9e-8 of the sample's max |u(·, 1)| (which ranges from 5e-4 to 0.03,
median 0.012; atol = 1e-12 keeps the small outputs accurate: with atol = 1e-10 the worst
relative difference was 1.6e-6). Stated tolerance: 5e-8 of max |u(·, 1)| per sample.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optimistix as optx

from sciml import checks
from sciml.problems.base import Reference
from sciml.problems.operator_learning._base import (
    OperatorLearningProblem,
    Samples,
    check_indices,
)
from sciml.problems.operator_learning._grf import PeriodicGRF

logger = logging.getLogger(__name__)

_CHUNK = 8  # samples per vmapped solve (one compiled shape; small, so few wasted steps)
_DEFAULT = {
    "viscosity": 0.1,
    "t_end": 1.0,
    "points": 1024,
    "kl_modes": 256,
    "rtol": 1e-10,
    "atol": 1e-12,
}

# Measured with `BurgersPeriodic().convergence()` (seed 0, samples 0-7 of stream 0): max abs
# differences of u(·, 1) on the 1024-point grid, and the same divided by each sample's max |u|.
_MEASURED = {
    "modes": 6.2e-17,
    "rtol": 5.8e-12,
    "cole_hopf": 5.9e-12,
    "rel_cole_hopf": 6.6e-10,
    "all_cole_hopf": 1.0e-11,  # the 1200 samples of `load("burgers_periodic")`, seed 0
    "all_rel_cole_hopf": 1.9e-8,
}
_TOLERANCE = 5e-8  # max |u − exact| relative to max |u(·, 1)| of the sample


class _DiagonalState(eqx.Module):
    diag: object
    done: jax.Array


class _DiagonalLinearRoot(optx.AbstractRootFinder):
    """Root finder for an affine function with a diagonal Jacobian (here the implicit
    stages of the linear diffusion term in Fourier space): reads the diagonal off one JVP
    with ones and takes one exact chord step. Follows diffrax's convention of accepting a
    precomputed state as `options["init_state"]`, so the diagonal is computed once per step.
    """

    rtol: float = 0.0
    atol: float = 0.0
    norm: Callable = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        if "init_state" in options:
            return options["init_state"]
        ones = jtu.tree_map(jnp.ones_like, y)
        _, diag = jax.jvp(lambda z: fn(z, args)[0], (y,), (ones,))
        return _DiagonalState(diag=jax.lax.stop_gradient(diag), done=jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        fx, aux = fn(y, args)
        new_y = jtu.tree_map(lambda a, f, d: a - f / d, y, fx, state.diag)
        return new_y, _DiagonalState(diag=state.diag, done=jnp.array(True)), aux

    def terminate(self, fn, y, args, options, state, tags):
        return state.done, optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {}


@functools.partial(jax.jit, static_argnames=("points", "rtol", "atol"))
def _integrate(c0, viscosity, t_end, *, points: int, rtol: float, atol: float):
    """u's Fourier coefficients at t_end for a batch of initial coefficients `c0` (complex,
    shape (batch, points//3 + 1), c_k = rfft(u)_k / points); returns (c(t_end), steps)."""
    kept = points // 3
    kappa = 2.0 * jnp.pi * jnp.arange(kept + 1)
    decay = -viscosity * kappa**2

    def flux(t, y, args):  # −(u²/2)_x, dealiased by truncation to the kept modes
        c = y[0] + 1j * y[1]
        full = jnp.zeros(points // 2 + 1, c.dtype).at[: kept + 1].set(c)
        u = jnp.fft.irfft(full, n=points) * points
        w = -1j * kappa * jnp.fft.rfft(0.5 * u * u)[: kept + 1] / points
        return jnp.stack([w.real, w.imag])

    def diffusion(t, y, args):
        return decay * y

    terms = dfx.MultiTerm(dfx.ODETerm(flux), dfx.ODETerm(diffusion))
    solver = dfx.KenCarp5(root_finder=_DiagonalLinearRoot())
    controller = dfx.PIDController(rtol=rtol, atol=atol, norm=optx.max_norm)

    def one(c):
        sol = dfx.diffeqsolve(
            terms,
            solver,
            0.0,
            t_end,
            1e-5 * t_end,
            jnp.stack([c.real, c.imag]),
            stepsize_controller=controller,
            max_steps=50_000,
        )
        y = sol.ys[-1]
        return y[0] + 1j * y[1], sol.stats["num_steps"]

    return jax.vmap(one)(c0)


def periodic_grid(points: int) -> np.ndarray:
    """The points j/points, j = 0 … points − 1, of the periodic interval [0, 1); shape
    (points,)."""
    if points < 1:
        raise ValueError(f"need at least 1 point, got {points}")
    return np.arange(points) / points


def cole_hopf_periodic(
    coefficients: np.ndarray, viscosity: float, t: float, points: int
) -> np.ndarray:
    """The exact solution of u_t + u u_x = ν u_xx on [0, 1) periodic at time t > 0, on the
    grid x_j = j/points (a power of two), by the Cole–Hopf transform.

    u = −2ν φ_x/φ with φ_t = ν φ_xx and φ(x, 0) = exp(−U0(x)/(2ν)), U0 = ∫_0^x u0 (periodic
    because u0 has zero mean). φ0 is smooth, so its FFT on M >= 16 K points (K the highest
    wavenumber of u0) is exact to rounding; the heat flow is then exact per mode.

    Args:
        coefficients: c_0 … c_K of u0 = Σ c_k e^{2πikx} + c.c., shape (K + 1,), c_0 = 0.
    """
    c = np.asarray(coefficients, dtype=complex)
    if abs(c[0]) > 1e-14:
        raise ValueError("Cole–Hopf here needs a zero-mean u0 (c_0 = 0)")
    kmax = c.size - 1
    m = max(points, 2 ** math.ceil(math.log2(16 * max(kmax, 1))))
    k = np.arange(1, kmax + 1)
    # U0 = Σ_k 2 Re(c_k (e^{2πikx} − 1)/(2πik)): its Fourier coefficients on m points
    b = np.zeros(m // 2 + 1, complex)
    b[1 : kmax + 1] = c[1:] / (2j * math.pi * k)
    u0_int = np.fft.irfft(b, n=m) * m - 2.0 * np.sum((c[1:] / (2j * math.pi * k)).real)
    log_phi = -u0_int / (2.0 * viscosity)
    phi0 = np.exp(log_phi - log_phi.max())  # scale-free: only φ_x/φ matters
    p = np.fft.rfft(phi0)
    kk = np.arange(p.size)
    p = p * np.exp(-viscosity * (2 * math.pi * kk) ** 2 * t)
    phi = np.fft.irfft(p, n=m)
    phi_x = np.fft.irfft(2j * math.pi * kk * p, n=m)
    return (-2.0 * viscosity * phi_x / phi)[:: m // points]


class BurgersPeriodic(OperatorLearningProblem):
    """The FNO Burgers benchmark: u0 ↦ u(·, t_end) for u_t + (u²/2)_x = ν u_xx on [0, 1)
    periodic.

    Inputs u0 and outputs u(·, t_end) are point values on x_j = j/n. See the module
    docstring for the method and its accuracy.

    Args:
        viscosity: ν > 0 (default 0.1).
        t_end: the output time (default 1).
        points: grid points of the reference solve, a power of two (default 1024); it keeps
            points//3 Fourier modes.
        kl_modes: wavenumbers of the random u0 (default 256, at most points//3).
        rtol, atol: the time integrator's tolerances on the Fourier coefficients (defaults
            1e-10, 1e-12; atol below the coefficients' size at t = 1, ~1e-3, so small outputs
            keep their relative accuracy).
    """

    name = "burgers_periodic"
    input = "u0"
    output = "u"
    dims = ("x",)
    resolutions = (1024, 512, 256, 128)

    def __init__(
        self,
        viscosity: float = 0.1,
        t_end: float = 1.0,
        points: int = 1024,
        kl_modes: int = 256,
        rtol: float = 1e-10,
        atol: float = 1e-12,
    ):
        self.viscosity = checks.positive("viscosity", viscosity)
        self.t_end = checks.positive("t_end", t_end)
        self.points = checks.integer("points", points, low=8)
        self.kl_modes = checks.integer("kl_modes", kl_modes, low=1, high=self.points // 3)
        self.rtol = checks.positive("rtol", rtol)
        self.atol = checks.positive("atol", atol)
        if self.points & (self.points - 1):
            raise ValueError(f"parameter 'points' must be a power of two, got {self.points}")
        self.grf = PeriodicGRF(modes=self.kl_modes)

    @property
    def params(self) -> dict[str, float]:
        return {
            "viscosity": self.viscosity,
            "t_end": self.t_end,
            "points": self.points,
            "kl_modes": self.kl_modes,
            "rtol": self.rtol,
            "atol": self.atol,
        }

    @property
    def reference(self) -> Reference:
        how = (
            f"Fourier pseudo-spectral, {self.points} points, 2/3 dealiasing; diffrax KenCarp5 "
            f"(diffusion implicit, flux explicit), rtol = {self.rtol:g}, atol = {self.atol:g}"
        )
        if self.params != _DEFAULT:
            return Reference(
                kind="numerical",
                evidence=how + "; accuracy not measured for these parameters: run "
                "BurgersPeriodic(...).convergence()",
            )
        m = _MEASURED
        return Reference(
            kind="numerical",
            tolerance=_TOLERANCE,
            evidence=(
                how + "; tolerance is relative to the sample's max |u(., 1)|. Max abs "
                f"differences over 8 samples: {m['modes']:.1e} vs 2048 points, {m['rtol']:.1e} "
                f"vs tolerances / 100, {m['cole_hopf']:.1e} vs the Cole-Hopf solution "
                f"({m['rel_cole_hopf']:.1e} of max |u|) (reproduce: "
                "BurgersPeriodic().convergence(), ~20 s); over the 1200 samples of "
                f"load('burgers_periodic'): {m['all_cole_hopf']:.1e} vs Cole-Hopf, "
                f"{m['all_rel_cole_hopf']:.1e} of the sample's max |u|"
            ),
        )

    # --- inputs ----------------------------------------------------------------------------
    def grid(self, n: int) -> np.ndarray:
        """The points j/n of the periodic interval (`periodic_grid`)."""
        return periodic_grid(n)

    def initial(self, xi: np.ndarray, points: int | None = None) -> np.ndarray:
        """u0 on x_j = j/points (default: the solve grid) for KL coefficients `xi` (shape
        (..., 2, kl_modes)); shape (..., points). Exact (inverse FFT of the series)."""
        return self.grf.on_grid(xi, self.points if points is None else points)

    # --- reference -------------------------------------------------------------------------
    def solve(
        self,
        u0: np.ndarray,
        *,
        workers: int = 1,
        callback: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """u(·, t_end) on the solve grid for initial values `u0` on that grid.

        Args:
            u0: shape (batch, points) or (points,); values on x_j = j/points. Fourier modes
                above points//3 are dropped (none for the GRF inputs).
            workers: threads running chunks of 8 samples concurrently.
            callback: called with the number of samples finished after each chunk.

        Returns:
            float64 array of u0's shape.
        """
        u0 = np.asarray(u0, dtype=np.float64)
        single = u0.ndim == 1
        u0 = np.atleast_2d(u0)
        if u0.shape[-1] != self.points:
            raise ValueError(f"u0 must have {self.points} points, got shape {u0.shape}")
        kept = self.points // 3
        c0 = np.fft.rfft(u0, axis=-1)[:, : kept + 1] / self.points
        n = c0.shape[0]
        chunks = [c0[i : i + _CHUNK] for i in range(0, n, _CHUNK)]
        out = np.empty_like(c0)

        def run(i: int) -> None:
            block = chunks[i]
            pad = np.zeros((_CHUNK, kept + 1), complex)
            pad[: block.shape[0]] = block
            with jax.enable_x64(True):
                c1, steps = _integrate(
                    jnp.asarray(pad),
                    jnp.float64(self.viscosity),
                    jnp.float64(self.t_end),
                    points=self.points,
                    rtol=self.rtol,
                    atol=self.atol,
                )
                c1 = np.asarray(c1)
            out[i * _CHUNK : i * _CHUNK + block.shape[0]] = c1[: block.shape[0]]
            logger.debug("burgers: chunk %d, steps %s", i, np.asarray(steps).tolist())
            if callback is not None:
                callback(block.shape[0])

        if chunks:
            run(0)  # compiles once, before threads would race to compile
        if len(chunks) > 1:
            with ThreadPoolExecutor(max(1, workers)) as pool:
                list(pool.map(run, range(1, len(chunks))))
        full = np.zeros((n, self.points // 2 + 1), complex)
        full[:, : kept + 1] = out
        u = np.fft.irfft(full, n=self.points, axis=-1) * self.points
        return u[0] if single else u

    def sample(
        self,
        seed: int,
        indices: Sequence[int],
        *,
        stream: int = 0,
        resolutions: Sequence[int] | None = None,
        workers: int = 1,
        callback: Callable[[int], None] | None = None,
    ) -> Samples:
        """Samples `indices` of `stream` at several resolutions from one solve each.

        Args:
            workers, callback: as for `solve`.

        Returns:
            {n: {"u0": u0_n, "u": u_n}} for n in `resolutions` (default
            `self.resolutions`, each dividing `points`), arrays of shape
            (len(indices), n): point values at j/n.
        """
        indices = check_indices(indices)
        resolutions = self._resolutions(resolutions)
        for n in resolutions:
            if self.points % n:
                raise ValueError(f"resolution {n} does not divide the solve grid {self.points}")
        xi = (
            np.stack([self.draw(seed, i, stream=stream) for i in indices])
            if indices
            else np.zeros((0, 2, self.kl_modes))
        )
        u0 = self.initial(xi)
        u = self.solve(u0, workers=workers, callback=callback)
        return {
            n: {"u0": u0[:, :: self.points // n], "u": u[:, :: self.points // n]}
            for n in resolutions
        }

    def convergence(self, seed: int = 0, samples: int = 8) -> dict[str, float]:
        """The reference's accuracy on samples 0 … samples−1 of `seed`, on the solve grid.

        Returns:
            `modes`: max |default − 2x points| (same rtol);
            `rtol`: max |default − (rtol, atol)/100|;
            `cole_hopf`: max |default − Cole–Hopf|, and `rel_cole_hopf` the same divided by
            each sample's max |u|; `max_u`: the largest max |u(·, t_end)|.
        """
        xi = np.stack([self.draw(seed, i) for i in range(samples)])
        u = self.solve(self.initial(xi))
        params = self.params
        finer = BurgersPeriodic(**{**params, "points": 2 * self.points})
        fine_u = finer.solve(finer.initial(xi))[:, ::2]
        tight = BurgersPeriodic(**{**params, "rtol": self.rtol / 100, "atol": self.atol / 100})
        tight_u = tight.solve(tight.initial(xi))
        nu, t, n = self.viscosity, self.t_end, self.points
        exact = np.stack([cole_hopf_periodic(self.grf.coefficients(x), nu, t, n) for x in xi])
        scale = np.max(np.abs(exact), axis=1)
        return {
            "modes": float(np.max(np.abs(u - fine_u))),
            "rtol": float(np.max(np.abs(u - tight_u))),
            "cole_hopf": float(np.max(np.abs(u - exact))),
            "rel_cole_hopf": float(np.max(np.max(np.abs(u - exact), axis=1) / scale)),
            "max_u": float(scale.max()),
        }
