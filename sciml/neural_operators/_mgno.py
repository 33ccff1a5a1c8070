"""MgNO (He, Liu & Xu, ICLR 2024): neural operators whose linear maps are multigrid V-cycles.

A field is an array `(channels, n1, ..., nd)`, channels first, `d = 1` or `2` (or 3); callers
`jax.vmap` over a batch. Internally fields are channels-last, the layout XLA's CPU
convolutions are fastest in.
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
    check_field,
    draw,
    param_dtype,
    resolve_activation,
)

BOUNDARIES = ("dirichlet", "periodic")
_DIMENSION_NUMBERS = {
    1: ("NWC", "WIO", "NWC"),
    2: ("NHWC", "HWIO", "NHWC"),
    3: ("NDHWC", "DHWIO", "NDHWC"),
}


def _conv3(
    x: Float[Array, "*spatial cin"], w: Float[Array, "*taps cin cout"], stride: int, boundary: str
) -> Float[Array, "*out cout"]:
    """A 3-tap (3, 3×3, 3×3×3) convolution with padding 1, stride 1 or 2, on one field.

    `dirichlet` pads with zeros, `periodic` wraps around. With stride 2 an even size `n`
    gives `n/2` outputs, output `j` centred on input `2j` (PyTorch's `Conv(k=3, s=2, p=1)`).
    """
    d = x.ndim - 1
    dn = _DIMENSION_NUMBERS[d]
    if boundary == "dirichlet":
        return jax.lax.conv_general_dilated(
            x[None], w, (stride,) * d, [(1, 1)] * d, dimension_numbers=dn
        )[0]
    # periodic: wrap-pad (stride 2 only reads the left neighbour of 0), then a convolution
    # with one dummy zero pad: XLA:CPU runs convolutions with no padding at all on a
    # several-times-slower path, forward and backward
    hi = 1 if stride == 1 else 0
    x = jnp.pad(x, [(1, hi)] * d + [(0, 0)], mode="wrap")
    pads = [(0, 0)] * (d - 1) + [(0, 1)]
    y = jax.lax.conv_general_dilated(x[None], w, (stride,) * d, pads, dimension_numbers=dn)[0]
    return y[..., :-1, :] if stride == 1 else y


def _subpixel_index(d: int) -> tuple[np.ndarray, ...]:
    """Index arrays mapping a 4-tap stride-2 transposed-conv kernel to a 3-tap sub-pixel one.

    PyTorch's `ConvTranspose(k=4, s=2, p=1)` gives `y[2i + p] = Σ_t w[p + 3 - 2t] x[i + t - 1]`
    for the parities `p ∈ {0, 1}` and taps `t ∈ {0, 1, 2}`, where the tap index must lie in
    `0..3`; out-of-range taps index 4, a zero pad.
    """
    t, p = np.arange(3)[:, None], np.arange(2)[None, :]
    k = p + 3 - 2 * t
    k = np.where((k >= 0) & (k <= 3), k, 4)  # (3 taps, 2 parities)
    idx = []
    for a in range(d):  # broadcast to (3, 2, 3, 2, ...): taps and parities interleaved
        shape = [1] * (2 * d)
        shape[2 * a], shape[2 * a + 1] = 3, 2
        idx.append(k.reshape(shape))
    return tuple(idx)


def _prolong(
    x: Float[Array, "*coarse c"], w: Float[Array, "*taps4 c c2"], boundary: str
) -> Float[Array, "*fine c2"]:
    """The learnable prolongation: a transposed convolution, kernel 4, stride 2, padding 1.

    Computed as a 3-tap convolution on the coarse grid producing `2^d` parities per
    channel, then interleaved ("sub-pixel"): XLA:CPU's dilated (transposed) convolutions
    are an order of magnitude slower.
    """
    d = x.ndim - 1
    c_in, c_out = w.shape[-2:]
    wp = jnp.pad(w, [(0, 1)] * d + [(0, 0), (0, 0)])  # tap index 4 -> 0
    k = wp[_subpixel_index(d)]  # (3, 2, 3, 2, ..., c_in, c_out)
    perm = [2 * a for a in range(d)] + [2 * d] + [2 * a + 1 for a in range(d)] + [2 * d + 1]
    k = jnp.transpose(k, perm).reshape((3,) * d + (c_in, 2**d * c_out))
    y = _conv3(x, k, 1, boundary)  # (*coarse, parities * c_out)
    coarse = x.shape[:-1]
    y = y.reshape(coarse + (2,) * d + (c_out,))
    perm = [a for pair in zip(range(d), range(d, 2 * d), strict=True) for a in pair] + [2 * d]
    return jnp.transpose(y, perm).reshape(tuple(2 * n for n in coarse) + (c_out,))


class VCycle(eqx.Module):
    """One multigrid V-cycle as a learnable linear operator `f ↦ u` (MgNO's `W`).

    `f` has `in_channels` channels ("data space"), `u` has `out_channels` ("solution
    space"); every operator below is a multichannel convolution, 3 taps per axis, with
    padding set by `boundary` (`dirichlet`: zeros, `periodic`: wrap-around). Level 0 is
    the input grid; level `ℓ + 1` has half the points of level `ℓ` on each axis.

    Down, for `ℓ = 0 .. L-1`, from `u = 0` (Algorithm 1 of He, Liu & Xu):

        u_ℓ ← u_ℓ + S_{ℓ,i} * (f_ℓ − A_ℓ * u_ℓ),     i = 1 .. ν_ℓ   (the first step is S f_ℓ)
        f_{ℓ+1} = R_ℓ *₂ (f_ℓ − A_ℓ * u_ℓ)            (restrict the residual, stride 2)

    Up, for `ℓ = L-2 .. 0`:

        u_ℓ ← u_ℓ + P_ℓ *₂ᵀ u_{ℓ+1}                  (transposed conv, kernel 4, stride 2)
        u_ℓ ← u_ℓ + S'_{ℓ,i} * (f_ℓ − A_ℓ * u_ℓ),    i = 1 .. ν'_ℓ  (post-smoothing)

    `A_ℓ: u → f` (a learned "stiffness"), `S: f → u` (learned smoothers, one per step),
    `R_ℓ: f → f`, `P_ℓ: u → u`. No bias and no activation: the map is linear in `f`.
    Needs every spatial size divisible by `2^(L-1)`; output on the input's grid.

    Attributes:
        A: the `A_ℓ` per level, `None` where unused (a single-step coarsest level).
        S: per level, the tuple of pre-smoothers `S_{ℓ,i}`.
        S_post: per level below the coarsest, the tuple of post-smoothers.
        R: the `L-1` restrictions; P: the `L-1` prolongations, shape `(4,)*d + (u, u)`.
    """

    A: tuple[Float[Array, ...] | None, ...]
    S: tuple[tuple[Float[Array, ...], ...], ...]
    S_post: tuple[tuple[Float[Array, ...], ...], ...]
    R: tuple[Float[Array, ...], ...]
    P: tuple[Float[Array, ...], ...]
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    ndim: int = eqx.field(static=True)
    levels: int = eqx.field(static=True)
    boundary: str = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ndim: int,
        levels: int,
        *,
        boundary: str = "dirichlet",
        smoothing_steps: int | Sequence[int] | None = None,
        post_smoothing: int | Sequence[int] = 0,
        key: PRNGKeyArray,
    ):
        """`smoothing_steps` ν_ℓ per level (an int for all levels); the default
        `(1, ..., 1, 2)` is the paper's Darcy setting. `post_smoothing` ν'_ℓ for the levels
        below the coarsest (default 0, as in the paper's experiments)."""
        in_channels, out_channels, levels = checks.counts(
            in_channels=in_channels, out_channels=out_channels, levels=levels
        )
        ndim = checks.integer("ndim", ndim, low=1, high=3)
        if boundary not in BOUNDARIES:
            raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
        nu = _per_level(smoothing_steps, levels, "smoothing_steps", minimum=1,
                        default=(1,) * (levels - 1) + (2,))
        nu_post = _per_level(post_smoothing, levels - 1, "post_smoothing", minimum=0)
        self.in_channels, self.out_channels, self.ndim = in_channels, out_channels, ndim
        self.levels, self.boundary = levels, boundary
        cf, cu, t3, t4 = in_channels, out_channels, (3,) * ndim, (4,) * ndim
        # init: uniform with variance gain² / fan_in. With gains A 1/2, R 1/sqrt(1 + 1/4),
        # P 1, the data f_ℓ stays O(1) on every level and the L levels add up; smoothers
        # of gain 1.2/sqrt(L) then give the V-cycle a gain of about 1.1 (MgNO's layers
        # need a total gain of about 1.5 to make up for the activation; see `MgNO`)
        g_s, g_a, g_r = 1.2 / math.sqrt(levels), 0.5, 1.0 / math.sqrt(1.25)
        fan3 = 3**ndim

        def spec(shape, fan_in, gain):
            return ("uniform", shape, gain * math.sqrt(3.0 / fan_in))

        needs_a = [lvl < levels - 1 or nu[lvl] > 1 for lvl in range(levels)]
        smoother = spec(t3 + (cf, cu), fan3 * cf, g_s)
        specs = (
            [smoother] * (sum(nu) + sum(nu_post))
            + [spec(t3 + (cu, cf), fan3 * cu, g_a)] * sum(needs_a)
            + [spec(t3 + (cf, cf), fan3 * cf, g_r)] * (levels - 1)
            + [spec(t4 + (cu, cu), 2**ndim * cu, 1.0)] * (levels - 1)
        )
        arrays = iter(draw(key, specs))
        self.S = tuple(tuple(next(arrays) for _ in range(n)) for n in nu)
        self.S_post = tuple(tuple(next(arrays) for _ in range(n)) for n in nu_post)
        self.A = tuple(next(arrays) if need else None for need in needs_a)
        self.R = tuple(next(arrays) for _ in range(levels - 1))
        self.P = tuple(next(arrays) for _ in range(levels - 1))

    @property
    def multiple(self) -> int:
        """Every spatial size must be a multiple of this, `2^(levels-1)`."""
        return 2 ** (self.levels - 1)

    def check_resolution(self, spatial: tuple[int, ...], who: str = "VCycle") -> None:
        m = self.multiple
        if any(n % m for n in spatial):
            raise ValueError(
                f"{who} with levels={self.levels} needs every spatial size divisible by "
                f"2**(levels-1) = {m}, got spatial shape {spatial}"
            )

    def last(self, f: Float[Array, "*spatial cin"]) -> Float[Array, "*spatial cout"]:
        """The V-cycle on a channels-last field `(*spatial, in)` (no shape checks)."""
        bc = self.boundary

        def smooth(u, f, a, steps):
            for s in steps:
                r = f if u is None else f - _conv3(u, a, 1, bc)
                u = _conv3(r, s, 1, bc) if u is None else u + _conv3(r, s, 1, bc)
            return u

        us, fs = [], []
        for lvl in range(self.levels):
            u = smooth(None, f, self.A[lvl], self.S[lvl])
            us.append(u)
            fs.append(f)
            if lvl < self.levels - 1:
                f = _conv3(f - _conv3(u, self.A[lvl], 1, bc), self.R[lvl], 2, bc)
        u = us[-1]
        for lvl in range(self.levels - 2, -1, -1):
            u = us[lvl] + _prolong(u, self.P[lvl], bc)
            u = smooth(u, fs[lvl], self.A[lvl], self.S_post[lvl])
        return u

    def __call__(self, f: Float[Array, "in *spatial"]) -> Float[Array, " out *spatial"]:
        check_field(f, self.in_channels, self.ndim, "VCycle input")
        self.check_resolution(tuple(f.shape[1:]))
        f = jnp.moveaxis(f.astype(param_dtype(self)), 0, -1)
        return jnp.moveaxis(self.last(f), -1, 0)


def _per_level(
    value: int | Sequence[int] | None,
    n: int,
    name: str,
    minimum: int,
    default: tuple[int, ...] | None = None,
) -> tuple[int, ...]:
    return checks.ints(name, default if value is None else value, n=n, low=minimum)


class MgNO(eqx.Module):
    """A multigrid neural operator (He, Liu & Xu, ICLR 2024) on one sample, 1-D/2-D/3-D.

    Maps `a` of shape `(in_channels, *spatial)` to `(out_channels, *spatial)`: `depth`
    nonlinear operator layers, then a pointwise linear map,

        v_0 = a,   v_{k+1} = σ(W_k v_k + D_k v_k + b_k),   out = Q v_depth,

    where `W_k` is a `VCycle` (the multichannel linear operator `Σ_j W_ij v_j` of the
    paper, parameterised by a multigrid V-cycle), `D_k v + b_k` a pointwise affine map
    (a 1×1 convolution with bias: the paper's bias term, as a constant per channel), and
    `Q` a 1×1 convolution without bias. There is no lifting: the first V-cycle takes the
    input channels as its data space and returns `width` channels, as in the paper.

    Boundary conditions through the convolutions' padding: `dirichlet` (zeros) or
    `periodic` (wrap-around). Works at any resolution divisible by `2^(levels-1)`.

    Choices where the paper and the authors' code differ, or are silent: we follow the
    paper's Algorithm 1, restricting the residual `f - A u` and starting each coarse level
    from `u = 0` (the released code, by default, restricts `f` and `u` separately), with one
    `A_ℓ` per level shared by its smoothing steps (the code has one per step); `R`, `P` and
    the smoothers are learnable, as in the code.

    Attributes:
        cycles: the `depth` `VCycle`s `W_k`.
        pointwise: the `depth` pointwise affine maps `D_k`, `b_k`.
        head: the final pointwise linear map `Q`.
    """

    cycles: tuple[VCycle, ...]
    pointwise: tuple[Pointwise, ...]
    head: Pointwise
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    width: int = eqx.field(static=True)
    ndim: int = eqx.field(static=True)
    activation: Callable = eqx.field(static=True)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int,
        depth: int,
        levels: int,
        *,
        ndim: int = 2,
        boundary: str = "dirichlet",
        smoothing_steps: int | Sequence[int] | None = None,
        post_smoothing: int | Sequence[int] = 0,
        activation: Activation = "gelu",
        key: PRNGKeyArray,
    ):
        """`levels` grids per V-cycle (the input grid included); `smoothing_steps` and
        `post_smoothing` as in `VCycle`; `ndim` the number of spatial axes."""
        in_channels, out_channels, width, depth = checks.counts(
            in_channels=in_channels, out_channels=out_channels, width=width, depth=depth
        )
        ndim = checks.integer("ndim", ndim, low=1, high=3)
        self.in_channels, self.out_channels, self.width = in_channels, out_channels, width
        self.ndim = ndim
        self.activation = resolve_activation(activation)
        kc, kp, kh = jax.random.split(key, 3)
        sizes = [in_channels] + [width] * depth
        self.cycles = tuple(
            VCycle(a, width, ndim, levels, boundary=boundary, smoothing_steps=smoothing_steps,
                   post_smoothing=post_smoothing, key=k)
            for a, k in zip(sizes[:-1], jax.random.split(kc, depth), strict=True)
        )
        # variance-preserving pointwise maps: with the V-cycle's gain of about 1.1 the
        # pre-activations stay O(1) through any depth (GELU halves the second moment)
        self.pointwise = tuple(
            Pointwise(a, width, scale=math.sqrt(3.0), key=k)
            for a, k in zip(sizes[:-1], jax.random.split(kp, depth), strict=True)
        )
        self.head = Pointwise(width, out_channels, use_bias=False, scale=math.sqrt(3.0), key=kh)

    @property
    def levels(self) -> int:
        return self.cycles[0].levels

    @property
    def boundary(self) -> str:
        return self.cycles[0].boundary

    def __call__(self, a: Float[Array, "in *spatial"]) -> Float[Array, " out *spatial"]:
        check_field(a, self.in_channels, self.ndim, "MgNO input")
        self.cycles[0].check_resolution(tuple(a.shape[1:]), "MgNO")
        v = jnp.moveaxis(a.astype(param_dtype(self)), 0, -1)
        for cycle, pw in zip(self.cycles, self.pointwise, strict=True):
            v = self.activation(cycle.last(v) + pw.last(v))
        return jnp.moveaxis(self.head.last(v), -1, 0)
