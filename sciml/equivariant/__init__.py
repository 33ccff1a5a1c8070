"""E(3)-equivariant tensor products on `e3nn_jax.IrrepsArray`s.

- `cg_product(x, y, filter_ir_out=None)`: Clebsch–Gordan tensor product, one output block
  per path (l1, l2 → l3), elementwise over leading axes (a thin wrapper over
  `e3nn.tensor_product`).
- `GauntProduct(lmax1, lmax2, lmax_out)(x, y)` and `gaunt_product(x, y, lmax_out)`: the
  Gaunt tensor product, i.e. the coefficients of the pointwise product of two functions on
  the sphere, computed exactly on a Gauss–Legendre × uniform grid with three dense matrix
  products. Inputs must have natural parity (0e + 1o + 2e + …, each l once).
- `gaunt_coefficient(l1, l2, l3)`: the closed-form weight relating the two.

Channels go on leading axes (`x.mul_to_axis()`), which both products broadcast.
"""

from sciml.equivariant._cg import cg_product
from sciml.equivariant._gaunt import GauntProduct, gaunt_coefficient, gaunt_product, grid_size

__all__ = ["GauntProduct", "cg_product", "gaunt_coefficient", "gaunt_product", "grid_size"]
