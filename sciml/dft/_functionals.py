"""Exchange-correlation functionals as Equinox modules, and the one registry of their names.

A functional maps spin-resolved (rho, sigma) on grid points to the energy per volume
e (Ha/bohr^3), E_xc = ∫ e dr = sum_g w_g e_g; the fraction of Hartree-Fock exchange of a
hybrid is a separate number the SCF adds. Components are libxc's, composites are PySCF's
names (checked against `pyscf.dft.libxc` in the tests).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from sciml.dft import _gga, _lda

EnergyDensity = Callable[..., Float[Array, " g"]]


class ComponentSpec(NamedTuple):
    """A libxc component: its energy density, libxc id, whether it uses sigma, and libxc's
    default density threshold (bohr^-3) below which it is zero."""

    density: EnergyDensity
    libxc_id: int
    is_gga: bool
    dens_threshold: float


class AbstractFunctional(eqx.Module):
    """E_xc = ∫ e(r) dr, with e from spin-resolved densities and gradients.

    Subclasses provide `energy_density`, `exact_exchange` (fraction of Hartree-Fock
    exchange: 0.0 for pure functionals, 0.2 for B3LYP) and `is_gga` (whether sigma is used).
    """

    exact_exchange: eqx.AbstractVar[float]

    @property
    @abc.abstractmethod
    def is_gga(self) -> bool:
        """Whether `energy_density` uses sigma."""

    @abc.abstractmethod
    def energy_density(
        self, rho: Float[Array, "2 g"], sigma: Float[Array, "3 g"] | None
    ) -> Float[Array, " g"]:
        """Energy per volume (Ha/bohr^3), libxc's exc times the total density.

        rho: (2, g) spin densities (alpha, beta) in bohr^-3, >= 0; a closed shell passes
        rho_a = rho_b = rho/2. sigma: (3, g) contracted gradients (grad rho_a . grad rho_a,
        grad rho_a . grad rho_b, grad rho_b . grad rho_b) in bohr^-8, |grad rho|^2/4 each for
        a closed shell; ignored (may be None) when `is_gga` is False.
        """

    def energy(
        self,
        rho: Float[Array, "2 g"],
        sigma: Float[Array, "3 g"] | None,
        weights: Float[Array, " g"],
    ) -> Float[Array, ""]:
        """E_xc (Ha) on a quadrature grid with these weights (bohr^3); no exact exchange."""
        return jnp.sum(weights * self.energy_density(rho, sigma))


# The one registry: libxc components by libxc's (lower-case) name.
COMPONENTS: dict[str, ComponentSpec] = {
    "lda_x": ComponentSpec(_lda.lda_x, 1, False, _lda.LDA_DENS_THRESHOLD),
    "lda_c_vwn": ComponentSpec(_lda.lda_c_vwn, 7, False, _lda.LDA_DENS_THRESHOLD),
    "lda_c_vwn_rpa": ComponentSpec(_lda.lda_c_vwn_rpa, 8, False, _lda.LDA_DENS_THRESHOLD),
    "lda_c_pw": ComponentSpec(_lda.lda_c_pw, 12, False, _lda.LDA_DENS_THRESHOLD),
    "gga_x_pbe": ComponentSpec(_gga.gga_x_pbe, 101, True, _gga.GGA_X_DENS_THRESHOLD),
    "gga_x_b88": ComponentSpec(_gga.gga_x_b88, 106, True, _gga.GGA_X_DENS_THRESHOLD),
    "gga_c_pbe": ComponentSpec(_gga.gga_c_pbe, 130, True, _gga.PBE_C_DENS_THRESHOLD),
    "gga_c_lyp": ComponentSpec(_gga.gga_c_lyp, 131, True, _gga.LYP_DENS_THRESHOLD),
}

# Composites: ((component, weight), ...) and the exact-exchange fraction. B3LYP is libxc's
# HYB_GGA_XC_B3LYP (402), PySCF's "B3LYP": a0 = 0.20, ax = 0.72, ac = 0.81 with VWN-RPA.
_B3LYP_A0, _B3LYP_AX, _B3LYP_AC = 0.20, 0.72, 0.81
COMPOSITES: dict[str, tuple[tuple[tuple[str, float], ...], float]] = {
    "lda": ((("lda_x", 1.0), ("lda_c_vwn", 1.0)), 0.0),  # PySCF "LDA,VWN" = "SVWN"
    "svwn": ((("lda_x", 1.0), ("lda_c_vwn", 1.0)), 0.0),
    "svwn_rpa": ((("lda_x", 1.0), ("lda_c_vwn_rpa", 1.0)), 0.0),  # PySCF "LDA,VWN_RPA"
    "lda_pw92": ((("lda_x", 1.0), ("lda_c_pw", 1.0)), 0.0),  # PySCF "LDA,PW"
    "pbe": ((("gga_x_pbe", 1.0), ("gga_c_pbe", 1.0)), 0.0),
    "blyp": ((("gga_x_b88", 1.0), ("gga_c_lyp", 1.0)), 0.0),
    "b3lyp": (
        (
            ("lda_x", 1.0 - _B3LYP_A0 - _B3LYP_AX),  # 0.08
            ("gga_x_b88", _B3LYP_AX),
            ("lda_c_vwn_rpa", 1.0 - _B3LYP_AC),  # 0.19
            ("gga_c_lyp", _B3LYP_AC),
        ),
        _B3LYP_A0,
    ),
}


class XCComponent(AbstractFunctional):
    """One libxc component by name, e.g. `XCComponent("gga_x_b88")`; see `COMPONENTS`."""

    name: str = eqx.field(static=True)
    exact_exchange: float = eqx.field(static=True, default=0.0, kw_only=True)

    def __check_init__(self):
        if self.name not in COMPONENTS:
            raise ValueError(f"unknown XC component {self.name!r}; known: {sorted(COMPONENTS)}")

    @property
    def is_gga(self) -> bool:
        return COMPONENTS[self.name].is_gga

    def energy_density(self, rho, sigma=None):
        return COMPONENTS[self.name].density(rho, sigma)


class WeightedSum(AbstractFunctional):
    """sum_i weights[i] * terms[i], plus `exact_exchange` of Hartree-Fock exchange.

    The weights are ordinary leaves: replace them by arrays (`eqx.tree_at`) to fit them.
    """

    terms: tuple[AbstractFunctional, ...]
    weights: tuple[float, ...]
    exact_exchange: float = eqx.field(static=True, default=0.0, kw_only=True)

    def __check_init__(self):
        if len(self.terms) != len(self.weights) or not self.terms:
            raise ValueError(
                f"need one weight per term and at least one term, got {len(self.terms)} terms "
                f"and {len(self.weights)} weights"
            )

    @property
    def is_gga(self) -> bool:
        return any(term.is_gga for term in self.terms)

    def energy_density(self, rho, sigma=None):
        terms = zip(self.weights, self.terms, strict=True)
        return sum(w * t.energy_density(rho, sigma) for w, t in terms)


def available_functionals() -> list[str]:
    """Names `functional` accepts: composites, then libxc components."""
    return [*COMPOSITES, *COMPONENTS]


def functional(name: str) -> AbstractFunctional:
    """A functional by name (case-insensitive): a composite such as "lda" (PySCF "LDA,VWN"),
    "svwn_rpa", "lda_pw92", "pbe", "blyp", "b3lyp", or a libxc component such as "gga_x_b88".
    """
    key = name.lower()
    if key in COMPOSITES:
        parts, exact_exchange = COMPOSITES[key]
        return WeightedSum(
            tuple(XCComponent(c) for c, _ in parts),
            tuple(w for _, w in parts),
            exact_exchange=exact_exchange,
        )
    if key in COMPONENTS:
        return XCComponent(key)
    raise ValueError(f"unknown functional {name!r}; known: {', '.join(available_functionals())}")
