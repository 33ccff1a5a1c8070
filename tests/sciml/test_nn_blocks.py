"""PINN building blocks: Fourier features, the modified MLP, SIREN, periodic embeddings."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sciml.nn import FourierFeatureMLP, ModifiedMLP, PeriodicEmbedding, PeriodicMLP, Siren

BOX = dict(lower=jnp.array([0.0, -2.0]), upper=jnp.array([1.0, 3.0]))


@pytest.mark.parametrize(
    "make",
    [
        lambda i, o, k: FourierFeatureMLP(i, o, 16, 2, n_features=8, key=k),
        lambda i, o, k: ModifiedMLP(i, o, 16, 2, key=k),
        lambda i, o, k: Siren(i, o, 16, 2, key=k),
    ],
    ids=["fourier", "modified", "siren"],
)
def test_shapes_and_input_scaling(make, getkey):
    f = make(2, 3, getkey())
    assert f(jnp.ones(2)).shape == (3,)
    assert jax.vmap(f)(jnp.ones((5, 2))).shape == (5, 3)
    assert make(2, "scalar", getkey())(jnp.ones(2)).shape == ()
    assert make("scalar", "scalar", getkey())(jnp.asarray(0.3)).shape == ()
    # the same network on [0, 10] sees x = 10 as the default box [-1, 1] sees x = 1
    k = getkey()
    a = eqx.tree_at(lambda m: (m.lower, m.upper), make(2, 3, k), (jnp.zeros(2), 10 * jnp.ones(2)))
    b = make(2, 3, k)
    np.testing.assert_allclose(a(10 * jnp.ones(2)), b(jnp.ones(2)), atol=1e-14)


@pytest.mark.parametrize(
    "make",
    [
        lambda k, **kw: FourierFeatureMLP(2, 1, 8, 2, key=k, **kw),
        lambda k, **kw: ModifiedMLP(2, 1, 8, 2, key=k, **kw),
        lambda k, **kw: PeriodicMLP(2, 1, 8, 2, axes=0, periods=1.0, key=k, **kw),
    ],
    ids=["fourier", "modified", "periodic"],
)
def test_bad_hyperparameters(make, getkey):
    with pytest.raises(ValueError, match="unknown activation 'relu6'"):
        make(getkey(), activation="relu6")
    with pytest.raises(ValueError, match="upper > lower"):
        make(getkey(), lower=1.0, upper=0.0)
    with pytest.raises(ValueError, match="shape"):
        make(getkey(), lower=jnp.zeros(3))


def test_bad_sizes(getkey):
    with pytest.raises(ValueError, match="'width' must be a positive integer"):
        Siren(2, 1, 0, 2, key=getkey())
    with pytest.raises(ValueError, match="omega0"):
        Siren(2, 1, 8, 2, omega0=0.0, key=getkey())
    with pytest.raises(ValueError, match="in_size"):
        ModifiedMLP(0, 1, 8, 2, key=getkey())
    with pytest.raises(ValueError, match="n_features"):
        FourierFeatureMLP(2, 1, 8, 2, n_features=0, key=getkey())
    with pytest.raises(ValueError, match="sigma"):
        FourierFeatureMLP(2, 1, 8, 2, sigma=-1.0, key=getkey())


def test_fourier_features_are_fixed(getkey):
    f = FourierFeatureMLP(2, 1, 16, 2, n_features=1000, sigma=3.0, **BOX, key=getkey())
    assert f.B.shape == (1000, 2)
    assert float(jnp.std(f.B)) == pytest.approx(3.0, rel=0.05)
    x = jnp.array([0.25, 0.5])  # the box centre: t = 0
    t = jnp.array([-0.5, 0.0])
    phase = 2 * jnp.pi * f.B @ t
    np.testing.assert_allclose(f.features(x), jnp.concatenate([jnp.cos(phase), jnp.sin(phase)]))
    np.testing.assert_allclose(f(x), f.mlp(f.features(x)))

    xs = jax.random.uniform(getkey(), (8, 2))
    grads = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(jax.vmap(m)(xs) ** 2)))(f)
    assert bool(jnp.all(grads.B == 0.0))  # stop_gradient: B is never trained
    assert bool(jnp.all(grads.lower == 0.0)) and bool(jnp.all(grads.upper == 0.0))
    assert float(jnp.abs(grads.mlp.layers[0].weight).max()) > 0


def test_modified_mlp_matches_formula(getkey):
    f = ModifiedMLP(2, 3, 8, 3, activation="silu", **BOX, key=getkey())
    assert len(f.hidden) == 3
    x = jnp.array([0.3, 1.0])
    t = 2 * (x - BOX["lower"]) / (BOX["upper"] - BOX["lower"]) - 1
    lin = lambda lyr, h: lyr.weight @ h + lyr.bias
    u, v = jax.nn.silu(lin(f.encoder_u, t)), jax.nn.silu(lin(f.encoder_v, t))
    h = jax.nn.silu(lin(f.first, t))
    for layer in f.hidden:
        z = jax.nn.silu(lin(layer, h))
        h = (1 - z) * u + z * v
    np.testing.assert_allclose(f(x), lin(f.last, h), atol=1e-14)


def test_siren_init(getkey):
    omega0, width, depth = 30.0, 128, 6
    f = Siren(2, 1, width, depth, omega0=omega0, key=getkey())
    w0 = f.layers[0].weight
    assert float(jnp.abs(w0).max()) <= 1 / 2
    bound = np.sqrt(6 / width) / omega0
    assert all(float(jnp.abs(lyr.weight).max()) <= bound for lyr in f.layers[1:])

    xs = jax.random.uniform(getkey(), (4096, 2), minval=-1.0, maxval=1.0)

    def hidden(x):
        pre = []
        for layer in f.layers[:-1]:
            pre.append(omega0 * layer(x))
            x = jnp.sin(pre[-1])
        return x, jnp.stack(pre)

    h, pre = jax.vmap(hidden)(xs)
    # arcsine statistics at every depth: std 1/sqrt(2), neither saturated nor collapsed
    assert 0.3 < float(jnp.std(h)) < 0.9
    assert 0.6 < float(jnp.std(h)) < 0.8
    assert 0.7 < float(jnp.std(pre[:, -1])) < 1.3  # last pre-activations ~ N(0, 1)
    assert float(jnp.std(f.layers[-1].weight @ h.T)) < 0.2  # small output at init


def test_periodic_embedding_features():
    e = PeriodicEmbedding(3, axes=(2, 0), periods=(2.0, 0.5), n_harmonics=2, lower=0.0, upper=4.0)
    assert e.rest == (1,) and e.out_size == 1 + 2 * 2 * 2
    x = jnp.array([0.1, 3.0, 0.7])
    ph = 2 * jnp.pi * jnp.array([0.7 / 2, 2 * 0.7 / 2, 0.1 / 0.5, 2 * 0.1 / 0.5])
    np.testing.assert_allclose(
        e(x), jnp.concatenate([jnp.array([0.5]), jnp.cos(ph), jnp.sin(ph)]), atol=1e-15
    )
    assert PeriodicEmbedding("scalar", 0, 1.0)(jnp.asarray(0.2)).shape == (8,)
    for kw, match in [
        (dict(axes=(0, 0), periods=1.0), "distinct"),
        (dict(axes=3, periods=1.0), "distinct"),
        (dict(axes=(), periods=1.0), "at least one"),
        (dict(axes=(0, 1), periods=(1.0, 0.0)), "positive"),
        (dict(axes=(0, 1), periods=(1.0, 2.0, 3.0)), "one period per axis"),
        (dict(axes=0, periods=1.0, n_harmonics=0), "n_harmonics"),
    ]:
        with pytest.raises(ValueError, match=match):
            PeriodicEmbedding(3, **kw)


@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_periodic_mlp_is_exactly_periodic_and_smooth(activation, getkey):
    periods = jnp.array([2.0, 0.3])
    f = PeriodicMLP(
        3,
        "scalar",
        16,
        2,
        axes=(0, 2),
        periods=periods,
        n_harmonics=4,
        activation=activation,
        lower=jnp.array([0.0, 1.0, 0.0]),
        upper=jnp.array([0.0, 5.0, 0.0]),
        key=getkey(),
    )
    xs = jax.random.uniform(getkey(), (64, 3), minval=-3.0, maxval=3.0)
    fv, gv = jax.jit(jax.vmap(f)), jax.jit(jax.vmap(jax.grad(f)))
    u, g = fv(xs), gv(xs)
    for a, p in zip((0, 2), periods, strict=True):
        for n in (1, -1, 3):
            shifted = xs.at[:, a].add(n * p)
            np.testing.assert_allclose(fv(shifted), u, rtol=0, atol=1e-12)
            # derivatives are periodic too (no kink at the period boundary)
            np.testing.assert_allclose(gv(shifted), g, rtol=0, atol=1e-10)
    # the other coordinate is not periodic, and the network is not constant
    assert float(jnp.max(jnp.abs(fv(xs.at[:, 1].add(2.0)) - u))) > 1e-3
    assert float(jnp.abs(g[:, 0]).max()) > 0 and float(jnp.abs(g[:, 2]).max()) > 0
    hess = jax.jit(jax.vmap(jax.hessian(f)))(xs[:8])
    assert bool(jnp.all(jnp.isfinite(g))) and bool(jnp.all(jnp.isfinite(hess)))
    h = 1e-5
    fd = (fv(xs.at[:, 2].add(h)) - fv(xs.at[:, 2].add(-h))) / (2 * h)
    np.testing.assert_allclose(fd, g[:, 2], rtol=1e-5, atol=1e-5)
