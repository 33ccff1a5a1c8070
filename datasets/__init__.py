"""Reference datasets made by the problems' solvers, stored as xarray (NetCDF/Zarr).

Empty so far: the generators and the `sciml.datasets.load(name, ...)` registry arrive with
the operator-learning problems (Darcy, Burgers, antiderivative), which need stored data.
"""
