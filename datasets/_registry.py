"""The dataset registry: `load(name, ...)` generates once, caches as NetCDF, verifies on read.

Datasets, one per operator family (`dataset_names()`):

- `darcy`: dims (sample, x, y); `a` (input) and `u` (output) are *cell averages* over n x n
  cells of the 256² finite-volume solve, coordinates the cell centres (j + 1/2)/n;
  n in 128, 64 (default), 32, 16.
- `burgers_periodic`: dims (sample, x); `u0` (input) and `u` = u(·, 1) (output) are point
  values at x = j/n, n in 1024 (default), 512, 256, 128.
- `antiderivative`: dims (sample, x); `u` (input) and `s` (output) are point values at
  x = j/(m − 1), m in 100 (default), 50, 200, 500, 1000.

Samples. `sample` has length n_train + n_test, the first n_train with `split` == "train".
Train sample i is sample i of random stream 0 and test sample i sample i of stream 1 of
the problem's sampler (`sciml.problems.operator_learning.sample_rng`), so each sample depends only
on (seed, split, index): the test set is the same whatever n_train, and a cached file with
more samples serves a smaller request by slicing. The coordinate `index` holds i.

Cache. Files live in `cache_dir`, else the directory in the environment variable
`SCIML_DATA_DIR`, else `~/.cache/sciml`, named `{name}_seed{seed}_res{n}_v{FORMAT}.nc`.
Generating one resolution writes every standard resolution of that dataset (one solve per
sample); asking for more samples than a file holds generates only the missing ones. Files
are written atomically (`write_netcdf`) and read with h5netcdf (no pickle anywhere); every
read checks the generator, seed, resolution, problem parameters, variables, dimensions,
shapes and finiteness, and a file that fails is reported with the fix (delete it to
regenerate), never silently replaced.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sciml.datasets import _generate
from sciml.datasets._netcdf import write_netcdf

logger = logging.getLogger(__name__)

FORMAT = 1  # bump when the generators change what a file holds; old files are then ignored
_ENV = "SCIML_DATA_DIR"
_SPLITS = ("train", "test")  # random stream 0 and 1


@dataclass(frozen=True)
class _Spec:
    """One dataset: its problem, grids and variables."""

    name: str
    dims: tuple[str, ...]  # grid dimensions after `sample`
    input: str
    output: str
    resolutions: tuple[int, ...]  # the first is the default
    problem: Callable[[], Any]
    generate: Callable[..., dict[int, dict[str, np.ndarray]]]
    grid: Callable[[int], np.ndarray]  # coordinate values along each grid dimension
    grid_note: str
    long_names: dict[str, str]

    @property
    def variables(self) -> tuple[str, str]:
        return (self.input, self.output)


def _specs() -> dict[str, _Spec]:
    # The one place datasets are registered; problems imported here, not at module import.
    from sciml.problems import operator_learning as op

    return {
        "darcy": _Spec(
            name="darcy",
            dims=("x", "y"),
            input="a",
            output="u",
            resolutions=(64, 128, 32, 16),
            problem=op.DarcyFlow,
            generate=_generate.darcy,
            grid=op.cell_centres,
            grid_note="cell averages of the 256x256 finite-volume fields over n x n cells; "
            "x, y are the cell centres (j + 1/2)/n",
            long_names={"a": "permeability a(x, y)", "u": "pressure u(x, y)"},
        ),
        "burgers_periodic": _Spec(
            name="burgers_periodic",
            dims=("x",),
            input="u0",
            output="u",
            resolutions=(1024, 512, 256, 128),
            problem=op.BurgersPeriodic,
            generate=_generate.burgers,
            grid=lambda n: np.arange(n) / n,
            grid_note="point values at x = j/n on the periodic interval [0, 1)",
            long_names={"u0": "initial condition u(x, 0)", "u": "solution u(x, 1)"},
        ),
        "antiderivative": _Spec(
            name="antiderivative",
            dims=("x",),
            input="u",
            output="s",
            resolutions=(100, 50, 200, 500, 1000),
            problem=op.Antiderivative,
            generate=_generate.antiderivative,
            grid=op.sensor_grid,
            grid_note="point values at the m equispaced points x = j/(m - 1) of [0, 1]",
            long_names={"u": "input function u(x)", "s": "antiderivative s(x) = int_0^x u"},
        ),
    }


def dataset_names() -> list[str]:
    """Names accepted by `load`, sorted."""
    return sorted(_specs())


def _spec(name: str) -> _Spec:
    specs = _specs()
    if name not in specs:
        close = difflib.get_close_matches(str(name), specs, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(
            f"unknown dataset {name!r}.{hint} Known datasets: {', '.join(sorted(specs))}."
        )
    return specs[name]


def _resolution(spec: _Spec, resolution: int | None) -> int:
    if resolution is None:
        return spec.resolutions[0]
    if resolution not in spec.resolutions:
        allowed = ", ".join(str(r) for r in sorted(spec.resolutions))
        raise ValueError(
            f"dataset {spec.name!r} has no resolution {resolution!r}; allowed: {allowed} "
            f"(default {spec.resolutions[0]})"
        )
    return int(resolution)


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def default_cache_dir() -> Path:
    """`$SCIML_DATA_DIR` if set, else `~/.cache/sciml`."""
    env = os.environ.get(_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sciml"


def cache_path(
    name: str,
    *,
    seed: int = 0,
    resolution: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Where `load(name, seed=seed, resolution=resolution, cache_dir=cache_dir)` caches."""
    spec = _spec(name)
    n = _resolution(spec, resolution)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return root / f"{spec.name}_seed{_count('seed', seed)}_res{n}_v{FORMAT}.nc"


# --- building datasets ---------------------------------------------------------------------
def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("numpy", "scipy", "jax", "diffrax", "xarray", "h5netcdf", "sciml"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _attrs(spec: _Spec, problem, seed: int, resolution: int, n_train: int, n_test: int) -> dict:
    ref = problem.reference
    attrs = {
        "title": f"{spec.name}: {spec.long_names[spec.input]} -> {spec.long_names[spec.output]}",
        "generator": f"sciml.datasets/{spec.name}",
        "format_version": FORMAT,
        "problem": problem.name,
        "problem_class": f"sciml.problems.operator_learning.{type(problem).__qualname__}",
        "problem_params": list(problem.params),
        **{k: v for k, v in problem.params.items()},
        "seed": seed,
        "resolution": resolution,
        "n_train": n_train,
        "n_test": n_test,
        "input": spec.input,
        "output": spec.output,
        "grid": spec.grid_note,
        "sampling": (
            "train sample i is sample i of random stream 0, test sample i of stream 1: "
            "numpy SeedSequence(seed, spawn_key=(crc32(problem), stream, i))"
        ),
        "reference_kind": ref.kind,
        "reference_tolerance": ref.tolerance,
        "reference_evidence": ref.evidence,
        "versions": json.dumps(_versions()),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return attrs


def _dataset(
    spec: _Spec,
    resolution: int,
    arrays: dict[str, np.ndarray],
    split: np.ndarray,
    index: np.ndarray,
    attrs: dict,
) -> xr.Dataset:
    dims = ("sample", *spec.dims)
    coords: dict[str, Any] = {d: (d, spec.grid(resolution)) for d in spec.dims}
    coords["sample"] = ("sample", np.arange(split.size))
    coords["split"] = ("sample", split.astype(str))
    coords["index"] = ("sample", index.astype(np.int64))
    data = {
        v: (dims, arrays[v], {"long_name": spec.long_names[v], "units": "1"})
        for v in spec.variables
    }
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    for d in spec.dims:
        ds[d].attrs.update(long_name=d, units="1")
    return ds


def _generate_samples(
    spec: _Spec,
    problem,
    seed: int,
    ranges: dict[str, range],
    workers: int | None,
    progress: bool,
) -> dict[int, tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]:
    """Generate the samples in `ranges` (per split) at every resolution; returns
    {n: (arrays, split labels, indices)} in train-then-test order."""
    from tqdm.auto import tqdm

    total = sum(len(r) for r in ranges.values())
    workers = _generate.default_workers() if workers is None else max(1, int(workers))
    logger.info("generating %d %s samples (seed %d) on %d workers", total, spec.name, seed, workers)
    start = time.perf_counter()
    parts = []
    with tqdm(total=total, desc=spec.name, unit="sample", disable=not progress) as bar:
        for stream, split in enumerate(_SPLITS):
            r = ranges[split]
            if len(r):
                parts.append(
                    (
                        split,
                        r,
                        spec.generate(
                            problem, seed, stream, list(r), spec.resolutions, workers, bar.update
                        ),
                    )
                )
    logger.info("generated %d %s samples in %.1f s", total, spec.name, time.perf_counter() - start)
    out = {}
    for n in spec.resolutions:
        arrays = {
            v: np.concatenate([p[2][n][v] for p in parts])
            if parts
            else np.empty((0,) + (n,) * len(spec.dims))
            for v in spec.variables
        }
        split = np.concatenate([np.full(len(p[1]), p[0]) for p in parts] or [np.array([], str)])
        index = np.concatenate([np.asarray(p[1]) for p in parts] or [np.array([], int)])
        for v, a in arrays.items():
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            if bad:
                raise RuntimeError(
                    f"{spec.name}: the solver produced {bad} non-finite values "
                    f"of {v!r}; nothing was cached"
                )
        out[n] = (arrays, split, index)
    return out


# --- reading and checking ------------------------------------------------------------------
def _fix(path: Path) -> str:
    return f"delete {path} and call load again to regenerate it"


def _read(path: Path, spec: _Spec, resolution: int, seed: int) -> xr.Dataset:
    """Open a cached file fully into memory and check it (module docstring)."""
    try:
        with xr.open_dataset(path, engine="h5netcdf") as f:
            ds = f.load()
    except Exception as e:  # any backend failure means the same thing: unreadable
        raise ValueError(
            f"cached dataset {path} cannot be read ({type(e).__name__}: {e}); it is corrupted "
            f"or not a NetCDF file: {_fix(path)}"
        ) from e
    _check(ds, spec, resolution, seed, where=f"cached dataset {path}", fix=_fix(path))
    return ds


def _check(
    ds: xr.Dataset, spec: _Spec, resolution: int, seed: int, *, where: str, fix: str
) -> None:
    def fail(msg: str):
        raise ValueError(f"{where}: {msg}; {fix}")

    expected = {
        "generator": f"sciml.datasets/{spec.name}",
        "format_version": FORMAT,
        "seed": seed,
        "resolution": resolution,
    }
    for key, want in expected.items():
        got = ds.attrs.get(key)
        got = got.item() if isinstance(got, np.generic) else got
        try:
            ok = got == want if isinstance(want, str) else int(got) == want
        except (TypeError, ValueError):
            ok = False
        if not ok:
            fail(f"attribute {key!r} is {got!r}, expected {want!r}")
    # A file made with other problem parameters (older defaults) is stale, not just different.
    for key, want in spec.problem().params.items():
        got = ds.attrs.get(key)
        got = got.item() if isinstance(got, np.generic) else got
        try:
            ok = bool(np.isclose(float(got), want, rtol=1e-12, atol=0))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            fail(f"it was generated with {key} = {got!r}, the generator now uses {want!r}")
    dims = ("sample", *spec.dims)
    for v in spec.variables:
        if v not in ds.data_vars:
            fail(f"variable {v!r} is missing (found {sorted(map(str, ds.data_vars))})")
        var = ds[v]
        if var.dims != dims:
            fail(f"variable {v!r} has dims {var.dims}, expected {dims}")
        shape = tuple(var.shape[1:])
        if shape != (resolution,) * len(spec.dims):
            fail(
                f"variable {v!r} has grid shape {shape}, expected {(resolution,) * len(spec.dims)}"
            )
        if var.dtype.kind != "f":
            fail(f"variable {v!r} has dtype {var.dtype}, expected floating point")
        bad = int(var.size - np.count_nonzero(np.isfinite(var.values)))
        if bad:
            fail(f"variable {v!r} has {bad} NaN or infinite values")
    for d in spec.dims:
        if d not in ds.coords or not np.allclose(
            ds[d].values, spec.grid(resolution), rtol=0, atol=1e-12
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


def _counts(ds: xr.Dataset | None) -> tuple[int, int]:
    if ds is None:
        return 0, 0
    n_train = int(np.sum(ds["split"].values.astype(str) == "train"))
    return n_train, ds.sizes["sample"] - n_train


def _take(ds: xr.Dataset, n_train: int, n_test: int) -> xr.Dataset:
    """The first n_train train and n_test test samples of a checked dataset."""
    have_train, _ = _counts(ds)
    pick = np.concatenate([np.arange(n_train), have_train + np.arange(n_test)])
    out = ds.isel(sample=pick)
    return out.assign_coords(sample=np.arange(pick.size))


def _merged(
    spec,
    problem,
    old: xr.Dataset | None,
    have: tuple[int, int],
    new,
    n: int,
    seed: int,
    totals: tuple[int, int],
) -> xr.Dataset:
    """`old`'s first `have` samples per split followed by the new ones, train then test."""
    arrays, split, index = new
    data: dict[str, list[np.ndarray]] = {v: [] for v in spec.variables}
    splits, indices = [], []
    for s, k in zip(_SPLITS, have, strict=True):
        if old is not None and k:
            pos = np.flatnonzero(old["split"].values.astype(str) == s)[:k]
            for v in spec.variables:
                data[v].append(old[v].values[pos])
            splits.append(np.full(k, s))
            indices.append(np.arange(k))
        pos = np.flatnonzero(split == s)
        for v in spec.variables:
            data[v].append(arrays[v][pos])
        splits.append(split[pos])
        indices.append(index[pos])
    return _dataset(
        spec,
        n,
        {v: np.concatenate(a) for v, a in data.items()},
        np.concatenate(splits),
        np.concatenate(indices),
        _attrs(spec, problem, seed, n, *totals),
    )


def load(
    name: str,
    *,
    n_train: int = 1000,
    n_test: int = 200,
    resolution: int | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> xr.Dataset:
    """The dataset `name` with n_train + n_test samples, generated on first use and cached.

    Args:
        name: one of `dataset_names()`.
        n_train, n_test: samples per split; the result's `sample` dimension has length
            n_train + n_test, the first n_train with `split` == "train".
        resolution: grid points per dimension (default: the dataset's first listed
            resolution; see the module docstring for the allowed ones).
        seed: the random seed (non-negative integer).
        cache_dir: where files are cached (default: `$SCIML_DATA_DIR`, else
            `~/.cache/sciml`).
        progress: show a tqdm progress bar while generating.
        workers: processes/threads for generation (default: every CPU available).

    Returns:
        An in-memory `xarray.Dataset` with the input and output variables (named in its
        attrs `input`, `output`), coordinates `x` (and `y`), `split` and `index`, and
        provenance attrs (`n_train`, `n_test` as requested; `source` the cached file).
        Split it with `train_test_split(ds)` or `ds.sel(sample=ds.split == "train")`.

    Raises:
        KeyError: unknown `name` (the message lists the known ones).
        ValueError: unsupported `resolution` or counts; a cached file that is unreadable or
            fails a check (the message names the file and the fix).
    """
    spec = _spec(name)
    n = _resolution(spec, resolution)
    n_train, n_test = _count("n_train", n_train), _count("n_test", n_test)
    seed = _count("seed", seed)
    if n_train + n_test == 0:
        raise ValueError("ask for at least one sample (n_train + n_test >= 1)")
    path = cache_path(name, seed=seed, resolution=n, cache_dir=cache_dir)
    ds = _read(path, spec, n, seed) if path.exists() else None
    have = _counts(ds)
    if ds is not None and have[0] >= n_train and have[1] >= n_test:
        logger.debug("%s: using %s", name, path)
        return _finish(_take(ds, n_train, n_test), n_train, n_test, path)

    totals = (max(n_train, have[0]), max(n_test, have[1]))
    problem = spec.problem()
    ranges = {s: range(h, t) for s, h, t in zip(_SPLITS, have, totals, strict=True)}
    new = _generate_samples(spec, problem, seed, ranges, workers, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = None
    for r in spec.resolutions:
        if r == n:
            merged = _merged(spec, problem, ds, have, new[r], r, seed, totals)
            result = merged
        else:
            merged = _other_resolution(spec, problem, have, new[r], r, seed, totals, cache_dir)
        if merged is not None:
            write_netcdf(merged, cache_path(name, seed=seed, resolution=r, cache_dir=cache_dir))
    return _finish(_take(result, n_train, n_test), n_train, n_test, path)


def _other_resolution(spec, problem, have, new, r, seed, totals, cache_dir):
    """The merged dataset to write for resolution `r` alongside the requested one, or None
    when its file cannot be extended consistently (it then stays as it is)."""
    path = cache_path(spec.name, seed=seed, resolution=r, cache_dir=cache_dir)
    if not path.exists():
        return _merged(spec, problem, None, have, new, r, seed, totals) if have == (0, 0) else None
    try:
        old = _read(path, spec, r, seed)
    except ValueError as e:
        logger.warning("not updating %s: %s", path, e)
        return None
    counts = _counts(old)
    fits = all(h <= c <= t for h, c, t in zip(have, counts, totals, strict=True))
    if not fits or counts == totals:
        return None
    return _merged(spec, problem, old, have, new, r, seed, totals)


def _finish(ds: xr.Dataset, n_train: int, n_test: int, path: Path) -> xr.Dataset:
    ds.attrs.update(n_train=n_train, n_test=n_test, source=str(path))
    return ds


def train_test_split(ds: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """(train, test): the samples of `ds` whose `split` coordinate is "train" / "test"."""
    split = ds["split"].values.astype(str)
    return (
        ds.isel(sample=np.flatnonzero(split == "train")),
        ds.isel(sample=np.flatnonzero(split == "test")),
    )


def generate(
    name: str,
    *,
    n_train: int = 1000,
    n_test: int = 200,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = False,
) -> dict[int, xr.Dataset]:
    """Generate dataset `name` at every standard resolution without touching the cache.

    Returns:
        {resolution: dataset}, each laid out as `load` returns it.
    """
    spec = _spec(name)
    n_train, n_test = _count("n_train", n_train), _count("n_test", n_test)
    seed = _count("seed", seed)
    problem = spec.problem()
    ranges = {"train": range(n_train), "test": range(n_test)}
    new = _generate_samples(spec, problem, seed, ranges, workers, progress)
    return {
        r: _merged(spec, problem, None, (0, 0), new[r], r, seed, (n_train, n_test))
        for r in spec.resolutions
    }
