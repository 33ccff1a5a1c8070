"""The dataset cache: where files live, what they record, the checks on every read, and
merging new samples into a cached file.

Files live in `cache_dir`, else the directory in the environment variable
`SCIML_DATA_DIR`, else `~/.cache/sciml`, named `{name}_seed{seed}_res{n}_v{version}_sealed.nc`
(grid families) or `{name}_seed{seed}_v{version}_sealed.nc` (ragged families; `_sealed`
since files carry checksums, so caches of older versions, which cannot be verified, are
left alone and regenerated under the new name rather than trusted). They are written
atomically (`write_netcdf`, sealed with checksums) and read with h5netcdf (no pickle
anywhere). Every read first verifies the file's checksums (`read_netcdf`: any changed byte
raises `IntegrityError` naming the variable), then checks the generator, format, seed,
resolution, problem parameters, variables, dimensions, shapes, dtypes, finiteness, the grid
or the ragged offsets, the split and index coordinates and the family's own checks; a file
that fails is reported with the fix (delete it to regenerate), never silently replaced.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import xarray as xr

from sciml.datasets._families import get_family
from sciml.datasets._family import COUNT, OFFSET, SAMPLE, Block, Family, GridLayout
from sciml.datasets._netcdf import read_netcdf
from sciml.datasets._ragged import select_samples
from sciml.io import IntegrityError
from sciml.provenance import provenance

logger = logging.getLogger(__name__)

_ENV = "SCIML_DATA_DIR"
SPLITS = ("train", "test")  # random stream 0 and 1


def check_count(name: str, value: int) -> int:
    """`value` as a non-negative int, or raise naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def default_cache_dir() -> Path:
    """`$SCIML_DATA_DIR` if set, else `~/.cache/sciml`."""
    env = os.environ.get(_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sciml"


def cache_path(
    name: str | Family,
    *,
    seed: int = 0,
    resolution: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Where `load(name, seed=seed, resolution=resolution, cache_dir=cache_dir)` caches;
    `name` may be a registered name or a `Family`."""
    family = get_family(name)
    n = family.layout.resolution(family.name, resolution)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    res = "" if n is None else f"_res{n}"
    seed = check_count("seed", seed)
    return root / f"{family.name}_seed{seed}{res}_v{family.version}_sealed.nc"


# --- what a file records -------------------------------------------------------------------
def _public_class(problem) -> str:
    """`package.Class` for a problem class defined in a private module of `package`."""
    parts = type(problem).__module__.split(".")
    while len(parts) > 1 and parts[-1].startswith("_"):
        parts.pop()
    return ".".join([*parts, type(problem).__qualname__])


def attrs(
    family: Family,
    problem,
    seed: int,
    resolution: int | None,
    n_train: int,
    n_test: int,
) -> dict:
    """The attributes of a file: what made it, from what, and how exact it is."""
    ref = problem.reference
    long = {v.name: v.long_name for v in family.variables}
    prov = provenance()
    out = {
        "title": f"{family.name}: {', '.join(long[v] for v in family.inputs)} -> "
        f"{', '.join(long[v] for v in family.outputs)}",
        "generator": f"sciml.datasets/{family.name}",
        "format_version": family.version,
        "problem": problem.name,
        "problem_class": _public_class(problem),
        "problem_params": list(problem.params),
        **problem.params,
        "seed": seed,
    }
    if resolution is not None:
        out["resolution"] = resolution
    out.update(n_train=n_train, n_test=n_test)
    out["input"] = " ".join(family.inputs)
    out["output"] = " ".join(family.outputs)
    if isinstance(family.layout, GridLayout):
        out["grid"] = family.layout.note
        out["layout"] = "grid"
    else:
        out.update(layout="ragged", item_dim=family.layout.item, layout_note=family.layout.note)
    out.update(
        sampling=family.sampling,
        reference_kind=ref.kind,
        reference_tolerance=ref.tolerance,
        reference_evidence=ref.evidence,
        versions=json.dumps(prov["versions"]),
        machine=json.dumps(prov["machine"]),
        created=prov["created"],
        # the call that regenerates this file (delete it first, or use another cache_dir)
        command=(f"sciml.datasets.load({family.name!r}, n_train={n_train}, n_test={n_test}, "
                 f"seed={seed}" + ("" if resolution is None else f", resolution={resolution}")
                 + ")"),
    )
    return out


# --- reading and checking ------------------------------------------------------------------
def _fix(path: Path) -> str:
    return f"delete {path} and call load again to regenerate it"


def read(path: Path, family: Family, resolution: int | None, seed: int) -> xr.Dataset:
    """Open a cached file fully into memory and check it (`check`)."""
    try:
        ds = read_netcdf(path, fix=_fix(path))
    except IntegrityError:
        raise
    except Exception as e:  # any backend failure means the same thing: unreadable
        raise ValueError(
            f"cached dataset {path} cannot be read ({type(e).__name__}: {e}); it is corrupted "
            f"or not a NetCDF file: {_fix(path)}"
        ) from e
    check(ds, family, resolution, seed, where=f"cached dataset {path}", fix=_fix(path))
    return ds


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def check(
    ds: xr.Dataset,
    family: Family,
    resolution: int | None,
    seed: int,
    *,
    where: str,
    fix: str,
    problem=None,
) -> None:
    """Raise `ValueError(f"{where}: <what is wrong>; {fix}")` unless `ds` is a dataset of
    `family` at `resolution` and `seed` (module docstring lists the checks)."""

    def fail(msg: str):
        raise ValueError(f"{where}: {msg}; {fix}")

    expected: dict[str, object] = {
        "generator": f"sciml.datasets/{family.name}",
        "format_version": family.version,
        "seed": seed,
    }
    if resolution is not None:
        expected["resolution"] = resolution
    for key, want in expected.items():
        got = _scalar(ds.attrs.get(key))
        try:
            ok = got == want if isinstance(want, str) else int(got) == want
        except (TypeError, ValueError):
            ok = False
        if not ok:
            fail(f"attribute {key!r} is {got!r}, expected {want!r}")
    # A file made with other problem parameters (older defaults) is stale, not just different.
    problem = family.problem() if problem is None else problem
    for key, want in problem.params.items():
        got = _scalar(ds.attrs.get(key))
        try:
            if isinstance(want, str):  # a name (a basis, a method)
                ok = got == want
            else:
                g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
                ok = g.shape == w.shape and bool(np.all(np.isclose(g, w, rtol=1e-12, atol=0)))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            fail(f"it was generated with {key} = {got!r}, the generator now uses {want!r}")

    if SAMPLE not in ds.dims and SAMPLE not in ds.coords:
        fail(f"dimension {SAMPLE!r} is missing")
    n_samples = ds.sizes.get(SAMPLE, 0)
    n_items = 0
    if family.ragged:
        n_items = _check_offsets(ds, family, n_samples, fail)
    for v in family.variables:
        if v.name not in ds.data_vars:
            fail(f"variable {v.name!r} is missing (found {sorted(map(str, ds.data_vars))})")
        var = ds[v.name]
        if var.dims != v.dims:
            fail(f"variable {v.name!r} has dims {var.dims}, expected {v.dims}")
        shape = tuple(var.shape)
        want = family.shape(v.name, resolution, n_samples, n_items)
        if isinstance(family.layout, GridLayout):
            if shape[1:] != want[1:]:
                fail(f"variable {v.name!r} has grid shape {shape[1:]}, expected {want[1:]}")
        elif shape != want:
            fail(f"variable {v.name!r} has shape {shape}, expected {want}")
        if var.dtype != np.dtype(v.dtype):
            fail(f"variable {v.name!r} has dtype {var.dtype}, expected {v.dtype}")
        if var.dtype.kind in "fc":
            bad = int(var.size - np.count_nonzero(np.isfinite(var.values)))
            if bad:
                fail(f"variable {v.name!r} has {bad} NaN or infinite values")
    if isinstance(family.layout, GridLayout):
        for d in family.layout.dims:
            if d not in ds.coords or not np.allclose(
                ds[d].values, family.layout.coords(resolution), rtol=0, atol=1e-12
            ):
                fail(f"coordinate {d!r} is missing or not the standard grid")
    if "split" not in ds.coords or "index" not in ds.coords:
        fail("coordinates 'split' and 'index' along 'sample' are missing")
    split = ds["split"].values.astype(str)
    index = ds["index"].values
    n_train = int(np.sum(split == "train"))
    if not np.all(split[:n_train] == "train") or not np.all(split[n_train:] == "test"):
        fail("'split' must hold 'train' samples followed by 'test' samples")
    if not (
        np.array_equal(index[:n_train], np.arange(n_train))
        and np.array_equal(index[n_train:], np.arange(split.size - n_train))
    ):
        fail("'index' must count 0, 1, ... within each split")
    for c in family.checks:
        msg = c(ds, problem)
        if msg:
            fail(msg)


def _check_offsets(ds: xr.Dataset, family: Family, n_samples: int, fail) -> int:
    """Check the ragged layout's `count` and `offset`; return the number of items."""
    item = family.layout.item
    for name in (COUNT, OFFSET):
        if name not in ds.data_vars:
            fail(f"variable {name!r} is missing (found {sorted(map(str, ds.data_vars))})")
        var = ds[name]
        if var.dims != (SAMPLE,) or var.dtype.kind not in "iu":
            fail(f"variable {name!r} must be integers along ({SAMPLE!r},), got {var.dims} "
                 f"{var.dtype}")
    count = ds[COUNT].values.astype(np.int64)
    offset = ds[OFFSET].values.astype(np.int64)
    n_items = ds.sizes.get(item, 0)
    if np.any(count < 0):
        fail(f"variable {COUNT!r} has negative entries")
    if count.sum() != n_items:
        fail(f"variable {COUNT!r} adds up to {count.sum()} {item}s, the file holds {n_items}")
    start = np.cumsum(count) - count
    bad = np.flatnonzero(offset != start)
    if bad.size:
        i = int(bad[0])
        order = "not increasing" if np.any(np.diff(offset) < 0) else "inconsistent"
        fail(
            f"variable {OFFSET!r} is {order}: sample {i} starts at {item} {offset[i]}, "
            f"but the counts before it add up to {start[i]}"
        )
    return n_items


# --- selecting and merging -----------------------------------------------------------------
def counts(ds: xr.Dataset | None) -> tuple[int, int]:
    """(train, test) samples in `ds` (0, 0 for None)."""
    if ds is None:
        return 0, 0
    n_train = int(np.sum(ds["split"].values.astype(str) == "train"))
    return n_train, ds.sizes[SAMPLE] - n_train


def take(ds: xr.Dataset, n_train: int, n_test: int) -> xr.Dataset:
    """The first n_train train and n_test test samples of a checked dataset, renumbered."""
    have_train, _ = counts(ds)
    pick = np.concatenate([np.arange(n_train), have_train + np.arange(n_test)])
    out = select_samples(ds, pick)
    return out.assign_coords({SAMPLE: np.arange(pick.size)})


def merged(
    family: Family,
    problem,
    old: xr.Dataset | None,
    have: tuple[int, int],
    new: dict[str, Block],
    resolution: int | None,
    seed: int,
    totals: tuple[int, int],
) -> xr.Dataset:
    """`old`'s first `have` samples per split followed by the `new` ones ({split: block},
    samples have..totals-1 of each split), train then test."""
    blocks, splits, indices = [], [], []
    old_block = None if old is None else family.block(old)
    for s, k, t in zip(SPLITS, have, totals, strict=True):
        if old_block is not None and k:
            pos = np.flatnonzero(old["split"].values.astype(str) == s)[:k]
            blocks.append(family.select(old_block, pos))
            splits.append(np.full(k, s))
            indices.append(np.arange(k))
        blocks.append(new[s])
        splits.append(np.full(t - k, s))
        indices.append(np.arange(k, t))
    return family.to_dataset(
        family.concat(blocks, resolution),
        resolution,
        np.concatenate(splits),
        np.concatenate(indices),
        attrs(family, problem, seed, resolution, *totals),
    )


def other_resolution(
    family: Family,
    problem,
    have: tuple[int, int],
    new: dict[str, Block],
    resolution: int,
    seed: int,
    totals: tuple[int, int],
    cache_dir,
) -> xr.Dataset | None:
    """The merged dataset to write for another `resolution` alongside the requested one,
    or None when its file cannot be extended consistently (it then stays as it is)."""
    path = cache_path(family, seed=seed, resolution=resolution, cache_dir=cache_dir)
    if not path.exists():
        if have != (0, 0):
            return None
        return merged(family, problem, None, have, new, resolution, seed, totals)
    try:
        old = read(path, family, resolution, seed)
    except ValueError as e:
        logger.warning("not updating %s: %s", path, e)
        return None
    c = counts(old)
    fits = all(h <= k <= t for h, k, t in zip(have, c, totals, strict=True))
    if not fits or c == totals:
        return None
    return merged(family, problem, old, have, new, resolution, seed, totals)
