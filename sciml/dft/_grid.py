"""Densities on a quadrature grid from density matrices, and the XC energy they give.

Everything is a function of arrays (AO values on the grid, weights, density matrices),
so the XC potential is `jax.grad` of `xc_energy` with respect to the density matrices:
V_xc,σ = ∂E_xc/∂P_σ, the Kohn–Sham potential matrix (Grad DFT's construction).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float


def densities(ao: Float[Array, "4 g n"], dm: Float[Array, "2 n n"]
              ) -> tuple[Float[Array, "2 g"], Float[Array, "3 g"]]:
    """Spin densities and contracted gradients on the grid.

    Args:
        ao: AO values (`ao[0]`, bohr^-3/2) and their x, y, z derivatives (`ao[1:]`).
        dm: spin density matrices (P_alpha, P_beta), symmetric.

    Returns:
        `rho` `(2, g)` (bohr^-3) and `sigma` `(3, g)` = (∇ρa·∇ρa, ∇ρa·∇ρb, ∇ρb·∇ρb)
        (bohr^-8).
    """
    t = jnp.einsum("gi,sij->sgj", ao[0], dm)  # the one O(g n²) product per spin
    rho = jnp.einsum("sgj,gj->sg", t, ao[0])
    grad = 2 * jnp.einsum("sgj,xgj->sxg", t, ao[1:])  # ∇ρ = 2 Σ P_ij φ_i ∇φ_j (P symmetric)
    sigma = jnp.stack([jnp.sum(grad[0] * grad[0], 0), jnp.sum(grad[0] * grad[1], 0),
                       jnp.sum(grad[1] * grad[1], 0)])
    return rho, sigma


def xc_energy(functional, ao: Float[Array, "4 g n"], weights: Float[Array, " g"],
              dm: Float[Array, "2 n n"]) -> Float[Array, ""]:
    """E_xc = Σ_g w_g e(ρ_g, σ_g) in hartree (the semi-local part; exact exchange is the
    SCF's)."""
    rho, sigma = densities(ao, dm)
    return jnp.sum(weights * functional.energy_density(rho, sigma))


def energy_density_on_grid(functional, ao, dm):
    """`(e, rho, sigma)` on every grid point: what `xc_energy` integrates (for reporting
    where a functional fails)."""
    rho, sigma = densities(ao, dm)
    return functional.energy_density(rho, sigma), rho, sigma
