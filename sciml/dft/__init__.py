"""Density functional theory in JAX: exchange-correlation energy densities checked against libxc.

Functionals take spin-resolved densities rho (2, g) and contracted gradients sigma (3, g)
and return the energy per volume e (g,) in Ha/bohr^3 (E_xc = ∫ e dr); see
`AbstractFunctional`. `NeuralFunctional` weights component energy densities by a network of
local features (Grad DFT form); `densities`/`xc_energy` evaluate on a grid from density
matrices, so the XC potential is `jax.grad` of `xc_energy`. The component functions
(`lda_x`, `gga_c_lyp`, ...) have the same (rho, sigma) -> e signature, for weighting by a
learned model.
"""

from sciml.dft._functionals import (
    COMPONENTS,
    COMPOSITES,
    AbstractFunctional,
    WeightedSum,
    XCComponent,
    available_functionals,
    functional,
)
from sciml.dft._gga import gga_c_lyp, gga_c_pbe, gga_x_b88, gga_x_pbe
from sciml.dft._grid import densities, xc_energy
from sciml.dft._lda import lda_c_pw, lda_c_vwn, lda_c_vwn_rpa, lda_x
from sciml.dft._neural import NeuralFunctional, local_features

__all__ = [
    "COMPONENTS",
    "COMPOSITES",
    "AbstractFunctional",
    "NeuralFunctional",
    "WeightedSum",
    "XCComponent",
    "available_functionals",
    "densities",
    "functional",
    "gga_c_lyp",
    "gga_c_pbe",
    "gga_x_b88",
    "gga_x_pbe",
    "lda_c_pw",
    "lda_c_vwn",
    "lda_c_vwn_rpa",
    "lda_x",
    "local_features",
    "xc_energy",
]
