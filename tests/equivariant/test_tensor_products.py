"""Clebsch–Gordan and Gaunt tensor products: equivariance, exactness against CG and e3nn's
sphere grid, quadrature exactness, gradients, and refused input. float64 (conftest)."""

import math

import e3nn_jax as e3nn
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sciml.equivariant import GauntProduct, cg_product, gaunt_coefficient, gaunt_product

# e3nn-jax's spherical harmonics call a deprecated JAX function; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:jax.scipy.special.lpmn_values:DeprecationWarning")


def _ir(degree):
    return e3nn.Irrep(degree, (-1) ** degree)


@pytest.fixture
def rng():
    # numpy draws: no JAX dispatch (and compilation) per random array
    return np.random.default_rng(0)


def _normal(irreps, rng, shape=()):
    irreps = e3nn.Irreps(irreps)
    return e3nn.IrrepsArray(irreps, jnp.asarray(rng.normal(size=(*shape, irreps.dim))))


def _rotation(rng, improper):
    r = jnp.asarray(Rotation.random(random_state=rng).as_matrix())
    return -r if improper else r


# --- equivariance -------------------------------------------------------------------------
@jax.jit
def _rotate_before_and_after(product, x, y, r):
    return (product(x.transform_by_matrix(r), y.transform_by_matrix(r)),
            product(x, y).transform_by_matrix(r))


@pytest.mark.parametrize(
    ("irreps_x", "irreps_y", "lmax_out"),
    [("0e+1o+2e+3o", "0e+1o+2e", 4), ("1o+3o", "2e", 5)],
)
def test_gaunt_product_is_equivariant(irreps_x, irreps_y, lmax_out, rng):
    x = _normal(irreps_x, rng, (3, 2))
    y = _normal(irreps_y, rng, (3, 2))
    product = GauntProduct(e3nn.Irreps(irreps_x).lmax, e3nn.Irreps(irreps_y).lmax, lmax_out)
    for improper in (False, True, False, True):  # rotations, and rotations with inversion
        first, after = _rotate_before_and_after(product, x, y, _rotation(rng, improper))
        np.testing.assert_allclose(first.array, after.array, atol=1e-11)


def test_cg_product_is_equivariant(rng):
    x = _normal("1o+2e+1e", rng, (4,))
    y = _normal("1o+0o", rng, (4,))

    @jax.jit
    def before_and_after(x, y, r):
        out = cg_product(x, y, filter_ir_out="0e+1o+1e+2e+2o")
        return (cg_product(x.transform_by_matrix(r), y.transform_by_matrix(r),
                           "0e+1o+1e+2e+2o"), out.transform_by_matrix(r))

    for improper in (False, True):
        first, after = before_and_after(x, y, _rotation(rng, improper))
        np.testing.assert_allclose(first.array, after.array, atol=1e-11)


def test_cg_product_is_e3nn_tensor_product_channelwise(rng):
    x = _normal("0e+1o+2e", rng, (5, 3))
    y = _normal("0e+1o", rng, (5, 3))

    @jax.jit
    def ours_theirs_and_one_channel(x, y):
        return cg_product(x, y), e3nn.tensor_product(x, y), cg_product(x[2, 1], y[2, 1])

    out, theirs, one = ours_theirs_and_one_channel(x, y)
    assert out.irreps == e3nn.Irreps("2x0e+3x1o+1x1e+2x2e+1x2o+1x3o")
    assert out.shape == (5, 3, out.irreps.dim)
    np.testing.assert_array_equal(out.array, theirs.array)
    # channel-wise: each (atom, channel) is its own product
    np.testing.assert_allclose(out.array[2, 1], one.array, atol=1e-15)
    assert cg_product(x, y, filter_ir_out=["0e", "2e"]).irreps == e3nn.Irreps("2x0e+2x2e")


# --- exactness -----------------------------------------------------------------------------
def test_three_j_closed_form_known_values():
    # |<1 0 1 0|2 0>| = √(2/3), |<2 0 2 0|2 0>| = √(2/7), |<1 0 2 0|3 0>| = √(3/5)
    assert gaunt_coefficient(1, 1, 2) == pytest.approx(math.sqrt(9 / 5 * 2 / 3), rel=1e-15)
    assert gaunt_coefficient(2, 2, 2) == pytest.approx(math.sqrt(25 / 5 * 2 / 7), rel=1e-15)
    assert gaunt_coefficient(1, 2, 3) == pytest.approx(math.sqrt(15 / 7 * 3 / 5), rel=1e-15)
    assert gaunt_coefficient(0, 3, 3) == pytest.approx(1.0, rel=1e-15)
    assert gaunt_coefficient(1, 1, 1) == 0.0 and gaunt_coefficient(1, 1, 3) == 0.0


@pytest.mark.parametrize("normalization", ["component", "integral"])
def test_gaunt_is_the_weighted_sum_of_even_cg_paths(normalization, rng):
    # Fit one weight per path (l1, l2 -> l3) by least squares on random inputs: the residual
    # must vanish (the Gaunt product lies in the span of the even CG paths) and the weights
    # must be the closed-form Gaunt coefficients.
    l1max, l2max, lmax_out = 3, 2, 4
    x = _normal(e3nn.s2_irreps(l1max), rng, (12,))
    y = _normal(e3nn.s2_irreps(l2max), rng, (12,))
    product = GauntProduct(l1max, l2max, lmax_out, normalization)
    scale = 1.0 if normalization == "component" else 1 / math.sqrt(4 * math.pi)

    def paths(l3):
        return [(l1, l2) for l1 in range(l1max + 1) for l2 in range(l2max + 1)
                if (l1 + l2 + l3) % 2 == 0 and abs(l1 - l2) <= l3 <= l1 + l2]

    @jax.jit
    def gaunt_and_cg_paths(x, y):
        out = product(x, y)
        return [(out.filter(keep=[_ir(l3)]).array.ravel(),
                 jnp.stack([cg_product(x.filter(keep=[_ir(l1)]), y.filter(keep=[_ir(l2)]),
                                       [_ir(l3)]).array.ravel() for l1, l2 in paths(l3)], 1))
                for l3 in range(lmax_out + 1)]

    for l3, (target, columns) in enumerate(gaunt_and_cg_paths(x, y)):
        weights, *_ = np.linalg.lstsq(columns, target, rcond=None)
        np.testing.assert_allclose(columns @ weights, target, atol=1e-10)
        expected = [scale * gaunt_coefficient(l1, l2, l3) for l1, l2 in paths(l3)]
        np.testing.assert_allclose(weights, expected, rtol=1e-10, atol=1e-12)
    # odd paths (e.g. 1o x 1o -> 1e) are absent: the output has natural parity only
    assert product.irreps_out == e3nn.s2_irreps(lmax_out)


@pytest.mark.slow  # default test budget: e3nn's s2grid compiles for ~9 s
def test_gaunt_matches_e3nn_s2grid_route(rng):
    # e3nn's to_s2grid / from_s2grid with its default normalisation ("integral", which
    # samples Σ c Y^component) on the same Gauss-Legendre grid: the same numbers.
    x = _normal(e3nn.s2_irreps(3), rng, (4,))
    y = _normal(e3nn.s2_irreps(2), rng, (4,))
    product = GauntProduct(3, 2, 3)
    n_theta, n_phi = product.grid_shape

    @jax.jit
    def e3nn_route(x, y):
        sx = e3nn.to_s2grid(x, n_theta, n_phi, quadrature="gausslegendre", fft=False)
        sy = e3nn.to_s2grid(y, n_theta, n_phi, quadrature="gausslegendre", fft=False)
        return sx.grid_vectors, sx.grid_values, e3nn.from_s2grid(sx * sy, e3nn.s2_irreps(3),
                                                                 fft=False)

    vectors, values, reference = e3nn_route(x, y)
    np.testing.assert_allclose(product.grid_points, vectors.reshape(-1, 3), atol=1e-14)
    np.testing.assert_allclose(product.to_grid(x), values.reshape(4, -1), atol=1e-12)
    np.testing.assert_allclose(jax.jit(product)(x, y).array, reference.array, atol=1e-12)


def test_scalars_multiply(rng):
    # component normalisation: Y_00 = 1, so 0e ⊙ f = c_00 · f
    x = _normal("0e", rng, (6,))
    y = _normal(e3nn.s2_irreps(3), rng, (6,))
    np.testing.assert_allclose(gaunt_product(x, y).array, x.array * y.array, atol=1e-13)


@pytest.mark.parametrize(
    ("lmax1", "lmax2", "lmax_out", "normalization"),
    [(0, 0, 0, "component"), (1, 2, 3, "integral"), (3, 3, 6, "component"), (6, 6, 6, "integral")],
)
def test_grid_transforms_are_exact(lmax1, lmax2, lmax_out, normalization, rng):
    product = GauntProduct(lmax1, lmax2, lmax_out, normalization)
    n_theta, n_phi = product.grid_shape
    d = lmax1 + lmax2 + lmax_out
    assert (n_theta, n_phi) == (d // 2 + 1, d + 1)
    np.testing.assert_allclose(np.linalg.norm(product.grid_points, axis=1), 1.0, atol=1e-15)
    assert product.grid_weights.sum() == pytest.approx(4 * math.pi, rel=1e-14)
    # to grid then back: the identity on coefficients up to min(lmax_out, max(lmax1, lmax2))
    lmax = min(lmax_out, max(lmax1, lmax2))
    x = _normal(e3nn.s2_irreps(lmax), rng, (5,))
    back = jax.jit(lambda x: product.from_grid(product.to_grid(x)))(x)
    np.testing.assert_allclose(back.array[:, : x.irreps.dim], x.array, atol=1e-12)
    np.testing.assert_allclose(back.array[:, x.irreps.dim:], 0.0, atol=1e-12)


def test_exact_grid_is_minimal():
    # The top path of (3, 3 -> 6) integrates P3(cos θ)² P6(cos θ) (degree 12) over cos θ:
    # the 7 Gauss-Legendre nodes of grid_size(12) do it exactly, 6 do not.
    n_theta, _ = GauntProduct(3, 3, 6).grid_shape
    p3, p6 = np.polynomial.Legendre.basis(3), np.polynomial.Legendre.basis(6)
    exact = (p3 * p3 * p6).integ(lbnd=-1)(1.0)
    for n, ok in ((n_theta, True), (n_theta - 1, False)):
        nodes, weights = np.polynomial.legendre.leggauss(n)
        assert (abs(weights @ (p3(nodes) ** 2 * p6(nodes)) - exact) < 1e-15) == ok


# --- transformations, dtypes and gradients -------------------------------------------------
def test_leading_axes_broadcast_jit_vmap_and_float32(rng):
    product = GauntProduct(2, 1, 2)
    x = _normal(e3nn.s2_irreps(2), rng, (7, 4))  # (n_atoms, channels)
    y = _normal(e3nn.s2_irreps(1), rng, (7, 1))  # one per atom, broadcast
    out = product(x, y)
    assert out.shape == (7, 4, 9) and out.irreps == e3nn.s2_irreps(2)
    np.testing.assert_allclose(out.array, product(x, y.broadcast_to((7, 4, 4))).array, atol=1e-14)
    jitted = eqx.filter_jit(lambda p, a, b: p(a, b))(product, x, y)
    np.testing.assert_allclose(jitted.array, out.array, atol=1e-14)
    mapped = jax.vmap(jax.vmap(product))(x, y.broadcast_to((7, 4, 4)))
    np.testing.assert_allclose(mapped.array, out.array, atol=1e-14)
    out32 = product(x.astype(jnp.float32), y.astype(jnp.float32))
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(out32.array, out.array, atol=1e-5)
    square = GauntProduct(2, 2, 4)  # x ⊙ x takes one transform to the grid
    np.testing.assert_allclose(square(x, x).array, square(x, x * 1.0).array, atol=1e-14)
    # no trainable leaves: an optimiser sees nothing in the module
    assert jax.tree_util.tree_leaves(product) == []


def test_gradients_match_finite_differences(rng):
    product = GauntProduct(2, 2, 3)
    x = _normal(e3nn.s2_irreps(2), rng, (3,))
    y = _normal(e3nn.s2_irreps(2), rng, (3,))
    w = jnp.asarray(rng.normal(size=(3, 16)))

    def loss(a, b):
        out = product(e3nn.IrrepsArray(x.irreps, a), e3nn.IrrepsArray(y.irreps, b))
        return jnp.sum(jnp.sin(out.array) * w)

    ga, gb = jax.grad(loss, argnums=(0, 1))(x.array, y.array)
    assert np.all(np.isfinite(ga)) and np.all(np.isfinite(gb))
    da, db = jnp.asarray(rng.normal(size=x.shape)), jnp.asarray(rng.normal(size=y.shape))
    h = 1e-5
    fd = (loss(x.array + h * da, y.array + h * db) - loss(x.array - h * da, y.array - h * db)) / (
        2 * h)
    assert float(jnp.vdot(ga, da) + jnp.vdot(gb, db)) == pytest.approx(float(fd), rel=1e-8)


# --- refused input ---------------------------------------------------------------------------
def test_odd_parity_input_is_refused_naming_the_irreps(rng):
    product = GauntProduct(2, 2, 2)
    good = _normal("0e+1o+2e", rng)
    with pytest.raises(ValueError,
                       match=r"x has irreps 1x0e\+1x1e\+1x2e, where 1e has parity.*use cg_product"):
        product(_normal("0e+1e+2e", rng), good)
    with pytest.raises(ValueError, match=r"y has irreps 1x2o, where 2o has parity"):
        gaunt_product(good, _normal("2o", rng))
    with pytest.raises(ValueError, match=r"multiplicities 2x1o.*mul_to_axis"):
        product(_normal("0e+2x1o", rng), good)
    with pytest.raises(ValueError, match=r"degree 3 above this product's lmax 2"):
        product(_normal("0e+3o", rng), good)
    with pytest.raises(ValueError, match=r"degrees must increase"):
        product(_normal("1o+0e", rng), good)
    with pytest.raises(ValueError, match=r"do not broadcast"):
        product(_normal("0e", rng, (3,)), _normal("0e", rng, (4,)))
    with pytest.raises(TypeError, match=r"IrrepsArray"):
        product(jnp.ones(9), good)
    with pytest.raises(ValueError, match=r"parameter 'lmax_out' must be a non-negative"):
        GauntProduct(1, 1, -1)
    with pytest.raises(ValueError, match=r"normalization must be one of"):
        GauntProduct(1, 1, 1, "norm")
    with pytest.raises(ValueError, match=r"x has leading shape \(3,\) and y \(4,\)"):
        cg_product(_normal("0e", rng, (3,)), _normal("0e", rng, (4,)))
