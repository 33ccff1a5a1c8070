"""Reference datasets made by the problems' solvers, stored as xarray (NetCDF).

`load(name, ...)` returns an operator-learning dataset (Darcy, periodic Burgers,
antiderivative), generating it on first use and caching it (see `sciml.datasets._registry`
for the layout, the cache location `$SCIML_DATA_DIR` or `~/.cache/sciml`, and the checks
made on every read). `write_netcdf` is the atomic NetCDF writer every saved dataset and
report goes through.
"""

from sciml.datasets._netcdf import netcdf_attrs, to_netcdf, write_netcdf
from sciml.datasets._registry import (
    cache_path,
    dataset_names,
    default_cache_dir,
    generate,
    load,
    train_test_split,
)

__all__ = [
    "cache_path",
    "dataset_names",
    "default_cache_dir",
    "generate",
    "load",
    "netcdf_attrs",
    "to_netcdf",
    "train_test_split",
    "write_netcdf",
]
