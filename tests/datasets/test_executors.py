"""Generation on executors: the family's default pools, a caller's executor (left running),
dask.distributed's local cluster; the same bits whatever runs the tasks."""

import dataclasses
import functools
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr

from sciml.datasets import Execution, generate, get_family, load
from sciml.problems.operator_learning import DarcyFlow


def small_darcy():
    """Darcy on 16² cells, data at 16² and 8²: the built-in family with a cheap problem."""
    family = get_family("darcy")
    return dataclasses.replace(
        family,
        problem=functools.partial(DarcyFlow, cells=16, kl_modes=8),
        layout=dataclasses.replace(family.layout, resolutions=(16, 8)),
    )


def chunked_antiderivative():
    """The antiderivative family in tasks of 2 samples (the default runs one task)."""
    return dataclasses.replace(get_family("antiderivative"), execution=Execution(chunk=2))


def assert_same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for r in a:
        xr.testing.assert_identical(a[r].drop_attrs(), b[r].drop_attrs())


def test_default_process_pool_and_caller_executors(caplog):
    family = small_darcy()
    n_train = family.execution.min_parallel  # enough samples for the pool
    serial = generate(family, n_train=n_train, n_test=2, workers=1)
    with caplog.at_level(logging.INFO, logger="sciml.datasets"):
        pooled = generate(family, n_train=n_train, n_test=2, workers=2)
    assert "process pool of 2 workers (spawn)" in caplog.text
    assert_same(serial, pooled)
    with ThreadPoolExecutor(2) as pool:
        threaded = generate(family, n_train=n_train, n_test=2, executor=pool)
        assert pool.submit(int, "7").result() == 7  # not shut down
    assert_same(serial, threaded)


def test_burgers_threads_match_one_chunk_in_process(tmp_path):
    # chunks of 2 on threads (the first in-process) against the registered family's one
    # chunk of 8 in-process
    family = dataclasses.replace(
        get_family("burgers_periodic"), execution=Execution("threads", chunk=2, warm_up=True)
    )
    threaded = generate(family, n_train=5, n_test=1, workers=2)
    cached = load("burgers_periodic", n_train=5, n_test=1, resolution=256, cache_dir=tmp_path)
    xr.testing.assert_identical(cached.drop_attrs(), threaded[256].drop_attrs())


# 4.5 s (two spawned workers). Default coverage: tasks on a spawn process pool and a caller's
# executor left running in test_default_process_pool_and_caller_executors, a caller's
# multi-process executor in test_dask_distributed.
@pytest.mark.slow
def test_a_caller_process_pool():
    family = chunked_antiderivative()
    inline = generate(family, n_train=5, n_test=3)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        pooled = generate(family, n_train=5, n_test=3, executor=pool)
        assert pool.submit(abs, -3).result() == 3
    assert_same(inline, pooled)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_distributed(dask_client, tmp_path):
    executor = dask_client.get_executor()
    family = chunked_antiderivative()
    assert_same(generate(family, n_train=5, n_test=3),
                generate(family, n_train=5, n_test=3, executor=executor))
    darcy = small_darcy()
    assert_same(generate(darcy, n_train=3, n_test=2),
                generate(darcy, n_train=3, n_test=2, executor=executor))
    # load through the cluster, then top up through it: the bits of one fresh run
    load(family, n_train=3, n_test=1, cache_dir=tmp_path, executor=executor)
    topped = load(family, n_train=6, n_test=2, cache_dir=tmp_path, executor=executor)
    fresh = load(family, n_train=6, n_test=2, cache_dir=tmp_path / "fresh")
    xr.testing.assert_identical(topped.drop_attrs(), fresh.drop_attrs())
    # the workers ran the tasks, and the client is still usable
    assert len(dask_client.scheduler_info()["workers"]) == 2
    assert dask_client.submit(np.add, 1, 2).result() == 3
