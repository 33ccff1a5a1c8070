"""DeepONet (Lu, Jin, Pang, Zhang & Karniadakis, Nat. Mach. Intell. 2021), on one sample."""

from __future__ import annotations

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from sciml import checks
from sciml.neural_operators._common import (
    Activation,
    draw,
    param_dtype,
    resolve_activation,
)


class _Dense(eqx.Module):
    """An MLP `R^in -> R^out`, optionally `stack` independent copies evaluated together.

    Weights `(stack, out, in)` and biases `(stack, out)` (no leading axis when `stack` is
    None), init `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` as `equinox.nn.Linear`; optional
    activation on the output layer.
    """

    weights: tuple[Float[Array, ...], ...]
    biases: tuple[Float[Array, ...], ...]
    activation: Callable = eqx.field(static=True)
    final_activation: bool = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        out_size: int,
        width: int,
        depth: int,
        activation: Callable,
        final_activation: bool,
        *,
        stack: int | None = None,
        key: PRNGKeyArray,
    ):
        sizes = [in_size] + [width] * depth + [out_size]
        lead = () if stack is None else (stack,)
        specs = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(a)
            specs += [("uniform", lead + (b, a), bound), ("uniform", lead + (b,), bound)]
        arrays = draw(key, specs)
        self.weights, self.biases = tuple(arrays[0::2]), tuple(arrays[1::2])
        self.activation, self.final_activation = activation, final_activation

    def _single(self, weights, biases, x):
        for w, b in zip(weights[:-1], biases[:-1], strict=True):
            x = self.activation(w @ x + b)
        x = weights[-1] @ x + biases[-1]
        return self.activation(x) if self.final_activation else x

    def __call__(self, x: Float[Array, " in"]) -> Float[Array, ...]:
        """`(out,)`, or `(stack, out)` for stacked copies, all applied to the same `x`."""
        if self.weights[0].ndim == 3:
            return jax.vmap(self._single, (0, 0, None))(self.weights, self.biases, x)
        return self._single(self.weights, self.biases, x)


class FourierTrunk(eqx.Module):
    """A fixed trunk basis for outputs periodic in one coordinate:
    `t(y) = [1, cos(2πky/period), sin(2πky/period)]` for k = 1..modes, shape `(2 modes + 1,)`.

    On a circle a translation-invariant family of output functions has the Fourier modes as
    its POD basis, so with training data closed under shifts this is the POD-DeepONet's
    trunk (Lu et al., CMAME 2022) without the SVD; it holds no parameters.
    """

    modes: int = eqx.field(static=True)
    period: float = eqx.field(static=True)

    def __init__(self, modes: int, period: float = 1.0):
        self.modes = checks.count("trunk_modes", modes)
        self.period = checks.positive("period", period)

    def __call__(self, y: Float[Array, " 1"]) -> Float[Array, " latent"]:
        k = jnp.arange(1, self.modes + 1, dtype=y.dtype)
        phase = 2 * jnp.pi * k * y[0] / self.period
        return jnp.concatenate([jnp.ones((1,), y.dtype), jnp.cos(phase), jnp.sin(phase)])


class DeepONet(eqx.Module):
    """A deep operator network: `G(u)(y) ≈ Σ_k b_k(u) t_k(y) + b_0`.

    The branch net reads the input function at `n_sensors` fixed sensors, `u` of shape
    `(n_sensors,)`; the trunk net reads a query point `y` of shape `(coord_dim,)`; both give
    `latent` (= p) features, whose dot product plus a scalar bias is the output.

    - unstacked (default): one branch MLP `R^m -> R^p` (linear output layer);
    - stacked: `p` independent branch MLPs `R^m -> R`, stored as one MLP with a leading
      axis of size `p` on every weight and bias and evaluated with `vmap`.

    The trunk MLP `R^d -> R^p` has the activation on its last layer too, as in the paper.
    `branch_depth` and `trunk_depth` count hidden layers, each of width `branch_width` /
    `trunk_width`. With `trunk_modes` (1-D outputs periodic with `period`), the trunk is
    instead the fixed `FourierTrunk` and `latent` must be `2 trunk_modes + 1` (None: set
    so); `trunk_width` and `trunk_depth` are then unused.

    `deeponet(u, y)` evaluates one query point (a scalar); `deeponet.cartesian(u, ys)`
    evaluates the branch once and the trunk at all points `ys` of shape `(n, coord_dim)`.

    Attributes:
        branch: the branch MLP (with a leading axis `p` on its arrays when stacked).
        trunk: the trunk MLP.
        bias: the scalar output bias `b_0`.
    """

    branch: _Dense
    trunk: _Dense | FourierTrunk
    bias: Float[Array, ""]
    n_sensors: int = eqx.field(static=True)
    coord_dim: int = eqx.field(static=True)
    latent: int = eqx.field(static=True)
    stacked: bool = eqx.field(static=True)

    def __init__(
        self,
        n_sensors: int,
        coord_dim: int,
        latent: int | None,
        branch_width: int,
        branch_depth: int,
        trunk_width: int,
        trunk_depth: int,
        *,
        stacked: bool = False,
        activation: Activation = "tanh",
        trunk_modes: int | None = None,
        period: float = 1.0,
        key: PRNGKeyArray,
    ):
        if trunk_modes is not None:
            fourier = FourierTrunk(trunk_modes, period)
            if coord_dim != 1:
                raise ValueError(f"a Fourier trunk (trunk_modes) takes 1-D query points, got "
                                 f"coord_dim={coord_dim}")
            if latent is None:
                latent = 2 * fourier.modes + 1
            if latent != 2 * fourier.modes + 1:
                raise ValueError(f"with trunk_modes={trunk_modes} the latent size is "
                                 f"2*trunk_modes+1 = {2 * fourier.modes + 1}, got latent="
                                 f"{latent}; pass latent=None")
        elif latent is None:
            raise ValueError("latent=None needs trunk_modes (a Fourier trunk sets it)")
        n_sensors, coord_dim, latent, branch_width, branch_depth = checks.counts(
            n_sensors=n_sensors,
            coord_dim=coord_dim,
            latent=latent,
            branch_width=branch_width,
            branch_depth=branch_depth,
        )
        if trunk_modes is None:  # a Fourier trunk has no width or depth to check
            trunk_width, trunk_depth = checks.counts(trunk_width=trunk_width,
                                                     trunk_depth=trunk_depth)
        act = resolve_activation(activation)
        self.n_sensors, self.coord_dim, self.latent = n_sensors, coord_dim, latent
        self.stacked = bool(stacked)
        kb, kt = jax.random.split(key)

        if self.stacked:  # p scalar-output branch nets, evaluated together
            self.branch = _Dense(
                n_sensors, 1, branch_width, branch_depth, act, False, stack=latent, key=kb
            )
        else:
            self.branch = _Dense(n_sensors, latent, branch_width, branch_depth, act, False, key=kb)
        self.trunk = (fourier if trunk_modes is not None else
                      _Dense(coord_dim, latent, trunk_width, trunk_depth, act, True, key=kt))
        self.bias = jnp.zeros(())

    def branch_features(self, u: Float[Array, " n_sensors"]) -> Float[Array, " latent"]:
        """The branch coefficients `b_k(u)`, shape `(latent,)`."""
        if u.shape != (self.n_sensors,):
            raise ValueError(
                f"DeepONet branch input u must have shape (n_sensors,) = ({self.n_sensors},) "
                f"(one function sampled at the sensors; vmap over a batch), got {tuple(u.shape)}"
            )
        u = u.astype(param_dtype(self))
        return self.branch(u)[:, 0] if self.stacked else self.branch(u)

    def trunk_features(self, y: Float[Array, " coord_dim"]) -> Float[Array, " latent"]:
        """The trunk basis `t_k(y)` at one point, shape `(latent,)`."""
        if y.shape != (self.coord_dim,):
            raise ValueError(
                f"DeepONet query point y must have shape (coord_dim,) = ({self.coord_dim},), "
                f"got {tuple(y.shape)}"
            )
        return self.trunk(y.astype(param_dtype(self)))

    def __call__(
        self, u: Float[Array, " n_sensors"], y: Float[Array, " coord_dim"]
    ) -> Float[Array, ""]:
        return self.branch_features(u) @ self.trunk_features(y) + self.bias

    def cartesian(
        self, u: Float[Array, " n_sensors"], ys: Float[Array, "n coord_dim"]
    ) -> Float[Array, " n"]:
        """`G(u)` at every point of `ys` (shape `(n, coord_dim)`), the branch evaluated once."""
        if ys.ndim != 2 or ys.shape[1] != self.coord_dim:
            raise ValueError(
                f"DeepONet query points ys must have shape (n, coord_dim) = "
                f"(n, {self.coord_dim}), got {tuple(ys.shape)}"
            )
        b = self.branch_features(u)
        t = jax.vmap(self.trunk_features)(ys)
        return t @ b + self.bias
