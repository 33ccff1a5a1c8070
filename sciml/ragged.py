"""Variable-size samples (molecules, atomic structures, point clouds) as fixed-shape arrays.

`Ragged` holds a data set flat: every sample's items concatenated along one axis, with
per-sample `offsets`. Training takes `PaddedBatch`es of it: the items of a few samples
gathered into a fixed `capacity` (so one compiled step serves every batch), each item
labelled with its sample (`segment`) and padding masked out (`mask`).

Padding must change neither a loss nor its gradient. Dropping padded terms with `mask` is
not enough where a term is singular at the padded values: `where(mask, 1/r, 0)` has a
NaN gradient when r = 0 on padding, because the zero cotangent is multiplied by an infinite
derivative. `masked_apply` feeds the singular function a safe value on padding instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Int


class Ragged(eqx.Module):
    """A data set of variable-size samples.

    Attributes:
        items: PyTree of arrays `(n_items, ...)`: every sample's items, concatenated.
        samples: PyTree of arrays `(n_samples, ...)`: one row per sample (targets...).
        offsets: `(n_samples + 1,)` integers: sample i owns items `offsets[i]:offsets[i+1]`.
    """

    items: Any
    samples: Any
    offsets: np.ndarray = eqx.field(converter=lambda o: np.asarray(o, dtype=np.int64))

    def __check_init__(self):
        o = self.offsets
        if o.ndim != 1 or o.size < 2 or o[0] != 0 or np.any(np.diff(o) < 0):
            raise ValueError("offsets must be a non-decreasing 1-d array starting at 0, "
                             f"with one more entry than samples; got {o!r}")
        for name, tree, n in (("items", self.items, o[-1]), ("samples", self.samples, o.size - 1)):
            for leaf in jax.tree.leaves(tree):
                if np.shape(leaf)[:1] != (n,):
                    raise ValueError(f"every {name} array needs leading size {n} (from offsets), "
                                     f"got shape {np.shape(leaf)}")

    @property
    def sizes(self) -> np.ndarray:
        """Items per sample, `(n_samples,)`."""
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return self.offsets.size - 1


class PaddedBatch(eqx.Module):
    """A batch of whole samples, their items padded to a fixed capacity.

    Attributes:
        items: PyTree of arrays `(capacity, ...)`; padding rows repeat a real item.
        samples: PyTree of arrays `(batch_size, ...)`.
        segment: `(capacity,)` the batch position of each item's sample; `batch_size` on
            padding, which `jax.ops.segment_sum(..., num_segments=batch_size)` drops.
        mask: `(capacity,)` True on real items.
        n_samples: the samples in the batch.
    """

    items: Any
    samples: Any
    segment: Int[Array, " capacity"]
    mask: Bool[Array, " capacity"]
    n_samples: int = eqx.field(static=True)

    def sum(self, values: Array) -> Array:
        """Per-sample sums of per-item `values` `(capacity, ...)` -> `(batch_size, ...)`."""
        shape = (-1,) + (1,) * (values.ndim - 1)
        values = jnp.where(self.mask.reshape(shape), values, 0)
        return jax.ops.segment_sum(values, self.segment, num_segments=self.n_samples)


def masked_apply(fn: Callable[[Array], Array], x: Array, mask: Array, fill: float = 1.0
                 ) -> Array:
    """`fn(x)` where `mask`, 0 elsewhere, with gradients that stay finite on the masked
    entries: `fn` sees `fill` there (choose one where `fn` is smooth, e.g. 1 for 1/r or
    √r), so no infinite derivative meets the zero cotangent."""
    return jnp.where(mask, fn(jnp.where(mask, x, fill)), 0)
