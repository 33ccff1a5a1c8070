"""LDA energy densities: Slater exchange and the VWN5, VWN-RPA and PW92 correlations.

Each is a function (rho (2, ...), sigma (3, ...) or None) -> e (...,) in Ha/bohr^3 (sigma
is ignored), spin-polarised forms everywhere; see `sciml.dft._common` for the conventions
and the threshold handling. Formulas and constants are those of libxc 7 (its maple
sources lda_x, lda_c_vwn, lda_c_vwn_rpa, lda_c_pw), which the tests check to ~1e-12.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from sciml.dft._common import (
    SpinVariables,
    energy_density,
    exchange_channel,
    f_zeta,
    spin_variables,
)

#: libxc's default density threshold of these LDAs (bohr^-3).
LDA_DENS_THRESHOLD = 1e-15


def lda_x(
    rho: Float[Array, "2 ..."],
    sigma: Float[Array, "3 ..."] | None = None,
    *,
    dens_threshold: float = LDA_DENS_THRESHOLD,
) -> Float[Array, " ..."]:
    """Slater exchange (libxc LDA_X = 1): e = -(3/4)(6/pi)^(1/3) sum_s rho_s^(4/3)."""
    v = spin_variables(rho, None, dens_threshold)
    eps = exchange_channel(v, v.rho_a, v.opz_a, 1.0, dens_threshold) + exchange_channel(
        v, v.rho_b, v.opz_b, 1.0, dens_threshold
    )
    return energy_density(v, eps)


# --- Vosko-Wilk-Nusair ----------------------------------------------------------------------
# Parameters of VWN's Pade interpolation in x = sqrt(rs), in Hartree (the paper's Rydberg values
# halved): (A, b, c, x0) for the paramagnetic, ferromagnetic and spin-stiffness fits.
_VWN5 = {
    "para": (0.0310907, 3.72744, 12.9352, -0.10498),
    "ferro": (0.01554535, 7.06042, 18.0578, -0.32500),
    "stiffness": (-1.0 / (6.0 * np.pi**2), 1.13107, 13.0045, -0.0047584),
}
_VWN_RPA = {
    "para": (0.0310907, 13.0720, 42.7198, -0.409286),
    "ferro": (0.01554535, 20.1231, 101.578, -0.743294),
}
# f''(0) of the spin interpolation f(zeta)
_FPP = 4.0 / (9.0 * (2.0 ** (1.0 / 3.0) - 1.0))


def _vwn_fit(params: tuple[float, float, float, float], rs: Array) -> Array:
    """VWN's interpolation formula for the correlation energy per particle at fixed zeta."""
    a, b, c, x0 = params
    q = np.sqrt(4.0 * c - b**2)
    f1 = 2.0 * b / q
    f2 = b * x0 / (x0**2 + b * x0 + c)
    f3 = 2.0 * (2.0 * x0 + b) / q
    x = jnp.sqrt(rs)
    fx = rs + b * x + c
    return a * (
        jnp.log(rs / fx)
        + (f1 - f2 * f3) * jnp.arctan(q / (2.0 * x + b))
        - f2 * jnp.log((x - x0) ** 2 / fx)
    )


def _eps_vwn5(v: SpinVariables) -> Array:
    para = _vwn_fit(_VWN5["para"], v.rs)
    ferro = _vwn_fit(_VWN5["ferro"], v.rs)
    stiffness = _vwn_fit(_VWN5["stiffness"], v.rs)
    fz = f_zeta(v.opz_a, v.opz_b)
    z4 = v.zeta**4
    return para + stiffness * fz * (1.0 - z4) / _FPP + (ferro - para) * fz * z4


def _eps_vwn_rpa(v: SpinVariables) -> Array:
    fz = f_zeta(v.opz_a, v.opz_b)
    return _vwn_fit(_VWN_RPA["para"], v.rs) * (1.0 - fz) + _vwn_fit(_VWN_RPA["ferro"], v.rs) * fz


def lda_c_vwn(
    rho: Float[Array, "2 ..."],
    sigma: Float[Array, "3 ..."] | None = None,
    *,
    dens_threshold: float = LDA_DENS_THRESHOLD,
) -> Float[Array, " ..."]:
    """VWN5 correlation (libxc LDA_C_VWN = 7; PySCF's "VWN"), with its spin-stiffness fit."""
    v = spin_variables(rho, None, dens_threshold)
    return energy_density(v, _eps_vwn5(v))


def lda_c_vwn_rpa(
    rho: Float[Array, "2 ..."],
    sigma: Float[Array, "3 ..."] | None = None,
    *,
    dens_threshold: float = LDA_DENS_THRESHOLD,
) -> Float[Array, " ..."]:
    """VWN fit to RPA correlation (libxc LDA_C_VWN_RPA = 8; the LDA part of B3LYP)."""
    v = spin_variables(rho, None, dens_threshold)
    return energy_density(v, _eps_vwn_rpa(v))


# --- Perdew-Wang 92 -------------------------------------------------------------------------
class PW92Params(NamedTuple):
    """PW92 fit parameters for (paramagnetic, ferromagnetic, -spin stiffness) and f''(0)."""

    a: tuple[float, float, float]
    alpha1: tuple[float, float, float]
    beta1: tuple[float, float, float]
    beta2: tuple[float, float, float]
    beta3: tuple[float, float, float]
    beta4: tuple[float, float, float]
    fz20: float


_PW_ALPHA1 = (0.21370, 0.20548, 0.11125)
_PW_BETAS = (
    (7.5957, 14.1189, 10.357),
    (3.5876, 6.1977, 3.6231),
    (1.6382, 3.3662, 0.88026),
    (0.49294, 0.62517, 0.49671),
)
#: The PW92 paper's parameters (libxc LDA_C_PW = 12).
PW92 = PW92Params((0.031091, 0.015545, 0.016887), _PW_ALPHA1, *_PW_BETAS, 1.709921)
#: The same with the more precise a and f''(0) that PBE correlation uses (libxc LDA_C_PW_MOD).
PW92_MOD = PW92Params(
    (0.0310907, 0.01554535, 0.0168869), _PW_ALPHA1, *_PW_BETAS, 1.709920934161365617563962776245
)


def _pw_fit(p: PW92Params, k: int, rs: Array) -> Array:
    """G(rs) of PW92's eq. (10) for fit k; k = 2 is minus the spin stiffness."""
    x = jnp.sqrt(rs)
    poly = p.beta1[k] * x + p.beta2[k] * rs + p.beta3[k] * rs * x + p.beta4[k] * rs**2
    denom = 2.0 * p.a[k] * poly
    return -2.0 * p.a[k] * (1.0 + p.alpha1[k] * rs) * jnp.log1p(1.0 / denom)


def eps_pw92(v: SpinVariables, p: PW92Params = PW92) -> Array:
    """PW92 correlation energy per particle (Ha), eq. (8) with the spin interpolation f(zeta)."""
    g_para, g_ferro, g_stiff = (_pw_fit(p, k, v.rs) for k in range(3))
    fz = f_zeta(v.opz_a, v.opz_b)
    return g_para + v.zeta**4 * fz * (g_ferro - g_para + g_stiff / p.fz20) - fz * g_stiff / p.fz20


def lda_c_pw(
    rho: Float[Array, "2 ..."],
    sigma: Float[Array, "3 ..."] | None = None,
    *,
    dens_threshold: float = LDA_DENS_THRESHOLD,
) -> Float[Array, " ..."]:
    """Perdew-Wang 92 correlation (libxc LDA_C_PW = 12; PySCF's "PW")."""
    v = spin_variables(rho, None, dens_threshold)
    return energy_density(v, eps_pw92(v, PW92))
