"""Operator validation cases: tiny end-to-end runs of `solve_operator` on generated data.

Every test points `SCIML_DATA_DIR` at one temporary cache shared by the module, so each
dataset is generated once and the user's cache is never touched. Models and budgets are
tiny: the errors are checked for consistency, not accuracy. So the Darcy family's problem
solves on 64² cells here (`coarse_darcy`) instead of 256² (~0.3 CPU-s a sample), for the
same 64/32/16 data resolutions.
"""

import dataclasses
import functools

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest

from sciml.datasets import cache_path, load
from sciml.neural_operators import FieldMap, count_params
from sciml.problems.operator_learning import DarcyFlow
from sciml.solvers import field_errors, predict
from sciml.validation.cases.operators import (
    CASES,
    FULL,
    QUICK,
    OperatorSpec,
    build_operator,
    operator_figures,
    solve_operator,
)
from sciml.validation.factories import OPERATORS

# What `solve_operator` saves (the operators notebook re-plots exactly these).
DATA_VARS = {"input", "reference", "prediction", "test_rel_l2", "history_loss",
             "history_test_rel_l2", "history_elapsed_s"}
ATTRS = {"dataset", "model", "resolution", "rel_l2", "median_sample", "wall_time_s",
         "samples_per_s", "n_train", "n_test", "seed", "n_parameters"}

DEEPONET = dict(latent=8, branch_width=16, branch_depth=1, trunk_width=16, trunk_depth=1)
ANTIDERIVATIVE = OperatorSpec("antiderivative", "deeponet", resolution=100, n_train=64,
                              n_test=16, model_args=DEEPONET,
                              config=dict(epochs=3, batch_size=16))
BURGERS = OperatorSpec("burgers_periodic", "fno", resolution=128, n_train=8, n_test=4,
                       model_args=dict(modes=(8,), width=8, depth=1),
                       config=dict(epochs=2, batch_size=4))
DARCY = OperatorSpec("darcy", "fno", resolution=32, n_train=8, n_test=4,
                     model_args=dict(modes=(4, 4), width=8, depth=1),
                     config=dict(epochs=2, batch_size=4))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("operator-data")


@pytest.fixture(scope="module", autouse=True)
def coarse_darcy():
    """The registered "darcy" family with its problem on 64² cells, for this module."""
    from sciml.datasets import _families

    builtin = _families.builtin_families

    def families():
        out = builtin()
        darcy = out["darcy"]
        out["darcy"] = dataclasses.replace(
            darcy, problem=functools.partial(DarcyFlow, cells=64, kl_modes=32),
            layout=dataclasses.replace(darcy.layout, resolutions=(64, 32, 16)))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_families, "builtin_families", families)
        yield


@pytest.fixture(autouse=True)
def cache(data_dir, monkeypatch):
    """`sciml.datasets.load` reads `SCIML_DATA_DIR` on every call."""
    monkeypatch.setenv("SCIML_DATA_DIR", str(data_dir))
    return data_dir


def held_out(ds):
    """(inputs, outputs) of the test split of a dataset from `load`."""
    test = (ds.split == "test").values
    return ds[ds.attrs["input"]].values[test], ds[ds.attrs["output"]].values[test]


def check_run(spec, result, errors, ds, shape):
    """What every `solve_operator` run returns, for `spec` trained on grid `shape`."""
    res = spec.resolution
    assert list(errors)[0] == res
    err = errors[res]
    assert np.isfinite(err) and err > 0

    assert set(ds.data_vars) == DATA_VARS
    dims = ("x", "y")[: len(shape)]
    for v in ("input", "reference", "prediction"):
        assert ds[v].dims == dims and ds[v].shape == shape
        assert np.all(np.isfinite(ds[v].values))
    assert ds.test_rel_l2.dims == ("test_sample",) and ds.sizes["test_sample"] == spec.n_test
    epochs = spec.config["epochs"]
    np.testing.assert_array_equal(ds.epoch.values, np.arange(1, epochs + 1))
    assert all(ds[f"history_{v}"].dims == ("epoch",) for v in ("loss", "test_rel_l2"))

    # the reported error is the mean of the saved per-sample errors
    per = ds.test_rel_l2.values
    assert np.all(np.isfinite(per))
    assert err == pytest.approx(float(per.mean()), rel=1e-6)
    assert ds.attrs["rel_l2"] == err and ds.attrs[f"rel_l2_at_{res}"] == err
    # the last epoch's test error is that of the returned model
    assert float(ds.history_test_rel_l2[-1]) == pytest.approx(err, rel=1e-6)
    # the saved sample is the median one, and its fields reproduce its error
    i = ds.attrs["median_sample"]
    assert per[i] == np.sort(per)[len(per) // 2]
    diff = (ds.prediction - ds.reference).values
    own = np.sqrt(np.sum(diff**2) / np.sum(ds.reference.values**2))
    assert own == pytest.approx(per[i], rel=1e-3)

    assert ATTRS <= set(ds.attrs)
    assert (ds.attrs["dataset"], ds.attrs["model"], ds.attrs["resolution"]) == (
        spec.dataset, spec.model, res)
    assert (ds.attrs["n_train"], ds.attrs["n_test"], ds.attrs["seed"]) == (
        spec.n_train, spec.n_test, spec.seed)
    assert ds.attrs["n_parameters"] == count_params(result.model.model) > 0
    for k, v in spec.model_args.items():
        assert ds.attrs[f"model_{k}"] == str(v)
    for k, v in spec.config.items():
        assert ds.attrs[f"config_{k}"] == str(v)
    assert result.history.sizes["epoch"] == epochs and result.wall_time_s > 0

    figs = operator_figures(ds)
    try:
        assert set(figs) == {"prediction", "training"}
        # 1-D: sample and error; 2-D: input, reference, prediction, error, each with a colorbar
        assert len(figs["prediction"].axes) == (2 if len(shape) == 1 else 8)
    finally:
        for fig in figs.values():
            plt.close(fig)


def test_antiderivative_deeponet(cache):
    result, errors, ds = solve_operator(ANTIDERIVATIVE)
    check_run(ANTIDERIVATIVE, result, errors, ds, (100,))
    assert list(errors) == [100]
    assert result.model.queries.shape == (100, 1)
    # the data went to the temporary cache
    path = cache_path("antiderivative", resolution=100)
    assert path.parent == cache and path.exists()


# 4.5 s. Default coverage: FNO through `solve_operator` in
# test_darcy_fno_resolution_transfer, a 1-D run (fields, figures) in
# test_antiderivative_deeponet, the Burgers data on nodes x = j/n in
# test_fno_embedding_matches_where_the_data_live.
@pytest.mark.slow
def test_burgers_fno(cache):
    result, errors, ds = solve_operator(BURGERS)
    check_run(BURGERS, result, errors, ds, (128,))
    np.testing.assert_allclose(ds.x.values, np.arange(128) / 128)
    assert result.model.queries is None


def test_darcy_fno_resolution_transfer(cache):
    spec = DARCY.replace(eval_resolutions=(64,))
    result, errors, ds = solve_operator(spec)
    check_run(spec, result, errors, ds, (32, 32))
    assert list(errors) == [32, 64] and np.isfinite(errors[64])
    assert ds.attrs["rel_l2_at_64"] == errors[64]
    # the same weights on the 64 x 64 test samples, evaluated here directly
    x64, y64 = held_out(load("darcy", n_train=8, n_test=4, resolution=64))
    assert x64.shape == (4, 64, 64)
    direct = float(field_errors(result.model, x64, y64).mean())
    assert errors[64] == pytest.approx(direct, rel=1e-6)


# 3.5 s. Default coverage: `solve_operator` on Darcy in test_darcy_fno_resolution_transfer,
# MgNO training (`train_operator`) in tests/solvers/test_operator.py::
# test_training_leaves_the_callers_model_intact, `build_operator("mgno")` in
# test_grid_operators_reject_grids_they_cannot_apply_to, MgNO in test_neural_operators.py.
@pytest.mark.slow
def test_darcy_mgno(cache):
    spec = DARCY.replace(model="mgno", model_args=dict(width=4, depth=1, levels=3))
    result, errors, ds = solve_operator(spec)
    check_run(spec, result, errors, ds, (32, 32))
    assert result.model.model.levels == 3


def test_deeponet_rejects_resolution_transfer(cache):
    spec = ANTIDERIVATIVE.replace(eval_resolutions=(50,), config=dict(epochs=1, batch_size=64))
    with pytest.raises(ValueError, match="DeepONet's branch net has a fixed sensor count"):
        solve_operator(spec)


def test_build_operator_unknown_kind_names_the_choices(cache):
    ds = load("antiderivative", n_train=64, n_test=16, resolution=100)
    with pytest.raises(ValueError, match="unknown operator 'unet'; choose one of fno, mgno, "
                                         "deeponet"):
        build_operator("unet", ds, key=jax.random.key(0))


def test_fno_embedding_matches_where_the_data_live(cache):
    """Darcy holds cell averages at (j + 1/2)/n, Burgers node values at j/n."""
    darcy = load("darcy", n_train=8, n_test=4, resolution=16)
    burgers = load("burgers_periodic", n_train=8, n_test=4, resolution=128)
    key = jax.random.key(0)
    assert build_operator("fno", darcy, key=key, modes=(4, 4), width=4).model.grid == "cells"
    assert build_operator("fno", burgers, key=key, modes=(4,), width=4).model.grid == "nodes"
    np.testing.assert_allclose(burgers.x.values, np.arange(128) / 128)  # (from test_burgers_fno)


def test_grid_operators_reject_grids_they_cannot_apply_to(cache):
    """Weights built for Darcy at 64 x 64, applied to the 16 x 16 Darcy data."""
    fine = load("darcy", n_train=8, n_test=4, resolution=64)
    x16, y16 = held_out(load("darcy", n_train=8, n_test=4, resolution=16))
    k1, k2 = jax.random.split(jax.random.key(0))

    # FNO with the full case's 12 x 12 modes needs at least 24 points per axis
    fno = build_operator("fno", fine, key=k1, modes=(12, 12), width=4, depth=1)
    assert isinstance(fno, FieldMap)
    need = (r"FNO with modes \(12, 12\) needs every spatial size >= 2\*modes = \(24, 24\), "
            r"got spatial shape \(16, 16\)")
    with pytest.raises(ValueError, match=need):
        predict(fno, x16)
    with pytest.raises(ValueError, match=need):
        field_errors(fno, x16, y16)
    with pytest.raises(ValueError, match=need):
        fno(x16[0])

    # MgNO with 6 levels coarsens 64 -> 2, so every size must be a multiple of 2**5
    mgno = build_operator("mgno", fine, key=k2, width=4, depth=1, levels=6)
    with pytest.raises(ValueError, match=r"MgNO with levels=6 needs every spatial size "
                                         r"divisible by 2\*\*\(levels-1\) = 32, got spatial "
                                         r"shape \(16, 16\)"):
        predict(mgno, x16)


def test_deeponet_map_rejects_another_sensor_count(cache):
    ds = load("antiderivative", n_train=64, n_test=16, resolution=100)
    x50, _ = held_out(load("antiderivative", n_train=64, n_test=16, resolution=50))
    fmap = build_operator("deeponet", ds, key=jax.random.key(0), **DEEPONET)
    with pytest.raises(ValueError, match=r"n_sensors,\) = \(100,\).*got \(50,\)"):
        predict(fmap, x50)


def test_cases_are_named_and_have_tolerances():
    names = [c.name for c in CASES]
    assert names and len(set(names)) == len(names)
    assert all(n.startswith("operator.") for n in names)
    specs = {**QUICK, **FULL}
    assert not set(QUICK) & set(FULL)
    assert set(names) == {f"operator.{k}" for k in specs}
    for case in CASES:
        key = case.name.removeprefix("operator.")
        spec, tolerance, description = specs[key]
        assert isinstance(spec, OperatorSpec) and spec.model in OPERATORS
        assert key.split(".")[-1].split("_")[0] == spec.model
        assert spec.dataset.startswith(key.split(".")[0])
        assert case.problem == spec.dataset and description
        assert np.isfinite(tolerance) and 0 < tolerance < 1
        assert ("quick" in case.suites) == (key in QUICK) and "full" in case.suites
