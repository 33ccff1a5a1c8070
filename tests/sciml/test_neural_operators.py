"""Neural operators: FNO (SpectralConv), MgNO (VCycle), DeepONet."""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sciml.neural_operators import (
    FNO,
    DeepONet,
    MgNO,
    SpectralConv,
    VCycle,
    cast,
    count_params,
    grid_coordinates,
)

# ---------------------------------------------------------------------------------------------
# helpers


@eqx.filter_jit
def call(model, *args):
    """`model(*args)`, compiled once per model structure and shapes (eager dispatch of the
    many small convolutions and einsums is far slower than one compile)."""
    return model(*args)


@eqx.filter_jit
def call_batched(model, *args):
    return jax.vmap(model)(*args)


def bandlimited(n: int, d: int, channels: int = 1, kmax: int = 6, seed: int = 0) -> jnp.ndarray:
    """A real trigonometric polynomial with frequencies |k_a| <= kmax, sampled at x = j/n."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.arange(n) / n] * d, indexing="ij")
    out = np.zeros((channels,) + (n,) * d)
    for c in range(channels):
        for _ in range(8):
            k = rng.integers(-kmax, kmax + 1, size=d)
            phase = 2 * np.pi * sum(ki * g for ki, g in zip(k, grids, strict=True))
            out[c] += rng.normal() * np.cos(phase + rng.uniform(0, 2 * np.pi))
    return jnp.asarray(out)


def dense_spectral_conv(conv: SpectralConv, v: np.ndarray) -> np.ndarray:
    """The spectral convolution as explicit sums over grid points and kept modes."""
    v = np.asarray(v)
    d, modes, spatial = conv.ndim, conv.modes, v.shape[1:]
    W = np.asarray(conv.weight_real) + 1j * np.asarray(conv.weight_imag)  # (*modes, in, out)
    grids = np.meshgrid(*[np.arange(n) / n for n in spatial], indexing="ij")
    kept = [
        list(range(m)) + (list(range(-m, 0)) if a < d - 1 else []) for a, m in enumerate(modes)
    ]
    out = np.zeros((conv.out_channels,) + spatial)
    for widx in itertools.product(*[range(len(k)) for k in kept]):
        k = [kept[a][i] for a, i in enumerate(widx)]
        phase = np.exp(2j * np.pi * sum(ki * g for ki, g in zip(k, grids, strict=True)))
        X = np.tensordot(v, phase.conj(), axes=d)  # (in,): Σ_x v(x) e^{-2πi k·x}
        Y = X @ W[widx]  # (out,)
        c = 1.0 if k[-1] == 0 else 2.0  # irfft: half spectrum, imaginary part of k_d = 0 dropped
        out += c * np.real(Y[:, None] * phase.reshape(-1)).reshape(out.shape)
    return out / np.prod(spatial)


def fft_spectral_conv(conv: SpectralConv, v: jnp.ndarray) -> jnp.ndarray:
    """The same map through `rfftn`, corners and `irfftn` (the reference implementation)."""
    d, modes, spatial = conv.ndim, conv.modes, v.shape[1:]
    axes = tuple(range(1, d + 1))
    X = jnp.fft.rfftn(v, axes=axes)
    W = conv.weight_real + 1j * conv.weight_imag
    Y = jnp.zeros((conv.out_channels,) + X.shape[1:], X.dtype)
    idx = [
        list(range(m)) + (list(range(n - m, n)) if a < d - 1 else [])
        for a, (n, m) in enumerate(zip(spatial, modes, strict=True))
    ]
    for widx, fidx in zip(
        itertools.product(*[range(len(i)) for i in idx]), itertools.product(*idx), strict=True
    ):
        Y = Y.at[(slice(None),) + fidx].set(X[(slice(None),) + fidx] @ W[widx])
    return jnp.fft.irfftn(Y, s=spatial, axes=axes)


def every(r: int, d: int):
    """Index of every r-th grid point of a channels-first field with d spatial axes."""
    return (slice(None),) + (slice(None, None, r),) * d


# ---------------------------------------------------------------------------------------------
# SpectralConv and FNO


@pytest.mark.parametrize(
    "modes, spatial",
    [((5,), (16,)), ((5,), (10,)), ((4, 3), (12, 10)), ((4, 3), (8, 6)), ((2, 3, 2), (6, 8, 5))],
)
def test_spectral_conv_matches_dense_dft(modes, spatial, getkey):
    # including the smallest grids n = 2m, where the kept -m is the Nyquist frequency
    conv = SpectralConv(3, 2, modes, key=getkey())
    v = jax.random.normal(getkey(), (3,) + spatial)
    out = call(conv, v)
    assert out.shape == (2,) + spatial
    np.testing.assert_allclose(out, dense_spectral_conv(conv, v), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out, fft_spectral_conv(conv, v), rtol=0, atol=1e-12)


@pytest.mark.parametrize("d, modes", [(1, (12,)), (2, (8, 8))])
def test_spectral_conv_resolution_agnostic(d, modes, getkey):
    # a band-limited field (|k| <= 6 < 16) sampled at 32 and at 64: the same function out
    conv = SpectralConv(2, 3, modes, key=getkey())
    coarse, fine = call(conv, bandlimited(32, d, 2)), call(conv, bandlimited(64, d, 2))
    np.testing.assert_allclose(coarse, fine[every(2, d)], rtol=0, atol=1e-10)


def test_fno_linear_is_resolution_agnostic(getkey):
    # with identity activations and no coordinates every layer maps band-limited fields to
    # band-limited fields, so the whole FNO is exactly resolution-agnostic
    model = FNO(2, 1, (6, 6), 8, 3, activation="identity", positional_embedding=False,
                lifting_width=8, key=getkey())
    coarse, fine = call(model, bandlimited(32, 2, 2)), call(model, bandlimited(64, 2, 2))
    np.testing.assert_allclose(coarse, fine[every(2, 2)], rtol=0, atol=1e-10)


def test_fno_nonlinear_resolution_convergence(getkey):
    # With GELU the pointwise layers create frequencies beyond every grid's Nyquist limit,
    # which alias into the kept modes differently on each grid, so outputs at shared points
    # are not equal. GELU is analytic, so the aliasing error decays spectrally with the
    # resolution; the coordinate x in [0, 1) is a periodic sawtooth (Fourier coefficients ~ 1/k),
    # so with the positional embedding it decays only like 1/n.
    key = getkey()
    ref_n = 512

    def errors(pe):
        model = FNO(1, 1, 8, 16, 3, positional_embedding=pe, key=key)
        ref = call(model, bandlimited(ref_n, 1))
        return [
            float(jnp.max(jnp.abs(call(model, bandlimited(n, 1)) - ref[every(ref_n // n, 1)])))
            for n in (32, 64, 128)
        ]

    e = errors(False)
    assert e[0] > 1e-8  # not exact: aliasing is real
    assert e[1] < 1e-3 * e[0] and e[2] < 1e-11  # spectral decay
    e = errors(True)
    assert e[2] > 1e-5  # the sawtooth coordinate keeps an O(1/n) discrepancy
    assert 1.5 < e[0] / e[1] < 4 and 1.5 < e[1] / e[2] < 4  # first order


@pytest.mark.parametrize(
    "modes, spatial", [((6,), (40,)), ((4, 5), (16, 12)), ((2, 2, 2), (6, 5, 4))]
)
def test_fno_shapes_and_vmap(modes, spatial, getkey):
    model = FNO(3, 2, modes, 8, 2, key=getkey())
    a = jax.random.normal(getkey(), (5, 3) + spatial)
    out = call_batched(model, a)
    assert out.shape == (5, 2) + spatial
    if len(modes) == 2:
        np.testing.assert_allclose(out[1], call(model, a[1]), rtol=1e-12, atol=1e-12)


def test_grid_coordinates():
    g = grid_coordinates((4, 2))
    assert g.shape == (2, 4, 2)
    np.testing.assert_array_equal(g[0, :, 0], [0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(g[1, 0], [0, 0.5])
    # the points of an n grid are every other point of the 2n grid
    np.testing.assert_array_equal(grid_coordinates((8, 6))[every(2, 2)], grid_coordinates((4, 3)))
    # cell centres: a coarse cell's centre is the mean of its two fine cells' centres, so
    # block-averaged data see the same coordinate (up to O(h²)) on every grid
    c = grid_coordinates((4,), grid="cells")
    np.testing.assert_allclose(c[0], [0.125, 0.375, 0.625, 0.875], rtol=0, atol=1e-15)
    f = grid_coordinates((8,), grid="cells")[0]
    np.testing.assert_allclose(c[0], 0.5 * (f[0::2] + f[1::2]), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="grid must be one of"):
        grid_coordinates((4,), grid="centres")
    with pytest.raises(ValueError, match="grid must be one of"):
        FNO(1, 1, 4, 8, grid="faces", key=jax.random.key(0))


def test_fno_parameter_count(getkey):
    c, w, m1, m2, depth, p = 2, 8, 4, 3, 3, 16
    model = FNO(c, 1, (m1, m2), w, depth, projection_width=p, key=getkey())
    lift = (c + 2) * w + w
    layer = 2 * (2 * m1) * m2 * w * w + w * w + w  # complex weights count twice
    proj = w * p + p + p + 1
    assert count_params(model) == lift + depth * layer + proj


def test_fno_bad_shapes(getkey):
    model = FNO(2, 1, (6, 6), 8, 2, key=getkey())
    with pytest.raises(ValueError, match=r"FNO input must have shape \(2, n1, n2\).*\(3, 16, 16\)"):
        model(jnp.zeros((3, 16, 16)))
    with pytest.raises(ValueError, match=r"shape \(2, n1, n2\).*got \(2, 16\)"):
        model(jnp.zeros((2, 16)))
    with pytest.raises(ValueError, match=r"2\*modes = \(12, 12\), got spatial shape \(16, 10\)"):
        model(jnp.zeros((2, 16, 10)))
    conv = SpectralConv(2, 2, (4,), key=getkey())
    with pytest.raises(ValueError, match=r"SpectralConv input must have shape \(2, n1\)"):
        conv(jnp.zeros((1, 16)))
    with pytest.raises(ValueError, match="modes must have 1, 2 or 3 entries"):
        SpectralConv(2, 2, (4, 4, 4, 4), key=getkey())
    with pytest.raises(ValueError, match="'width' must be a positive integer"):
        FNO(1, 1, 4, 0, key=getkey())


# ---------------------------------------------------------------------------------------------
# MgNO


def _np_conv3(x, w, stride, boundary):
    """Reference 3-tap convolution, channels last: out[j] = Σ_t w[t] x[stride j + t - 1]."""
    d = x.ndim - 1
    spatial = x.shape[:-1]
    out_shape = tuple(n // stride for n in spatial)
    out = np.zeros(out_shape + (w.shape[-1],))
    for j in itertools.product(*[range(n) for n in out_shape]):
        for t in itertools.product(range(3), repeat=d):
            src = [stride * ja + ta - 1 for ja, ta in zip(j, t, strict=True)]
            if boundary == "periodic":
                src = [s % n for s, n in zip(src, spatial, strict=True)]
            elif any(s < 0 or s >= n for s, n in zip(src, spatial, strict=True)):
                continue  # zero padding
            out[j] += x[tuple(src)] @ w[t]
    return out


def _np_conv_transpose(x, w, boundary):
    """Reference transposed conv, kernel 4, stride 2, padding 1: out[2j - 1 + k] += w[k] x[j]."""
    d = x.ndim - 1
    coarse = x.shape[:-1]
    fine = tuple(2 * n for n in coarse)
    out = np.zeros(fine + (w.shape[-1],))
    for j in itertools.product(*[range(n) for n in coarse]):
        for k in itertools.product(range(4), repeat=d):
            dst = [2 * ja - 1 + ka for ja, ka in zip(j, k, strict=True)]
            if boundary == "periodic":
                dst = [s % n for s, n in zip(dst, fine, strict=True)]
            elif any(s < 0 or s >= n for s, n in zip(dst, fine, strict=True)):
                continue
            out[tuple(dst)] += x[j] @ w[k]
    return out


def _np_vcycle(cycle: VCycle, f: np.ndarray) -> np.ndarray:
    """The V-cycle of He, Liu & Xu's Algorithm 1 with the reference convolutions."""
    bc = cycle.boundary
    A = [None if a is None else np.asarray(a) for a in cycle.A]
    S = [[np.asarray(s) for s in level] for level in cycle.S]
    Sp = [[np.asarray(s) for s in level] for level in cycle.S_post]
    R, P = [np.asarray(r) for r in cycle.R], [np.asarray(p) for p in cycle.P]
    f = np.moveaxis(np.asarray(f), 0, -1)
    us, fs = [], []
    for lvl in range(cycle.levels):
        u = _np_conv3(f, S[lvl][0], 1, bc)
        for s in S[lvl][1:]:
            u = u + _np_conv3(f - _np_conv3(u, A[lvl], 1, bc), s, 1, bc)
        us.append(u)
        fs.append(f)
        if lvl < cycle.levels - 1:
            f = _np_conv3(f - _np_conv3(u, A[lvl], 1, bc), R[lvl], 2, bc)
    u = us[-1]
    for lvl in range(cycle.levels - 2, -1, -1):
        u = us[lvl] + _np_conv_transpose(u, P[lvl], bc)
        for s in Sp[lvl]:
            u = u + _np_conv3(fs[lvl] - _np_conv3(u, A[lvl], 1, bc), s, 1, bc)
    return np.moveaxis(u, -1, 0)


@pytest.mark.parametrize("boundary", ["dirichlet", "periodic"])
@pytest.mark.parametrize("d, n", [(1, 16), (2, 8), (3, 4)])
def test_vcycle_matches_reference(boundary, d, n, getkey):
    # explicit zero padding (dirichlet) or wrap-around (periodic) in every convolution,
    # and PyTorch's ConvTranspose(k=4, s=2, p=1) for the prolongation
    cycle = VCycle(2, 3, d, 3, boundary=boundary, smoothing_steps=(2, 1, 2),
                   post_smoothing=(1, 1), key=getkey())
    f = jax.random.normal(getkey(), (2,) + (n,) * d)
    np.testing.assert_allclose(call(cycle, f), _np_vcycle(cycle, f), rtol=0, atol=1e-12)


# 7 s over its four cases. Linearity stays checked by default: test_vcycle_matches_reference
# matches every dimension and boundary to 1e-12 against `_np_vcycle`, whose convolutions
# (no bias, no activation) are linear in f.
@pytest.mark.slow
@pytest.mark.parametrize("boundary", ["dirichlet", "periodic"])
@pytest.mark.parametrize("d, n", [(1, 32), (2, 16)])
def test_vcycle_is_linear(boundary, d, n, getkey):
    cycle = VCycle(3, 4, d, 4, boundary=boundary, post_smoothing=1, key=getkey())
    f, g = (jax.random.normal(getkey(), (3,) + (n,) * d) for _ in range(2))
    np.testing.assert_allclose(
        call(cycle, 2.5 * f - 0.7 * g), 2.5 * call(cycle, f) - 0.7 * call(cycle, g),
        rtol=0, atol=1e-12,
    )


@pytest.mark.parametrize("d, n", [(1, 32), (2, 16)])
def test_periodic_vcycle_commutes_with_coarse_shifts(d, n, getkey):
    levels = 3  # coarsest spacing = 4 fine cells
    cycle = VCycle(2, 2, d, levels, boundary="periodic", key=getkey())
    f = jax.random.normal(getkey(), (2,) + (n,) * d)
    axes = tuple(range(1, d + 1))
    out = call(cycle, f)
    for shift in (4, -12):
        np.testing.assert_allclose(
            call(cycle, jnp.roll(f, shift, axes)), jnp.roll(out, shift, axes), rtol=0, atol=1e-12
        )
    # a shift by one fine cell moves the coarse grids relative to the data: no equivariance
    moved = call(cycle, jnp.roll(f, 1, axes))
    assert float(jnp.max(jnp.abs(moved - jnp.roll(out, 1, axes)))) > 1e-4
    if d == 1:
        return
    # the whole MgNO is periodic-equivariant the same way
    model = MgNO(2, 1, 4, 1, levels, ndim=d, boundary="periodic", key=getkey())
    np.testing.assert_allclose(
        call(model, jnp.roll(f, 4, axes)), jnp.roll(call(model, f), 4, axes), rtol=0, atol=1e-12
    )


def test_dirichlet_vcycle_sees_zero_boundary(getkey):
    # two levels, one smoothing step: the output at a cell depends on the data within
    # about 8 cells, so cell 0 hears cell n-1 only through the periodic wrap-around
    n = 64
    f = jax.random.normal(getkey(), (1, n))
    bump = jnp.zeros((1, n)).at[0, -1].set(1.0)
    key = getkey()
    dirichlet = VCycle(1, 1, 1, 2, boundary="dirichlet", smoothing_steps=1, key=key)
    periodic = VCycle(1, 1, 1, 2, boundary="periodic", smoothing_steps=1, key=key)
    dd = call(dirichlet, f + bump) - call(dirichlet, f)
    dp = call(periodic, f + bump) - call(periodic, f)
    assert float(jnp.max(jnp.abs(dd[0, :16]))) == 0.0
    assert float(jnp.abs(dp[0, 0])) > 1e-6
    # data vanishing within the receptive field of the boundary: every padded value is zero
    # either way, so the two boundary conditions give the same output
    g = f.at[:, :16].set(0.0).at[:, -16:].set(0.0)
    np.testing.assert_allclose(call(dirichlet, g), call(periodic, g), rtol=0, atol=1e-12)
    assert float(jnp.max(jnp.abs(call(dirichlet, f) - call(periodic, f)))) > 1e-6


def test_vcycle_parameter_count(getkey):
    cf, cu, L = 2, 3, 4
    cycle = VCycle(cf, cu, 2, L, key=getkey())  # default ν = (1, 1, 1, 2), no post-smoothing
    n_s, n_a = L + 1, L  # smoothers; A on every level (the coarsest has two steps)
    expected = 9 * (n_s * cf * cu + n_a * cu * cf + (L - 1) * cf * cf) + 16 * (L - 1) * cu * cu
    assert count_params(cycle) == expected


@pytest.mark.parametrize("d, sizes", [(1, [(8,), (24,), (64,)]), (2, [(8, 8), (16, 24), (64, 32)])])
def test_mgno_shapes_and_scale(d, sizes, getkey):
    model = MgNO(2, 3, 4, 2, 4, ndim=d, key=getkey())
    for spatial in sizes:  # traced, not compiled
        out = eqx.filter_eval_shape(model, jnp.zeros((2,) + spatial))
        assert out.shape == (3,) + spatial
    if d == 1:
        return
    # O(1) output at init for O(1) input, also deep and with many levels
    deep = MgNO(1, 1, 8, 4, 5, key=getkey())
    a = bandlimited(16, 2)
    out = call(deep, a / a.std())
    assert bool(jnp.all(jnp.isfinite(out)))
    assert 0.1 < float(out.std()) < 10.0


def test_mgno_bad_shapes(getkey):
    model = MgNO(2, 1, 4, 2, 4, key=getkey())
    with pytest.raises(ValueError, match=r"divisible by 2\*\*\(levels-1\) = 8, got spatial shape "
                                         r"\(16, 20\)"):
        model(jnp.zeros((2, 16, 20)))
    with pytest.raises(ValueError, match=r"MgNO input must have shape \(2, n1, n2\).*\(1, 16"):
        model(jnp.zeros((1, 16, 16)))
    with pytest.raises(ValueError, match=r"shape \(2, n1, n2\).*got \(2, 16\)"):
        model(jnp.zeros((2, 16)))
    with pytest.raises(ValueError, match="boundary must be one of"):
        MgNO(1, 1, 4, 1, 2, boundary="neumann", key=getkey())
    with pytest.raises(ValueError, match="'smoothing_steps' must be an integer or a sequence of 3"):
        VCycle(1, 1, 2, 3, smoothing_steps=(1, 1), key=getkey())


# ---------------------------------------------------------------------------------------------
# DeepONet


@pytest.mark.parametrize("stacked", [False, True])
def test_deeponet_cartesian_matches_single_queries(stacked, getkey):
    net = DeepONet(20, 2, 8, 16, 2, 16, 3, stacked=stacked, key=getkey())
    net = eqx.tree_at(lambda m: m.bias, net, jnp.asarray(0.3))
    u = jax.random.normal(getkey(), (20,))
    ys = jax.random.uniform(getkey(), (11, 2))
    out = net.cartesian(u, ys)
    assert out.shape == (11,)
    np.testing.assert_allclose(out, jax.vmap(net, (None, 0))(u, ys), rtol=1e-13, atol=1e-13)
    assert net(u, ys[0]).shape == ()
    # the output is the dot product of branch and trunk features plus the bias
    b, t = net.branch_features(u), net.trunk_features(ys[3])
    assert b.shape == t.shape == (8,)
    np.testing.assert_allclose(out[3], b @ t + 0.3, rtol=1e-13)
    # batched over functions and points
    us = jax.random.normal(getkey(), (4, 20))
    assert jax.vmap(net.cartesian, (0, None))(us, ys).shape == (4, 11)


def test_deeponet_stacked_vs_unstacked_parameter_counts(getkey):
    m, d, p, bw, bd, tw, td = 10, 1, 4, 8, 2, 8, 3
    unstacked = DeepONet(m, d, p, bw, bd, tw, td, key=getkey())
    stacked = DeepONet(m, d, p, bw, bd, tw, td, stacked=True, key=getkey())
    trunk = d * tw + tw + (td - 1) * (tw * tw + tw) + tw * p + p
    hidden = m * bw + bw + (bd - 1) * (bw * bw + bw)
    assert count_params(unstacked) == hidden + bw * p + p + trunk + 1
    assert count_params(stacked) == p * (hidden + bw + 1) + trunk + 1
    assert stacked.branch.weights[0].shape == (p, bw, m)
    assert stacked.branch.weights[-1].shape == (p, 1, bw)


def test_deeponet_bad_shapes(getkey):
    net = DeepONet(20, 2, 8, 16, 2, 16, 2, key=getkey())
    with pytest.raises(ValueError, match=r"u must have shape \(n_sensors,\) = \(20,\).*\(4, 20\)"):
        net(jnp.zeros((4, 20)), jnp.zeros(2))
    with pytest.raises(ValueError, match=r"y must have shape \(coord_dim,\) = \(2,\).*\(3,\)"):
        net(jnp.zeros(20), jnp.zeros(3))
    with pytest.raises(ValueError, match=r"ys must have shape \(n, coord_dim\) = \(n, 2\)"):
        net.cartesian(jnp.zeros(20), jnp.zeros((5, 1)))
    with pytest.raises(ValueError, match="'latent' must be a positive integer"):
        DeepONet(20, 2, 0, 16, 2, 16, 2, key=getkey())


# ---------------------------------------------------------------------------------------------
# all models: gradients, dtypes, serialisation


def _model(name, key):
    # one layer / one smoother per level: gradients, dtypes and serialisation do not depend
    # on the depth, and compiling deeper models was these tests' cost
    if name == "fno":
        return FNO(1, 1, (4, 4), 8, 1, key=key), (jnp.ones((1, 16, 16)),)
    if name == "mgno":
        return MgNO(1, 1, 4, 1, 3, key=key), (jnp.ones((1, 16, 16)),)
    return DeepONet(10, 1, 4, 8, 2, 8, 2, stacked=True, key=key), (jnp.ones(10), jnp.ones(1))


@pytest.mark.parametrize("name", ["fno", "mgno", "deeponet"])
def test_gradients_finite_and_dtypes(name, getkey):
    model, args = _model(name, getkey())

    @eqx.filter_jit
    def value_and_grad(m):
        return eqx.filter_value_and_grad(lambda m: jnp.sum(m(*args) ** 2))(m)

    value, g = value_and_grad(model)
    assert value.dtype == jnp.float64
    leaves = jax.tree_util.tree_leaves(eqx.filter(g, eqx.is_inexact_array))
    assert leaves and all(bool(jnp.all(jnp.isfinite(x))) for x in leaves)
    assert sum(float(jnp.sum(jnp.abs(x))) for x in leaves) > 0
    # float32: parameters cast, computation and output in float32, close to float64
    m32 = cast(model, jnp.float32)
    assert all(x.dtype == jnp.float32 for x in jax.tree_util.tree_leaves(
        eqx.filter(m32, eqx.is_inexact_array)))
    out32 = call(m32, *args)
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(jnp.sum(out32.astype(float) ** 2), value, rtol=1e-4)


def test_serialisation_round_trip(tmp_path, getkey):
    for name in ("fno", "mgno", "deeponet"):
        model, args = _model(name, getkey())
        path = tmp_path / f"{name}.eqx"
        eqx.tree_serialise_leaves(path, model)
        like, _ = _model(name, getkey())  # same structure, different values
        loaded = eqx.tree_deserialise_leaves(path, like)
        np.testing.assert_array_equal(call(loaded, *args), call(model, *args))


def test_fourier_trunk_is_the_fixed_periodic_basis_and_sets_the_latent_size():
    from sciml.neural_operators import DeepONet, FourierTrunk

    t = FourierTrunk(3, period=2.0)
    y = 0.3
    k = np.arange(1, 4)
    expect = np.r_[1.0, np.cos(np.pi * k * y), np.sin(np.pi * k * y)]
    np.testing.assert_allclose(np.asarray(t(jnp.asarray([y]))), expect, rtol=1e-6)
    net = DeepONet(32, 1, None, 16, 2, 0, 0, trunk_modes=3, period=2.0, key=jax.random.key(0))
    assert net.latent == 7 and not jax.tree.leaves(net.trunk)  # no trunk parameters
    u = jnp.sin(jnp.linspace(0, 1, 32))
    ys = jnp.linspace(0, 2, 5)[:, None]
    np.testing.assert_allclose(np.asarray(net.cartesian(u, ys))[[0, -1]],
                               np.asarray(net.cartesian(u, ys))[[-1, 0]], rtol=1e-5)  # periodic
    with pytest.raises(ValueError, match="2\\*trunk_modes\\+1 = 7"):
        DeepONet(32, 1, 8, 16, 2, 0, 0, trunk_modes=3, key=jax.random.key(0))
    with pytest.raises(ValueError, match="1-D query points"):
        DeepONet(32, 2, None, 16, 2, 0, 0, trunk_modes=3, key=jax.random.key(0))
    with pytest.raises(ValueError, match="latent=None needs trunk_modes"):
        DeepONet(32, 1, None, 16, 2, 8, 2, key=jax.random.key(0))
