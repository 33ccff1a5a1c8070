"""Shared pieces of the operator networks: activations, pointwise layers, shape checks, dtypes."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from sciml.nn import resolve_activation

Activation = str | Callable[[Array], Array]
__all__ = ["Activation", "resolve_activation"]  # re-exported for the operator modules


def param_dtype(module: eqx.Module) -> jnp.dtype:
    """The floating dtype of a module's parameters (its first inexact array leaf)."""
    for leaf in jax.tree_util.tree_leaves(module):
        if eqx.is_inexact_array(leaf):
            return leaf.dtype
    raise ValueError("module has no floating-point parameters")


def count_params(module: eqx.Module) -> int:
    """The number of real trainable scalars: the total size of the module's float arrays.

    Complex spectral weights are stored as separate real and imaginary arrays, so each complex
    weight counts twice, as it does in `neuraloperator`'s `count_model_params`.
    """
    leaves = jax.tree_util.tree_leaves(eqx.filter(module, eqx.is_inexact_array))
    return int(sum(leaf.size for leaf in leaves))


def cast(module: eqx.Module, dtype) -> eqx.Module:
    """A copy of `module` with every floating-point array cast to `dtype` (e.g. `jnp.float32`).

    Parameters are drawn in JAX's default float dtype (float64 when `jax_enable_x64` is on);
    cast to float32 for fast training. The operators here compute in their parameters' dtype.
    """
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")
    return jax.tree_util.tree_map(
        lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, module
    )


def check_field(
    x: Array, channels: int, ndim: int, name: str = "input", *, spatial: str | None = None
) -> None:
    """Raise a ValueError unless `x` has shape `(channels, *spatial)` with `ndim` spatial axes."""
    axes = spatial or ", ".join(f"n{i + 1}" for i in range(ndim))
    if x.ndim != ndim + 1 or x.shape[0] != channels:
        raise ValueError(
            f"{name} must have shape ({channels}, {axes}) (one sample, channels first; vmap over "
            f"a batch), got {tuple(x.shape)}"
        )


@functools.partial(jax.jit, static_argnames=("kinds", "shapes"))
def _draw(key, scales, kinds, shapes):
    # one uniform and one normal vector for all arrays, then sliced: each random-number call
    # compiles its own (unrolled) kernel, so one call per kind keeps the compile short
    sizes = [math.prod(shape) for shape in shapes]
    ku, kn = jax.random.split(key)
    pools = {
        "uniform": jax.random.uniform(
            ku, (sum(n for n, k in zip(sizes, kinds, strict=True) if k == "uniform"),),
            minval=-1.0, maxval=1.0,
        ),
        "normal": jax.random.normal(
            kn, (sum(n for n, k in zip(sizes, kinds, strict=True) if k == "normal"),)
        ),
    }
    offsets = {"uniform": 0, "normal": 0}
    out = []
    for i, (kind, shape, size) in enumerate(zip(kinds, shapes, sizes, strict=True)):
        start = offsets[kind]
        offsets[kind] += size
        out.append(scales[i] * pools[kind][start : start + size].reshape(shape))
    return tuple(out)


def draw(key: PRNGKeyArray, specs: Sequence[tuple[str, tuple[int, ...], float]]) -> list[Array]:
    """Random initial arrays from `(kind, shape, scale)` specs, `kind` "uniform" (on
    `[-scale, scale]`) or "normal" (standard deviation `scale`), in JAX's default float dtype.

    All arrays come from one compiled program (cached per list of kinds and shapes): drawn
    one by one, each new shape compiles its own random-number program, which dominates the
    construction time of a model (seconds on a busy CPU).
    """
    kinds = tuple(k for k, _, _ in specs)
    shapes = tuple(tuple(int(n) for n in shape) for _, shape, _ in specs)
    scales = jnp.asarray([float(sc) for _, _, sc in specs], dtype=float)
    return list(_draw(key, scales, kinds=kinds, shapes=shapes))


class Pointwise(eqx.Module):
    """A pointwise (1×1 convolution) affine map on a field `(in, *spatial) -> (out, *spatial)`.

    Init `U(-b, b)` with `b = scale / sqrt(in)`; `scale = 1` is the `equinox.nn.Linear` /
    PyTorch default, `scale = sqrt(3)` preserves the variance. `last(v)` is the same map
    on a channels-last field `(*spatial, in)`.

    Attributes:
        weight: shape `(out, in)`.
        bias: shape `(out,)`, or None.
    """

    weight: Float[Array, "out in"]
    bias: Float[Array, " out"] | None

    def __init__(
        self,
        in_size: int,
        out_size: int,
        *,
        use_bias: bool = True,
        scale: float = 1.0,
        key: PRNGKeyArray,
    ):
        bound = scale / math.sqrt(in_size)
        specs = [("uniform", (out_size, in_size), bound), ("uniform", (out_size,), bound)]
        self.weight, bias = draw(key, specs)
        self.bias = bias if use_bias else None

    def last(self, v: Float[Array, "... in"]) -> Float[Array, "... out"]:
        out = v @ self.weight.T
        return out if self.bias is None else out + self.bias

    def __call__(self, v: Float[Array, "in ..."]) -> Float[Array, "out ..."]:
        return jnp.moveaxis(self.last(jnp.moveaxis(v, 0, -1)), -1, 0)


class PointwiseMLP(eqx.Module):
    """A pointwise MLP on a field: 1×1 layers of sizes `sizes`, activation between them.

    With `sizes = (a, b)` it is a single affine map; with `(a, h, b)` one hidden layer.
    No activation after the last layer. `last(v)` acts on a channels-last field.
    """

    layers: tuple[Pointwise, ...]
    activation: Callable = eqx.field(static=True)

    def __init__(self, sizes: Sequence[int], activation: Callable, *, key: PRNGKeyArray):
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(
            Pointwise(a, b, key=k) for a, b, k in zip(sizes[:-1], sizes[1:], keys, strict=True)
        )
        self.activation = activation

    def last(self, v: Float[Array, "... in"]) -> Float[Array, "... out"]:
        for layer in self.layers[:-1]:
            v = self.activation(layer.last(v))
        return self.layers[-1].last(v)

    def __call__(self, v: Float[Array, "in ..."]) -> Float[Array, "out ..."]:
        return jnp.moveaxis(self.last(jnp.moveaxis(v, 0, -1)), -1, 0)
