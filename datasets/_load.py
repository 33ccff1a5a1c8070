"""`load` generates once, caches and verifies on read; `generate` bypasses the cache.

Samples. `sample` has length n_train + n_test, the first n_train with `split` == "train".
Train sample i is sample i of random stream 0 and test sample i sample i of stream 1 of
the family's generator, so each sample depends only on (seed, split, index): the test set
is the same whatever n_train, and a cached file with more samples serves a smaller
request by slicing. The coordinate `index` holds i.

Generating one resolution writes every resolution of a grid family (one solve per
sample); asking for more samples than a file holds generates only the missing ones, and
the result equals a fresh generation bit for bit.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
from pathlib import Path

import numpy as np
import xarray as xr

from sciml.datasets import _cache
from sciml.datasets._cache import SPLITS, cache_path, check_count
from sciml.datasets._families import get_family
from sciml.datasets._family import Family
from sciml.datasets._generate import generate_blocks
from sciml.datasets._netcdf import write_netcdf
from sciml.datasets._ragged import select_samples
from sciml.io import check_writable_dir

logger = logging.getLogger(__name__)


def load(
    name: str | Family,
    *,
    n_train: int = 1000,
    n_test: int = 200,
    resolution: int | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
    workers: int | None = None,
    executor: cf.Executor | None = None,
) -> xr.Dataset:
    """The dataset `name` with n_train + n_test samples, generated on first use and cached.

    Args:
        name: one of `dataset_names()`, or a `Family` (a dataset family of your own).
        n_train, n_test: samples per split; the result's `sample` dimension has length
            n_train + n_test, the first n_train with `split` == "train".
        resolution: grid points per dimension (default: the family's first listed
            resolution); None for a ragged family.
        seed: the random seed (non-negative integer).
        cache_dir: where files are cached (default: `$SCIML_DATA_DIR`, else
            `~/.cache/sciml`).
        progress: show a tqdm progress bar while generating.
        workers: processes/threads of the family's default executor (default: every CPU
            available).
        executor: run the generation tasks on this `concurrent.futures.Executor` instead
            (a process pool, `dask.distributed.Client.get_executor()`, ...); it is not
            shut down. The data are the same whatever runs them.

    Returns:
        An in-memory `xarray.Dataset` with the family's variables (inputs and outputs named
        in its attrs `input`, `output`), coordinates `sample`, `split`, `index` (and the
        grid's, e.g. `x`, `y`), and provenance attrs (`n_train`, `n_test` as requested;
        `source` the cached file). A ragged family's dataset also holds `count` and
        `offset` (`ragged_sample`, `ragged_arrays`). Split it with
        `train_test_split(ds)`.

    Raises:
        KeyError: unknown `name` (the message lists the known ones).
        ValueError: unsupported `resolution` or counts; both `workers` and `executor`; a
            cached file that is unreadable or fails a check (the message names the file and
            the fix); `sciml.io.IntegrityError` (a ValueError) when its checksums fail.
        OSError: the cache directory cannot be created or written (raised before any
            sample is generated).
    """
    family = get_family(name)
    n = family.layout.resolution(family.name, resolution)
    n_train, n_test = check_count("n_train", n_train), check_count("n_test", n_test)
    seed = check_count("seed", seed)
    if n_train + n_test == 0:
        raise ValueError("ask for at least one sample (n_train + n_test >= 1)")
    path = cache_path(family, seed=seed, resolution=n, cache_dir=cache_dir)
    ds = _cache.read(path, family, n, seed) if path.exists() else None
    have = _cache.counts(ds)
    if ds is not None and have[0] >= n_train and have[1] >= n_test:
        logger.debug("%s: using %s", family.name, path)
        return _finish(_cache.take(ds, n_train, n_test), n_train, n_test, path)

    # before generating (minutes for Darcy): a cache that cannot be written fails now
    check_writable_dir(path.parent, "dataset cache directory")
    totals = (max(n_train, have[0]), max(n_test, have[1]))
    problem = family.problem()
    ranges = {s: range(h, t) for s, h, t in zip(SPLITS, have, totals, strict=True)}
    new = generate_blocks(
        family, problem, seed, ranges, executor=executor, workers=workers, progress=progress
    )
    result = None
    for r in family.resolutions:
        if r == n:
            out = result = _cache.merged(family, problem, ds, have, new[r], r, seed, totals)
        else:
            out = _cache.other_resolution(
                family, problem, have, new[r], r, seed, totals, cache_dir
            )
        if out is not None:
            write_netcdf(out, cache_path(family, seed=seed, resolution=r, cache_dir=cache_dir))
    return _finish(_cache.take(result, n_train, n_test), n_train, n_test, path)


def _finish(ds: xr.Dataset, n_train: int, n_test: int, path: Path) -> xr.Dataset:
    ds.attrs.update(n_train=n_train, n_test=n_test, source=str(path))
    return ds


def train_test_split(ds: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """(train, test): the samples of `ds` whose `split` coordinate is "train" / "test"
    (for a ragged dataset with their items, `offset` renumbered)."""
    split = ds["split"].values.astype(str)
    return (
        select_samples(ds, np.flatnonzero(split == "train")),
        select_samples(ds, np.flatnonzero(split == "test")),
    )


def generate(
    name: str | Family,
    *,
    n_train: int = 1000,
    n_test: int = 200,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = False,
    executor: cf.Executor | None = None,
) -> dict[int | None, xr.Dataset]:
    """Generate dataset `name` (a registered name or a `Family`) at every resolution
    without touching the cache; `workers`, `executor` as for `load`.

    Returns:
        {resolution: dataset}, each laid out as `load` returns it ({None: dataset} for a
        ragged family).
    """
    family = get_family(name)
    n_train, n_test = check_count("n_train", n_train), check_count("n_test", n_test)
    seed = check_count("seed", seed)
    problem = family.problem()
    ranges = {"train": range(n_train), "test": range(n_test)}
    new = generate_blocks(
        family, problem, seed, ranges, executor=executor, workers=workers, progress=progress
    )
    return {
        r: _cache.merged(family, problem, None, (0, 0), new[r], r, seed, (n_train, n_test))
        for r in family.resolutions
    }
