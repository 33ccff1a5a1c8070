"""Shared numerics of the exchange-correlation energy densities.

Atomic units throughout: densities in bohr^-3, contracted gradients in bohr^-8, energies
in Hartree. Every energy density takes spin-resolved inputs

    rho:   (2, ...) spin densities (rho_a, rho_b), >= 0
    sigma: (3, ...) contracted gradients (grad rho_a . grad rho_a, grad rho_a . grad rho_b,
           grad rho_b . grad rho_b)

and returns the energy per volume e (...,) with E_xc = ∫ e dr, equal to libxc's exc times
the total density as given.

Inputs are sanitised the way libxc 7 does (`work_gga_inc.c`, with each functional's own
`dens_threshold`):

- a point whose total density is below `dens_threshold` contributes nothing;
- each spin density is floored at `dens_threshold`, sigma_aa and sigma_bb at
  `dens_threshold^(8/3)` (libxc's sigma_threshold squared), and sigma_ab clipped to
  ±(sigma_aa + sigma_bb)/2 (so that |grad rho|^2 >= 0);
- 1 ± zeta is floored at machine epsilon (libxc's zeta_threshold).

libxc reports derivatives at the sanitised point, so the floors and clips are
"straight-through": the value is floored, the derivative passes as if it were not. Below
the total threshold the inputs are replaced by harmless ones before any arithmetic (the
"double where"), so values and first and second derivatives are finite at rho = 0,
sigma = 0 and fully polarised points (rho_b = 0), never NaN.

Where this deliberately differs from libxc's arithmetic (the tests quantify each):
1 ± zeta is 2 rho_s / n, not 1 ± (rho_a - rho_b)/n (which loses digits when one spin is
relatively tiny); log1p and expm1 where libxc writes log(1 + x) and exp(x) - 1 (which lose
digits at r_s > 1e3); and e is n_given * eps with n_given the total density as given, so
where a spin density is floored our potential is the derivative of that, while libxc's
vrho is the derivative of n_floored * eps.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

#: libxc's zeta_threshold: 1 ± zeta below this is treated as this (DBL_EPSILON).
ZETA_THRESHOLD = float(np.finfo(np.float64).eps)

#: 3/8 (3/pi)^(1/3) 4^(2/3): e_x of one spin channel is -X_FACTOR_C rho_s^(4/3) times
#: the enhancement factor (libxc's X_FACTOR_C).
X_FACTOR_C = 3.0 / 8.0 * (3.0 / np.pi) ** (1.0 / 3.0) * 4.0 ** (2.0 / 3.0)

#: r_s = RS_FACTOR / n^(1/3), the Wigner-Seitz radius of total density n.
RS_FACTOR = (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0)


def floor_straight_through(x: Array, lower: float | Array) -> Array:
    """max(x, lower) in value, with derivative 1 (libxc's derivative at the floored point)."""
    return jax.lax.stop_gradient(jnp.maximum(x, lower)) + (x - jax.lax.stop_gradient(x))


def clip_straight_through(x: Array, lower: Array, upper: Array) -> Array:
    """clip(x, lower, upper) in value, with derivative 1 in x (and 0 in the bounds)."""
    clipped = jnp.clip(x, jax.lax.stop_gradient(lower), jax.lax.stop_gradient(upper))
    return jax.lax.stop_gradient(clipped) + (x - jax.lax.stop_gradient(x))


def pow_thirds(x: Array, thirds: int) -> Array:
    """x^(thirds/3) for x > 0, from one cube root and integer powers.

    Cheaper to compile and differentiate than a general power (whose lowering handles
    negative, zero and infinite bases), and as accurate.
    """
    if thirds < 0:
        return 1.0 / pow_thirds(x, -thirds)
    whole, rest = divmod(thirds, 3)
    out = x**whole if whole else None
    if rest:
        c = jnp.cbrt(x) ** rest
        out = c if out is None else out * c
    return jnp.ones_like(x) if out is None else out


def opz_pow(opz: Array, thirds: int) -> Array:
    """(1 ± zeta)^(thirds/3), with 1 ± zeta <= ZETA_THRESHOLD replaced by ZETA_THRESHOLD.

    libxc's opz_pow_n: the constant branch has zero derivative, and its base never reaches
    the power (double where), so negative powers stay finite at full polarisation.
    """
    small = opz <= ZETA_THRESHOLD
    safe = jnp.where(small, 1.0, opz)
    return jnp.where(small, ZETA_THRESHOLD ** (thirds / 3.0), pow_thirds(safe, thirds))


def f_zeta(opz_a: Array, opz_b: Array) -> Array:
    """Spin interpolation f(zeta) = ((1+z)^(4/3) + (1-z)^(4/3) - 2) / (2^(4/3) - 2)."""
    return (opz_pow(opz_a, 4) + opz_pow(opz_b, 4) - 2.0) / (2.0 ** (4.0 / 3.0) - 2.0)


class SpinVariables(NamedTuple):
    """Sanitised inputs of one evaluation; every array has the point shape (...)."""

    mask: Bool[Array, " ..."]  # total density at or above the threshold
    n_given: Float[Array, " ..."]  # total density as given: multiplies the energy per particle
    rho_a: Float[Array, " ..."]  # spin densities, floored
    rho_b: Float[Array, " ..."]
    n: Float[Array, " ..."]  # rho_a + rho_b (floored)
    n13: Float[Array, " ..."]  # n^(1/3)
    zeta: Float[Array, " ..."]  # (rho_a - rho_b) / n
    opz_a: Float[Array, " ..."]  # 1 + zeta = 2 rho_a / n (no cancellation near full polarisation)
    opz_b: Float[Array, " ..."]  # 1 - zeta = 2 rho_b / n
    rs: Float[Array, " ..."]  # Wigner-Seitz radius (bohr)
    sigma_aa: Float[Array, " ..."]  # floored / clipped contracted gradients
    sigma_ab: Float[Array, " ..."]
    sigma_bb: Float[Array, " ..."]

    @property
    def sigma_total(self) -> Float[Array, " ..."]:
        """|grad n|^2 = sigma_aa + 2 sigma_ab + sigma_bb (>= 0 by the clip)."""
        return self.sigma_aa + 2.0 * self.sigma_ab + self.sigma_bb


def spin_variables(
    rho: Float[Array, "2 ..."], sigma: Float[Array, "3 ..."] | None, dens_threshold: float
) -> SpinVariables:
    """Sanitise (rho, sigma) as libxc does for a functional with this `dens_threshold`."""
    rho = jnp.asarray(rho)
    n_given = rho[0] + rho[1]
    mask = n_given >= dens_threshold  # libxc skips a point when dens < dens_threshold
    # double where: points that will be discarded get a harmless density before any arithmetic
    rho_a = floor_straight_through(jnp.where(mask, rho[0], 1.0), dens_threshold)
    rho_b = floor_straight_through(jnp.where(mask, rho[1], 1.0), dens_threshold)
    n = rho_a + rho_b
    n13 = jnp.cbrt(n)
    if sigma is None:
        zero = jnp.zeros_like(n)
        s_aa = s_ab = s_bb = zero
    else:
        sigma = jnp.asarray(sigma)
        sigma_floor = dens_threshold ** (8.0 / 3.0)  # libxc: sigma_threshold^2
        s_aa = floor_straight_through(jnp.where(mask, sigma[0], 0.0), sigma_floor)
        s_bb = floor_straight_through(jnp.where(mask, sigma[2], 0.0), sigma_floor)
        s_ave = 0.5 * (s_aa + s_bb)
        s_ab = clip_straight_through(jnp.where(mask, sigma[1], 0.0), -s_ave, s_ave)
    return SpinVariables(
        mask=mask,
        n_given=n_given,
        rho_a=rho_a,
        rho_b=rho_b,
        n=n,
        n13=n13,
        zeta=(rho_a - rho_b) / n,
        opz_a=2.0 * rho_a / n,
        opz_b=2.0 * rho_b / n,
        rs=RS_FACTOR / n13,
        sigma_aa=s_aa,
        sigma_ab=s_ab,
        sigma_bb=s_bb,
    )


def energy_density(v: SpinVariables, eps: Float[Array, " ..."]) -> Float[Array, " ..."]:
    """Energy per volume from energy per particle: n_given * eps, zero below the threshold."""
    return jnp.where(v.mask, v.n_given * eps, 0.0)


def exchange_channel(
    v: SpinVariables,
    rho_s: Array,
    opz_s: Array,
    enhancement: Array | float,
    dens_threshold: float,
    opz_other: Array | None = None,
) -> Array:
    """Energy per particle of one spin channel of an exchange, zero if rho_s is screened.

    -X_FACTOR_C 2^(-4/3) (1 ± zeta)^(4/3) n^(1/3) F, i.e. -X_FACTOR_C rho_s^(4/3) F / n.
    With `opz_other` (libxc's GGA exchanges, its z_thr), 1 ± zeta is also frozen at
    2 - ZETA_THRESHOLD when the other channel's 1 ∓ zeta is below the threshold, so that
    channel's density enters only through n^(1/3) (libxc's potential for an empty channel).
    """
    opz = opz_s
    if opz_other is not None:
        opz = jnp.where(opz_other <= ZETA_THRESHOLD, 2.0 - ZETA_THRESHOLD, opz_s)
    eps = -X_FACTOR_C * 2.0 ** (-4.0 / 3.0) * opz_pow(opz, 4) * v.n13
    return jnp.where(rho_s <= dens_threshold, 0.0, eps * enhancement)
