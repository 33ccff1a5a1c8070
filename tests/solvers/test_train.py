"""The generic training loop: convergence, history, checkpoints, resume, errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from sciml.io import load_checkpoint, save_checkpoint
from sciml.solvers import (
    RESULTS,
    PythonLoop,
    ScanLoop,
    concat_histories,
    fit,
    lbfgs,
)


class Linear(eqx.Module):
    w: jax.Array
    b: jax.Array


def make_data(getkey, n=64, d=3):
    X = jax.random.normal(getkey(), (n, d))
    y = X @ jnp.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * jax.random.normal(getkey(), (n,))
    return X, y


def mse(model, data):
    X, y = data
    return jnp.mean((X @ model.w + model.b - y) ** 2)


def lstsq(data):
    X, y = data
    A = np.hstack([np.asarray(X), np.ones((X.shape[0], 1))])
    return np.linalg.lstsq(A, np.asarray(y), rcond=None)[0]


def test_adam_then_lbfgs_reaches_least_squares(getkey):
    data = make_data(getkey)
    model = Linear(jnp.zeros(3), jnp.zeros(()))
    r1 = fit(model, mse, optax.adam(1e-2), steps=500, data=data, log_every=50)
    r2 = fit(r1.model, mse, lbfgs(), steps=50, data=data, log_every=10)
    got = np.append(np.asarray(r2.model.w), float(r2.model.b))
    np.testing.assert_allclose(got, lstsq(data), atol=1e-10)
    h = r1.history
    assert list(h.step.values) == list(range(50, 501, 50))
    assert h.loss.values[-1] < h.loss.values[0]
    joined = concat_histories(r1.history, r2.history)
    assert joined.sizes["step"] == 15
    assert list(joined.step.values[-5:]) == [510, 520, 530, 540, 550]
    assert np.all(np.diff(joined.elapsed_s.values) > 0)
    assert set(joined.phase.values) == {"train"}


def test_filter_spec_freezes_leaves(getkey):
    data = make_data(getkey)
    model = Linear(jnp.zeros(3), jnp.asarray(5.0))
    spec = Linear(True, False)
    r = fit(model, mse, optax.adam(1e-2), steps=100, data=data, filter_spec=spec)
    assert float(r.model.b) == 5.0 and not np.allclose(r.model.w, 0)


def test_aux_metrics_callbacks_and_project(getkey):
    data = make_data(getkey)
    seen = []

    def loss(m, d):
        return mse(m, d), {"w0": m.w[0]}

    def stop_at_200(rec):
        seen.append(rec.step)
        return rec.step >= 200

    r = fit(Linear(jnp.zeros(3), jnp.zeros(())), loss, optax.adam(1e-2), steps=1000, data=data,
            has_aux=True, log_every=100, metrics=lambda m: {"b": m.b},
            callbacks=[stop_at_200],
            project=lambda m, d: eqx.tree_at(lambda m: m.b, m, jnp.asarray(0.25)))
    assert r.stats["stopped_early"] and r.step == 200 and seen == [100, 200]
    assert {"loss", "w0", "b"} <= set(r.history.data_vars)
    assert float(r.model.b) == 0.25  # the projection runs after each chunk


def test_nan_loss_raises(getkey):
    data = make_data(getkey)
    bad = lambda m, d: mse(m, d) * jnp.nan
    with pytest.raises(FloatingPointError, match="loss became nan by step 10"):
        fit(Linear(jnp.zeros(3), jnp.zeros(())), bad, optax.adam(1e-2), steps=20, data=data,
            log_every=10)


def test_checkpoint_round_trip_is_exact(tmp_path, getkey):
    tree = (Linear(jax.random.normal(getkey(), (3,)), jnp.asarray(0.7)),
            optax.adam(1e-3).init(jnp.ones(4)))
    path = tmp_path / "ck.eqx"
    save_checkpoint(path, tree, {"step": 7, "history": []})
    like = jax.tree.map(jnp.zeros_like, tree)
    loaded, meta = load_checkpoint(path, like)
    assert meta["step"] == 7
    for a, b in zip(jax.tree.leaves(tree), jax.tree.leaves(loaded), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert [p.name for p in tmp_path.iterdir()] == ["ck.eqx"]  # no temp files left


def test_resume_continues_where_it_stopped(tmp_path, getkey):
    data = make_data(getkey)
    model = Linear(jnp.zeros(3), jnp.zeros(()))
    full = fit(model, mse, optax.adam(1e-2), steps=300, data=data, log_every=50)
    ck = tmp_path / "run.eqx"
    # "interrupted" after 150 steps, then resumed with the same call
    fit(model, mse, optax.adam(1e-2), steps=300, data=data, log_every=50, checkpoint=ck,
        callbacks=[lambda rec: rec.step >= 150])
    resumed = fit(model, mse, optax.adam(1e-2), steps=300, data=data, log_every=50,
                  checkpoint=ck, resume=True)
    assert resumed.step == 300
    for a, b in zip(jax.tree.leaves((resumed.model, resumed.opt_state)),
                    jax.tree.leaves((full.model, full.opt_state)), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(resumed.history.loss.values, full.history.loss.values)
    assert np.all(np.diff(resumed.history.elapsed_s.values) > 0)  # one timeline


def test_checkpoint_errors(tmp_path, getkey):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.eqx", None)
    junk = tmp_path / "junk.eqx"
    junk.write_bytes(b"\x80\x04not a checkpoint")
    with pytest.raises(ValueError, match="not a sciml checkpoint"):
        load_checkpoint(junk, None)
    path = tmp_path / "ck.eqx"
    save_checkpoint(path, Linear(jnp.zeros(3), jnp.zeros(())), {"step": 0, "history": []})
    with pytest.raises(ValueError, match="does not match"):
        load_checkpoint(path, Linear(jnp.zeros(5), jnp.zeros(())))


def test_training_outcome_nonfinite_loss_returned_when_asked():
    """`throw=False`: a NaN loss stops training and returns the last finite model."""
    model = (jnp.ones(2),)
    loss = lambda m, d: jnp.where(jnp.sum(m[0]) < 1.5, jnp.nan, jnp.sum(m[0] ** 2))
    for loop in (ScanLoop(), PythonLoop()):
        res = fit(model, loss, optax.sgd(0.1), steps=30, log_every=2, throw=False, loop=loop)
        assert res.result == RESULTS.nonfinite_loss and res.step == 2
    assert not res.successful
    # m ← 0.8 m: the loss is finite at steps 0 and 1 (sum 2, 1.6) and NaN at step 2 (1.28),
    # so the second chunk fails and the model after the first (step 2) comes back
    assert res.step == 2 == int(res.stats["steps"]) and res.history.sizes["step"] == 1
    np.testing.assert_allclose(res.model[0], [0.64, 0.64], rtol=1e-15)
    with pytest.raises(FloatingPointError, match="loss became nan.*lower the learning rate"):
        fit(model, loss, optax.sgd(0.1), steps=30, log_every=2)


def test_parameters_that_turn_nan_are_caught_when_the_loss_is_still_finite():
    """With the whole data each step, a chunk reports the loss before its last update: a
    last step that makes the parameters NaN is caught by the parameter check."""
    loss = lambda m, d: jnp.sum(m[0] ** 2) + jnp.where(m[0][0] < 0.7, 0.0,
                                                       jnp.sqrt(m[0][0] - 0.7))
    for loop in (ScanLoop(), PythonLoop()):
        res = fit((jnp.ones(2),), loss, optax.sgd(0.1), steps=9, log_every=3, throw=False,
                  loop=loop)
        assert res.result == RESULTS.nonfinite_loss
        assert bool(jnp.all(jnp.isfinite(res.model[0]))) and res.step == 0
    with pytest.raises(FloatingPointError, match="parameters became NaN or inf by step 3"):
        fit((jnp.ones(2),), loss, optax.sgd(0.1), steps=9, log_every=3)


def test_progress_bar_only_on_a_terminal_and_its_postfix_leads_with_the_terms(monkeypatch):
    import io
    import sys

    from sciml.solvers import _train

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())  # piped: no bar, even when asked
    assert _train._bar(True, 10, "x") is None
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert _train._bar(False, 10, "x") is None
    bar = _train._bar(True, 10, "x")
    assert bar is not None
    bar.close()
    row = {"step": 5, "loss": 1.0, "elapsed_s": 2.0, "residual": 3e-6, "norm_penalty": 1e-9}
    post = _train._postfix(row)
    assert list(post) == ["residual", "norm_penalty", "loss"]
    assert post["residual"] == "3.000e-06"


def test_bfgs_solves_least_squares_in_a_few_steps_and_keeps_h_positive_definite(getkey):
    from sciml.solvers import bfgs

    data = make_data(getkey)
    model = Linear(jnp.zeros(3), jnp.zeros(()))
    # a 4-parameter quadratic: BFGS with (near) exact line searches ends in about n steps
    r = fit(model, mse, bfgs(), steps=12, data=data, log_every=1)
    got = np.append(np.asarray(r.model.w), float(r.model.b))
    np.testing.assert_allclose(got, lstsq(data), atol=1e-10)
    assert np.all(np.linalg.eigvalsh(np.asarray(r.opt_state[0].inverse_hessian)) > 0)


def test_bfgs_update_meets_the_secant_condition():
    from sciml.solvers._train import scale_by_bfgs

    t = scale_by_bfgs()
    rng = np.random.default_rng(0)
    x0, x1, x2 = (jnp.asarray(rng.normal(size=5)) for _ in range(3))
    g0, g1 = (jnp.asarray(rng.normal(size=5)) for _ in range(2))
    m = rng.normal(size=(5, 5))
    g2 = g1 + jnp.asarray(m @ m.T + np.eye(5)) @ (x2 - x1)  # positive curvature s·y > 0
    state = t.init(x0)
    d0, state = t.update(g0, state, x0)
    np.testing.assert_allclose(np.linalg.norm(d0), min(1.0, float(np.linalg.norm(g0))))
    _, state = t.update(g1, state, x1)
    _, state = t.update(g2, state, x2)
    s, y = np.asarray(x2 - x1), np.asarray(g2 - g1)
    # the update applied: H y = s exactly (the secant equation)
    np.testing.assert_allclose(np.asarray(state.inverse_hessian) @ y, s, rtol=1e-10)


def test_bfgs_minimises_rosenbrock_faster_than_lbfgs():
    from sciml.solvers import bfgs

    class P(eqx.Module):
        x: jax.Array

    def rosen(p, _):
        x = p.x
        return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    start = P(jnp.full(6, -1.2))
    got = fit(start, rosen, bfgs(), steps=80, log_every=80).model.x
    np.testing.assert_allclose(np.asarray(got), np.ones(6), atol=1e-7)
    lb = fit(start, rosen, lbfgs(memory_size=3), steps=80, log_every=80).model.x
    assert np.max(np.abs(np.asarray(lb) - 1)) > np.max(np.abs(np.asarray(got) - 1))
