"""MLP and the hard-constraint ansätze."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.nn import MLP
from sciml.pinn import DirichletAnsatz, PiecewiseC1Ansatz


@pytest.mark.parametrize("activation", ["tanh", "silu", "sin", "gelu"])
def test_mlp_shapes(activation, getkey):
    f = MLP(3, 2, 16, 2, activation=activation, lower=jnp.zeros(3), upper=jnp.ones(3),
            key=getkey())
    assert f(jnp.ones(3)).shape == (2,)
    assert jax.vmap(f)(jnp.ones((5, 3))).shape == (5, 2)
    g = MLP("scalar", "scalar", 8, 1, activation=activation, key=getkey())
    assert g(jnp.asarray(0.3)).shape == ()


def test_mlp_input_scaling(getkey):
    # the same network on [0, 10] sees x = 10 as the unit box sees 1
    k = getkey()
    a = MLP("scalar", "scalar", 8, 2, lower=0.0, upper=10.0, key=k)
    b = MLP("scalar", "scalar", 8, 2, lower=-1.0, upper=1.0, key=k)
    assert a(jnp.asarray(10.0)) == pytest.approx(float(b(jnp.asarray(1.0))), abs=1e-14)


def test_mlp_box_is_fixed_through_training(getkey):
    # the box is a normalisation, not a parameter: no gradient, and a trainer that updates
    # every float array (as `fit` does) leaves it where it was built
    import optax

    net = MLP(2, 1, 8, 2, lower=jnp.array([-1.0, 0.0]), upper=jnp.array([1.0, 0.99]),
              key=getkey())
    x = jax.random.uniform(getkey(), (64, 2))
    loss = lambda m: jnp.mean((jax.vmap(m)(x)[:, 0] - jnp.sin(3 * x[:, 0])) ** 2)
    grads = eqx.filter_grad(loss)(net)
    assert bool(jnp.all(grads.lower == 0.0)) and bool(jnp.all(grads.upper == 0.0))
    assert float(jnp.abs(grads.mlp.layers[0].weight).max()) > 0
    opt = optax.adam(1e-2)
    state = opt.init(eqx.filter(net, eqx.is_inexact_array))
    trained = net
    for _ in range(50):
        updates, state = opt.update(eqx.filter_grad(loss)(trained), state)
        trained = eqx.apply_updates(trained, updates)
    np.testing.assert_array_equal(trained.lower, net.lower)
    np.testing.assert_array_equal(trained.upper, net.upper)
    assert loss(trained) < 0.5 * loss(net)


def test_mlp_bad_input(getkey):
    with pytest.raises(ValueError, match="unknown activation 'relu6'"):
        MLP(1, 1, 8, 2, activation="relu6", key=getkey())
    with pytest.raises(ValueError, match="upper > lower"):
        MLP(1, 1, 8, 2, lower=1.0, upper=0.0, key=getkey())


def test_dirichlet_ansatz_vanishes_at_walls(getkey):
    u = DirichletAnsatz(-1.0, 2.0, key=getkey())
    assert u(jnp.asarray(-1.0)) == 0.0 and u(jnp.asarray(2.0)) == 0.0
    assert abs(float(u(jnp.asarray(0.5)))) > 0


@settings(max_examples=10, deadline=None)
@given(cuts=st.lists(st.floats(0.05, 0.95), min_size=1, max_size=3, unique=True),
       seed=st.integers(0, 2**16), rates=st.lists(st.sampled_from([0.0, 3.0, 40.0]),
                                                  min_size=4, max_size=4))
def test_piecewise_ansatz_is_c1_and_vanishes_at_walls(cuts, seed, rates):
    cuts = sorted(cuts)
    if np.min(np.diff([0.0, *cuts, 1.0])) < 0.02:
        return
    u = PiecewiseC1Ansatz(0.0, 1.0, cuts, width=8, depth=2, decay=rates[:len(cuts) + 1],
                          key=jax.random.PRNGKey(seed))
    assert abs(float(u(jnp.asarray(0.0)))) < 1e-14 and abs(float(u(jnp.asarray(1.0)))) < 1e-14
    for k, c in enumerate(cuts):
        left = lambda x, k=k: u.piece(k, x)
        right = lambda x, k=k: u.piece(k + 1, x)
        c = jnp.asarray(c)
        assert float(left(c)) == pytest.approx(float(right(c)), abs=1e-12)
        assert float(jax.grad(left)(c)) == pytest.approx(float(jax.grad(right)(c)), abs=1e-11)
        # __call__ picks the right piece
        assert float(u(c + 1e-3)) == pytest.approx(float(right(c + 1e-3)), abs=1e-14)


def test_decaying_piece_continues_a_decaying_state_exactly(getkey):
    # Where the left piece leaves u' = -κu at the joint, a decaying piece's continuation is
    # u(x_k) e^(-κ(x - x_k)): the exact decaying solution, with nothing left for the network
    kappa, cut = 30.0, 0.3
    u = PiecewiseC1Ansatz(0.0, 1.0, (cut,), width=8, depth=2, decay=(0.0, kappa), key=getkey())
    u0 = jnp.asarray(0.7)
    x = jnp.linspace(cut, 1.0, 7)
    cont = jax.vmap(lambda x: u._continuation(1, x, (u0, -kappa * u0)))(x)
    np.testing.assert_allclose(cont, u0 * jnp.exp(-kappa * (x - cut)), rtol=1e-14, atol=0)
    assert u.nets[1].mlp.out_size == 2 and u.nets[0].mlp.out_size == "scalar"
    # the envelope of the rise towards the next piece is e^(-κ r), r the distance to it
    two = PiecewiseC1Ansatz(0.0, 1.0, (0.3, 0.7), width=8, depth=2, decay=(0.0, kappa, 0.0),
                            key=getkey())
    out = two.nets[1](jnp.asarray(0.5))
    assert float(two._net(1, jnp.asarray(0.5))) == pytest.approx(
        float(out[0] + out[1] * np.exp(-kappa * 0.2)), rel=1e-14)


def test_piecewise_ansatz_bad_breakpoints(getkey):
    with pytest.raises(ValueError, match="one rate per piece"):
        PiecewiseC1Ansatz(0.0, 1.0, (0.5,), decay=(1.0,), key=getkey())
    with pytest.raises(ValueError, match="decay"):
        PiecewiseC1Ansatz(0.0, 1.0, (0.5,), decay=(1.0, -1.0), key=getkey())
    with pytest.raises(ValueError, match="increasing order"):
        PiecewiseC1Ansatz(0.0, 1.0, (0.6, 0.4), key=getkey())
    with pytest.raises(ValueError, match="at least one breakpoint"):
        PiecewiseC1Ansatz(0.0, 1.0, (), key=getkey())


def test_mlp_glorot_normal_init_has_its_variance_and_zero_biases():
    import math

    net = MLP(2, "scalar", 400, 2, init="glorot_normal", key=jax.random.key(0))
    hidden = net.mlp.layers[1]
    assert float(jnp.max(jnp.abs(hidden.bias))) == 0.0
    # 160,000 draws of N(0, 2/800): the sample std within 1% of sqrt(1/400) = 0.05
    assert float(jnp.std(hidden.weight)) == pytest.approx(math.sqrt(2 / 800), rel=1e-2)
    with pytest.raises(ValueError, match="init must be"):
        MLP(2, "scalar", 4, 1, init="he", key=jax.random.key(0))
