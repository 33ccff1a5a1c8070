"""Neural operators on one sample: Fourier neural operators, MgNO and DeepONet.

A field is an array `(channels, n1, ..., nd)`, channels first; a module maps one sample and
callers `jax.vmap` over a batch. Parameters are drawn in JAX's default float dtype; `cast`
a model to `jnp.float32` for fast training (the models compute in their parameters' dtype).
"""

from sciml.neural_operators._common import cast, count_params
from sciml.neural_operators._deeponet import DeepONet, FourierTrunk
from sciml.neural_operators._field_map import FieldMap, field_map
from sciml.neural_operators._fno import FNO, SpectralConv, grid_coordinates
from sciml.neural_operators._mgno import MgNO, VCycle

__all__ = [
    "FNO",
    "DeepONet",
    "FourierTrunk",
    "FieldMap",
    "MgNO",
    "SpectralConv",
    "VCycle",
    "cast",
    "count_params",
    "field_map",
    "grid_coordinates",
]
