"""Batchers: minibatch orders, padded batches of ragged data whose padding changes neither
the loss nor its gradients, and resuming mid-epoch."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from sciml.ragged import PaddedBatch, Ragged, masked_apply
from sciml.solvers import RESULTS, FullBatch, Minibatches, PaddedBatches, fit


def clusters(n=13, seed=0):
    """Clouds of 2-7 points in 3-D (perturbed lattice sites, spacing 1.1) with a
    Lennard-Jones energy (ε = σ = 1) per cloud."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 8, size=n)
    sites = 1.1 * np.stack(np.meshgrid(*[np.arange(2)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = [sites[rng.permutation(8)[:k]] + rng.normal(0, 0.05, (k, 3)) for k in sizes]
    energy = np.array([lj(p, 1.0, 1.0) for p in pos])
    return Ragged({"pos": np.concatenate(pos)}, {"energy": energy}, np.r_[0, np.cumsum(sizes)])


def lj(p, eps, sigma):
    r = np.linalg.norm(p[:, None] - p[None], axis=-1)[np.triu_indices(len(p), 1)]
    return float(np.sum(4 * eps * ((sigma / r) ** 12 - (sigma / r) ** 6)))


class PairPotential(eqx.Module):
    """E = Σ_{i<j} 4ε((σ/r)^12 − (σ/r)^6) over the pairs of one cloud."""

    log_eps: jax.Array
    log_sigma: jax.Array

    def energies(self, batch: PaddedBatch) -> jax.Array:
        x = batch.items["pos"]
        same = (batch.segment[:, None] == batch.segment[None]) & batch.mask[:, None] \
            & batch.mask[None] & ~jnp.eye(x.shape[0], dtype=bool)
        d2 = jnp.sum((x[:, None] - x[None]) ** 2, axis=-1)
        # r = √d2 and 1/r are singular at d2 = 0 (the diagonal, coinciding padding rows)
        inv6 = masked_apply(lambda d: (jnp.exp(2 * self.log_sigma) / d) ** 3, d2, same)
        pair = 2 * jnp.exp(self.log_eps) * (inv6**2 - inv6)  # half of 4ε(...): each pair twice
        return batch.sum(jnp.sum(pair, axis=1))


def loss(model, batch):
    return jnp.mean((model.energies(batch) - batch.samples["energy"]) ** 2)


def test_padding_changes_neither_loss_nor_gradients():
    data = clusters()
    model = PairPotential(jnp.log(0.9), jnp.log(1.05))
    grads = jax.jit(jax.value_and_grad(loss))
    ref = None
    single = {}  # cloud index -> its unpadded loss and gradient (compiled once per size)
    for capacity in (None, 40, 64):
        batcher = PaddedBatches(batch_size=4, capacity=capacity)
        xs, _ = batcher.plan(batcher.init(data, jax.random.key(0)), data, 3)
        batch = batcher.select(data, jax.tree.map(lambda a: a[0], xs))
        value, g = grads(model, batch)
        assert bool(jnp.isfinite(value)) and all(bool(jnp.all(jnp.isfinite(leaf)))
                                                 for leaf in jax.tree.leaves(g))
        # against the same clouds one by one, unpadded
        picked = np.asarray(xs[0][0])
        unpadded = []
        for i in picked:
            if i not in single:
                lo, hi = data.offsets[i], data.offsets[i + 1]
                one = PaddedBatch({"pos": jnp.asarray(data.items["pos"][lo:hi])},
                                  {"energy": jnp.asarray(data.samples["energy"][i:i + 1])},
                                  jnp.zeros(hi - lo, int), jnp.ones(hi - lo, bool), 1)
                single[i] = grads(model, one)
            unpadded.append(single[i])
        mean_value = np.mean([float(v) for v, _ in unpadded])
        mean_grad = jax.tree.map(lambda *a: sum(a) / len(a), *[g for _, g in unpadded])
        assert float(value) == pytest.approx(mean_value, rel=1e-12)
        for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(mean_grad), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        ref = ref or (float(value), g)
        assert float(value) == pytest.approx(ref[0], rel=1e-13)


def test_the_unmasked_form_would_leak_nan():
    """Why `masked_apply`: `where(mask, 1/d, 0)` has a NaN gradient at d = 0 on padding."""
    d, mask = jnp.array([0.0, 2.0]), jnp.array([False, True])
    naive = jax.grad(lambda d: jnp.sum(jnp.where(mask, 1 / d**3, 0.0)))(d)
    safe = jax.grad(lambda d: jnp.sum(masked_apply(lambda t: 1 / t**3, d, mask)))(d)
    assert np.isnan(naive[0])
    np.testing.assert_array_equal(safe, [0.0, -3 / 2.0**4])


def test_padded_training_recovers_the_potential():
    data = clusters(n=24)
    start = PairPotential(jnp.log(0.7), jnp.log(1.1))
    res = fit(start, loss, optax.adam(2e-2), steps=600, data=data,
              batcher=PaddedBatches(batch_size=6), key=jax.random.key(0), log_every=100)
    assert float(jnp.exp(res.model.log_eps)) == pytest.approx(1.0, abs=1e-4)
    assert float(jnp.exp(res.model.log_sigma)) == pytest.approx(1.0, abs=1e-5)


def test_capacity_overflow_and_wrong_data_are_clear():
    data = clusters()
    batcher = PaddedBatches(batch_size=4, capacity=5)
    with pytest.raises(ValueError, match="more than capacity 5"):
        batcher.plan(batcher.init(data, jax.random.key(0)), data, 4)
    # through the driver: raised, or returned as the outcome when asked
    model = PairPotential(jnp.log(0.9), jnp.log(1.05))
    kw = dict(steps=4, data=data, batcher=batcher, key=jax.random.key(0), log_every=2)
    with pytest.raises(ValueError, match="more than capacity 5"):
        fit(model, loss, optax.adam(1e-2), **kw)
    res = fit(model, loss, optax.adam(1e-2), throw=False, **kw)
    assert res.result == RESULTS.buffer_overflow and res.step == 0 and res.model is not None
    with pytest.raises(TypeError, match="Ragged"):
        PaddedBatches(batch_size=2).init(np.zeros((4, 3)), jax.random.key(0))
    with pytest.raises(ValueError, match="offsets"):
        Ragged({"pos": np.zeros((3, 3))}, {}, [0, 2, 1])
    with pytest.raises(ValueError, match="leading size 3"):
        Ragged({"pos": np.zeros((4, 3))}, {}, [0, 1, 3])


def test_minibatch_order_is_one_permutation_per_epoch():
    """Epoch e uses permutation(split(k_e)[1]) and k_{e+1} = split(k_e)[0]; a chunk may
    span epochs."""
    x = np.arange(10.0)[:, None]
    batcher = Minibatches(3)
    state = batcher.init(x, jax.random.key(5))
    xs, state = batcher.plan(state, x, 7)  # 3 batches per epoch: two epochs and one more
    k = jax.random.key(5)
    want = []
    for _ in range(3):
        k, kp = jax.random.split(k)
        want.extend(np.asarray(jax.random.permutation(kp, 10))[:9].reshape(3, 3))
    np.testing.assert_array_equal(xs, np.stack(want[:7]))
    assert int(state.position) == 1
    with pytest.raises(ValueError, match="same leading"):
        batcher.init((x, np.zeros(4)), jax.random.key(0))
    with pytest.raises(ValueError, match="exceeds"):
        Minibatches(11).init(x, jax.random.key(0))
    with pytest.raises(ValueError, match="key"):
        batcher.init(x, None)
    with pytest.raises(ValueError, match="positive int"):
        Minibatches(0)


def test_minibatch_resume_mid_epoch_is_bit_exact(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 2))
    y = x @ np.array([2.0, -1.0]) + 0.5
    model = (jnp.zeros(2), jnp.zeros(()))
    mse = lambda m, b: jnp.mean((b[0] @ m[0] + m[1] - b[1]) ** 2)
    kw = dict(steps=40, data=(x, y), batcher=Minibatches(4), key=jax.random.key(2),
              log_every=5)  # 7 batches per epoch: chunks end mid-epoch
    full = fit(model, mse, optax.adam(1e-2), **kw)
    ck = tmp_path / "run.eqx"
    fit(model, mse, optax.adam(1e-2), checkpoint=ck, callbacks=[lambda r: r.step >= 15], **kw)
    resumed = fit(model, mse, optax.adam(1e-2), checkpoint=ck, resume=True, **kw)
    np.testing.assert_array_equal(resumed.history.loss.values, full.history.loss.values)
    for a, b in zip(jax.tree.leaves((resumed.model, resumed.opt_state)),
                    jax.tree.leaves((full.model, full.opt_state)), strict=True):
        np.testing.assert_array_equal(a, b)
    assert FullBatch().plan(None, x, 3) == (None, None)
