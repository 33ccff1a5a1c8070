"""The one table of activation functions, by name."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array


def _identity(x: Array) -> Array:
    return x


# Smooth ones first: PINNs differentiate their networks twice, so relu suits operators only.
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "silu": jax.nn.silu,
    "sin": jnp.sin,
    "gelu": jax.nn.gelu,
    "relu": jax.nn.relu,
    "identity": _identity,
}


def resolve_activation(activation: str | Callable[[Array], Array]) -> Callable[[Array], Array]:
    """An activation by name (a key of `ACTIVATIONS`) or a callable, returned as is."""
    if callable(activation):
        return activation
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[activation]
