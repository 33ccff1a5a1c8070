"""GGA energy densities: PBE and B88 exchange, PBE and LYP correlation.

Each is a function (rho (2, ...), sigma (3, ...)) -> e (...,) in Ha/bohr^3, spin-polarised
forms everywhere; see `sciml.dft._common` for the conventions and the threshold handling.
Formulas and constants are those of libxc 7 (its maple sources gga_x_pbe, gga_x_b88,
gga_c_pbe, gga_c_lyp), which the tests check to ~1e-12.

Everything is written in sigma, never sqrt(sigma), so second derivatives stay finite and
accurate as sigma -> 0 (B88's x asinh(x) is an even function of x, evaluated from x^2).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from sciml.dft._common import (
    X_FACTOR_C,
    SpinVariables,
    energy_density,
    exchange_channel,
    opz_pow,
    pow_thirds,
    spin_variables,
)
from sciml.dft._lda import PW92_MOD, eps_pw92

#: libxc's default density thresholds (bohr^-3) of these GGAs.
GGA_X_DENS_THRESHOLD = 1e-15
PBE_C_DENS_THRESHOLD = 1e-12
LYP_DENS_THRESHOLD = 1e-14

#: s = X2S x: the PBE reduced gradient from x = |grad rho_s| / rho_s^(4/3).
X2S = 1.0 / (2.0 * (6.0 * np.pi**2) ** (1.0 / 3.0))


def _reduced_gradient_sq(sigma_ss: Array, rho_s: Array) -> Array:
    """x_s^2 = sigma_ss / rho_s^(8/3) (dimensionless)."""
    return sigma_ss / pow_thirds(rho_s, 8)


def _exchange(v: SpinVariables, enhancement, dens_threshold: float) -> Array:
    """Energy per particle of a spin-separable GGA exchange with enhancement F(x^2)."""
    f_a = enhancement(_reduced_gradient_sq(v.sigma_aa, v.rho_a))
    f_b = enhancement(_reduced_gradient_sq(v.sigma_bb, v.rho_b))
    return exchange_channel(v, v.rho_a, v.opz_a, f_a, dens_threshold, v.opz_b) + exchange_channel(
        v, v.rho_b, v.opz_b, f_b, dens_threshold, v.opz_a
    )


# --- PBE exchange ---------------------------------------------------------------------------
PBE_KAPPA = 0.8040
#: mu = beta pi^2 / 3 with PBE correlation's beta (libxc MU_PBE).
PBE_MU = 0.06672455060314922 * np.pi**2 / 3.0


def _pbe_enhancement(x2: Array) -> Array:
    s2 = X2S**2 * x2
    return 1.0 + PBE_KAPPA - PBE_KAPPA**2 / (PBE_KAPPA + PBE_MU * s2)


def gga_x_pbe(
    rho: Float[Array, "2 ..."],
    sigma: Float[Array, "3 ..."],
    *,
    dens_threshold: float = GGA_X_DENS_THRESHOLD,
) -> Float[Array, " ..."]:
    """PBE exchange (libxc GGA_X_PBE = 101): F(s) = 1 + kappa - kappa^2 / (kappa + mu s^2)."""
    v = spin_variables(rho, sigma, dens_threshold)
    return energy_density(v, _exchange(v, _pbe_enhancement, dens_threshold))


# --- Becke 88 exchange ----------------------------------------------------------------------
B88_BETA = 0.0042
B88_GAMMA = 6.0


def _x_asinh_x(x2: Array) -> Array:
    """x asinh(x) from x^2: a Taylor series near 0 (where sqrt has no derivative), exact beyond."""
    small = x2 < 1e-4  # the next series term is ~3e-18 relative here
    s = jnp.where(small, x2, 0.0)  # double where: each branch sees only its own inputs
    series = s * (1.0 - s / 6.0 + 3.0 * s**2 / 40.0 - 15.0 * s**3 / 336.0)
    x = jnp.sqrt(jnp.where(small, 1.0, x2))
    return jnp.where(small, series, x * jnp.arcsinh(x))


def _b88_enhancement(x2: Array) -> Array:
    return 1.0 + B88_BETA / X_FACTOR_C * x2 / (1.0 + B88_GAMMA * B88_BETA * _x_asinh_x(x2))


def gga_x_b88(
    rho: Float[Array, "2 ..."],
    sigma: Float[Array, "3 ..."],
    *,
    dens_threshold: float = GGA_X_DENS_THRESHOLD,
) -> Float[Array, " ..."]:
    """Becke 88 exchange (libxc GGA_X_B88 = 106): F = 1 + beta/X x^2 / (1 + 6 beta x asinh x)."""
    v = spin_variables(rho, sigma, dens_threshold)
    return energy_density(v, _exchange(v, _b88_enhancement, dens_threshold))


# --- PBE correlation ------------------------------------------------------------------------
PBE_BETA = 0.06672455060314922
PBE_GAMMA = (1.0 - np.log(2.0)) / np.pi**2


def gga_c_pbe(
    rho: Float[Array, "2 ..."],
    sigma: Float[Array, "3 ..."],
    *,
    dens_threshold: float = PBE_C_DENS_THRESHOLD,
) -> Float[Array, " ..."]:
    """PBE correlation (libxc GGA_C_PBE = 130): PW92 (modified) plus the gradient term H."""
    v = spin_variables(rho, sigma, dens_threshold)
    eps_lda = eps_pw92(v, PW92_MOD)
    phi = 0.5 * (opz_pow(v.opz_a, 2) + opz_pow(v.opz_b, 2))
    phi3 = phi**3
    # t^2 = |grad n|^2 / (2 phi k_s n)^2, written with x_t^2 = |grad n|^2 / n^(8/3) and r_s
    t2 = v.sigma_total / (v.n * v.n13) ** 2 / (16.0 * 2.0 ** (2.0 / 3.0) * phi**2 * v.rs)
    a = PBE_BETA / (PBE_GAMMA * jnp.expm1(-eps_lda / (PBE_GAMMA * phi3)))
    f1 = t2 + a * t2**2
    h = PBE_GAMMA * phi3 * jnp.log1p(PBE_BETA * f1 / (PBE_GAMMA * (1.0 + a * f1)))
    return energy_density(v, eps_lda + h)


# --- Lee-Yang-Parr correlation ------------------------------------------------------------
LYP_A, LYP_B, LYP_C, LYP_D = 0.04918, 0.132, 0.2533, 0.349
_LYP_CF = 3.0 / 10.0 * (3.0 * np.pi**2) ** (2.0 / 3.0)


def gga_c_lyp(
    rho: Float[Array, "2 ..."],
    sigma: Float[Array, "3 ..."],
    *,
    dens_threshold: float = LYP_DENS_THRESHOLD,
) -> Float[Array, " ..."]:
    """Lee-Yang-Parr correlation (libxc GGA_C_LYP = 131), in Miehlich et al.'s form.

    Written, as libxc does, in r = n^(-1/3), zeta and the reduced gradients
    x_t^2 = |grad n|^2 / n^(8/3), x_s^2 = sigma_ss / rho_s^(8/3).
    """
    v = spin_variables(rho, sigma, dens_threshold)
    r = 1.0 / v.n13
    omega = LYP_B * jnp.exp(-LYP_C * r) / (1.0 + LYP_D * r)
    delta = (LYP_C + LYP_D / (1.0 + LYP_D * r)) * r
    one_m_z2 = 1.0 - v.zeta**2
    xt2 = v.sigma_total / (v.n * v.n13) ** 2
    xa2 = _reduced_gradient_sq(v.sigma_aa, v.rho_a)
    xb2 = _reduced_gradient_sq(v.sigma_bb, v.rho_b)
    pa83, pb83 = opz_pow(v.opz_a, 8), opz_pow(v.opz_b, 8)
    pa113, pb113 = opz_pow(v.opz_a, 11), opz_pow(v.opz_b, 11)
    aux6 = 2.0 ** (-8.0 / 3.0)
    aux4 = aux6 / 4.0
    aux5 = aux4 / 18.0
    t1 = -one_m_z2 / (1.0 + LYP_D * r)
    t2 = -xt2 * (one_m_z2 * (47.0 - 7.0 * delta) / 72.0 - 2.0 / 3.0)
    t3 = -_LYP_CF / 2.0 * one_m_z2 * (pa83 + pb83)
    t4 = aux4 * one_m_z2 * (2.5 - delta / 18.0) * (xa2 * pa83 + xb2 * pb83)
    t5 = aux5 * one_m_z2 * (delta - 11.0) * (xa2 * pa113 + xb2 * pb113)
    t6 = -aux6 * (
        2.0 / 3.0 * (xa2 * pa83 + xb2 * pb83)
        - opz_pow(v.opz_a, 6) * xb2 * pb83 / 4.0
        - opz_pow(v.opz_b, 6) * xa2 * pa83 / 4.0
    )
    return energy_density(v, LYP_A * (t1 + omega * (t2 + t3 + t4 + t5 + t6)))

