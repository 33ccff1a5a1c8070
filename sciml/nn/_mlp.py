"""Multilayer perceptrons with smooth activations, for PINNs and operator trunks."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from sciml import checks
from sciml.nn._activations import resolve_activation


class MLP(eqx.Module):
    """A fully connected network on one sample, with its input scaled to [-1, 1].

    `MLP(in_size, out_size, width, depth, ...)(x)` maps `x` of shape `(in_size,)` (or a
    scalar when `in_size == "scalar"`) to shape `(out_size,)` (or a scalar). Inputs are
    affinely mapped from the box `[lower, upper]` to `[-1, 1]` first, so the network sees
    O(1) inputs whatever the physical units.

    Attributes:
        mlp: the underlying `equinox.nn.MLP`.
        lower, upper: the input box, shape `(in_size,)` (or scalars).
        activation: a name in `sciml.nn.ACTIVATIONS` (smooth ones for PINNs, which
            differentiate twice).
    """

    mlp: eqx.nn.MLP
    lower: Float[Array, ...]
    upper: Float[Array, ...]
    activation: str = eqx.field(static=True)

    def __init__(
        self,
        in_size: int | str,
        out_size: int | str,
        width: int,
        depth: int,
        *,
        activation: str = "tanh",
        lower: float | Array = -1.0,
        upper: float | Array = 1.0,
        key: PRNGKeyArray,
    ):
        act = resolve_activation(activation)
        width, depth = checks.counts(width=width, depth=depth)
        lower, upper = jnp.asarray(lower, float), jnp.asarray(upper, float)
        if not bool(jnp.all(upper > lower)):
            raise ValueError(f"input box needs upper > lower, got lower={lower}, upper={upper}")
        self.activation = activation
        self.lower, self.upper = lower, upper
        self.mlp = eqx.nn.MLP(
            in_size, out_size, width, depth, activation=act, key=key
        )
        if activation == "sin":
            self.mlp = _siren_init(self.mlp, key)

    def __call__(self, x: Float[Array, ...]) -> Float[Array, ...]:
        t = 2.0 * (x - self.lower) / (self.upper - self.lower) - 1.0
        return self.mlp(t)


def _siren_init(mlp: eqx.nn.MLP, key: PRNGKeyArray, omega: float = 1.0) -> eqx.nn.MLP:
    """SIREN-style uniform init (Sitzmann et al. 2020) so sin layers neither saturate nor die."""
    layers = list(mlp.layers)
    keys = jax.random.split(key, len(layers))
    for i, (layer, k) in enumerate(zip(layers, keys, strict=True)):
        fan_in = layer.weight.shape[1]
        bound = 1.0 / fan_in if i == 0 else math.sqrt(6.0 / fan_in) / omega
        w = jax.random.uniform(k, layer.weight.shape, minval=-bound, maxval=bound)
        layers[i] = eqx.tree_at(lambda lyr: lyr.weight, layer, w)
    return eqx.tree_at(lambda m: m.layers, mlp, tuple(layers))
