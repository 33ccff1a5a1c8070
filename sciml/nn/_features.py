"""Input encodings and architectures for PINNs: Fourier features, gated MLPs, SIRENs, periodicity.

Every network here maps ONE point `x` of shape `(in_size,)` (a scalar when
`in_size == "scalar"`) to shape `(out_size,)` (a scalar when `out_size == "scalar"`); callers
`jax.vmap`. As in `sciml.nn.MLP`, inputs are first mapped affinely from the box
`[lower, upper]` to `[-1, 1]`. The box is a fixed normalisation, not a parameter: it is held
under `jax.lax.stop_gradient`, so its gradient is exactly zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from sciml import checks
from sciml.nn._activations import ACTIVATIONS, resolve_activation
from sciml.nn._mlp import _siren_init, _to_unit

Size = int | str


def _n(size: Size, name: str) -> int:
    """The number of components of a size that is an int or "scalar"."""
    if isinstance(size, str):
        if size == "scalar":
            return 1
        raise TypeError(f"parameter {name!r} must be a positive integer or 'scalar', got {size!r}")
    return checks.count(name, size)


def _check_net(width: int, depth: int, activation: str | None = None) -> tuple[int, int]:
    if activation is not None:
        resolve_activation(activation)
    return checks.counts(width=width, depth=depth)


def _box(lower, upper, in_size: Size, check_order: bool = True) -> tuple[Array, Array]:
    """The input box as float arrays of shape `()` or `(in_size,)`, checked."""
    lower, upper = jnp.asarray(lower, float), jnp.asarray(upper, float)
    allowed = {()} if in_size == "scalar" else {(), (in_size,)}
    for name, a in (("lower", lower), ("upper", upper)):
        if a.shape not in allowed:
            raise ValueError(f"{name} must have shape () or (in_size,), got {a.shape}")
    if check_order and not bool(jnp.all(upper > lower)):
        raise ValueError(f"input box needs upper > lower, got lower={lower}, upper={upper}")
    return lower, upper


class FourierFeatureMLP(eqx.Module):
    """An MLP on random Fourier features (Tancik et al. 2020; Wang, Wang, Perdikaris 2021).

    With `t` the input scaled to `[-1, 1]`, the network is
    `mlp([cos(2π B t), sin(2π B t)])`, where `B` of shape `(n_features, in_size)` is drawn
    from `N(0, sigma²)` at construction and kept FIXED: it sits under
    `jax.lax.stop_gradient`, so its gradient is exactly zero. `sigma` sets the frequency
    band (in cycles per half-width of the box) and fights spectral bias.

    Attributes:
        B: the frequency matrix, shape `(n_features, in_size)` (`(n_features, 1)` for a
            scalar input).
        mlp: the `equinox.nn.MLP` on the `2 * n_features` features.
        lower, upper: the input box, shape `()` or `(in_size,)`.
    """

    B: Float[Array, "n_features in_dim"]
    mlp: eqx.nn.MLP
    lower: Float[Array, ...]
    upper: Float[Array, ...]
    in_size: Size = eqx.field(static=True)
    sigma: float = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    def __init__(
        self,
        in_size: Size,
        out_size: Size,
        width: int,
        depth: int,
        *,
        n_features: int = 64,
        sigma: float = 1.0,
        activation: str = "tanh",
        lower: float | Array = -1.0,
        upper: float | Array = 1.0,
        key: PRNGKeyArray,
    ):
        n_in = _n(in_size, "in_size")
        _n(out_size, "out_size")
        width, depth = _check_net(width, depth, activation)
        n_features = checks.count("n_features", n_features)
        sigma = checks.positive("sigma", sigma)
        self.lower, self.upper = _box(lower, upper, in_size)
        self.in_size, self.sigma, self.activation = in_size, sigma, activation
        kb, km = jax.random.split(key)
        self.B = sigma * jax.random.normal(kb, (n_features, n_in))
        self.mlp = eqx.nn.MLP(
            2 * n_features, out_size, width, depth, activation=ACTIVATIONS[activation], key=km
        )
        if activation == "sin":
            self.mlp = _siren_init(self.mlp, km)

    def features(self, x: Float[Array, ...]) -> Float[Array, " 2*n_features"]:
        """The Fourier features `[cos(2π B t), sin(2π B t)]` of one point."""
        t = jnp.atleast_1d(_to_unit(x, self.lower, self.upper))
        phase = 2.0 * jnp.pi * (jax.lax.stop_gradient(self.B) @ t)
        return jnp.concatenate([jnp.cos(phase), jnp.sin(phase)])

    def __call__(self, x: Float[Array, ...]) -> Float[Array, ...]:
        return self.mlp(self.features(x))


class ModifiedMLP(eqx.Module):
    """The gated "modified MLP" of Wang, Teng, Perdikaris (2021), for PINNs.

    With `t` the input scaled to `[-1, 1]` and `σ` the activation:
    `U = σ(W_u t + b_u)`, `V = σ(W_v t + b_v)`, `H_1 = σ(W_0 t + b_0)`, then for
    `k = 1..depth`: `Z_k = σ(W_k H_k + b_k)`, `H_{k+1} = (1 - Z_k) ⊙ U + Z_k ⊙ V`, and the
    output is `W_out H_{depth+1} + b_out`. `depth` is the number of gated hidden layers;
    all hidden states have size `width`.

    Attributes:
        encoder_u, encoder_v, first: the input layers for `U`, `V`, `H_1`.
        hidden: the `depth` gated layers `W_k`.
        last: the linear output layer.
        lower, upper: the input box, shape `()` or `(in_size,)`.
    """

    encoder_u: eqx.nn.Linear
    encoder_v: eqx.nn.Linear
    first: eqx.nn.Linear
    hidden: tuple[eqx.nn.Linear, ...]
    last: eqx.nn.Linear
    lower: Float[Array, ...]
    upper: Float[Array, ...]
    activation: str = eqx.field(static=True)

    def __init__(
        self,
        in_size: Size,
        out_size: Size,
        width: int,
        depth: int,
        *,
        activation: str = "tanh",
        lower: float | Array = -1.0,
        upper: float | Array = 1.0,
        key: PRNGKeyArray,
    ):
        _n(in_size, "in_size")
        _n(out_size, "out_size")
        width, depth = _check_net(width, depth, activation)
        self.lower, self.upper = _box(lower, upper, in_size)
        self.activation = activation
        ku, kv, k0, kout, *ks = jax.random.split(key, 4 + depth)
        self.encoder_u = eqx.nn.Linear(in_size, width, key=ku)
        self.encoder_v = eqx.nn.Linear(in_size, width, key=kv)
        self.first = eqx.nn.Linear(in_size, width, key=k0)
        self.hidden = tuple(eqx.nn.Linear(width, width, key=k) for k in ks)
        self.last = eqx.nn.Linear(width, out_size, key=kout)

    def __call__(self, x: Float[Array, ...]) -> Float[Array, ...]:
        act = ACTIVATIONS[self.activation]
        t = _to_unit(x, self.lower, self.upper)
        u, v = act(self.encoder_u(t)), act(self.encoder_v(t))
        h = act(self.first(t))
        for layer in self.hidden:
            z = act(layer(h))
            h = (1.0 - z) * u + z * v
        return self.last(h)


class Siren(eqx.Module):
    """A sinusoidal representation network (Sitzmann et al. 2020).

    With `t` the input scaled to `[-1, 1]`: `depth` hidden layers
    `h <- sin(omega0 * (W h + b))` of size `width`, then a linear output. SIREN init: the
    first layer's weights and biases are `U(-1/fan_in, 1/fan_in)`, later layers'
    `U(-sqrt(6/fan_in)/omega0, +sqrt(6/fan_in)/omega0)`, so every hidden pre-activation is
    ~N(0, 1) and every activation arcsine-distributed on [-1, 1] at init, however deep.

    Attributes:
        layers: `depth + 1` `equinox.nn.Linear` layers (the last is the output).
        lower, upper: the input box, shape `()` or `(in_size,)`.
        omega0: the frequency factor of the sine layers.
    """

    layers: tuple[eqx.nn.Linear, ...]
    lower: Float[Array, ...]
    upper: Float[Array, ...]
    omega0: float = eqx.field(static=True)

    def __init__(
        self,
        in_size: Size,
        out_size: Size,
        width: int,
        depth: int,
        *,
        omega0: float = 30.0,
        lower: float | Array = -1.0,
        upper: float | Array = 1.0,
        key: PRNGKeyArray,
    ):
        _n(in_size, "in_size")
        _n(out_size, "out_size")
        width, depth = _check_net(width, depth)
        omega0 = checks.positive("omega0", omega0)
        self.lower, self.upper = _box(lower, upper, in_size)
        self.omega0 = omega0
        sizes = [in_size] + [width] * depth + [out_size]
        layers = []
        for i, (k, n_in, n_out) in enumerate(
            zip(jax.random.split(key, depth + 1), sizes[:-1], sizes[1:], strict=True)
        ):
            fan_in = _n(n_in, "in_size")
            bound = 1.0 / fan_in if i == 0 else math.sqrt(6.0 / fan_in) / omega0
            kw, kb = jax.random.split(k)
            layer = eqx.nn.Linear(n_in, n_out, key=kw)
            w = jax.random.uniform(kw, layer.weight.shape, minval=-bound, maxval=bound)
            b = jax.random.uniform(kb, layer.bias.shape, minval=-bound, maxval=bound)
            layers.append(eqx.tree_at(lambda lyr: (lyr.weight, lyr.bias), layer, (w, b)))
        self.layers = tuple(layers)

    def __call__(self, x: Float[Array, ...]) -> Float[Array, ...]:
        h = _to_unit(x, self.lower, self.upper)
        for layer in self.layers[:-1]:
            h = jnp.sin(self.omega0 * layer(h))
        return self.layers[-1](h)


class PeriodicEmbedding(eqx.Module):
    """A feature map that makes any network exactly periodic in chosen coordinates.

    Maps a point `x` of shape `(in_size,)` to the features
    `[t_rest, cos(2π k x_a / P_a), sin(2π k x_a / P_a)]`: first the non-periodic
    coordinates (in increasing order) scaled from `[lower, upper]` to `[-1, 1]`, then for
    each periodic axis `a` in `axes` the cosines for `k = 1..n_harmonics`, then the sines.
    Shape `(out_size,)` with `out_size = in_size - len(axes) + 2 n_harmonics len(axes)`.
    Anything composed after it is periodic with period `P_a` in `x_a`, and smooth.

    Attributes:
        axes, periods: the periodic coordinates and their periods.
        rest: the other coordinates, passed through.
        lower, upper: the box of the other coordinates, shape `(len(rest),)`.
    """

    lower: Float[Array, " n_rest"]
    upper: Float[Array, " n_rest"]
    in_size: Size = eqx.field(static=True)
    axes: tuple[int, ...] = eqx.field(static=True)
    periods: tuple[float, ...] = eqx.field(static=True)
    n_harmonics: int = eqx.field(static=True)
    rest: tuple[int, ...] = eqx.field(static=True)

    def __init__(
        self,
        in_size: Size,
        axes: int | Sequence[int],
        periods: float | Sequence[float],
        n_harmonics: int = 4,
        *,
        lower: float | Array = -1.0,
        upper: float | Array = 1.0,
    ):
        n_in = _n(in_size, "in_size")
        axes = checks.ints("axes", axes, low=0)
        if not axes:
            raise ValueError("axes must name at least one periodic coordinate")
        if len(set(axes)) != len(axes) or not all(0 <= a < n_in for a in axes):
            raise ValueError(f"axes must be distinct coordinates in [0, {n_in}), got {axes}")
        periods = jnp.asarray(periods, float)
        if periods.ndim == 0:
            periods = jnp.broadcast_to(periods, (len(axes),))
        if periods.shape != (len(axes),):
            raise ValueError(f"need one period per axis in {axes}, got periods {periods}")
        if not bool(jnp.all(periods > 0) & jnp.all(jnp.isfinite(periods))):
            raise ValueError(f"periods must be positive and finite, got {periods}")
        n_harmonics = checks.count("n_harmonics", n_harmonics)
        self.in_size, self.axes, self.n_harmonics = in_size, axes, n_harmonics
        self.periods = tuple(float(p) for p in periods)
        self.rest = tuple(i for i in range(n_in) if i not in axes)
        lower, upper = _box(lower, upper, in_size, check_order=False)
        idx = jnp.asarray(self.rest, int)
        self.lower = jnp.broadcast_to(lower, (n_in,))[idx]
        self.upper = jnp.broadcast_to(upper, (n_in,))[idx]
        if not bool(jnp.all(self.upper > self.lower)):
            raise ValueError(
                f"input box needs upper > lower on the non-periodic coordinates {self.rest}, "
                f"got lower={self.lower}, upper={self.upper}"
            )

    @property
    def out_size(self) -> int:
        return len(self.rest) + 2 * self.n_harmonics * len(self.axes)

    def __call__(
        self, x: Float[Array, ...], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " out_size"]:
        """`key` is unused (accepted for `equinox.nn.Sequential`)."""
        x = jnp.atleast_1d(x)
        t = _to_unit(x[jnp.asarray(self.rest, int)], self.lower, self.upper)
        k = jnp.arange(1, self.n_harmonics + 1)
        cycles = x[jnp.asarray(self.axes)] / jnp.asarray(self.periods)  # (n_axes,)
        phase = (2.0 * jnp.pi * cycles[:, None] * k[None, :]).ravel()  # axis-major
        return jnp.concatenate([t, jnp.cos(phase), jnp.sin(phase)])


class PeriodicMLP(eqx.Module):
    """An MLP exactly periodic in some coordinates: `mlp(PeriodicEmbedding(...)(x))`.

    `x` has shape `(in_size,)` (or is a scalar); the output has shape `(out_size,)` (or is a
    scalar). The coordinates in `axes` have periods `periods`; `lower`/`upper` (shape `()` or
    `(in_size,)`) scale the other coordinates; their entries on periodic axes are ignored.

    Attributes:
        embedding: the `PeriodicEmbedding`.
        mlp: the `equinox.nn.MLP` on the embedding's features.
    """

    embedding: PeriodicEmbedding
    mlp: eqx.nn.MLP
    activation: str = eqx.field(static=True)

    def __init__(
        self,
        in_size: Size,
        out_size: Size,
        width: int,
        depth: int,
        *,
        axes: int | Sequence[int],
        periods: float | Sequence[float],
        n_harmonics: int = 4,
        activation: str = "tanh",
        lower: float | Array = -1.0,
        upper: float | Array = 1.0,
        key: PRNGKeyArray,
    ):
        _n(out_size, "out_size")
        width, depth = _check_net(width, depth, activation)
        self.embedding = PeriodicEmbedding(
            in_size, axes, periods, n_harmonics, lower=lower, upper=upper
        )
        self.activation = activation
        self.mlp = eqx.nn.MLP(
            self.embedding.out_size,
            out_size,
            width,
            depth,
            activation=ACTIVATIONS[activation],
            key=key,
        )
        if activation == "sin":
            self.mlp = _siren_init(self.mlp, key)

    def __call__(self, x: Float[Array, ...]) -> Float[Array, ...]:
        return self.mlp(self.embedding(x))
