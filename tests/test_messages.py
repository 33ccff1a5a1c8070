"""Bad input is refused with the right error type and a message that names the parameter
(or the array): each test here was a silent acceptance or an unrelated error before."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

from sciml.neural_operators import FNO, DeepONet, MgNO, SpectralConv, VCycle, field_map
from sciml.problems import get_problem
from sciml.problems.quantum_wells import FiniteBarrier, FiniteWell
from sciml.solvers import OperatorConfig, PINNConfig, train_operator


# --- quantum wells: depth too large for float64 -------------------------------------------
def test_a_well_too_deep_for_float64_names_depth_and_the_usable_range():
    # was: "cannot convert float NaN to integer" from cosh(sqrt(depth)·0.25) overflowing
    with pytest.raises(ValueError, match=r"parameter 'depth' must be <= 7\.66\d*e\+06 for "
                                         r"this geometry.*got 1e\+300") as e:
        get_problem("finite_well", depth=1e300).energies(1)
    assert "`width`" in str(e.value) and "`center`" in str(e.value)
    with pytest.raises(ValueError, match=r"parameter 'height' must be <= "):
        FiniteBarrier(height=1e300)
    # the limit follows the geometry: a well filling the box tolerates a deeper wall
    with pytest.raises(ValueError, match=r"a stretch of 5e-07"):
        FiniteWell(depth=1e300, width=0.999999)


def finite_square_well(depth, width, n):
    """The n lowest levels of a finite square well on the whole line (even/odd matching)."""
    out = []
    for j in range(n):
        def match(e, j=j):
            k, kappa = math.sqrt(e), math.sqrt(depth - e)
            t = math.tan(k * width / 2)
            return k * t - kappa if j % 2 == 0 else -k / t - kappa
        lo, hi = (j * math.pi / width) ** 2, ((j + 1) * math.pi / width) ** 2
        out.append(brentq(match, lo * (1 + 1e-14) + 1e-12, hi * (1 - 1e-14), xtol=1e-14,
                          rtol=1e-15))
    return np.array(out)


@pytest.mark.parametrize("depth", [5e6, 7.5e6])
def test_deep_wells_below_the_limit_stay_exact(depth):
    # sqrt(depth)·0.25 of 559 and 685: beyond where cosh² (354) and cosh (710) overflowed.
    # The box walls sit e^-1100 below the well: the finite square well on the line.
    p = FiniteWell(depth=depth)
    np.testing.assert_allclose(p.energies(3), finite_square_well(depth, 0.5, 3), rtol=1e-12)
    xq, wq = p.quadrature()
    psi = np.stack([p.eigenfunction(i, xq) for i in (1, 2, 3)])
    assert np.all(np.isfinite(psi))
    np.testing.assert_allclose((psi * wq) @ psi.T, np.eye(3), atol=1e-12)


# --- neural operators: sizes must be integers ------------------------------------------------
@pytest.mark.parametrize(
    "build, name",
    [
        (lambda k: FNO(1, 1, 4.0, 8, key=k), "modes"),  # was "'float' object is not iterable"
        (lambda k: FNO(1, 1, (4, 4.0), 8, key=k), r"modes\[1\]"),
        (lambda k: FNO(1, 1, 4, 8.0, key=k), "width"),
        (lambda k: FNO(1, 1, 4, 8, projection_width=2.5, key=k), "projection_width"),
        (lambda k: SpectralConv(2, 2, "4", key=k), "modes"),
        (lambda k: MgNO(1, 1, 4, 1, 2.0, key=k), "levels"),
        (lambda k: MgNO(1, 1, 4, 1, 2, smoothing_steps=1.5, key=k), "smoothing_steps"),
        (lambda k: VCycle(1, 1, True, 2, key=k), "ndim"),
        (lambda k: DeepONet(20, 2, 8.0, 16, 2, 16, 2, key=k), "latent"),
        (lambda k: DeepONet(np.float64(20), 2, 8, 16, 2, 16, 2, key=k), "n_sensors"),
    ],
)
def test_operator_sizes_of_the_wrong_type_name_the_parameter(build, name):
    with pytest.raises(TypeError, match=f"parameter '{name}' must be an integer"):
        build(jax.random.key(0))


def test_operator_sizes_accept_numpy_integers():
    model = FNO(np.int64(1), 1, np.int64(4), np.int32(8), 1, key=jax.random.key(0))
    assert model.modes == (4,) and type(model.width) is int


# --- problems: numbers are numbers -------------------------------------------------------------
def test_poisson_amplitude_nan_is_refused():
    # was: accepted, every reference value NaN
    with pytest.raises(ValueError, match="parameter 'amplitude' must be finite, got nan"):
        get_problem("poisson_1d", amplitude=math.nan)
    with pytest.raises(TypeError, match="parameter 'wavenumber' must be an integer, got 4.0"):
        get_problem("poisson_1d", wavenumber=4.0)


@pytest.mark.parametrize("name", ["infinite_well", "finite_well", "finite_barrier"])
@pytest.mark.parametrize("value", ["1.0", True], ids=repr)
def test_a_string_or_a_bool_is_not_a_length(name, value):
    # was: float("1.0") and float(True) gave L = 1.0
    with pytest.raises(TypeError, match="parameter 'L' must be a real number, got "):
        get_problem(name, L=value)


@pytest.mark.parametrize(
    "name, params, error, match",
    [
        ("poisson_2d", dict(hole="0.3"), TypeError, "'hole' must be a real number"),
        ("poisson_2d", dict(hole=1.0), ValueError, r"'hole' must be in \[0, 1\)"),
        ("helmholtz_2d", dict(a1=1.5), TypeError, "'a1' must be an integer"),
        ("helmholtz_2d", dict(k=math.inf), ValueError, "'k' must be finite"),
        ("peak", dict(dim=2.0), TypeError, "'dim' must be an integer"),
        ("peak", dict(center=("0", 0)), TypeError, r"'center\[0\]' must be a real number"),
        ("nonlinear_elliptic", dict(amplitude=False), TypeError,
         "'amplitude' must be a real number"),
        ("burgers", dict(nu="0.01"), TypeError, "'nu' must be a real number"),
        ("allen_cahn", dict(t_end=math.nan), ValueError, "'t_end' must be finite"),
        ("finite_well", dict(center=True), TypeError, "'center' must be a real number"),
        ("darcy", dict(forcing=math.nan), ValueError, "'forcing' must be finite"),
        ("darcy", dict(cells=256.0), TypeError, "'cells' must be an integer"),
        ("burgers_periodic", dict(points=1000), ValueError, "'points' must be a power of two"),
        ("burgers_periodic", dict(kl_modes=400), ValueError,
         r"'kl_modes' must be an integer in \[1, 341\]"),
        ("antiderivative", dict(length_scale=-0.2), ValueError, "'length_scale' must be > 0"),
    ],
)
def test_every_problem_checks_its_numbers_strictly(name, params, error, match):
    with pytest.raises(error, match=match):
        get_problem(name, **params)


def test_darcy_needs_a_low_at_most_a_high():
    # was: accepted, the coefficient's two phases silently swapped
    with pytest.raises(ValueError, match="'a_low' .* must be <= 'a_high' .*a_low=12 > a_high=3"):
        get_problem("darcy", a_low=12.0, a_high=3.0)
    assert get_problem("darcy", a_low=5.0, a_high=5.0).a_low == 5.0  # a constant is allowed


def test_sample_indices_and_seeds_are_integers():
    p = get_problem("antiderivative")
    with pytest.raises(TypeError, match=r"parameter 'indices\[1\]' must be an integer, got 1.0"):
        p.sample(0, [0, 1.0])
    with pytest.raises(ValueError, match="parameter 'seed' must be a non-negative integer"):
        p.sample(-1, [0])
    with pytest.raises(TypeError, match="parameter 'n' must be an integer"):
        get_problem("finite_well").energies(2.0)


# --- training configurations --------------------------------------------------------------------
@pytest.mark.parametrize("config", [OperatorConfig, PINNConfig])
def test_a_negative_learning_rate_is_refused(config):
    # was: accepted, training ascended the loss
    with pytest.raises(ValueError, match="parameter 'learning_rate' must be > 0, got -1.0"):
        config(learning_rate=-1)
    with pytest.raises(TypeError, match="parameter 'learning_rate' must be a real number"):
        config(learning_rate="1e-3")


@pytest.mark.parametrize(
    "config, params, error, match",
    [
        (OperatorConfig, dict(epochs=10.0), TypeError, "'epochs' must be an integer"),
        (OperatorConfig, dict(batch_size=True), TypeError, "'batch_size' must be an integer"),
        (OperatorConfig, dict(final_lr_ratio=2.0), ValueError, r"'final_lr_ratio' must be in"),
        (OperatorConfig, dict(warmup_epochs=-1), ValueError, "'warmup_epochs'"),
        (OperatorConfig, dict(epochs=5, warmup_epochs=6), ValueError, r"'warmup_epochs'.*\[0, 5\]"),
        (OperatorConfig, dict(weight_decay=math.nan), ValueError, "'weight_decay' must be finite"),
        (PINNConfig, dict(rounds=1.0), TypeError, "'rounds' must be an integer"),
        (PINNConfig, dict(rounds=4, adam_steps=3), ValueError, "'adam_steps' must be at least"),
        (PINNConfig, dict(final_lr_ratio=0.0), ValueError, r"'final_lr_ratio' must be in \(0"),
        (PINNConfig, dict(lbfgs_steps=-1), ValueError, "'lbfgs_steps' must be a non-negative"),
        (PINNConfig, dict(log_every=0), ValueError, "'log_every' must be a positive integer"),
    ],
)
def test_every_config_field_is_checked(config, params, error, match):
    with pytest.raises(error, match=match):
        config(**params)


def test_configs_store_canonical_numbers():
    cfg = OperatorConfig(epochs=np.int64(3), learning_rate=np.float32(0.5))
    assert type(cfg.epochs) is int and type(cfg.learning_rate) is float
    assert PINNConfig(rounds=np.int64(2)).rounds == 2


# --- operator training data ---------------------------------------------------------------------
class _Affine(eqx.Module):
    a: jax.Array
    b: jax.Array

    def __call__(self, u):
        return self.a * u + self.b


def _train(x, y, **kw):
    fmap = field_map(_Affine(jnp.array(1.0), jnp.array(0.0)), x, y)
    return train_operator(fmap, x, y, OperatorConfig(epochs=1, batch_size=4),
                          key=jax.random.key(0), **kw)


def _data(n=12):
    x = np.random.default_rng(0).normal(size=(n, 8)) + 2.0
    return x, -3.0 * x + 1.0


def test_an_all_zero_target_is_named_before_training():
    # was: "loss became inf ... lower the learning rate" (the loss divides by |y|)
    x, y = _data()
    y[[3, 7]] = 0.0
    with pytest.raises(ValueError, match=r"y_train has 2 all-zero sample\(s\).*3, 7.*drop "
                                         r"those samples"):
        _train(x, y)
    xt, yt = _data(4)
    yt[1] = 0.0
    with pytest.raises(ValueError, match=r"y_test has 1 all-zero.*at index 1"):
        _train(*_data(), x_test=xt, y_test=yt)


def test_a_target_that_rounds_to_zero_in_float32_is_caught():
    x, y = _data()
    y[5] = 1e-60  # nonzero in float64, zero in the float32 the model trains in
    with pytest.raises(ValueError, match=r"y_train has 1 all-zero sample\(s\) \(in float32\)"):
        _train(x, y)


def test_nan_data_names_the_array_and_the_first_bad_sample():
    x, y = _data()
    x[5, 2] = np.nan
    x[9, 0] = np.inf
    with pytest.raises(ValueError, match=r"x_train holds NaN or inf in 2 of its 12 samples, "
                                         r"the first x_train\[5\]"):
        _train(x, y)
    x, y = _data()
    y[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"y_train .*the first y_train\[0\]"):
        _train(x, y)
