"""Data parallelism: with two (forced) CPU devices, `fit` shards each batch over a `batch`
mesh axis and takes the same steps as on one device."""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import jax
    jax.config.update("jax_enable_x64", True)
    import equinox as eqx, jax.numpy as jnp, numpy as np, optax
    from jax.sharding import PartitionSpec
    from sciml.ragged import Ragged
    from sciml.solvers import FullBatch, Minibatches, PaddedBatches, PythonLoop, ScanLoop, fit
    from sciml.solvers._train import _chunk, _mesh, _place

    assert len(jax.devices()) == 2, jax.devices()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)), rng.normal(size=64)
    model = eqx.nn.MLP(3, "scalar", 16, 2, key=jax.random.key(0))
    loss = lambda m, b: jnp.mean((jax.vmap(m)(b[0]) - b[1]) ** 2)
    sizes = rng.integers(1, 5, size=24)  # ragged: per-item features, per-sample targets
    ragged = Ragged({"x": rng.normal(size=(sizes.sum(), 3))}, {"y": rng.normal(size=24)},
                    np.r_[0, np.cumsum(sizes)])
    ragged_loss = lambda m, b: jnp.mean((b.sum(jax.vmap(m)(b.items["x"])) - b.samples["y"]) ** 2)

    def same(runs):
        assert [r.stats["devices"] for r in runs] == [2, 1]
        leaves = [jax.tree.leaves(eqx.filter(r.model, eqx.is_array)) for r in runs]
        for a, b in zip(*leaves, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(runs[0].history.loss, runs[1].history.loss, rtol=1e-12)

    # Adam over an epoch boundary (4 batches per epoch, 6 steps in chunks of 3)
    for batcher, loop in ((Minibatches(16), ScanLoop()), (Minibatches(16), PythonLoop()),
                          (FullBatch(), ScanLoop())):
        same([fit(model, loss, optax.adam(1e-2), steps=6, log_every=3, data=(x, y),
                  batcher=batcher, key=jax.random.key(1), loop=loop, devices=d)
              for d in (jax.devices(), jax.devices()[:1])])
    same([fit(model, ragged_loss, optax.adam(1e-2), steps=6, log_every=3, data=ragged,
              batcher=PaddedBatches(4, capacity=20), key=jax.random.key(1), devices=d)
          for d in (jax.devices(), jax.devices()[:1])])

    # the step is split: each device holds half the batch, and gradients are all-reduced
    mesh = _mesh(None)
    placed = _place((jnp.zeros((64, 3)), jnp.zeros(5)), mesh, shard=True)
    assert placed[0].sharding.spec == PartitionSpec("batch")  # split across the devices
    assert placed[1].sharding.spec == PartitionSpec()  # 5 does not divide: replicated
    opt = optax.with_extra_args_support(optax.adam(1e-2))
    params, static = eqx.partition(model, eqx.is_inexact_array)
    batcher = Minibatches(16)
    xs, _ = batcher.plan(batcher.init((x, y), jax.random.key(1)), (x, y), 2)
    chunk = _chunk("scan", loss, opt, False, None, batcher, mesh)
    args = _place((params, opt.init(params)), mesh, shard=False)
    hlo = chunk.lower(*args, static, _place((x, y), mesh, shard=False), eqx.is_inexact_array,
                      _place(xs, mesh, shard=False), 2).compile().compiled.as_text()
    assert "all-reduce" in hlo and "f64[8,3]" in hlo, "the batch of 16 is not split in 8s"
    print("ok")
""")


def test_two_devices_take_the_single_device_step():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


WORKER = textwrap.dedent("""
    import sys
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"localhost:{sys.argv[2]}", num_processes=2,
                               process_id=int(sys.argv[1]))
    import equinox as eqx, jax.numpy as jnp, numpy as np, optax
    from sciml.solvers import Minibatches, fit

    rng = np.random.default_rng(0)  # every process holds the same data and key
    x, y = rng.normal(size=(64, 3)), rng.normal(size=64)
    model = eqx.nn.MLP(3, "scalar", 16, 2, key=jax.random.key(0))
    loss = lambda m, b: jnp.mean((jax.vmap(m)(b[0]) - b[1]) ** 2)
    devices = jax.local_devices() if "local" in sys.argv else None
    res = fit(model, loss, optax.adam(1e-2), steps=6, data=(x, y), batcher=Minibatches(16),
              key=jax.random.key(1), log_every=3, devices=devices)
    leaves = jax.tree.leaves(eqx.filter(res.model, eqx.is_array))
    flat = np.concatenate([np.asarray(a).ravel() for a in leaves] + [res.history.loss.values])
    np.save(sys.argv[-1], flat)
    print("devices", res.stats["devices"])
""")


@pytest.mark.slow  # 14 s; the default run keeps the two-device test (default test budget)
def test_two_processes_take_the_single_process_steps(tmp_path):
    """`jax.distributed.initialize` on two CPU processes (gloo collectives): the mesh spans
    both, and training matches one process to 1e-12."""
    import socket

    import numpy as np

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = str(s.getsockname()[1])
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    procs = [subprocess.Popen([sys.executable, str(script), str(i), port, str(tmp_path / f"{i}")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert "devices 2" in out
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = str(s.getsockname()[1])
    # the same run with the mesh on each process's own device only: no communication
    single = [subprocess.Popen([sys.executable, str(script), str(i), port, "local",
                                str(tmp_path / f"single{i}")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for i in range(2)]
    for p in single:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "devices 1" in out, err[-3000:]
    two = [np.load(tmp_path / f"{i}.npy") for i in range(2)]
    one = np.load(tmp_path / "single0.npy")
    np.testing.assert_array_equal(two[0], two[1])  # both processes hold the same model
    np.testing.assert_allclose(two[0], one, rtol=1e-12, atol=1e-14)
