"""Fourier neural operators (Li et al. 2021) in 1-D, 2-D and 3-D, on one sample.

A field is an array `(channels, n1, ..., nd)`, channels first; callers `jax.vmap` over a
batch. The spectral convolution keeps a fixed set of integer frequencies, so the same weights
apply on any grid fine enough to hold them: the operator is resolution-agnostic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from sciml import checks
from sciml.neural_operators._common import (
    Activation,
    Pointwise,
    PointwiseMLP,
    check_field,
    draw,
    param_dtype,
    resolve_activation,
)


def _modes_tuple(modes: int | Sequence[int]) -> tuple[int, ...]:
    modes = checks.ints("modes", modes)
    if not 1 <= len(modes) <= 3:
        raise ValueError(f"modes must have 1, 2 or 3 entries (one per spatial axis), got {modes}")
    return modes


def _check_resolution(spatial: tuple[int, ...], modes: tuple[int, ...], who: str) -> None:
    need = tuple(2 * m for m in modes)
    if any(n < k for n, k in zip(spatial, need, strict=True)):
        raise ValueError(
            f"{who} with modes {modes} needs every spatial size >= 2*modes = {need}, "
            f"got spatial shape {spatial}"
        )


def _angles(k: np.ndarray, n: int) -> np.ndarray:
    """`2π k x / n` for frequencies `k` (rows), grid indices `x = 0..n-1` (columns), exact mod n."""
    return 2.0 * np.pi * (np.outer(k, np.arange(n)) % n) / n


def _frequencies(n: int, m: int, full: bool) -> np.ndarray:
    """The kept integer frequencies of an axis: `0..m-1`, then `-m..-1` on a full axis."""
    return np.r_[0:m, -m:0] if full else np.arange(m)


def _dft_matrices(spatial: tuple[int, ...], modes: tuple[int, ...], dtype) -> tuple:
    """Real matrices of the truncated forward and inverse DFTs along each axis (see `_spectral`).

    Complex arrays are carried as a leading axis of size 2 (real, imaginary part).
    """
    d = len(spatial)
    fwd, inv = [], []
    for a, (n, m) in enumerate(zip(spatial, modes, strict=True)):
        t = _angles(_frequencies(n, m, full=a < d - 1), n)  # (K, n)
        c, s = np.cos(t), np.sin(t)
        if a < d - 1:  # complex -> complex, e^{-iθ} forward and e^{+iθ} back
            fwd.append(np.stack([np.stack([c, s], 1), np.stack([-s, c], 1)]))  # (2, K, 2, n)
            inv.append(np.stack([np.stack([c.T, -s.T], 1), np.stack([s.T, c.T], 1)]))  # (2,n,2,K)
        else:  # real -> half spectrum, and back with irfft's weights c_0 = 1, c_k = 2
            fwd.append(np.stack([c, -s]))  # (2, m, n)
            ck = np.where(np.arange(m) == 0, 1.0, 2.0)[:, None] / np.prod(spatial)
            inv.append(np.stack([ck * c, -ck * s], 1).transpose(2, 1, 0))  # (n, 2, m)
    return tuple(jnp.asarray(x, dtype) for x in fwd), tuple(jnp.asarray(x, dtype) for x in inv)


def _spectral(
    v: Float[Array, "*spatial cin"],
    weight_real: Float[Array, "*modes cin cout"],
    weight_imag: Float[Array, "*modes cin cout"],
    modes: tuple[int, ...],
) -> Float[Array, "*spatial cout"]:
    """The spectral convolution on a channels-last field, as truncated real DFTs (matmuls)."""
    d = len(modes)
    spatial = tuple(v.shape[:d])
    fwd, inv = _dft_matrices(spatial, modes, v.dtype)
    sp, fr = "abc"[:d], "xyz"[:d]  # spatial and frequency letters

    def sub(i: int, letter: str, base: str) -> str:
        return base[:i] + letter + base[i + 1 :]

    # forward: the last axis real -> half spectrum, then the full axes, truncating as we go
    cur = sp
    nxt = sub(d - 1, fr[d - 1], cur)
    X = jnp.einsum(f"p{fr[d - 1]}{sp[d - 1]},{cur}i->p{nxt}i", fwd[-1], v)
    cur = nxt
    for a in range(d - 1):
        nxt = sub(a, fr[a], cur)
        X = jnp.einsum(f"P{fr[a]}q{sp[a]},q{cur}i->P{nxt}i", fwd[a], X)
        cur = nxt
    # mode mixing: Y = R X per kept frequency, in real arithmetic on (re, im)
    block = jnp.stack(
        [jnp.stack([weight_real, -weight_imag]), jnp.stack([weight_imag, weight_real])]
    )  # (2, 2, *modes, in, out)
    Y = jnp.einsum(f"q{fr}i,Pq{fr}io->P{fr}o", X, block)
    # inverse: the full axes back to the grid, then the last axis half spectrum -> real
    cur = fr
    for a in range(d - 1):
        nxt = sub(a, sp[a], cur)
        Y = jnp.einsum(f"P{sp[a]}q{fr[a]},q{cur}o->P{nxt}o", inv[a], Y)
        cur = nxt
    return jnp.einsum(f"{sp[d - 1]}q{fr[d - 1]},q{cur}o->{sp}o", inv[-1], Y)


class SpectralConv(eqx.Module):
    """The Fourier layer `v ↦ F⁻¹(R · (F v)|_kept)` of the FNO, on one field.

    For an input `(in_channels, n1, ..., nd)`: `rfftn` over the `d` spatial axes; keep the
    frequencies `k_a ∈ {0..m_a-1} ∪ {-m_a..-1}` on the first `d-1` axes (both signs: the
    "corners" of the reference implementation) and `k_d ∈ {0..m_d-1}` on the last (the
    half-spectrum of a real field); multiply each kept frequency by a complex
    `(in, out)` matrix; zero the rest; `irfftn` back to the input's spatial shape. With
    `N = n1⋯nd` and `x_a = j_a / n_a`, this is

        y_o(x) = (1/N) Σ_kept c_{k_d} Re( Σ_i R_{k,i,o} X_i(k) e^{2πi k·x} ),
        X_i(k) = Σ_x v_i(x) e^{-2πi k·x},    c_0 = 1, c_{k>0} = 2

    (`irfftn` drops the imaginary part of the `k_d = 0` terms). It needs every
    `n_a >= 2 m_a`. Since `X(k)/N` is the same for a band-limited field on any grid holding
    its band, the output at shared points does not depend on the resolution.

    Only `2 m_a` (or `m_d`) of the `n_a` frequencies are kept, so the transforms are
    computed as truncated DFTs: real matrix products along one axis at a time, exactly the
    numbers `rfftn`/`irfftn` give, and faster on CPU than full FFTs followed by truncation.

    Attributes:
        weight_real, weight_imag: real and imaginary parts of `R`, shape
            `(2 m_1, ..., 2 m_{d-1}, m_d, in, out)`; along each full axis the first `m_a`
            entries are the frequencies `0..m_a-1`, the last `m_a` are `-m_a..-1`. Stored as
            two real arrays so optimisers and serialisation see plain floats.
        modes: `(m_1, ..., m_d)`.
    """

    weight_real: Float[Array, "*modes in out"]
    weight_imag: Float[Array, "*modes in out"]
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    modes: tuple[int, ...] = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        modes: int | Sequence[int],
        *,
        key: PRNGKeyArray,
    ):
        in_channels, out_channels = checks.counts(in_channels=in_channels,
                                                  out_channels=out_channels)
        self.modes = _modes_tuple(modes)
        self.in_channels, self.out_channels = in_channels, out_channels
        shape = (*(2 * m for m in self.modes[:-1]), self.modes[-1], in_channels, out_channels)
        # Glorot-like: E|R|^2 = 2 / (in + out), so a smooth unit-variance input gives an O(1)
        # output (the `neuraloperator` default init).
        std = math.sqrt(1.0 / (in_channels + out_channels))
        self.weight_real, self.weight_imag = draw(key, [("normal", shape, std)] * 2)

    @property
    def ndim(self) -> int:
        return len(self.modes)

    def last(self, v: Float[Array, "*spatial in"]) -> Float[Array, "*spatial out"]:
        """The same map on a channels-last field `(*spatial, in)` (no shape checks)."""
        return _spectral(v, self.weight_real, self.weight_imag, self.modes)

    def __call__(self, v: Float[Array, "in *spatial"]) -> Float[Array, " out *spatial"]:
        check_field(v, self.in_channels, self.ndim, "SpectralConv input")
        _check_resolution(tuple(v.shape[1:]), self.modes, "SpectralConv")
        v = jnp.moveaxis(v.astype(self.weight_real.dtype), 0, -1)
        return jnp.moveaxis(self.last(v), -1, 0)


GRIDS = ("nodes", "cells")


def _check_grid(grid: str) -> None:
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")


def grid_coordinates(
    spatial: Sequence[int], dtype=float, grid: str = "nodes"
) -> Float[Array, " d *spatial"]:
    """The coordinates of a uniform grid on the unit box, shape `(d, *spatial)`.

    `nodes`: `x_a = j_a / n_a` (j_a = 0..n_a-1), the nodes with the right end left out, as in
    `neuraloperator`'s grid embedding; the points of an `n` grid are every other point of
    the `2n` grid. `cells`: the cell centres `x_a = (j_a + 1/2) / n_a`, for cell-averaged
    data (Darcy), where cell `j` of the `n` grid is cells `2j, 2j+1` of the `2n` grid and
    its centre lies between theirs. Either way the spacing matches the DFT's sampling of a
    1-periodic field.
    """
    _check_grid(grid)
    shift = 0.5 if grid == "cells" else 0.0
    axes = [(jnp.arange(n, dtype=dtype) + shift) / n for n in spatial]
    return jnp.stack(jnp.meshgrid(*axes, indexing="ij"))


class FNO(eqx.Module):
    """A Fourier neural operator (Li et al. 2021) on one sample, in 1-D, 2-D or 3-D.

    Maps `a` of shape `(in_channels, *spatial)` to `(out_channels, *spatial)`, with
    `d = len(modes)` spatial axes and any resolution with every `n_a >= 2 m_a`:

    1. positional embedding (optional): append the `d` grid coordinates in `[0, 1)` (the
       nodes `j_a / n_a`, or with `grid="cells"` the cell centres `(j_a + 1/2) / n_a`; see
       `grid_coordinates`), computed from the input's shape, so the same model runs at
       any resolution. Match `grid` to where the data live: with cell-averaged data on
       the node embedding, a point's coordinate moves by half a cell between
       resolutions (on the Darcy 32 → 64 transfer this changed the error by under 1 %);
    2. lifting `P`: pointwise to `width` channels (one affine map as in Li et al., or a
       two-layer pointwise MLP with `lifting_width` hidden channels);
    3. `depth` Fourier layers `v ← σ(K v + W v + b)`, with `K` a `SpectralConv` and `W v + b`
       a pointwise affine skip; no activation after the last layer (as in the reference);
    4. projection `Q`: a pointwise MLP `width → projection_width → out_channels`.

    Differences from `neuraloperator.FNO`: no channel-MLP inside the Fourier layers, no
    bias in the spectral convolution (Li et al.'s original architecture).

    Attributes:
        lifting, projection: the pointwise MLPs `P` and `Q`.
        spectral: the `depth` `SpectralConv`s `K`.
        skips: the `depth` pointwise skips `W`, `b`.
    """

    lifting: PointwiseMLP
    spectral: tuple[SpectralConv, ...]
    skips: tuple[Pointwise, ...]
    projection: PointwiseMLP
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    width: int = eqx.field(static=True)
    modes: tuple[int, ...] = eqx.field(static=True)
    positional_embedding: bool = eqx.field(static=True)
    grid: str = eqx.field(static=True)
    activation: Callable = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        modes: int | Sequence[int],
        width: int,
        depth: int = 4,
        *,
        positional_embedding: bool = True,
        grid: str = "nodes",
        activation: Activation = "gelu",
        lifting_width: int | None = None,
        projection_width: int | None = None,
        key: PRNGKeyArray,
    ):
        """`lifting_width=None` lifts with one affine map (Li et al.); `projection_width`
        defaults to `4 * width` (128 for width 32, as in Li et al.)."""
        in_channels, out_channels, width, depth = checks.counts(
            in_channels=in_channels, out_channels=out_channels, width=width, depth=depth
        )
        self.modes = _modes_tuple(modes)
        self.in_channels, self.out_channels, self.width = in_channels, out_channels, width
        self.positional_embedding = bool(positional_embedding)
        _check_grid(grid)
        self.grid = grid
        self.activation = resolve_activation(activation)
        projection_width = checks.count(
            "projection_width", 4 * width if projection_width is None else projection_width
        )
        n_in = in_channels + (len(self.modes) if self.positional_embedding else 0)
        if lifting_width is None:
            lift_sizes = (n_in, width)
        else:
            lifting_width = checks.count("lifting_width", lifting_width)
            lift_sizes = (n_in, lifting_width, width)
        kl, kp, *ks = jax.random.split(key, 2 + 2 * depth)
        self.lifting = PointwiseMLP(lift_sizes, self.activation, key=kl)
        self.spectral = tuple(SpectralConv(width, width, self.modes, key=k) for k in ks[:depth])
        self.skips = tuple(Pointwise(width, width, key=k) for k in ks[depth:])
        self.projection = PointwiseMLP(
            (width, projection_width, out_channels), self.activation, key=kp
        )

    @property
    def ndim(self) -> int:
        return len(self.modes)

    def __call__(self, a: Float[Array, "in *spatial"]) -> Float[Array, " out *spatial"]:
        check_field(a, self.in_channels, self.ndim, "FNO input")
        spatial = tuple(a.shape[1:])
        _check_resolution(spatial, self.modes, "FNO")
        dtype = param_dtype(self)
        v = jnp.moveaxis(a.astype(dtype), 0, -1)  # channels last inside
        if self.positional_embedding:
            xs = grid_coordinates(spatial, dtype, self.grid)
            v = jnp.concatenate([v, jnp.moveaxis(xs, 0, -1)], -1)
        v = self.lifting.last(v)
        for i, (conv, skip) in enumerate(zip(self.spectral, self.skips, strict=True)):
            v = conv.last(v) + skip.last(v)
            if i < len(self.spectral) - 1:
                v = self.activation(v)
        return jnp.moveaxis(self.projection.last(v), -1, 0)
