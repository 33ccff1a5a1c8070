"""`sciml.checks`: strict numeric types (a str or a bool is not a number, a float is not an
integer), values checked where they are concrete, tracers passed through jit and vmap."""

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sciml import checks
from sciml.problems import get_problem

REALS = [3, 2.5, np.float64(2.5), np.float32(0.5), np.int64(7), np.uint8(3), np.asarray(1.25),
         np.asarray(4, dtype=np.int32), jnp.asarray(0.75), Fraction(1, 4)]
NOT_REALS = ["1.0", b"1", True, False, np.bool_(True), np.asarray(True), 1 + 2j, None,
             np.zeros(3), jnp.zeros(2), [1.0], np.asarray("1.0")]


@pytest.mark.parametrize("value", REALS, ids=repr)
def test_real_accepts_scalars_of_every_real_kind_as_a_float(value):
    out = checks.real("x", value)
    assert type(out) is float and out == float(value)


@pytest.mark.parametrize("value", NOT_REALS, ids=repr)
def test_real_refuses_other_types_naming_the_parameter_and_the_type(value):
    with pytest.raises(TypeError, match=r"parameter 'L' must be a real number, got .*\("):
        checks.real("L", value)


def test_the_message_shows_what_was_given():
    with pytest.raises(TypeError) as e:
        checks.real("L", "1.0")
    assert str(e.value) == "parameter 'L' must be a real number, got '1.0' (str)"
    with pytest.raises(TypeError, match=r"got an array of shape \(3,\)"):
        checks.real("L", np.zeros(3))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_nan_and_inf_are_values_not_types(value):
    with pytest.raises(ValueError, match="parameter 'depth' must be finite"):
        checks.real("depth", value)
    if math.isnan(value):
        with pytest.raises(ValueError, match="must be a number"):
            checks.real("depth", value, finite=False)
    else:
        assert checks.real("depth", value, finite=False) == value


@given(x=st.floats(allow_nan=False, allow_infinity=False),
       low=st.floats(-1e3, 1e3), width=st.floats(0.0, 1e3),
       strict_low=st.booleans(), strict_high=st.booleans())
def test_range_checks_agree_with_the_comparisons(x, low, width, strict_low, strict_high):
    high = low + width
    inside = (x > low if strict_low else x >= low) and (x < high if strict_high else x <= high)
    kw = dict(low=low, high=high, strict_low=strict_low, strict_high=strict_high)
    if inside:
        assert checks.real("x", x, **kw) == x
    else:
        with pytest.raises(ValueError, match=r"parameter 'x' must be in [\[(].*, got"):
            checks.real("x", x, **kw)


def test_positive_and_nonnegative():
    assert checks.positive("L", 2) == 2.0 and checks.nonnegative("depth", 0) == 0.0
    with pytest.raises(ValueError, match=r"parameter 'L' must be > 0, got 0.0"):
        checks.positive("L", 0.0)
    with pytest.raises(ValueError, match=r"parameter 'depth' must be >= 0, got -1.0"):
        checks.nonnegative("depth", -1)
    with pytest.raises(TypeError, match="'L'"):
        checks.positive("L", True)


def test_tracers_pass_through_jit_and_vmap_unchecked():
    f = jax.jit(lambda a: checks.positive("a", a) * 2.0)
    assert float(f(3.0)) == 6.0
    # under vmap the value is abstract: no range check, the tracer comes back unchanged
    out = jax.vmap(lambda a: checks.real("a", a, low=0.0))(jnp.asarray([-1.0, 2.0]))
    np.testing.assert_array_equal(out, [-1.0, 2.0])
    with pytest.raises(TypeError, match="parameter 'a' must be a real number, got a traced"):
        jax.jit(lambda a: checks.real("a", a))(jnp.zeros(3))
    with pytest.raises(TypeError, match="parameter 'n' must be a concrete integer"):
        jax.jit(lambda n: checks.count("n", n))(3)


def test_vmap_and_jit_over_a_problem_parameter(getkey):
    # Poisson1D's amplitude is checked where concrete and traced through otherwise
    x = jnp.asarray([0.3])
    amps = jnp.asarray([0.0, 0.5, 2.0])
    u = jax.vmap(lambda a: get_problem("poisson_1d", amplitude=a).exact(x))(amps)
    want = [get_problem("poisson_1d", amplitude=float(a)).exact(x) for a in amps]
    np.testing.assert_allclose(u, want, rtol=1e-15)
    f = jax.jit(lambda a: get_problem("poisson_1d", amplitude=a).source(x))
    assert float(f(0.5)) == pytest.approx(float(get_problem("poisson_1d").source(x)), rel=1e-14)


@pytest.mark.parametrize("value", [4, np.int64(4), np.uint16(4), np.asarray(4), jnp.asarray(4)],
                         ids=repr)
def test_integer_accepts_integers_of_every_kind(value):
    out = checks.integer("n", value)
    assert type(out) is int and out == 4


@pytest.mark.parametrize("value", [2.0, 2.5, np.float64(2.0), jnp.asarray(2.0), "3", True,
                                   np.bool_(False), None, [1]], ids=repr)
def test_integer_refuses_floats_bools_and_strings(value):
    with pytest.raises(TypeError, match=r"parameter 'n' must be an integer, got .*\("):
        checks.integer("n", value)


def test_integer_ranges():
    assert checks.integer("seed", 0, low=0) == 0
    with pytest.raises(ValueError, match="parameter 'seed' must be a non-negative integer, "
                                         "got -1"):
        checks.integer("seed", -1, low=0)
    with pytest.raises(ValueError, match="parameter 'n' must be a positive integer, got 0"):
        checks.count("n", 0)
    with pytest.raises(ValueError, match=r"parameter 'd' must be an integer in \[0, 2\], got 3"):
        checks.integer("d", 3, low=0, high=2)
    with pytest.raises(ValueError, match=r"parameter 'nx' must be an integer >= 2, got 1"):
        checks.integer("nx", 1, low=2)


def test_counts_name_each_keyword():
    assert checks.counts(width=np.int64(8), depth=2) == (8, 2)
    with pytest.raises(ValueError, match="parameter 'depth' must be a positive integer"):
        checks.counts(width=8, depth=0)
    with pytest.raises(TypeError, match="parameter 'width' must be an integer, got 8.0"):
        checks.counts(width=8.0, depth=2)


def test_ints_takes_one_integer_or_a_sequence():
    assert checks.ints("modes", 4) == (4,)
    assert checks.ints("modes", np.int64(4), n=3) == (4, 4, 4)
    assert checks.ints("modes", (4, np.int64(5))) == (4, 5)
    assert checks.ints("modes", np.array([1, 2])) == (1, 2)
    assert checks.ints("steps", [0, 1], low=0) == (0, 1)
    for bad in (4.0, "44", np.asarray(4.0), None):
        with pytest.raises(TypeError, match="parameter 'modes' must be an integer or a "
                                            "sequence of integers"):
            checks.ints("modes", bad)
    with pytest.raises(TypeError, match=r"parameter 'modes\[1\]' must be an integer, got 2.0"):
        checks.ints("modes", (4, 2.0))
    with pytest.raises(ValueError, match=r"parameter 'modes\[0\]' must be a positive integer"):
        checks.ints("modes", (0, 2))
    with pytest.raises(ValueError, match="parameter 'steps' must be an integer or a sequence "
                                         "of 3 of them, got 2"):
        checks.ints("steps", (1, 1), n=3)
    with pytest.raises(TypeError, match="parameter 'modes' must be an integer, got True"):
        checks.ints("modes", True)


def test_checking_imports_no_jax():
    import subprocess
    import sys

    code = "import sys, sciml.checks as c; c.real('x', 1.0); print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
