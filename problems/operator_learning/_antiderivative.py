"""The antiderivative operator, DeepONet's first example (Lu et al. 2021), with an exact
reference.

    s'(x) = u(x),  s(0) = 0,   i.e.  s(x) = ∫_0^x u(ξ) dξ,   x in [0, 1],

u a mean-zero Gaussian process with the RBF kernel exp(−(x − x')²/(2ℓ²)), ℓ = 0.2 (the
DeepONet paper's length scale). All quantities are dimensionless.

Reference. u is represented by a finite trigonometric series whose covariance equals the RBF
kernel on [0, 1] to 2.2e-16 (`RBFGRF`: trapezoidal rule on the kernel's spectral density,
29 frequencies spaced π/2, measured by `RBFGRF.kernel_error`), so u is drawn from the stated
Gaussian process up to that kernel difference, and s is the series' closed-form integral:
exact to rounding at any x. Sensors are m = 100 equispaced points x_j = j/(m − 1) (DeepONet),
outputs on the same grid; other resolutions evaluate the same closed forms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sciml import checks
from sciml.problems.base import Reference
from sciml.problems.operator_learning._base import (
    OperatorLearningProblem,
    Samples,
    check_indices,
)
from sciml.problems.operator_learning._grf import RBFGRF


def sensor_grid(m: int) -> np.ndarray:
    """The m equispaced points j/(m − 1), j = 0 … m − 1, on [0, 1]; shape (m,)."""
    if m < 2:
        raise ValueError(f"need at least 2 sensors, got {m}")
    return np.linspace(0.0, 1.0, m)


class Antiderivative(OperatorLearningProblem):
    """DeepONet's antiderivative operator u ↦ s, s(x) = ∫_0^x u, on [0, 1].

    Inputs u and outputs s are point values at the m sensors `sensor_grid(m)`.

    Args:
        length_scale: ℓ of the RBF kernel of u (default 0.2).
    """

    name = "antiderivative"
    input = "u"
    output = "s"
    dims = ("x",)
    resolutions = (100, 50, 200, 500, 1000)

    def __init__(self, length_scale: float = 0.2):
        self.length_scale = checks.positive("length_scale", length_scale)
        # Period max(4, 20ℓ): on [0, 1] the nearest periodic image of the kernel is at
        # distance >= 15ℓ, where it is below e^{−112}; the tail criterion sets the frequencies.
        self.grf = RBFGRF(length_scale=self.length_scale, period=max(4.0, 20 * self.length_scale))

    @property
    def params(self) -> dict[str, float]:
        return {"length_scale": self.length_scale}

    @property
    def reference(self) -> Reference:
        return Reference(
            kind="analytic",
            tolerance=1e-14,
            evidence=(
                f"u is a {self.grf.frequencies.size}-frequency trigonometric series whose "
                f"covariance matches the RBF kernel to {self.grf.kernel_error():.1e} on [0, 1] "
                "(RBFGRF.kernel_error); s is its closed-form integral, equal to adaptive "
                "quadrature of u to ~1e-15 (tests/problems/test_operator_problems.py)"
            ),
        )

    def grid(self, n: int) -> np.ndarray:
        """The n sensors j/(n − 1) (`sensor_grid`)."""
        return sensor_grid(n)

    def input_function(self, xi: np.ndarray, x: np.ndarray) -> np.ndarray:
        """u at points x in [0, 1] (shape (m,)); shape (m,)."""
        return self.grf.evaluate(xi, x)

    def output_function(self, xi: np.ndarray, x: np.ndarray) -> np.ndarray:
        """s(x) = ∫_0^x u, in closed form, at points x (shape (m,)); shape (m,)."""
        return self.grf.integral(xi, x)

    def sample(
        self,
        seed: int,
        indices: Sequence[int],
        *,
        stream: int = 0,
        resolutions: Sequence[int] | None = None,
    ) -> Samples:
        """Samples `indices` of `stream` on m equispaced points for each m in `resolutions`
        (default `self.resolutions`).

        Returns:
            {m: {"u": u_m, "s": s_m}}, arrays of shape (len(indices), m) on
            `sensor_grid(m)`.
        """
        indices = check_indices(indices)
        resolutions = self._resolutions(resolutions)
        out = self._empty(len(indices), resolutions)
        for k, index in enumerate(indices):
            xi = self.draw(seed, index, stream=stream)
            for m in resolutions:
                x = sensor_grid(m)
                out[m]["u"][k] = self.input_function(xi, x)
                out[m]["s"][k] = self.output_function(xi, x)
        return out
