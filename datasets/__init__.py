"""Reference datasets made by the problems' solvers, stored as xarray (NetCDF).

`load(name, ...)` returns a dataset of a registered family (`dataset_names()`: Darcy,
periodic Burgers, antiderivative) or of a `Family` you define, generating it on first
use (on the family's default executor or yours) and caching it; every read is checked.
`train_test_split` splits it; `ragged_sample` / `ragged_arrays` read variable-size
samples of a ragged family. `write_netcdf` is the atomic, checksummed NetCDF writer every
saved dataset and report goes through; `read_netcdf` reads such a file back only after its
checksums pass.

Modules: `_family` (the `Family` spec and its layouts), `_families` (the built-in
families, registered in one place), `_cache` (paths, attributes, checks, merging),
`_generate` (running generators on executors), `_load` (load, generate, split),
`_ragged` (selecting samples in either layout), `_netcdf` (sealed writing and reading).
"""

from sciml.datasets._cache import cache_path, default_cache_dir
from sciml.datasets._families import dataset_names, get_family
from sciml.datasets._family import (
    FORMAT,
    Execution,
    Family,
    GridLayout,
    RaggedLayout,
    Variable,
)
from sciml.datasets._load import generate, load, train_test_split
from sciml.datasets._netcdf import (
    netcdf_attrs,
    read_netcdf,
    to_netcdf,
    verify_netcdf,
    write_netcdf,
)
from sciml.datasets._ragged import (
    ragged_arrays,
    ragged_offsets,
    ragged_sample,
    select_samples,
)

__all__ = [
    "FORMAT",
    "Execution",
    "Family",
    "GridLayout",
    "RaggedLayout",
    "Variable",
    "cache_path",
    "dataset_names",
    "default_cache_dir",
    "generate",
    "get_family",
    "load",
    "netcdf_attrs",
    "ragged_arrays",
    "ragged_offsets",
    "ragged_sample",
    "read_netcdf",
    "select_samples",
    "to_netcdf",
    "train_test_split",
    "verify_netcdf",
    "write_netcdf",
]
