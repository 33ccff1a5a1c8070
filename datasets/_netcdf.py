"""NetCDF for every dataset and report the toolkit saves: written atomically and sealed
with checksums, read back only after they check out.

A sealed file is a standard NetCDF4/HDF5 file that starts with an HDF5 user block (which
NetCDF and HDF5 readers skip) holding

```
sciml-netcdf-v1 userblock=<bytes> sha256=<hex of the JSON line>\n
{"size": N, "sha256": <hex of the N bytes after the user block>,
 "variables": {name: {"sha256": <hex>, "ranges": [[offset, length], ...]}}}\n
<zero bytes up to the end of the user block>
```

`read_netcdf` checks the user block and the whole-file checksum before the file is opened
(a flip in HDF5 metadata can fail, or worse succeed, inside the library), so a changed,
truncated or extended file never loads. On a mismatch the per-variable checksums, taken
over each variable's stored bytes, name the variable that changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sciml.io import IntegrityError, atomic_path, sha256_ranges

__all__ = ["netcdf_attrs", "read_netcdf", "to_netcdf", "verify_netcdf", "write_netcdf"]

_MAGIC = b"sciml-netcdf-v1"
_HDF5 = b"\x89HDF\r\n\x1a\n"


def write_netcdf(data: xr.Dataset | xr.DataArray, path: str | Path) -> Path:
    """Write `data` to `path` as sealed NetCDF4 (module docstring) atomically (temp file +
    rename); return the path. Read it back with `read_netcdf`.

    Attributes netCDF cannot hold (booleans, None, nested dicts) are converted first, see
    `netcdf_attrs`.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        to_netcdf(data, tmp)
    return path


def to_netcdf(data: xr.Dataset | xr.DataArray, path: str | Path) -> None:
    """Write `data` to sealed NetCDF4 at `path` (h5netcdf), attributes made storable.

    Not atomic by itself: `write_netcdf` is the atomic form; this one is for callers that
    stage files themselves.
    """

    if isinstance(data, xr.DataArray):
        data = data.to_dataset(name=data.name or "data")
    ds = data.copy(deep=False)
    ds.attrs = netcdf_attrs(ds.attrs)
    for var in ds.variables.values():
        var.attrs = netcdf_attrs(var.attrs)
    # room for one table line per HDF5 dataset (variables and dimension scales)
    need = 256 + sum(160 + 2 * len(str(k)) for k in (*ds.variables, *ds.dims))
    userblock = 1 << max(9, (need - 1).bit_length())
    while not _write_sealed(ds, Path(path), userblock):
        userblock *= 2


def _write_sealed(ds: xr.Dataset, path: Path, userblock: int) -> bool:
    """Write `ds` with an HDF5 user block of `userblock` bytes and seal it; False when the
    seal does not fit in the user block (the caller retries with a larger one)."""
    import h5netcdf
    import h5py
    from xarray.backends import H5NetCDFStore

    store = H5NetCDFStore(h5netcdf.File(path, "w", userblock_size=userblock), mode="w")
    try:
        ds.dump_to_store(store)
    finally:
        store.close()
    variables: dict[str, dict[str, Any]] = {}

    def ranges(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset):
            return
        d = obj.id
        if obj.chunks is None:
            size = d.get_storage_size()
            spans = [[d.get_offset(), size]] if size else []
        else:
            chunks = [d.get_chunk_info(i) for i in range(d.get_num_chunks())]
            spans = [[c.byte_offset, c.size] for c in chunks]
        variables[name] = {"ranges": spans}

    with h5py.File(path, "r") as f:
        f.visititems(ranges)
    size = path.stat().st_size - userblock
    with open(path, "rb") as f:
        for v in variables.values():
            v["sha256"] = sha256_ranges(f, [tuple(r) for r in v["ranges"]])
        digest = sha256_ranges(f, [(userblock, size)])
    table = json.dumps({"size": size, "sha256": digest, "variables": variables},
                       separators=(",", ":")).encode() + b"\n"
    first = b"%s userblock=%d sha256=%s\n" % (_MAGIC, userblock,
                                              hashlib.sha256(table).hexdigest().encode())
    block = first + table
    if len(block) > userblock:
        return False
    with open(path, "r+b") as f:
        f.write(block + bytes(userblock - len(block)))
    return True


def verify_netcdf(path: str | os.PathLike[str], fix: str | None = None) -> None:
    """Check a sealed NetCDF file's checksums without opening it as HDF5.

    Raises:
        FileNotFoundError: no file at `path`.
        IntegrityError: the file is not sealed (written by another tool or an older sciml),
            or is truncated, extended or changed; the message names the variable that
            changed when it can, and ends with `fix` (default: regenerate the file).
    """
    path = Path(path)
    fix = fix or f"regenerate {path}"
    if not path.exists():
        raise FileNotFoundError(f"no file at {path}")

    def fail(msg: str, what: str | None = None):
        raise IntegrityError(f"{path}: {msg}; {fix}", path=path, what=what)

    total = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(len(_HDF5)) == _HDF5:
            fail("it carries no sciml checksums (written by another tool or by an older "
                 "sciml), so its content cannot be trusted", "seal")
        f.seek(0)
        first = f.readline(200)
        parts = first.rstrip(b"\n").split(b" ")
        try:
            fields = dict(p.decode("ascii").split("=", 1) for p in parts[1:])
            userblock = int(fields["userblock"])
            ok = (parts[0] == _MAGIC and first.endswith(b"\n") and len(parts) == 3
                  and set(fields) == {"userblock", "sha256"}
                  and first == b"%s userblock=%d sha256=%s\n"
                  % (_MAGIC, userblock, fields["sha256"].encode())
                  and userblock >= 512 and userblock & (userblock - 1) == 0)
        except (UnicodeDecodeError, ValueError, KeyError):
            ok = False
        if not ok:
            fail("it is not a sealed sciml NetCDF file, or its first line is damaged", "seal")
        rest = f.read(userblock - len(first)) if userblock > len(first) else b""
        end = rest.find(b"\n") + 1
        table = rest[:end]
        if (not end or hashlib.sha256(table).hexdigest() != fields["sha256"]
                or rest[end:] != bytes(len(rest) - end)):
            fail("its checksum table is damaged", "seal")
        seal = json.loads(table)
        size = seal["size"]
        if total != userblock + size:
            fail(f"it is truncated ({total} bytes where its seal says {userblock + size})"
                 if total < userblock + size else
                 f"it has {total - userblock - size} unexpected bytes appended", "size")
        if sha256_ranges(f, [(userblock, size)]) == seal["sha256"]:
            return
        for name, v in seal["variables"].items():
            if sha256_ranges(f, [tuple(r) for r in v["ranges"]]) != v["sha256"]:
                fail(f"variable {name!r} has changed since it was written (its checksum "
                     "does not match)", name)
    fail("its structure or attributes have changed since it was written (the file's "
         "checksum does not match, every variable's does)", "metadata")


def read_netcdf(path: str | os.PathLike[str], fix: str | None = None) -> xr.Dataset:
    """A sealed NetCDF file (`write_netcdf`) fully loaded into memory, after
    `verify_netcdf(path, fix)` (its errors) has passed."""
    verify_netcdf(path, fix)
    with xr.open_dataset(path, engine="h5netcdf") as f:
        return f.load()


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
