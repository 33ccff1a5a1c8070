"""Radial bases and smooth cut-offs (r in Å)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


class BesselBasis(eqx.Module):
    """√(2/r_c) sin(nπr/r_c)/r, n = 1…n_basis (DimeNet, MACE), `(...,) -> (..., n_basis)`.

    The frequencies are fixed (not trained) so the basis is the same in every model."""

    r_cut: float = eqx.field(static=True)
    n_basis: int = eqx.field(static=True, default=8)

    def __call__(self, r: Float[Array, ...]) -> Float[Array, "... n_basis"]:
        n = jnp.arange(1, self.n_basis + 1, dtype=r.dtype)
        return (np.sqrt(2.0 / self.r_cut) * jnp.sin(n * np.pi * r[..., None] / self.r_cut)
                / r[..., None])


class PolynomialCutoff(eqx.Module):
    """The envelope 1 − (p+1)(p+2)/2 x^p + p(p+2) x^{p+1} − p(p+1)/2 x^{p+2}, x = r/r_c,
    zero beyond r_c (Klicpera et al. 2020): it and its first two derivatives vanish at r_c, so
    energies, forces and their derivative are continuous as atoms cross the cut-off — what
    energy conservation in MD needs."""

    r_cut: float = eqx.field(static=True)
    p: int = eqx.field(static=True, default=5)

    def __call__(self, r: Float[Array, ...]) -> Float[Array, ...]:
        p, x = self.p, r / self.r_cut
        f = (1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1)
             - p * (p + 1) / 2 * x ** (p + 2))
        return jnp.where(x < 1, f, 0.0)
