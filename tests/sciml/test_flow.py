"""RealNVP on a box: uniform at init, exact inverse and log-determinant, normalised, trainable."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree
from scipy import stats

from sciml.nn import RealNVP

BOXES = {
    1: (jnp.array([-2.0]), jnp.array([3.0])),
    2: (jnp.array([-1.0, 0.0]), jnp.array([2.0, 0.5])),
    5: (-jnp.ones(5), jnp.linspace(0.5, 2.0, 5)),
}


def randomise(flow, key, scale=0.1):
    """Perturb every parameter (all array leaves) with N(0, scale²) noise."""
    params, static = eqx.partition(flow, eqx.is_inexact_array)
    flat, unravel = ravel_pytree(params)
    return eqx.combine(unravel(flat + scale * jax.random.normal(key, flat.shape)), static)


# Two couplings (the default is six) cover both mask parities and their composition;
# compiling six-coupling flows was most of these tests' time.
LAYERS = 2

# Batched, compiled methods. filter_jit caches across flows of the same structure, so the
# tests use one batch size N throughout to compile each method once per dimension.
N = 4000
log_probs = eqx.filter_jit(lambda flow, x: jax.vmap(flow.log_prob)(x))
samples = eqx.filter_jit(lambda flow, keys: jax.vmap(flow.sample_and_log_prob)(keys))


def logistic_log_prob(z):
    return jnp.sum(-z - 2 * jnp.log1p(jnp.exp(-z)))


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_uniform_at_init(dim, getkey):
    lo, hi = BOXES[dim]
    flow = RealNVP(dim, n_layers=LAYERS, width=16, lower=lo, upper=hi, key=getkey())
    log_vol = float(jnp.sum(jnp.log(hi - lo)))
    u = jax.random.uniform(getkey(), (N - 2, dim))
    xs = jnp.concatenate([lo + (hi - lo) * u, lo[None], hi[None]])  # the corners too
    np.testing.assert_allclose(log_probs(flow, xs), -log_vol, rtol=0, atol=1e-12)

    x, logp = samples(flow, jax.random.split(getkey(), N))
    assert x.shape == (N, dim)
    assert bool(jnp.all((x >= lo) & (x <= hi)))
    np.testing.assert_allclose(logp, -log_vol, rtol=0, atol=1e-10)
    u = np.asarray((x - lo) / (hi - lo))
    assert all(stats.kstest(u[:, j], "uniform").pvalue > 0.01 for j in range(dim))


@eqx.filter_jit
def _round_trip(flow, z, keys):
    x, log_det = jax.vmap(flow.forward)(z)
    z_back, log_det_inv = jax.vmap(flow.inverse)(x)
    jac = jax.vmap(jax.jacfwd(lambda z: flow.forward(z)[0]))(z)
    xs, logp = jax.vmap(flow.sample_and_log_prob)(keys)
    log_p = jax.vmap(flow.log_prob)(jnp.concatenate([x, xs]))
    return x, log_det, z_back, log_det_inv, jac, xs, logp, log_p


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_inverse_and_log_det(dim, getkey):
    lo, hi = BOXES[dim]
    flow = RealNVP(dim, n_layers=LAYERS, width=16, lower=lo, upper=hi, key=getkey())
    flow = randomise(flow, getkey())
    z = jax.random.normal(getkey(), (64, dim))
    x, log_det, z_back, log_det_inv, jac, xs, logp, log_p = _round_trip(
        flow, z, jax.random.split(getkey(), 64)
    )
    np.testing.assert_allclose(z_back, z, rtol=0, atol=1e-10)
    np.testing.assert_allclose(log_det_inv, -log_det, rtol=0, atol=1e-10)
    sign, ref = jnp.linalg.slogdet(jac)
    assert bool(jnp.all(sign != 0))
    np.testing.assert_allclose(log_det, ref, rtol=0, atol=1e-8)
    # the flow is not the identity any more: the density is far from uniform
    assert float(jnp.ptp(log_det)) > 0.1
    # log p(x) = log q(z) - log|det dx/dz|, and sample_and_log_prob agrees with log_prob
    np.testing.assert_allclose(log_p[:64], jax.vmap(logistic_log_prob)(z) - log_det, atol=1e-10)
    inside = jnp.all((xs > lo + 1e-6) & (xs < hi - 1e-6), axis=1)  # away from float saturation
    np.testing.assert_allclose(log_p[64:][inside], logp[inside], atol=1e-9)


def test_log_prob_is_normalised(getkey):
    """∫_box p(x) dx = 1, by the trapezoidal rule after x = lower + (upper - lower) σ(w).

    The substitution (with its Jacobian computed here, independently of the flow) turns the
    box integral into a smooth integral over R² with exponentially decaying tails, where the
    trapezoidal rule converges exponentially fast; on the box itself the density may have
    integrable edge singularities.
    """
    lo, hi = BOXES[2]
    flow = RealNVP(2, n_layers=LAYERS, width=16, lower=lo, upper=hi, key=getkey())
    flow = randomise(flow, getkey())
    h, half_width = 0.2, 40.0
    w = jnp.arange(-half_width, half_width + h / 2, h)
    ws = jnp.stack([a.ravel() for a in jnp.meshgrid(w, w, indexing="ij")], axis=1)

    def integrand(w):
        x = lo + (hi - lo) * jax.nn.sigmoid(w)
        log_jac = jnp.sum(jnp.log(hi - lo) + jax.nn.log_sigmoid(w) + jax.nn.log_sigmoid(-w))
        return jnp.exp(flow.log_prob(x) + log_jac)

    total = float(jnp.sum(jax.jit(jax.vmap(integrand))(ws)) * h**2)
    assert total == pytest.approx(1.0, abs=1e-5)
    # and the density is far from uniform
    lp = log_probs(flow, lo + (hi - lo) * jax.random.uniform(getkey(), (N, 2)))
    assert float(jnp.ptp(lp)) > 1.0


@pytest.mark.parametrize("scale", [0.1, 1.0])
def test_samples_inside_box(scale, getkey):
    lo, hi = BOXES[5]
    flow = RealNVP(5, n_layers=LAYERS, width=16, lower=lo, upper=hi, key=getkey())
    flow = randomise(flow, getkey(), scale)
    x, logp = samples(flow, jax.random.split(getkey(), N))
    assert bool(jnp.all((x >= lo) & (x <= hi)))
    assert bool(jnp.all(jnp.isfinite(logp)))
    assert bool(jnp.all(jnp.isfinite(log_probs(flow, x))))  # clipped at the walls


@pytest.mark.parametrize("dim", [1, 5])
def test_reparameterised_gradient(dim, getkey):
    lo, hi = BOXES[dim]
    flow = RealNVP(dim, n_layers=LAYERS, width=16, lower=lo, upper=hi, key=getkey())
    keys = jax.random.split(getkey(), 64)

    def loss(flow):
        x = jax.vmap(flow.sample)(keys)
        return jnp.mean(jnp.sin(3 * x[:, 0]) + jnp.sum(x**2, axis=1))

    grad, loss = eqx.filter_jit(eqx.filter_grad(loss)), eqx.filter_jit(loss)
    where = lambda m: m.couplings[0].net.layers[-1].bias
    for f in (flow, randomise(flow, getkey())):
        grads = grad(f)
        leaves = jax.tree.leaves(grads)
        assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
        assert max(float(jnp.abs(g).max()) for g in leaves) > 1e-3
        # directional derivative along the last bias of the first coupling, by differences
        d, eps = jax.random.normal(getkey(), where(f).shape), 1e-6
        plus, minus = (eqx.tree_at(where, f, where(f) + s * eps * d) for s in (1, -1))
        fd = (loss(plus) - loss(minus)) / (2 * eps)
        assert float(fd) == pytest.approx(float(jnp.dot(where(grads), d)), rel=1e-6, abs=1e-9)


def test_bad_hyperparameters(getkey):
    for kw, match in [
        (dict(dim=0), "dim"),
        (dict(dim=2, n_layers=0), "n_layers"),
        (dict(dim=2, width=0), "width"),
        (dict(dim=2, max_log_scale=0.0), "max_log_scale"),
        (dict(dim=2, lower=jnp.zeros(3)), "shape"),
        (dict(dim=2, lower=1.0, upper=0.0), "upper > lower"),
        (dict(dim=2, upper=jnp.inf), "finite"),
    ]:
        with pytest.raises(ValueError, match=match):
            RealNVP(**kw, key=getkey())


def test_fit_concentrated_density(getkey):
    """Maximum likelihood on samples near a point: the flow learns to put its mass there."""
    centre, corner = jnp.array([0.3, -0.4]), jnp.array([0.9, 0.9])
    data = centre + 0.1 * jax.random.normal(getkey(), (1024, 2))
    flow = RealNVP(2, n_layers=4, width=16, key=getkey())
    optim = optax.adam(1e-2)
    opt_state = optim.init(eqx.filter(flow, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(flow, opt_state):
        nll = lambda f: -jnp.mean(jax.vmap(f.log_prob)(data))
        loss, grads = eqx.filter_value_and_grad(nll)(flow)
        updates, opt_state = optim.update(grads, opt_state)
        return eqx.apply_updates(flow, updates), opt_state, loss

    for _ in range(300):
        flow, opt_state, loss = step(flow, opt_state)
    # a Gaussian of std 0.1 has log-density ≈ 2.77 at its centre; uniform is -log 4 ≈ -1.39
    assert float(loss) < -1.0
    assert float(flow.log_prob(centre)) > 1.5
    assert float(flow.log_prob(centre) - flow.log_prob(corner)) > 5.0
