"""Batchers: which data each optimiser step of `fit` sees. They plan on the host and select
inside the compiled step, so a chunk of steps is one `lax.scan` over small index arrays:
`init(data, key) -> state`; `plan(state, data, n) -> (xs, state)`, the next `n` steps'
inputs (None when every step sees the same data); `select(data, x) -> batch` (traced);
`reduce(per_step)`, what a history row reports. States are PyTrees of arrays, so a resumed
run draws the same batches. Epoch e shuffles by `permutation(split(k_e)[1], n)`, and
`k_{e+1} = split(k_e)[0]`.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sciml import checks
from sciml.ragged import PaddedBatch, Ragged


class CapacityError(ValueError):
    """A batch does not fit its fixed capacity (`RESULTS.buffer_overflow`)."""


class AbstractBatcher(eqx.Module):
    """Contract: `init`, `plan`, `select`, `reduce` (module docstring)."""

    @abc.abstractmethod
    def init(self, data: Any, key: jax.Array | None) -> Any: ...

    @abc.abstractmethod
    def plan(self, state: Any, data: Any, n: int) -> tuple[Any, Any]: ...

    @abc.abstractmethod
    def select(self, data: Any, x: Any) -> Any: ...

    def reduce(self, per_step: jax.Array) -> jax.Array:
        """The last step's value: with the whole data set every step, it is the loss of the
        model the chunk started its last step from."""
        return per_step[-1]


class FullBatch(AbstractBatcher):
    """Every step sees all of `data` (collocation sets, quadrature grids)."""

    def init(self, data, key):
        return None

    def plan(self, state, data, n):
        return None, state

    def select(self, data, x):
        return data


class _EpochState(eqx.Module):
    key: jax.Array  # the key of the current epoch
    position: jax.Array  # batches of this epoch already planned


class Minibatches(AbstractBatcher):
    """Shuffled minibatches of `batch_size` samples without replacement, a fresh order
    every epoch; the last partial batch of an epoch is dropped. Every leaf of `data` has
    the samples on its leading axis. Histories report the mean over a chunk's steps (an
    estimate over the data rather than one batch's noise)."""

    batch_size: int = eqx.field(static=True)

    def __check_init__(self):
        checks.count("batch_size", self.batch_size)

    def n_samples(self, data) -> int:
        sizes = {np.shape(a)[0] if np.ndim(a) else None for a in jax.tree.leaves(data)}
        if len(sizes) != 1 or None in sizes:
            raise ValueError(f"minibatches need every data array to have the same leading "
                             f"(sample) size, got {sorted(map(str, sizes))}")
        return sizes.pop()

    def steps_per_epoch(self, data) -> int:
        n = self.n_samples(data)
        if self.batch_size > n:
            raise ValueError(f"batch_size {self.batch_size} exceeds the {n} samples")
        return n // self.batch_size

    def init(self, data, key):
        if key is None:
            raise ValueError(f"{type(self).__name__} shuffles: pass fit(..., key=...)")
        self.steps_per_epoch(data)
        return _EpochState(key, jnp.asarray(0))

    def _orders(self, state, data, n):
        """Sample indices of the next `n` batches, `(n, batch_size)`, and the new state."""
        per_epoch, key, pos = self.steps_per_epoch(data), state.key, int(state.position)
        rows = []
        while len(rows) < n:
            following, perm = _epoch(key, self.n_samples(data))
            batches = np.asarray(perm)[: per_epoch * self.batch_size].reshape(per_epoch, -1)
            take = min(n - len(rows), per_epoch - pos)
            rows.extend(batches[pos : pos + take])
            pos += take
            if pos == per_epoch:
                key, pos = following, 0
        return np.stack(rows), _EpochState(key, jnp.asarray(pos))

    def plan(self, state, data, n):
        return self._orders(state, data, n)

    def select(self, data, x):
        return jax.tree.map(lambda a: a[x], data)

    def reduce(self, per_step):
        return jnp.mean(per_step, axis=0)


class AugmentedMinibatches(Minibatches):
    """`Minibatches` whose every batch goes through `augment(key, batch) -> batch`, a random
    transform drawn afresh each step (a symmetry of the data, such as `circular_shifts`):
    the model sees a new member of each sample's orbit every epoch. The step keys derive
    from the epoch's key, so a run is reproducible from `fit(..., key=...)`."""

    augment: Callable = eqx.field(static=True)

    def __check_init__(self):
        if not callable(self.augment):
            raise TypeError(f"augment must be a function (key, batch) -> batch, got "
                            f"{self.augment!r}")

    def plan(self, state, data, n):
        rows, new = self._orders(state, data, n)
        keys = jax.random.split(jax.random.fold_in(state.key, state.position), n)
        return (rows, jax.random.key_data(keys)), new

    def select(self, data, x):
        rows, key = x
        return self.augment(jax.random.wrap_key_data(key), super().select(data, rows))


@functools.partial(jax.jit, static_argnums=1)
def _epoch(key, n):
    """The next epoch's key and this epoch's order (one dispatch per epoch)."""
    following, k = jax.random.split(key)
    return following, jax.random.permutation(k, n)


class PaddedBatches(Minibatches):
    """Minibatches of whole variable-size samples from a `Ragged` data set, their items
    padded to `capacity` (default: the largest total a batch can have, so it never
    overflows); each step gets a `PaddedBatch`. A smaller `capacity` saves work and
    raises if a batch would not fit."""

    capacity: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if self.capacity is not None:
            checks.count("capacity", self.capacity)

    def n_samples(self, data):
        if not isinstance(data, Ragged):
            raise TypeError(f"PaddedBatches needs a sciml.ragged.Ragged data set, got "
                            f"{type(data).__name__}")
        return len(data)

    def size(self, data: Ragged) -> int:
        """Item slots per batch."""
        worst = int(np.sort(data.sizes)[::-1][: self.batch_size].sum())
        return worst if self.capacity is None else self.capacity

    def plan(self, state, data, n):
        order, state = self._orders(state, data, n)
        cap, sizes, offsets = self.size(data), data.sizes, data.offsets
        index = np.zeros((n, cap), np.int64)
        segment = np.full((n, cap), self.batch_size, np.int64)
        for s, samples in enumerate(order):
            counts = sizes[samples]
            if counts.sum() > cap:
                raise CapacityError(f"a batch holds {counts.sum()} items, more than "
                                    f"capacity {cap}: raise PaddedBatches(capacity=...)")
            index[s, : counts.sum()] = np.concatenate(
                [np.arange(offsets[i], offsets[i + 1]) for i in samples])
            segment[s, : counts.sum()] = np.repeat(np.arange(len(samples)), counts)
        return (order, index, segment), state

    def select(self, data, x):
        samples, index, segment = x
        return PaddedBatch(jax.tree.map(lambda a: a[index], data.items),
                           jax.tree.map(lambda a: a[samples], data.samples),
                           segment, segment < self.batch_size, self.batch_size)
