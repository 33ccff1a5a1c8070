"""The ragged layout, shown on a family defined here and not registered: random clusters
of 2-9 points in 3-D with their Lennard-Jones energy (per sample) and forces (per point,
the exact negative gradient). Load, cache, bit-identical top-up, checks on read, splits,
executors."""

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from sciml.datasets import (
    Execution,
    Family,
    RaggedLayout,
    Variable,
    cache_path,
    generate,
    load,
    ragged_arrays,
    ragged_offsets,
    ragged_sample,
    train_test_split,
    write_netcdf,
)
from sciml.problems import Problem, Reference
from sciml.problems.operator_learning import sample_rng


class LJClusters(Problem):
    """Clusters of `min_points`-`max_points` points on a jittered cubic lattice of spacing
    `spacing` (so no two points are closer than spacing - 2 jitter √3), with the pairwise
    Lennard-Jones energy E = Σ_{i<j} 4ε((σ/r)¹² − (σ/r)⁶) and forces F = −∇E."""

    name = "lj_clusters"

    def __init__(self, epsilon=1.0, sigma=1.0, spacing=1.2, jitter=0.1,
                 min_points=2, max_points=9):
        self.epsilon, self.sigma, self.spacing, self.jitter = epsilon, sigma, spacing, jitter
        self.min_points, self.max_points = min_points, max_points

    @property
    def params(self):
        return {"epsilon": self.epsilon, "sigma": self.sigma, "spacing": self.spacing,
                "jitter": self.jitter, "min_points": self.min_points,
                "max_points": self.max_points}

    @property
    def reference(self):
        return Reference("analytic", tolerance=1e-15, evidence="closed-form pair sums")

    def positions(self, seed, stream, index):
        rng = sample_rng(seed, index, family=self.name, stream=stream)
        k = int(rng.integers(self.min_points, self.max_points + 1))
        lattice = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3)
        pick = rng.choice(len(lattice), size=k, replace=False)
        return self.spacing * lattice[pick] + rng.uniform(-self.jitter, self.jitter, (k, 3))

    def energy_forces(self, x):
        d = x[:, None, :] - x[None, :, :]
        r2 = np.sum(d**2, axis=-1)
        np.fill_diagonal(r2, np.inf)
        s6 = (self.sigma**2 / r2) ** 3
        energy = 0.5 * np.sum(4 * self.epsilon * (s6**2 - s6))
        # F_i = Σ_j 24ε (2 s¹² − s⁶) / r² (x_i − x_j)
        forces = np.sum((24 * self.epsilon * (2 * s6**2 - s6) / r2)[..., None] * d, axis=1)
        return energy, forces


def lj_generator(problem, seed, stream, indices):
    """The family's generator: module level, so a process pool could run it."""
    pos = [problem.positions(seed, stream, i) for i in indices]
    ef = [problem.energy_forces(x) for x in pos]
    empty = np.empty((0, 3))
    return {
        "positions": np.concatenate(pos) if pos else empty,
        "energy": np.array([e for e, _ in ef]),
        "forces": np.concatenate([f for _, f in ef]) if ef else empty,
        "count": np.array([len(x) for x in pos], dtype=np.int64),
    }


def _forces_balance(ds, problem):
    """Newton's third law: the forces of each cluster add up to zero."""
    arrays = ragged_arrays(ds)
    total = np.zeros((ds.sizes["sample"], 3))
    np.add.at(total, np.repeat(np.arange(len(arrays)), arrays.sizes), arrays.items["forces"])
    if np.max(np.abs(total), initial=0.0) > 1e-9:
        return "variable 'forces' does not add up to zero per cluster"
    return None


CALLS = []


def counting_generator(problem, seed, stream, indices):
    CALLS.append((stream, list(indices)))
    return lj_generator(problem, seed, stream, indices)


LJ = Family(
    name="lj_clusters",
    problem=LJClusters,
    variables=(
        Variable("positions", ("item", "xyz"), "point positions", units="sigma"),
        Variable("energy", ("sample",), "Lennard-Jones energy", units="epsilon",
                 role="output"),
        Variable("forces", ("item", "xyz"), "forces -dE/dx", units="epsilon/sigma",
                 role="output"),
    ),
    layout=RaggedLayout(item="item", sizes={"xyz": 3}, note="an item is one point"),
    generator=counting_generator,
    checks=(_forces_balance,),
    execution=Execution("inline", chunk=3),
)


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def test_layout_and_values(tmp_path):
    ds = load(LJ, n_train=5, n_test=3, cache_dir=tmp_path)
    count = ds["count"].values
    assert ds.sizes["sample"] == 8 and ds.sizes["xyz"] == 3
    assert ds.sizes["item"] == count.sum() and np.all((count >= 2) & (count <= 9))
    assert len(set(count)) > 1  # really ragged
    np.testing.assert_array_equal(ds["offset"].values, np.cumsum(count) - count)
    assert ds.attrs["layout"] == "ragged" and ds.attrs["item_dim"] == "item"
    assert ds.attrs["input"] == "positions" and ds.attrs["output"] == "energy forces"
    assert ds.attrs["max_points"] == 9 and "resolution" not in ds.attrs
    assert list(ds.split.values) == ["train"] * 5 + ["test"] * 3
    path = cache_path(LJ, cache_dir=tmp_path)
    assert path.name == "lj_clusters_seed0_v1_sealed.nc" and ds.attrs["source"] == str(path)
    with pytest.raises(ValueError, match="ragged layout and no resolutions"):
        load(LJ, n_train=5, n_test=3, resolution=8, cache_dir=tmp_path)

    problem = LJClusters()

    @jax.jit  # once per cluster size (op by op, each size compiled every primitive)
    @jax.value_and_grad
    def energy(y):
        d = y[:, None, :] - y[None, :, :]
        r2 = jnp.sum(d**2, -1) + jnp.eye(y.shape[0])  # no self-pairs
        s6 = (1.0 / r2) ** 3 * (1 - jnp.eye(y.shape[0]))
        return 2.0 * jnp.sum(s6**2 - s6)

    for i in range(8):
        one = ragged_sample(ds, i)
        x = one.positions.values
        assert x.shape == (count[i], 3)
        stream, index = (0, i) if i < 5 else (1, i - 5)
        np.testing.assert_array_equal(x, problem.positions(0, stream, index))
        e, grad = energy(jnp.asarray(x))
        assert float(one.energy) == pytest.approx(float(e), rel=1e-13)
        np.testing.assert_allclose(
            one.forces.values, -np.asarray(grad), rtol=1e-12,
            atol=1e-12 * math.fabs(float(one.energy)) + 1e-12,
        )


def test_flat_arrays_for_batching(tmp_path):
    ds = load(LJ, n_train=4, n_test=2, cache_dir=tmp_path)
    arrays = ragged_arrays(ds)
    assert set(arrays.items) == {"positions", "forces"} and set(arrays.samples) == {"energy"}
    np.testing.assert_array_equal(arrays.offsets, ragged_offsets(ds))
    assert arrays.offsets[0] == 0 and arrays.offsets[-1] == ds.sizes["item"]
    np.testing.assert_array_equal(arrays.sizes, ds["count"].values)
    i = 3
    lo, hi = arrays.offsets[i], arrays.offsets[i + 1]
    np.testing.assert_array_equal(arrays.items["forces"][lo:hi],
                                  ragged_sample(ds, i).forces.values)
    assert np.all(np.repeat(np.arange(len(arrays)), arrays.sizes)[lo:hi] == i)
    # straight into the training driver's padded batches: one batch, whole clusters
    import jax

    from sciml.solvers import PaddedBatches

    batcher = PaddedBatches(batch_size=2)
    xs, _ = batcher.plan(batcher.init(arrays, jax.random.key(0)), arrays, 1)
    batch = batcher.select(arrays, jax.tree.map(lambda a: a[0], xs))
    for k, j in enumerate(np.asarray(xs[0][0])):
        got = np.asarray(batch.items["forces"])[np.asarray(batch.segment) == k]
        np.testing.assert_array_equal(got, ragged_sample(ds, int(j)).forces.values)


def _one(ds, i):
    """Sample i's values, without what depends on its position in `ds`."""
    return ragged_sample(ds, i).drop_vars(["sample", "offset"]).drop_attrs()


def test_cache_reuse_slicing_and_bit_identical_top_up(tmp_path):
    small = load(LJ, n_train=3, n_test=2, cache_dir=tmp_path)
    assert sorted(CALLS) == [(0, [0, 1, 2]), (1, [0, 1])]
    CALLS.clear()
    smaller = load(LJ, n_train=2, n_test=1, cache_dir=tmp_path)
    assert CALLS == []
    assert smaller.sizes["sample"] == 3 and smaller["offset"].values[0] == 0
    for k, i in enumerate([0, 1, 3]):  # train 0, 1 and test 0 of the cached file
        xr.testing.assert_identical(_one(smaller, k), _one(small, i))
    big = load(LJ, n_train=7, n_test=4, cache_dir=tmp_path)
    assert sorted(CALLS) == [(0, [3, 4, 5]), (0, [6]), (1, [2, 3])]  # only the missing
    fresh = load(LJ, n_train=7, n_test=4, cache_dir=tmp_path / "fresh")
    xr.testing.assert_identical(big.drop_attrs(), fresh.drop_attrs())
    # and on disk too
    with xr.open_dataset(cache_path(LJ, cache_dir=tmp_path), engine="h5netcdf") as f:
        xr.testing.assert_identical(f.load().drop_attrs(), fresh.drop_attrs())


def test_train_test_split(tmp_path):
    ds = load(LJ, n_train=4, n_test=3, cache_dir=tmp_path)
    train, test = train_test_split(ds)
    count = ds["count"].values
    assert train.sizes["sample"] == 4 and test.sizes["sample"] == 3
    assert train.sizes["item"] == count[:4].sum() and test.sizes["item"] == count[4:].sum()
    assert test["offset"].values[0] == 0
    np.testing.assert_array_equal(
        np.concatenate([train.positions.values, test.positions.values]), ds.positions.values
    )
    xr.testing.assert_identical(_one(test, 1), _one(ds, 5))
    assert set(np.unique(test.split.values)) == {"test"}


def test_other_executors_give_the_same_bits():
    inline = generate(LJ, n_train=7, n_test=3)[None]
    with ThreadPoolExecutor(2) as pool:
        threaded = generate(LJ, n_train=7, n_test=3, executor=pool)[None]
        assert pool.submit(lambda: 1).result() == 1  # the caller's executor is left running
    xr.testing.assert_identical(inline.drop_attrs(), threaded.drop_attrs())
    with pytest.raises(ValueError, match="not both"):
        generate(LJ, n_train=1, n_test=0, workers=2, executor=ThreadPoolExecutor(1))


def _rewrite(path, change):
    with xr.open_dataset(path, engine="h5netcdf") as f:
        ds = f.load()
    write_netcdf(change(ds), path)


def _bump_offset(ds):
    ds["offset"][2] += 1
    return ds


def _swap_offsets(ds):
    off = ds["offset"].values.copy()
    off[[1, 2]] = off[[2, 1]]
    ds["offset"] = ("sample", off)
    return ds


def _nan_force(ds):
    ds["forces"][4, 1] = np.nan
    return ds


def _push(ds):
    ds["forces"][0, 0] += 1.0
    return ds


def _more_count(ds):
    ds["count"][0] += 1
    return ds


@pytest.mark.parametrize(
    "change, message",
    [
        (_bump_offset, "variable 'offset' is inconsistent: sample 2 starts at item"),
        (_swap_offsets, "variable 'offset' is not increasing"),
        (_more_count, "variable 'count' adds up to"),
        (lambda ds: ds.drop_vars("count"), "variable 'count' is missing"),
        (_nan_force, "variable 'forces' has 1 NaN or infinite values"),
        (lambda ds: ds.isel(xyz=[0, 1]), r"variable 'positions' has shape \(\d+, 2\)"),
        (lambda ds: ds.assign(energy=ds.energy.astype("float32")), "'energy' has dtype"),
        (lambda ds: ds.assign_attrs(max_points=5), "generated with max_points = 5"),
        (_push, "'forces' does not add up to zero per cluster"),  # the family's check
    ],
)
def test_checks_on_read(tmp_path, change, message):
    load(LJ, n_train=4, n_test=2, cache_dir=tmp_path)
    path = cache_path(LJ, cache_dir=tmp_path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=message) as info:
        load(LJ, n_train=4, n_test=2, cache_dir=tmp_path)
    assert str(path) in str(info.value) and f"delete {path}" in str(info.value)


def test_generator_output_is_checked():
    def bad(problem, seed, stream, indices):
        out = lj_generator(problem, seed, stream, indices)
        out["energy"] = out["energy"][:-1]
        return out

    with pytest.raises(RuntimeError, match="lj_clusters: the generator returned 'energy'"):
        generate(dataclasses.replace(LJ, generator=bad), n_train=3, n_test=0)


def test_bad_family_specs():
    with pytest.raises(ValueError, match="must start with dim 'sample' or 'item'"):
        dataclasses.replace(LJ, variables=(*LJ.variables, Variable("q", ("xyz",), "q")))
    with pytest.raises(ValueError, match="without a size"):
        dataclasses.replace(LJ, variables=(*LJ.variables, Variable("q", ("item", "k"), "q")))
    with pytest.raises(ValueError, match="at least one input and one output"):
        dataclasses.replace(LJ, variables=LJ.variables[:1])
    with pytest.raises(ValueError, match="family name"):
        dataclasses.replace(LJ, name="LJ clusters")
