"""Evaluation shared by every loop: one `predict` and one relative L2 error."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def predict(model: Any, inputs: Any, *, batch: int | None = None) -> np.ndarray:
    """`model` (a function of one sample) at every row of `inputs` `(n, ...)`, as float64
    numpy `(n, ...)`. Inputs are cast to the model's floating dtype and evaluated `batch`
    rows at a time (default: about 2**18 input numbers per call, to bound memory)."""
    x = np.asarray(inputs)
    dtype = next((a.dtype for a in jax.tree.leaves(model) if eqx.is_inexact_array(a)), None)
    if batch is None:
        batch = max(1, 2**18 // max(1, int(np.prod(x.shape[1:]))))
    out = [np.asarray(_batched(model, jnp.asarray(x[i:i + batch], dtype)), dtype=np.float64)
           for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0,))


@eqx.filter_jit
def _batched(model, x):
    return jax.vmap(model)(x)


def relative_l2(pred: Any, ref: Any, *, weights: Any = None, axis: Any = None) -> Any:
    """sqrt(Σ w (pred − ref)² / Σ w ref²) over `axis` (default: every axis), with quadrature
    weights `w` broadcast against the arrays (default 1). Per-sample errors of fields
    `(n, *grid)`: `axis=tuple(range(1, ref.ndim))`."""
    # numpy in, numpy out (in numpy's precision, whatever JAX's); jax arrays and tracers stay jax
    xp = jnp if any(isinstance(a, jax.Array) for a in (pred, ref, weights)) else np
    w = 1.0 if weights is None else weights
    return xp.sqrt(xp.sum(w * (pred - ref) ** 2, axis=axis) / xp.sum(w * ref**2, axis=axis))
