"""The `atomic_structures` family: EMT-labelled structures in the ragged layout (a flat
`atom` dimension with per-structure offsets). Load, cache, the samples' values against the
problem's, the round trip to `ase.Atoms`, trajectories apart in train and test, and the
checks made on every read."""

import shutil

import numpy as np
import pytest
import xarray as xr

from sciml.datasets import (
    cache_path,
    load,
    ragged_sample,
    read_netcdf,
    train_test_split,
    write_netcdf,
)
from sciml.problems.atomistic import (
    TRAJECTORY_STREAM_OFFSET,
    AtomicStructures,
    from_atoms,
    labels_of,
    to_atoms,
)

N_TRAIN, N_TEST = 25, 6  # a cycle and the start of the next; the test stream's first MD


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    """(dataset, cache directory) of one generation shared by the tests."""
    root = tmp_path_factory.mktemp("atomic")
    return load("atomic_structures", n_train=N_TRAIN, n_test=N_TEST, cache_dir=root), root


def test_layout_units_and_provenance(cached):
    ds, root = cached
    count = ds["count"].values
    assert ds.sizes["sample"] == N_TRAIN + N_TEST and ds.sizes["atom"] == count.sum()
    np.testing.assert_array_equal(ds["offset"].values, np.cumsum(count) - count)
    assert ds.attrs["layout"] == "ragged" and ds.attrs["item_dim"] == "atom"
    assert ds["positions"].dims == ("atom", "xyz") and ds["forces"].dims == ("atom", "xyz")
    assert ds["stress"].dims == ("sample", "row", "column")
    assert ds["cell"].dims == ("sample", "vector", "xyz") and ds["pbc"].dims == ("sample", "vector")
    units = {k: ds[k].attrs["units"] for k in ("positions", "forces", "energy", "stress",
                                                "temperature")}
    assert units == {"positions": "angstrom", "forces": "eV/angstrom", "energy": "eV",
                     "stress": "eV/angstrom^3", "temperature": "K"}
    assert ds.attrs["output"] == "energy forces stress has_stress"
    assert ds.attrs["metal"] == "Cu" and ds.attrs["reference_kind"] == "analytic"
    assert ds.attrs["command"] == (f"sciml.datasets.load('atomic_structures', n_train={N_TRAIN}"
                                   f", n_test={N_TEST}, seed=0)")
    assert ds.attrs["source"] == str(cache_path("atomic_structures", cache_dir=root))
    # stress is labelled exactly for the fully periodic cells
    full = ds["pbc"].values.all(axis=1)
    np.testing.assert_array_equal(ds["has_stress"].values == 1, full)
    assert not full.all() and full.any()


def test_values_are_the_problems_and_round_trip_through_atoms(cached):
    ds, _ = cached
    atoms = to_atoms(ds)
    problem = AtomicStructures()
    want = (problem.configurations(0, 0, range(N_TRAIN))
            + problem.configurations(0, 1, range(N_TEST)))
    assert len(atoms) == len(want)
    for a, b in zip(atoms, want, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.numbers, b.numbers)
        np.testing.assert_array_equal(a.pbc, b.pbc)
        la, lb = labels_of(a), labels_of(b)
        assert la.energy == lb.energy and la.has_stress == lb.has_stress
        np.testing.assert_array_equal(la.forces, lb.forces)
        np.testing.assert_array_equal(la.stress, lb.stress)
        assert a.info == b.info
    one = ragged_sample(ds, 4)
    np.testing.assert_array_equal(one.positions.values, atoms[4].positions)
    # and back: the same variables, bit for bit
    back = from_atoms(atoms, split=ds["split"].values)
    assert set(back.data_vars) == set(ds.data_vars)
    for name in ds.data_vars:
        xr.testing.assert_identical(back[name].variable, ds[name].variable)
    np.testing.assert_array_equal(back["index"].values, ds["index"].values)


def test_trajectories_of_train_and_test_are_apart(cached):
    ds, _ = cached
    train, test = train_test_split(ds)
    a, b = set(train["trajectory"].values), set(test["trajectory"].values)
    assert not a & b and min(b) >= TRAJECTORY_STREAM_OFFSET
    # frames of one trajectory are consecutive samples, numbered from 0
    t, f = ds["trajectory"].values, ds["frame"].values
    for ident in np.unique(t):
        np.testing.assert_array_equal(f[t == ident], np.arange(np.sum(t == ident)))


def test_cache_is_reused_and_sliced(cached, monkeypatch):
    ds, root = cached
    monkeypatch.setattr(AtomicStructures, "configurations",
                        lambda *a: pytest.fail("regenerated a cached sample"))
    small = load("atomic_structures", n_train=3, n_test=2, cache_dir=root)
    assert small.sizes["sample"] == 5
    np.testing.assert_array_equal(small["energy"].values,
                                  ds["energy"].values[[0, 1, 2, N_TRAIN, N_TRAIN + 1]])


def _nan_position(ds):
    ds["positions"][5, 0] = np.nan
    return ds


def _overlap(ds):
    # atom 1 of structure 0 onto atom 0 (its forces are moved too, to keep their sum)
    ds["positions"][1] = ds["positions"][0] + 0.1
    return ds


def _push(ds):
    ds["forces"][40, 2] += 0.01
    return ds


def _stress_on_a_slab(ds):
    slab = int(np.flatnonzero(ds["has_stress"].values == 0)[0])
    ds["has_stress"][slab] = 1
    return ds


def _bad_kind(ds):
    ds["kind"][0] = 9
    return ds


@pytest.mark.parametrize(
    "change, message",
    [
        (_nan_position, "variable 'positions' has 1 NaN or infinite values"),
        (_overlap, r"structure 0 has atoms 0 and 1 0.173 Å apart \(< 0.5 Å"),
        (_push, "the forces of structure 1 add up to 0.01 eV/Å, not ~0"),
        (_stress_on_a_slab, "has a stress label but is not periodic along all axes"),
        (_bad_kind, "variable 'kind' holds codes outside 0..6"),
        (lambda ds: ds.assign_attrs(metal="Al"), "generated with metal = 'Al'"),
    ],
)
def test_checks_on_read(cached, tmp_path, change, message):
    _, root = cached
    path = cache_path("atomic_structures", cache_dir=tmp_path)
    shutil.copy(cache_path("atomic_structures", cache_dir=root), path)
    write_netcdf(change(read_netcdf(path)), path)
    with pytest.raises(ValueError, match=message) as info:
        load("atomic_structures", n_train=N_TRAIN, n_test=N_TEST, cache_dir=tmp_path)
    assert f"delete {path}" in str(info.value)
