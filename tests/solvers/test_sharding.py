"""Data parallelism: with two (forced) CPU devices, `fit` shards each batch over a `batch`
mesh axis and takes the same steps as on one device."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import jax
    jax.config.update("jax_enable_x64", True)
    import equinox as eqx, jax.numpy as jnp, numpy as np, optax
    from jax.sharding import PartitionSpec
    from sciml.solvers import FullBatch, Minibatches, PythonLoop, ScanLoop, fit
    from sciml.solvers._train import _mesh, _place

    assert len(jax.devices()) == 2, jax.devices()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)), rng.normal(size=64)
    model = eqx.nn.MLP(3, "scalar", 16, 2, key=jax.random.key(0))
    loss = lambda m, b: jnp.mean((jax.vmap(m)(b[0]) - b[1]) ** 2)
    for batcher, loop in ((Minibatches(16), ScanLoop()), (Minibatches(16), PythonLoop()),
                          (FullBatch(), ScanLoop())):
        runs = [fit(model, loss, optax.sgd(0.1), steps=1, data=(x, y), batcher=batcher,
                    key=jax.random.key(1), loop=loop, devices=d)
                for d in (jax.devices(), jax.devices()[:1])]
        assert [r.stats["devices"] for r in runs] == [2, 1]
        leaves = [jax.tree.leaves(eqx.filter(r.model, eqx.is_array)) for r in runs]
        for a, b in zip(*leaves, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(runs[0].history.loss, runs[1].history.loss, rtol=1e-12)
    placed = _place((jnp.zeros((64, 3)), jnp.zeros(5)), _mesh(None), shard=True)
    assert placed[0].sharding.spec == PartitionSpec("batch")  # split across the devices
    assert placed[1].sharding.spec == PartitionSpec()  # 5 does not divide: replicated
    print("ok")
""")


def test_two_devices_take_the_single_device_step():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
