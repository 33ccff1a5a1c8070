"""The operator training loop on problems whose exact answer is known."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sciml.neural_operators import field_map
from sciml.solvers import (
    AutoLoop,
    Minibatches,
    OperatorConfig,
    PythonLoop,
    ScanLoop,
    field_errors,
    predict,
    relative_l2_loss,
    train_operator,
)


class _Affine(eqx.Module):
    """Pointwise a·u + b on channel-first fields: an operator family containing the
    exact map of the test data."""

    a: jax.Array
    b: jax.Array

    def __call__(self, u):
        return self.a * u + self.b


class _Trunk(eqx.Module):
    """A DeepONet-shaped model: cartesian(u, ys) = c · u (sensors = queries)."""

    c: jax.Array

    def cartesian(self, u, ys):
        assert ys.shape == (u.shape[0], 1)
        return self.c * u


def _data(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)) + 2.0
    return x, -3.0 * x + 1.0


def test_learns_an_affine_map_to_its_exact_coefficients():
    x, y = _data(200, (16, 16))
    fmap = field_map(_Affine(jnp.array(0.5), jnp.array(0.0)), x, y)
    cfg = OperatorConfig(epochs=60, batch_size=20, learning_rate=3e-2, weight_decay=0.0,
                         dtype="float64")
    res = train_operator(fmap, x, y, cfg, key=jax.random.key(0), x_test=x[:50], y_test=y[:50])
    err = field_errors(res.model, x[:50], y[:50])
    assert err.shape == (50,)
    assert np.max(err) < 1e-4
    # The map's unnormalised action is exactly −3u + 1.
    np.testing.assert_allclose(predict(res.model, x[:3]), y[:3], rtol=1e-4, atol=1e-4)
    h = res.history
    assert h.sizes["epoch"] == 60 and float(h.test_rel_l2[-1]) == pytest.approx(err.mean())
    assert float(h.loss[-1]) < float(h.loss[0])
    assert res.samples_per_s > 0


def test_statistics_are_not_trained_and_errors_match_definition():
    x, y = _data(40, (8,))
    fmap = field_map(_Affine(jnp.array(1.0), jnp.array(0.0)), x, y)
    res = train_operator(fmap, x, y, OperatorConfig(epochs=2, batch_size=10, dtype="float64"),
                         key=jax.random.key(1))
    np.testing.assert_array_equal(res.model.x_stats, fmap.x_stats)
    np.testing.assert_array_equal(res.model.y_stats, fmap.y_stats)
    p = predict(res.model, x)
    manual = np.linalg.norm(p - y, axis=1) / np.linalg.norm(y, axis=1)
    np.testing.assert_allclose(field_errors(res.model, x, y), manual, rtol=1e-12)
    np.testing.assert_allclose(predict(res.model, x, batch=7), p, rtol=0, atol=0)


def test_deeponet_path_uses_queries():
    x, y = _data(60, (10,))
    q = np.linspace(0, 1, 10)[:, None]
    fmap = field_map(_Trunk(jnp.array(0.1)), x, y, queries=q)
    res = train_operator(fmap, x, y, OperatorConfig(epochs=40, batch_size=10,
                                                    learning_rate=3e-2, weight_decay=0.0,
                                                    dtype="float64"),
                         key=jax.random.key(2))
    # Normalised map: ((−3x+1) − μy)/σy = c (x − μx)/σx exactly for c = −1 (σy = 3σx).
    assert float(res.model.model.c) == pytest.approx(-1.0, abs=1e-3)
    with pytest.raises(ValueError, match="DeepONet"):
        field_map(_Affine(jnp.array(1.0), jnp.array(0.0)), x, y).at_queries(q)


def test_float32_training_casts_model_and_data():
    x, y = _data(40, (8,))
    fmap = field_map(_Affine(jnp.array(1.0), jnp.array(0.0)), x, y)
    res = train_operator(fmap, x, y, OperatorConfig(epochs=1, batch_size=10),
                         key=jax.random.key(0))
    assert res.model.model.a.dtype == jnp.float32


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x, y: (x[:-1], y), "sample count"),
        (lambda x, y: (np.where(np.arange(x.size).reshape(x.shape) == 3, np.nan, x), y), "NaN"),
        (lambda x, y: (x[:5], y[:5]), "batch_size"),
    ],
)
def test_bad_data_is_rejected(change, match):
    x, y = _data(40, (8,))
    fmap = field_map(_Affine(jnp.array(1.0), jnp.array(0.0)), x, y)
    xb, yb = change(x, y)
    with pytest.raises(ValueError, match=match):
        train_operator(fmap, xb, yb, OperatorConfig(epochs=1, batch_size=10),
                       key=jax.random.key(0))


class _Conv(eqx.Module):
    """A 3-tap convolution on a channel-first 1-D field: a model with a convolution."""

    w: jax.Array

    def __call__(self, u):
        return jax.lax.conv_general_dilated(u[None], self.w, (1,), [(1, 1)])[0]


def test_python_and_scan_loops_take_identical_steps():
    """Both epoch loops run the same minibatches in the same order: equal parameters."""
    from sciml.solvers._train import _has_convolution

    x, y = _data(40, (8,))
    data, batcher, rows = (jnp.asarray(x), jnp.asarray(y)), Minibatches(10), np.zeros((1, 10), int)
    fmap = field_map(_Conv(jnp.full((1, 1, 3), 0.2)), x, y)
    params, static = eqx.partition(fmap, fmap.trainable())
    assert _has_convolution(relative_l2_loss, params, static, batcher, data, rows)
    affine = field_map(_Affine(jnp.array(1.0), jnp.array(0.0)), x, y)
    p2, s2 = eqx.partition(affine, affine.trainable())
    assert not _has_convolution(relative_l2_loss, p2, s2, batcher, data, rows)

    runs = {}
    for name, loop in (("scan", ScanLoop()), ("python", PythonLoop()), ("auto", AutoLoop())):
        cfg = OperatorConfig(epochs=3, batch_size=10, learning_rate=1e-2, dtype="float64",
                             loop=loop)
        runs[name] = train_operator(fmap, x, y, cfg, key=jax.random.key(3))
        assert runs[name].stats["loop"] == ("python" if name == "auto" else name)
    for loop in ("python", "auto"):
        np.testing.assert_allclose(runs[loop].model.model.w, runs["scan"].model.model.w,
                                   rtol=1e-12)
        np.testing.assert_allclose(runs[loop].history.loss, runs["scan"].history.loss,
                                   rtol=1e-12)
    with pytest.raises(TypeError, match="loop"):
        OperatorConfig(loop="while")


def test_training_leaves_the_callers_model_intact():
    """The Python loop donates its buffers to XLA; the model passed in must survive."""
    from sciml.neural_operators import MgNO

    x, y = _data(20, (8, 8))
    fmap = field_map(MgNO(1, 1, 4, 1, 2, key=jax.random.key(0)), x, y)
    # copies: a host view of the arrays themselves would pin them and block the donation
    before = [np.asarray(a + 0) for a in jax.tree.leaves(fmap)]
    for loop in (PythonLoop(), ScanLoop()):
        # float64 under the tests' x64: the cast is the identity, the arrays are the caller's
        res = train_operator(fmap, x, y, OperatorConfig(epochs=2, batch_size=10, loop=loop,
                                                        dtype="float64"),
                             key=jax.random.key(0))
        for a, b in zip(jax.tree.leaves(fmap), before, strict=True):
            assert not a.is_deleted()
            np.testing.assert_array_equal(np.asarray(a + 0), b)
        assert not np.array_equal(np.asarray(res.model.model.head.weight),
                                  np.asarray(fmap.model.head.weight))


def _circulant(x, kernel):
    """y = K x for the circulant K of `kernel` (y_j = Σ_m kernel[(j − m) mod n] x_m)."""
    return np.real(np.fft.ifft(np.fft.fft(x, axis=-1) * np.fft.fft(kernel), axis=-1))


@pytest.mark.parametrize("reflection", [None, 1, -1])
def test_circular_shifts_keep_pairs_of_an_equivariant_map_exact(reflection):
    from sciml.solvers import circular_shifts

    n = 16
    rng = np.random.default_rng(0)
    # a symmetric kernel: K commutes with shifts and with u(x) -> s u(-x) for either sign
    half = rng.normal(size=n // 2 + 1)
    kernel = np.r_[half, half[1:-1][::-1]]
    x = rng.normal(size=(64, n))
    y = _circulant(x, kernel)
    aug = circular_shifts(reflection)
    xa, ya = aug(jax.random.key(3), (jnp.asarray(x), jnp.asarray(y)))
    np.testing.assert_allclose(np.asarray(ya), _circulant(np.asarray(xa), kernel), atol=1e-12)
    assert not np.allclose(np.asarray(xa), x)  # something moved
    # every augmented sample is a permutation of its source, times ±1
    np.testing.assert_allclose(np.sort(np.abs(np.asarray(xa)), 1), np.sort(np.abs(x), 1))
    xb, _ = aug(jax.random.key(3), (jnp.asarray(x), jnp.asarray(y)))
    np.testing.assert_array_equal(np.asarray(xa), np.asarray(xb))  # a key fixes the draw


def test_circular_shift_reflection_is_the_mirror_about_zero_and_breaks_a_chiral_map():
    from sciml.solvers import circular_shifts

    n = 8
    x = jnp.asarray(np.arange(n, dtype=float)[None].repeat(200, 0))
    y = jnp.roll(x, 1, axis=1)  # a one-cell advection: commutes with shifts, not mirrors
    xs, ys = circular_shifts()(jax.random.key(0), (x, y))
    np.testing.assert_array_equal(np.asarray(ys), np.roll(np.asarray(xs), 1, axis=1))
    xm, ym = circular_shifts(-1)(jax.random.key(0), (x, y))
    mirrored = ~np.all(np.asarray(ym) == np.roll(np.asarray(xm), 1, axis=1), axis=1)
    assert 50 < mirrored.sum() < 150  # about half the pairs were mirrored
    # a mirrored sample is -x[(−j − s) mod n] for some shift s
    row = np.asarray(xm)[np.flatnonzero(mirrored)[0]]
    assert any(np.array_equal(row, -np.arange(n, dtype=float)[(-np.arange(n) - s) % n])
               for s in range(n))
    with pytest.raises(ValueError, match="reflection"):
        circular_shifts(2)
    with pytest.raises(ValueError, match="one grid"):
        circular_shifts()(jax.random.key(0), (x, y[:, :4]))


def _dirichlet_laplacian(u):
    """The 5-point Laplacian with zero walls on (batch, n, n): commutes with D4."""
    p = np.pad(u, [(0, 0), (1, 1), (1, 1)])
    return p[:, :-2, 1:-1] + p[:, 2:, 1:-1] + p[:, 1:-1, :-2] + p[:, 1:-1, 2:] - 4 * u


def test_square_symmetries_keep_pairs_of_an_equivariant_map_and_draw_all_eight():
    from sciml.solvers import square_symmetries

    n = 6
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, n, n))
    y = _dirichlet_laplacian(x) + x**3  # D4-equivariant and nonlinear
    xa, ya = square_symmetries()(jax.random.key(1), (jnp.asarray(x), jnp.asarray(y)))
    xa, ya = np.asarray(xa), np.asarray(ya)
    np.testing.assert_allclose(ya, _dirichlet_laplacian(xa) + xa**3, atol=1e-12)
    # each sample became one of the 8 images of its source; all 8 occur about equally
    images = lambda f: [g for t in (f, f.T) for g in (t, t[::-1], t[:, ::-1], t[::-1, ::-1])]
    which = [next(k for k, g in enumerate(images(x[i])) if np.array_equal(g, xa[i]))
             for i in range(len(x))]
    counts = np.bincount(which, minlength=8)
    assert counts.min() > 25, counts  # 50 expected per element
    # a map that is not D4-equivariant (a shift along one axis) is broken by the draw
    shifted = np.roll(x, 1, axis=1)
    xs, ys = square_symmetries()(jax.random.key(1), (jnp.asarray(x), jnp.asarray(shifted)))
    assert not np.allclose(np.asarray(ys), np.roll(np.asarray(xs), 1, axis=1))
    with pytest.raises(ValueError, match="square 2-D"):
        square_symmetries()(jax.random.key(0), (x[:, :, :4], y[:, :, :4]))


def test_augmented_training_is_reproducible_and_learns_an_equivariant_map():
    from sciml.solvers import circular_shifts

    n = 16
    rng = np.random.default_rng(1)
    half = rng.normal(size=n // 2 + 1)
    kernel = np.r_[half, half[1:-1][::-1]]
    x = rng.normal(size=(40, n)) + 1.0
    y = _circulant(x, kernel)

    class _Conv(eqx.Module):
        k: jax.Array

        def __call__(self, u):
            return jnp.real(jnp.fft.ifft(jnp.fft.fft(u[0]) * jnp.fft.fft(self.k)))[None]

    cfg = OperatorConfig(epochs=60, batch_size=10, learning_rate=2e-2, weight_decay=0.0,
                         dtype="float64", augment=circular_shifts(1))
    fmap = field_map(_Conv(jnp.zeros(n)), x, y)
    a = train_operator(fmap, x, y, cfg, key=jax.random.key(4))
    b = train_operator(fmap, x, y, cfg, key=jax.random.key(4))
    np.testing.assert_array_equal(np.asarray(a.model.model.k), np.asarray(b.model.model.k))
    assert float(np.mean(field_errors(a.model, x, y))) < 1e-2
    with pytest.raises(TypeError, match="augment"):
        OperatorConfig(augment="shifts")
