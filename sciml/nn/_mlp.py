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
        lower, upper: the input box, shape `(in_size,)` (or scalars); fixed: it gets no
            gradient, so training leaves it where it was built.
        activation: a name in `sciml.nn.ACTIVATIONS` (smooth ones for PINNs, which
            differentiate twice).

    `init`: "uniform" (equinox's default, weights and biases U(±1/√fan_in)) or
    "glorot_normal" (weights N(0, 2/(fan_in + fan_out)), zero biases: Raissi et al.'s and
    DeepXDE's choice for tanh PINNs). A `sin` activation always gets the SIREN init.
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
        init: str = "uniform",
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
        if init not in ("uniform", "glorot_normal"):
            raise ValueError(f"init must be 'uniform' or 'glorot_normal', got {init!r}")
        if activation == "sin":
            self.mlp = _siren_init(self.mlp, key)
        elif init == "glorot_normal":
            self.mlp = _glorot_normal(self.mlp, key)

    def __call__(self, x: Float[Array, ...]) -> Float[Array, ...]:
        return self.mlp(_to_unit(x, self.lower, self.upper))


def _to_unit(x: Array, lower: Array, upper: Array) -> Array:
    """Map `x` from `[lower, upper]` to `[-1, 1]`; the box gets no gradient.

    The box is a fixed normalisation, not a parameter: trainers that update every float
    array (`fit`) would otherwise move it, and did (Adam moved an MLP's box from [-1, 1]
    to [-0.09, 0] over 15k steps on Burgers, a 21x rescale of the input).
    """
    lower, upper = jax.lax.stop_gradient(lower), jax.lax.stop_gradient(upper)
    return 2.0 * (x - lower) / (upper - lower) - 1.0


def _glorot_normal(mlp: eqx.nn.MLP, key: PRNGKeyArray) -> eqx.nn.MLP:
    """Glorot (Xavier) normal weights and zero biases (Glorot & Bengio 2010)."""
    layers = list(mlp.layers)
    for i, (layer, k) in enumerate(zip(layers, jax.random.split(key, len(layers)),
                                       strict=True)):
        fan_out, fan_in = layer.weight.shape
        w = math.sqrt(2.0 / (fan_in + fan_out)) * jax.random.normal(k, layer.weight.shape,
                                                                     layer.weight.dtype)
        layers[i] = eqx.tree_at(lambda lyr: (lyr.weight, lyr.bias), layer,
                                (w, jnp.zeros_like(layer.bias)))
    return eqx.tree_at(lambda m: m.layers, mlp, tuple(layers))


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
