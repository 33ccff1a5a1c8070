"""Reference datasets made by the problems' solvers, stored as xarray (NetCDF/Zarr).

So far the NetCDF writer every saved dataset and report goes through (`write_netcdf`);
the generators and the `load(name, ...)` registry arrive with the operator-learning
problems (Darcy, Burgers, antiderivative).
"""

from sciml.datasets._netcdf import netcdf_attrs, to_netcdf, write_netcdf

__all__ = ["netcdf_attrs", "to_netcdf", "write_netcdf"]
