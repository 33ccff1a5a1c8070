"""NetCDF writing: attributes netCDF cannot hold are converted, writes are atomic."""

import json

import numpy as np
import pytest
import xarray as xr

from sciml.datasets import write_netcdf


def test_round_trip_with_awkward_attributes(tmp_path):
    ds = xr.Dataset({"psi": ("x", np.linspace(0, 1, 5))}, coords={"x": np.arange(5.0)})
    ds.attrs.update(
        piecewise=True, energy=None, config={"width": 24}, L=1.0, name="well", sizes=[1, 2, 3]
    )
    path = write_netcdf(ds, tmp_path / "a.nc")
    back = xr.open_dataset(path, engine="h5netcdf")
    np.testing.assert_array_equal(back.psi.values, ds.psi.values)
    assert back.attrs["piecewise"] == 1 and "energy" not in back.attrs
    assert json.loads(back.attrs["config"]) == {"width": 24}
    assert back.attrs["L"] == 1.0 and back.attrs["name"] == "well"
    np.testing.assert_array_equal(back.attrs["sizes"], [1, 2, 3])
    assert ds.attrs["piecewise"] is True  # the caller's dataset is left as it was


def test_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "a.nc"
    write_netcdf(xr.Dataset({"v": ("x", np.ones(3))}), path)
    before = path.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - whatever the backend raises
        write_netcdf(xr.Dataset({"v": ("x", np.array([object()], dtype=object))}), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.nc"]
