"""NetCDF writing for every dataset and report the toolkit saves."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sciml.io import atomic_path


def write_netcdf(data: xr.Dataset | xr.DataArray, path: str | Path) -> Path:
    """Write `data` to `path` as NetCDF4 atomically (temp file + rename); return the path.

    Attributes netCDF cannot hold (booleans, None, nested dicts) are converted first, see
    `netcdf_attrs`.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        to_netcdf(data, tmp)
    return path


def to_netcdf(data: xr.Dataset | xr.DataArray, path: str | Path) -> None:
    """Write `data` to NetCDF4 at `path` (h5netcdf), attributes made storable.

    Not atomic by itself: `write_netcdf` is the atomic form; this one is for callers that
    stage files themselves.
    """

    if isinstance(data, xr.DataArray):
        data = data.to_dataset(name=data.name or "data")
    ds = data.copy(deep=False)
    ds.attrs = netcdf_attrs(ds.attrs)
    for var in ds.variables.values():
        var.attrs = netcdf_attrs(var.attrs)
    ds.to_netcdf(path, engine="h5netcdf")


def netcdf_attrs(attrs: Mapping[Any, Any]) -> dict[str, Any]:
    """Attributes netCDF can store: nested dicts and other structures become JSON strings.

    Strings and real numbers are kept; booleans become 0/1; numeric sequences become 1-d
    arrays; `None` is dropped; anything else is stored as JSON (or its `str`).
    """
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if hasattr(value, "__array__") and not isinstance(value, np.ndarray | np.generic):
            value = np.asarray(value)  # e.g. jax arrays
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, bool | np.bool_):
            out[str(key)] = int(value)
        elif isinstance(value, str | int | float | np.integer | np.floating):
            out[str(key)] = value
        elif isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iuf":
            out[str(key)] = value
        elif isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            out[str(key)] = list(value)
        elif (
            isinstance(value, list | tuple)
            and value
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            out[str(key)] = np.asarray(value)
        else:
            out[str(key)] = _json_attr(value)
    return out


def _json_attr(value: Any) -> str:
    def default(o: Any) -> Any:
        if hasattr(o, "tolist"):  # numpy/jax arrays and scalars
            return o.tolist()
        return str(o)

    try:
        return json.dumps(value, default=default)
    except (TypeError, ValueError):
        return str(value)
