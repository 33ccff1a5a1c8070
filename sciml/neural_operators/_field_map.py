"""`FieldMap`: any neural operator as a function from one input field to one output field,
with scalar normalisation of inputs and outputs.

FNO/MgNO take channel-first arrays, DeepONet takes sensor values and query points; wrapped,
each maps one input sample to one output sample. Scalar (not pointwise) statistics keep the
map resolution-agnostic: the same weights apply on a 32×32 and a 64×64 grid, which the
resolution-transfer study relies on.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sciml.neural_operators._common import param_dtype


class FieldMap(eqx.Module):
    """An operator as a map from one input field to one output field.

    `__call__(u)` takes an input sample of shape `(*spatial)` (one channel) and returns the
    output sample `(*spatial_out)`. Inside, the input is normalised by scalar statistics,
    the wrapped model is applied, and the output is de-normalised.

    Attributes:
        model: an FNO or MgNO (`(channels, *spatial) -> (channels, *spatial)`), or a
            DeepONet (`cartesian(u, queries)`), in which case `queries` are the output
            points, shape `(n, d)`.
        queries: DeepONet query points `(n, d)`, `None` for grid operators.
        x_stats, y_stats: (mean, std) of inputs and outputs over the training set; fixed
            (never trained, see `trainable`).
    """

    model: Any
    x_stats: jax.Array
    y_stats: jax.Array
    queries: jax.Array | None = None

    def __call__(self, u: jax.Array) -> jax.Array:
        z = (u - self.x_stats[0]) / self.x_stats[1]
        if self.queries is not None:
            out = self.model.cartesian(z.reshape(-1), self.queries)
            # Outputs on the input's grid keep its shape; other query sets give (n,).
            out = out.reshape(u.shape) if out.size == u.size else out
        else:
            out = self.model(z[None])[0]
        return out * self.y_stats[1] + self.y_stats[0]

    def trainable(self) -> Any:
        """Filter spec: every inexact array of the model; the statistics and query points
        stay fixed (otherwise weight decay would shrink them)."""
        spec = jax.tree.map(eqx.is_inexact_array, self)
        return eqx.tree_at(lambda m: (m.x_stats, m.y_stats, m.queries), spec,
                           replace=(False, False, None if self.queries is None else False),
                           is_leaf=lambda x: x is None)

    def at_queries(self, queries: jax.Array) -> FieldMap:
        """The same DeepONet evaluated at other output points `(n, d)`."""
        if self.queries is None:
            raise ValueError("at_queries applies to DeepONet maps; grid operators take the "
                             "output grid from the input")
        return eqx.tree_at(lambda m: m.queries, self, jnp.asarray(queries, self.queries.dtype))


def field_map(model, x_train: np.ndarray, y_train: np.ndarray,
              queries: np.ndarray | None = None) -> FieldMap:
    """Wrap `model` with scalar statistics of the training inputs `(n, *spatial)` and
    outputs `(n, *spatial_out)`, in the model's floating dtype."""
    dtype = param_dtype(model)

    def stats(a):
        a = np.asarray(a, dtype=np.float64)
        std = float(a.std())
        return jnp.asarray([a.mean(), std if std > 0 else 1.0], dtype)

    q = None if queries is None else jnp.asarray(queries, dtype)
    return FieldMap(model, stats(x_train), stats(y_train), q)
