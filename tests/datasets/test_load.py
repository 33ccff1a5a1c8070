"""The built-in grid datasets: layout, determinism, per-sample independence, resolution
consistency, cache reuse and extension, and every check made on read."""

import numpy as np
import pytest
import xarray as xr

from sciml import datasets
from sciml.datasets import _families, cache_path, dataset_names, load, train_test_split
from sciml.datasets._netcdf import write_netcdf
from sciml.io import IntegrityError
from sciml.problems.operator_learning import DarcyFlow, block_average


@pytest.fixture
def counted(monkeypatch):
    """The samples the operator families' generator is asked for:
    {(problem, stream): [indices in the order asked]}."""
    calls: dict[tuple[str, int], list[int]] = {}
    original = _families.sample_operator

    def wrapper(problem, seed, stream, indices, resolutions):
        calls.setdefault((problem.name, stream), []).extend(indices)
        return original(problem, seed, stream, indices, resolutions)

    monkeypatch.setattr(_families, "sample_operator", wrapper)
    return calls


def test_names_and_layout(tmp_path):
    assert dataset_names() == ["antiderivative", "atomic_structures", "burgers_periodic", "darcy",
                               "molecule_energies"]
    ds = load("antiderivative", n_train=5, n_test=3, cache_dir=tmp_path)
    assert ds.sizes == {"sample": 8, "x": 100}
    assert list(ds.split.values) == ["train"] * 5 + ["test"] * 3
    assert list(ds.index.values) == [0, 1, 2, 3, 4, 0, 1, 2]
    np.testing.assert_array_equal(ds.x.values, np.linspace(0, 1, 100))
    assert ds.attrs["input"] == "u" and ds.attrs["output"] == "s"
    assert (ds.attrs["seed"], ds.attrs["resolution"]) == (0, 100)
    assert (ds.attrs["n_train"], ds.attrs["n_test"]) == (5, 3)
    assert ds.attrs["generator"] == "sciml.datasets/antiderivative"
    assert ds.attrs["length_scale"] == 0.2 and ds.attrs["reference_kind"] == "analytic"
    for pkg in ("numpy", "scipy", "jax", "sciml"):
        assert f'"{pkg}"' in ds.attrs["versions"]
    train, test = train_test_split(ds)
    assert train.sizes["sample"] == 5 and test.sizes["sample"] == 3
    xr.testing.assert_identical(train, ds.isel(sample=ds.split.values == "train"))
    # s is the antiderivative of u: trapezoid rule on the 100-point grid, O(h²)
    u = ds.u.values
    trap = np.concatenate([np.zeros((8, 1)), np.cumsum(0.5 * (u[:, 1:] + u[:, :-1]) / 99, 1)], 1)
    assert np.max(np.abs(trap - ds.s.values)) < 1e-3


def test_determinism_and_independence_of_n_train(tmp_path):
    a = load("antiderivative", n_train=4, n_test=2, cache_dir=tmp_path / "a")
    b = load("antiderivative", n_train=4, n_test=2, cache_dir=tmp_path / "b")
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    c = load("antiderivative", n_train=7, n_test=2, cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(c.u.values[:4], a.u.values[:4])
    np.testing.assert_array_equal(c.u.values[7:], a.u.values[4:])  # same test set
    d = load("antiderivative", n_train=4, n_test=2, seed=1, cache_dir=tmp_path / "a")
    assert not np.allclose(d.u.values, a.u.values)


def test_cache_is_reused_and_extended(tmp_path, counted):
    load("antiderivative", n_train=6, n_test=3, cache_dir=tmp_path)
    assert counted == {("antiderivative", 0): list(range(6)), ("antiderivative", 1): [0, 1, 2]}
    counted.clear()
    small = load("antiderivative", n_train=2, n_test=1, resolution=200, cache_dir=tmp_path)
    assert counted == {}  # every standard resolution was written by the first call
    assert small.sizes == {"sample": 3, "x": 200} and small.attrs["n_train"] == 2
    big = load("antiderivative", n_train=8, n_test=3, cache_dir=tmp_path)
    assert counted == {("antiderivative", 0): [6, 7]}  # only the missing samples
    full = load("antiderivative", n_train=8, n_test=3, cache_dir=tmp_path / "fresh")
    xr.testing.assert_identical(big.drop_attrs(), full.drop_attrs())
    # the other resolutions were extended consistently
    counted.clear()
    r50 = load("antiderivative", n_train=8, n_test=3, resolution=50, cache_dir=tmp_path)
    assert counted == {} and r50.sizes["sample"] == 11


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_DATA_DIR", str(tmp_path / "env"))
    assert datasets.default_cache_dir() == tmp_path / "env"
    ds = load("antiderivative", n_train=1, n_test=1)
    assert ds.attrs["source"] == str(cache_path("antiderivative"))
    assert cache_path("antiderivative").parent == tmp_path / "env"
    assert cache_path("antiderivative").exists()


def test_darcy_resolutions_are_block_averages(tmp_path):
    ds64 = load("darcy", n_train=2, n_test=1, cache_dir=tmp_path)
    ds32 = load("darcy", n_train=2, n_test=1, resolution=32, cache_dir=tmp_path)
    ds128 = load("darcy", n_train=2, n_test=1, resolution=128, cache_dir=tmp_path)
    assert ds64.sizes == {"sample": 3, "x": 64, "y": 64}
    np.testing.assert_allclose(ds64.x.values, (np.arange(64) + 0.5) / 64)
    for v in ("a", "u"):
        np.testing.assert_allclose(block_average(ds64[v].values, 32), ds32[v].values, rtol=1e-14)
        np.testing.assert_allclose(block_average(ds128[v].values, 64), ds64[v].values, rtol=1e-14)
    # the same samples as the problem's own sampler (train: stream 0, test: stream 1)
    p = DarcyFlow()
    a16 = block_average(p.sample_coefficient(0, 0, stream=1), 16)
    np.testing.assert_array_equal(block_average(ds64.a.values[2], 16), a16)
    assert ds64.a.min() >= 3 and ds64.a.max() <= 12 and ds64.u.min() > 0


def test_burgers_resolutions_are_subsamples(tmp_path):
    ds = load("burgers_periodic", n_train=3, n_test=1, cache_dir=tmp_path)
    assert ds.sizes == {"sample": 4, "x": 1024} and ds.attrs["viscosity"] == 0.1
    half = load("burgers_periodic", n_train=2, n_test=1, resolution=512, cache_dir=tmp_path)
    np.testing.assert_array_equal(half.u.values[:2], ds.u.values[:2, ::2])
    np.testing.assert_array_equal(half.u0.values[2], ds.u0.values[3, ::2])
    other = load("burgers_periodic", n_train=1, n_test=1, cache_dir=tmp_path / "b")
    # per-sample solves: the same bits whatever batch a sample was solved in
    np.testing.assert_array_equal(other.u.values[0], ds.u.values[0])
    np.testing.assert_array_equal(other.u.values[1], ds.u.values[3])


# --- errors --------------------------------------------------------------------------------
def test_bad_requests(tmp_path):
    with pytest.raises(KeyError, match="unknown dataset 'darcyy'.*Did you mean 'darcy'"):
        load("darcyy", cache_dir=tmp_path)
    with pytest.raises(KeyError,
                       match="Known datasets: antiderivative, atomic_structures, burgers_periodic"):
        load("navier_stokes", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="no resolution 48; allowed: 16, 32, 64, 128"):
        load("darcy", resolution=48, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="n_train must be a non-negative integer"):
        load("antiderivative", n_train=-1, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="at least one sample"):
        load("antiderivative", n_train=0, n_test=0, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def _rewrite(path, change):
    with xr.open_dataset(path, engine="h5netcdf") as f:
        ds = f.load()
    write_netcdf(change(ds), path)


def _set_nan(ds):
    ds["s"][1, 3] = np.nan
    return ds


def _shift_s(ds):
    ds["s"] = ds["s"] + 1.0
    return ds


def _set_inf(ds):
    ds["u"][0, 0] = np.inf
    return ds


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda ds: ds.drop_vars("s"), "variable 's' is missing"),
        (lambda ds: ds.isel(x=slice(0, 50)), r"grid shape \(50,\), expected \(100,\)"),
        (lambda ds: ds.transpose("x", "sample"), r"has dims \('x', 'sample'\)"),
        (_set_nan, "'s' has 1 NaN or infinite values"),
        (_set_inf, "'u' has 1 NaN or infinite values"),
        (lambda ds: ds.assign_attrs(seed=5), "attribute 'seed' is 5, expected 0"),
        (lambda ds: ds.drop_vars("split"), "'split' and 'index'"),
        (lambda ds: ds.assign_attrs(length_scale=0.3), "generated with length_scale = 0.3"),
        (lambda ds: ds.assign(s=ds.s.astype("float32")), "'s' has dtype float32"),
        (_shift_s, "'s' is not 0 at x = 0"),  # the family's own check
    ],
)
def test_bad_cached_files(tmp_path, change, message):
    load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
    path = cache_path("antiderivative", cache_dir=tmp_path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=message) as info:
        load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
    assert str(path) in str(info.value) and "delete" in str(info.value)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupted_files(tmp_path, damage):
    load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
    path = cache_path("antiderivative", cache_dir=tmp_path)
    data = path.read_bytes()
    path.write_bytes(
        {"garbage": b"not a netCDF file" * 10, "truncated": data[: len(data) // 2], "empty": b""}[
            damage
        ]
    )
    message = {"garbage": "not a sealed sciml NetCDF file", "truncated": "truncated",
               "empty": "not a sealed"}[damage]
    with pytest.raises(IntegrityError, match=f"{message}.*delete .* to regenerate"):
        load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
    path.unlink()  # the fix the message names
    assert load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path).sizes["sample"] == 4


def test_files_written_before_the_family_specs_still_load(tmp_path, counted):
    # FORMAT-1 files made before `layout` and `machine` were recorded stay valid
    ds = load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
    path = cache_path("antiderivative", cache_dir=tmp_path)
    _rewrite(path, lambda d: d.drop_attrs().assign_attrs(
        {k: v for k, v in d.attrs.items() if k not in ("layout", "machine")}))
    counted.clear()
    again = load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
    assert counted == {}
    xr.testing.assert_identical(ds.drop_attrs(), again.drop_attrs())
