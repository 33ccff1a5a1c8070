"""Clebsch–Gordan tensor product, channel-wise: a thin wrapper over `e3nn.tensor_product`."""

from __future__ import annotations

import e3nn_jax as e3nn
import numpy as np


def cg_product(
    x: e3nn.IrrepsArray,
    y: e3nn.IrrepsArray,
    filter_ir_out: e3nn.Irreps | str | list | None = None,
    *,
    irrep_normalization: str = "component",
) -> e3nn.IrrepsArray:
    """Clebsch–Gordan tensor product of `x` and `y`, one output block per path.

    Every pair of irreps (l1 of `x`, l2 of `y`) couples to each l3 in |l1 − l2| … l1 + l2
    (parity p1·p2), keeping only the l3 in `filter_ir_out` if it is given. The product is
    elementwise over the leading axes: put channels on a leading axis
    (`x.mul_to_axis()`), since multiplicities are multiplied out (mul1·mul2 copies per
    path), as in `e3nn.tensor_product`, which this calls unchanged.

    Args:
        x: shape `(*leading, x.irreps.dim)`.
        y: shape `(*leading, y.irreps.dim)`; the leading shapes must broadcast together.
        filter_ir_out: the output irreps to keep (e.g. `"0e + 1o + 2e"`); all if None.
        irrep_normalization: e3nn's `"component"` (default here, whatever e3nn's global
            config says: each path is √(2 l3 + 1) · C, so unit-variance components in give
            unit-variance components out), `"norm"` or `"none"` (the bare real CG
            coefficients C, Σ C² = 1 per path).

    Returns:
        `IrrepsArray` of shape `(*broadcast(leading), irreps_out.dim)`, irreps sorted and
        regrouped: e.g. `0e+1o` ⊗ `0e+1o` → `2x0e+2x1o+1x1e+1x2e`, the paths to one irrep
        stacked in the order (l1, l2) of the inputs.

    Works under `jit`, `grad` and `vmap`.
    """
    if not isinstance(x, e3nn.IrrepsArray) or not isinstance(y, e3nn.IrrepsArray):
        raise TypeError(
            "cg_product takes two e3nn.IrrepsArray, got "
            f"{type(x).__name__} and {type(y).__name__}; wrap arrays with "
            "e3nn.IrrepsArray(irreps, array)."
        )
    try:
        np.broadcast_shapes(x.shape[:-1], y.shape[:-1])
    except ValueError:
        raise ValueError(
            f"cg_product is elementwise over leading axes, but x has leading shape "
            f"{x.shape[:-1]} and y {y.shape[:-1]}, which do not broadcast."
        ) from None
    return e3nn.tensor_product(
        x, y, filter_ir_out=filter_ir_out, irrep_normalization=irrep_normalization
    )

