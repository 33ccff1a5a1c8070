"""A trial function that meets Dirichlet (and initial) data for any network weights."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
from jaxtyping import Array, Float


class HardConstraint(eqx.Module):
    """u(x) = g(x) + φ(x)·N(x) for one point `x` of shape `(dim,)`.

    `g` (the lift) equals the prescribed data where `φ` (the distance factor) vanishes,
    so the data hold exactly whatever `N` is and no boundary loss is needed (Lagaris et
    al. 1998). `g` and `φ` are plain functions (usually a problem's `lift` and
    `distance`); only `net` has trainable weights.

    Attributes:
        net: a scalar-output network of one point.
        lift: `g`, shape `(dim,) -> ()`.
        distance: `φ`, shape `(dim,) -> ()`, zero on the constrained boundary.
    """

    net: Callable[[Float[Array, " dim"]], Float[Array, ""]]
    lift: Callable[[Float[Array, " dim"]], Float[Array, ""]] = eqx.field(static=True)
    distance: Callable[[Float[Array, " dim"]], Float[Array, ""]] = eqx.field(static=True)

    def __call__(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        return self.lift(x) + self.distance(x) * self.net(x)
