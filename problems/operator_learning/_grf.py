"""Gaussian random fields for the operator-learning families, and per-sample random streams.

Every field is a finite expansion Σ_k √λ_k ξ_k φ_k in fixed basis functions φ_k with
independent standard normal ξ_k, so a sample is its coefficient array `xi`, evaluation at any
points is exact, and the field's covariance Σ_k λ_k φ_k(x) φ_k(x') is known in closed form.

Random streams. Sample `index` of stream `stream` (datasets use 0 for train, 1 for test) of
a family draws its ξ from its own `numpy.random.Generator`, seeded by
`SeedSequence(seed, spawn_key=(crc32(family), stream, index))`. A sample therefore depends
only on (family, seed, stream, index): a cached file with more samples can serve a smaller
request, and the test samples do not move when the number of training samples changes.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from sciml import checks


def sample_rng(seed: int, index: int, *, family: str, stream: int = 0) -> np.random.Generator:
    """The random generator of sample `index` in stream `stream` of `family` (module
    docstring): independent of every other (family, stream, index) for the same `seed`."""
    key = (zlib.crc32(family.encode()), checks.integer("stream", stream, low=0),
           checks.integer("index", index, low=0))
    seed = checks.integer("seed", seed, low=0)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@dataclass(frozen=True)
class NeumannGRF:
    """ψ ~ N(0, scale · (−Δ + τ² I)^(−α)) on the unit square with Neumann boundary conditions,
    truncated to `modes` x `modes` cosine modes, constant mode dropped (as in the FNO data
    generator of Li et al. 2021).

        ψ(x, y) = Σ_{k ≠ 0} √λ_k ξ_k φ_k(x, y),   φ_k = c_k1 c_k2 cos(π k1 x) cos(π k2 y),
        λ_k = scale · (π² (k1² + k2²) + τ²)^(−α),   c_0 = 1, c_k = √2 (k > 0),

    with 0 <= k1, k2 < `modes`; φ_k are orthonormal on (0, 1)². The default scale τ^(2α − 2)
    is the FNO generator's (its `coef = τ^(α−1) (π²|k|² + τ²)^(−α/2)`; MATLAB's orthonormal
    `idct2` times s gives exactly the φ_k above at the cell centres (j + 1/2)/s). Only the
    sign of ψ enters the Darcy coefficient, so the scale does not change the data.
    """

    alpha: float = 2.0
    tau: float = 3.0
    modes: int = 128
    scale: float | None = None

    @property
    def eigenvalues(self) -> np.ndarray:
        """λ_k, shape (modes, modes), with λ_0 = 0 (the dropped constant mode)."""
        scale = self.tau ** (2 * self.alpha - 2) if self.scale is None else self.scale
        k = np.arange(self.modes)
        k2 = k[:, None] ** 2 + k[None, :] ** 2
        lam = scale * (math.pi**2 * k2 + self.tau**2) ** (-self.alpha)
        lam[0, 0] = 0.0
        return lam

    def basis(self, x: np.ndarray) -> np.ndarray:
        """c_k cos(π k x) at points x in [0, 1], shape (len(x), modes)."""
        k = np.arange(self.modes)
        c = np.where(k == 0, 1.0, math.sqrt(2.0))
        return c * np.cos(math.pi * np.outer(np.asarray(x, dtype=np.float64), k))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """The standard normal coefficients ξ of one field, shape (modes, modes)."""
        return rng.standard_normal((self.modes, self.modes))

    def evaluate(self, xi: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """ψ on the tensor grid x × y, shape (len(x), len(y)) (indexing 'ij')."""
        return self.basis(x) @ (np.sqrt(self.eigenvalues) * xi) @ self.basis(y).T

    def variance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The exact pointwise variance Σ_k λ_k φ_k(x, y)² of the truncated field on x × y."""
        return self.basis(x) ** 2 @ self.eigenvalues @ (self.basis(y) ** 2).T


@dataclass(frozen=True)
class PeriodicGRF:
    """u ~ N(0, scale · (−Δ + τ² I)^(−α)) on [0, 1) periodic, truncated to wavenumbers
    1 <= k <= `modes`, constant mode dropped (zero mean, as in the FNO generators):

        u(x) = Σ_{k=1}^{modes} σ_k (ξ_k √2 cos(2πkx) + η_k √2 sin(2πkx)),
        σ_k² = scale · ((2πk)² + τ²)^(−α).

    The defaults are the FNO Burgers measure N(0, 625 (−Δ + 25 I)^(−2)). In complex form
    u = Σ_k c_k e^{2πikx} + c.c. with c_k = σ_k (ξ_k − i η_k)/√2 (`coefficients`).
    """

    alpha: float = 2.0
    tau: float = 5.0
    scale: float = 625.0
    modes: int = 256

    @property
    def std(self) -> np.ndarray:
        """σ_k for k = 1 … modes, shape (modes,)."""
        k = np.arange(1, self.modes + 1)
        return np.sqrt(self.scale) * ((2 * math.pi * k) ** 2 + self.tau**2) ** (-self.alpha / 2)

    @property
    def variance(self) -> float:
        """The pointwise variance 2 Σ_k σ_k² (the same at every x)."""
        return float(2.0 * np.sum(self.std**2))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """The standard normal coefficients (ξ, η) of one field, shape (2, modes)."""
        return rng.standard_normal((2, self.modes))

    def coefficients(self, xi: np.ndarray) -> np.ndarray:
        """Complex Fourier coefficients c_0 … c_modes (c_0 = 0), shape (..., modes + 1)."""
        xi = np.asarray(xi, dtype=np.float64)
        c = self.std * (xi[..., 0, :] - 1j * xi[..., 1, :]) / math.sqrt(2.0)
        return np.concatenate([np.zeros(c.shape[:-1] + (1,), complex), c], axis=-1)

    def evaluate(self, xi: np.ndarray, x: np.ndarray) -> np.ndarray:
        """u at any points x (shape (m,)); shape (m,). Exact sum of the series."""
        k = np.arange(1, self.modes + 1)
        phase = 2 * math.pi * np.outer(np.asarray(x, dtype=np.float64), k)
        s = math.sqrt(2.0) * self.std
        return np.cos(phase) @ (s * xi[0]) + np.sin(phase) @ (s * xi[1])

    def on_grid(self, xi: np.ndarray, points: int) -> np.ndarray:
        """u at x_j = j/points by inverse FFT, exact for points > 2 modes; shape
        (..., points)."""
        if points <= 2 * self.modes:
            raise ValueError(f"need more than {2 * self.modes} points, got {points}")
        c = self.coefficients(xi)
        pad = np.zeros(c.shape[:-1] + (points // 2 + 1,), complex)
        pad[..., : self.modes + 1] = c
        return np.fft.irfft(pad, n=points, axis=-1) * points


@dataclass(frozen=True)
class RBFGRF:
    """u ~ GP(0, k) on [0, 1] with the RBF kernel k(r) = exp(−r² / (2 ℓ²)), represented
    exactly by a finite trigonometric series with closed-form integrals.

    The spectral density of k is S(ω) = ℓ √(2π) e^{−ℓ²ω²/2}, and k(r) = (1/π) ∫_0^∞ S(ω)
    cos(ω r) dω. The trapezoidal rule with spacing Δω = 2π/`period` gives

        k̃(r) = Σ_{j=0}^{J} w_j cos(ω_j r),   ω_j = j Δω,   w_0 = Δω S(0)/(2π),
        w_j = Δω S(ω_j)/π,

    and u(x) = Σ_j √w_j (ξ_j cos(ω_j x) + η_j sin(ω_j x)) has covariance exactly k̃(x − x').
    By Poisson summation the untruncated sum is Σ_n k(r + n·period): on |r| <= 1 its
    difference from k is at most k(period − 1) (e^{−112} for ℓ = 0.2, period 4); truncating
    at J adds at most Σ_{j>J} w_j. `modes = J + 1` is chosen so that this tail is below
    1e-17 (`kernel_error` measures the total). Antiderivative:
    ∫_0^x u = √w_0 ξ_0 x + Σ_{j>0} √w_j (ξ_j sin(ω_j x) + η_j (1 − cos(ω_j x)))/ω_j.
    """

    length_scale: float = 0.2
    period: float = 4.0
    tail: float = 1e-17

    @property
    def frequencies(self) -> np.ndarray:
        """ω_j, shape (J + 1,)."""
        d = 2 * math.pi / self.period
        # w_j ∝ e^{−ℓ²ω²/2}: the tail Σ_{j>J} w_j is below w_{J+1}/(1 − e^{−ℓ²Δω²}) ~ w_{J+1} · few
        s0 = d * self.length_scale * math.sqrt(2 * math.pi) / math.pi
        j = 0
        while s0 * math.exp(-0.5 * (self.length_scale * d * (j + 1)) ** 2) * 10 > self.tail:
            j += 1
        return d * np.arange(j + 1)

    @property
    def weights(self) -> np.ndarray:
        """w_j, shape (J + 1,)."""
        omega = self.frequencies
        d = 2 * math.pi / self.period
        spec = (
            self.length_scale
            * math.sqrt(2 * math.pi)
            * np.exp(-0.5 * (self.length_scale * omega) ** 2)
        )
        w = d * spec / math.pi
        w[0] *= 0.5
        return w

    def kernel(self, r: np.ndarray) -> np.ndarray:
        """The represented covariance k̃(r), same shape as r."""
        r = np.asarray(r, dtype=np.float64)
        return np.cos(np.multiply.outer(r, self.frequencies)) @ self.weights

    def kernel_error(self, points: int = 2001) -> float:
        """max |k̃(r) − exp(−r²/2ℓ²)| over `points` equispaced r in [0, 1]."""
        r = np.linspace(0.0, 1.0, points)
        return float(np.max(np.abs(self.kernel(r) - np.exp(-0.5 * (r / self.length_scale) ** 2))))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """The standard normal coefficients (ξ, η), shape (2, J + 1) (η_0 multiplies
        sin(0) = 0 and is drawn only to keep the layout regular)."""
        return rng.standard_normal((2, self.frequencies.size))

    def evaluate(self, xi: np.ndarray, x: np.ndarray) -> np.ndarray:
        """u at points x (shape (m,)); shape (m,)."""
        wx = np.outer(np.asarray(x, dtype=np.float64), self.frequencies)
        s = np.sqrt(self.weights)
        return np.cos(wx) @ (s * xi[0]) + np.sin(wx) @ (s * xi[1])

    def integral(self, xi: np.ndarray, x: np.ndarray) -> np.ndarray:
        """∫_0^x u(ξ) dξ at points x (shape (m,)), in closed form; shape (m,)."""
        x = np.asarray(x, dtype=np.float64)
        omega = self.frequencies
        s = np.sqrt(self.weights)
        wx = np.outer(x, omega[1:])
        # (1 − cos θ)/ω written as 2 sin²(θ/2)/ω: no cancellation for small θ
        sin_part = np.sin(wx) / omega[1:]
        cos_part = 2.0 * np.sin(0.5 * wx) ** 2 / omega[1:]
        return s[0] * xi[0, 0] * x + sin_part @ (s[1:] * xi[0, 1:]) + cos_part @ (s[1:] * xi[1, 1:])
