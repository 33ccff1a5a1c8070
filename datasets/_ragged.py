"""Samples of a dataset in either layout: selecting them, and reading ragged samples.

A ragged dataset (attrs `layout` = "ragged", `item_dim` the item dimension) stores
per-item variables concatenated along the item dimension, with `count` and `offset` along
`sample` (`sciml.datasets._family`). Selecting samples therefore slices the item
dimension too and renumbers `offset`; `select_samples` does both, and does a plain
`isel` on a grid dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from sciml.datasets._family import COUNT, OFFSET, SAMPLE, item_positions
from sciml.ragged import Ragged


def is_ragged(ds: xr.Dataset) -> bool:
    """Whether `ds` has the ragged layout."""
    return ds.attrs.get("layout") == "ragged"


def _item_dim(ds: xr.Dataset) -> str:
    if not is_ragged(ds):
        raise ValueError("not a ragged dataset (its attribute 'layout' is not 'ragged')")
    return str(ds.attrs.get("item_dim", "item"))


def select_samples(ds: xr.Dataset, positions: Sequence[int] | np.ndarray) -> xr.Dataset:
    """The samples at `positions` (integer positions along `sample`) of a dataset of either
    layout, in that order; for a ragged dataset the item dimension is sliced to their
    items and `offset` renumbered."""
    pos = np.asarray(positions, dtype=np.int64).reshape(-1)
    if not is_ragged(ds):
        return ds.isel({SAMPLE: pos})
    item = _item_dim(ds)
    count = ds[COUNT].values.astype(np.int64)
    out = ds.isel({SAMPLE: pos, item: item_positions(count, pos)})
    c = count[pos]
    return out.assign({OFFSET: ((SAMPLE,), np.cumsum(c) - c, ds[OFFSET].attrs)})


def ragged_offsets(ds: xr.Dataset) -> np.ndarray:
    """Item boundaries of a ragged dataset, shape (n_samples + 1,): sample i's items are
    `offsets[i] : offsets[i + 1]` along the item dimension."""
    _item_dim(ds)
    count = ds[COUNT].values.astype(np.int64)
    return np.concatenate([[0], np.cumsum(count)])


def ragged_sample(ds: xr.Dataset, i: int) -> xr.Dataset:
    """Sample `i` (position along `sample`) of a ragged dataset: its per-sample values
    and its items alone (the item dimension holds `count[i]` items)."""
    item = _item_dim(ds)
    n = ds.sizes[SAMPLE]
    if not -n <= i < n:
        raise IndexError(f"sample {i} out of range for {n} samples")
    i = int(i) % n
    start, count = int(ds[OFFSET].values[i]), int(ds[COUNT].values[i])
    return ds.isel({SAMPLE: i, item: slice(start, start + count)})


def ragged_arrays(ds: xr.Dataset) -> Ragged:
    """The per-item and per-sample variables of a ragged dataset as numpy arrays with the
    item offsets: a `sciml.ragged.Ragged`, ready for `sciml.solvers.PaddedBatches`."""
    item = _item_dim(ds)
    items, samples = {}, {}
    for name, var in ds.data_vars.items():
        if name in (OFFSET, COUNT):
            continue
        if var.dims and var.dims[0] == item:
            items[str(name)] = var.values
        elif var.dims and var.dims[0] == SAMPLE:
            samples[str(name)] = var.values
    return Ragged(items, samples, ragged_offsets(ds))
