"""Supervised training of neural operators on (input field, output field) pairs.

`train_operator` minimises the mean per-sample relative L2 error (the loss of the FNO and
MgNO papers) with AdamW and a cosine learning-rate decay, in minibatches drawn from a
fresh permutation every epoch. One epoch is one jitted `lax.scan` over its minibatches, so
Python wakes only once per epoch to log, evaluate the test set and draw the progress bar.
Models with convolutions (MgNO) are the exception: XLA:CPU runs convolutions inside a loop
body on a slow generic path (jax-ml/jax#12868; 18 s instead of 0.45 s per MgNO step
here), so their steps are jitted one at a time and looped in Python (`OperatorConfig.loop`).

Models are wrapped in `FieldMap`, which makes every operator a function from one input
field to one output field (FNO/MgNO take channel-first arrays, DeepONet takes sensor values
and query points) and applies a scalar normalisation of inputs and outputs. Scalar (not
pointwise) statistics keep the map resolution-agnostic: the same weights apply on a 32×32
and a 64×64 grid, which the resolution-transfer study relies on.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from sciml.solvers.train import history_dataset

logger = logging.getLogger(__name__)


class FieldMap(eqx.Module):
    """An operator as a map from one input field to one output field.

    `__call__(u)` takes an input sample of shape `(*spatial)` (one channel) and returns the
    output sample `(*spatial_out)`. Inside, the input is normalised by scalar statistics,
    the wrapped model is applied, and the output is de-normalised.

    Attributes:
        model: an FNO or MgNO (`(channels, *spatial) -> (channels, *spatial)`), or a
            DeepONet (`cartesian(u, queries)`), in which case `queries` are the output
            points, shape `(n, d)`.
        queries: DeepONet query points `(n, d)`, `None` for grid operators.
        x_stats, y_stats: (mean, std) of inputs and outputs over the training set; fixed
            (never trained, see `trainable`).
    """

    model: Any
    x_stats: jax.Array
    y_stats: jax.Array
    queries: jax.Array | None = None

    def __call__(self, u: jax.Array) -> jax.Array:
        z = (u - self.x_stats[0]) / self.x_stats[1]
        if self.queries is not None:
            out = self.model.cartesian(z.reshape(-1), self.queries)
            # Outputs on the input's grid keep its shape; other query sets give (n,).
            out = out.reshape(u.shape) if out.size == u.size else out
        else:
            out = self.model(z[None])[0]
        return out * self.y_stats[1] + self.y_stats[0]

    def trainable(self) -> Any:
        """Filter spec: every inexact array of the model; the statistics and query points
        stay fixed (otherwise weight decay would shrink them)."""
        spec = jax.tree.map(eqx.is_inexact_array, self)
        return eqx.tree_at(lambda m: (m.x_stats, m.y_stats, m.queries), spec,
                           replace=(False, False, None if self.queries is None else False),
                           is_leaf=lambda x: x is None)

    def at_queries(self, queries: jax.Array) -> FieldMap:
        """The same DeepONet evaluated at other output points `(n, d)`."""
        if self.queries is None:
            raise ValueError("at_queries applies to DeepONet maps; grid operators take the "
                             "output grid from the input")
        return eqx.tree_at(lambda m: m.queries, self, jnp.asarray(queries, self.queries.dtype))


def field_map(model, x_train: np.ndarray, y_train: np.ndarray,
              queries: np.ndarray | None = None) -> FieldMap:
    """Wrap `model` with scalar statistics of the training inputs `(n, *spatial)` and
    outputs `(n, *spatial_out)`, in the model's floating dtype."""
    dtype = _dtype_of(model)

    def stats(a):
        a = np.asarray(a, dtype=np.float64)
        std = float(a.std())
        return jnp.asarray([a.mean(), std if std > 0 else 1.0], dtype)

    q = None if queries is None else jnp.asarray(queries, dtype)
    return FieldMap(model, stats(x_train), stats(y_train), q)


@dataclass(frozen=True)
class OperatorConfig:
    """Training settings.

    Attributes:
        epochs: passes over the training set.
        batch_size: samples per step; the last partial batch of an epoch is dropped
            (a fresh permutation each epoch, so every sample is seen).
        learning_rate: AdamW's peak rate; cosine decay to `learning_rate * final_lr_ratio`.
        warmup_epochs: linear warm-up from 0 (0 = none).
        weight_decay: AdamW's decoupled weight decay.
        dtype: training precision, `float32` (default, as the peers) or `float64`.
        eval_batch: samples per chunk when evaluating.
        loop: `"scan"` runs an epoch as one `lax.scan` (fastest for FFT and dense models:
            buffers are reused across steps), `"python"` jits one step and loops in
            Python (needed by convolutional models on CPU, see the module docstring),
            `"auto"` (default) picks `"python"` exactly when the loss contains a
            convolution.
    """

    epochs: int = 100
    batch_size: int = 20
    learning_rate: float = 1e-3
    final_lr_ratio: float = 1e-2
    warmup_epochs: int = 0
    weight_decay: float = 1e-4
    dtype: str = "float32"
    eval_batch: int = 100
    loop: str = "auto"

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"need epochs >= 1 and batch_size >= 1, got {self.epochs}, "
                             f"{self.batch_size}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.loop not in ("auto", "scan", "python"):
            raise ValueError(f"loop must be 'auto', 'scan' or 'python', got {self.loop!r}")


@dataclass
class OperatorResult:
    """What `train_operator` returns.

    Attributes:
        model: the trained `FieldMap`.
        history: per epoch: `loss` (mean training relative L2 over the epoch's batches),
            `test_rel_l2` (when test data is given), `elapsed_s`.
        train_time_s: wall time of training, compilation included.
        samples_per_s: training samples per second after the first (compiling) epoch.
    """

    model: FieldMap
    history: xr.Dataset
    train_time_s: float
    samples_per_s: float


def _per_sample(fmap: FieldMap, x: jax.Array, y: jax.Array) -> jax.Array:
    """‖pred − y‖₂ / ‖y‖₂ per sample, shape `(batch,)`."""
    pred = jax.vmap(fmap)(x)
    axes = tuple(range(1, y.ndim))
    return jnp.sqrt(jnp.sum((pred - y) ** 2, axis=axes) / jnp.sum(y**2, axis=axes))


def relative_l2_loss(fmap: FieldMap, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean over the batch of ‖pred − y‖₂ / ‖y‖₂; x, y of shape `(batch, *spatial)`."""
    return jnp.mean(_per_sample(fmap, x, y))


def relative_l2_errors(fmap: FieldMap, x: np.ndarray, y: np.ndarray,
                       batch: int = 100) -> np.ndarray:
    """Per-sample relative L2 errors, shape `(n,)`, in the map's dtype, `batch` at a time."""
    dtype = _dtype_of(fmap)
    out = []
    for i in range(0, len(x), batch):
        xb, yb = jnp.asarray(x[i:i + batch], dtype), jnp.asarray(y[i:i + batch], dtype)
        out.append(np.asarray(_errors(fmap, xb, yb)))
    return np.concatenate(out) if out else np.zeros(0)


def predict(fmap: FieldMap, x: np.ndarray, batch: int = 100) -> np.ndarray:
    """Predictions for inputs `(n, *spatial)`, as float64 numpy."""
    dtype = _dtype_of(fmap)
    out = [np.asarray(_apply(fmap, jnp.asarray(x[i:i + batch], dtype)), dtype=np.float64)
           for i in range(0, len(x), batch)]
    return np.concatenate(out)


@eqx.filter_jit
def _apply(fmap, x):
    return jax.vmap(fmap)(x)


_errors = eqx.filter_jit(_per_sample)


def train_operator(
    fmap: FieldMap,
    x_train: np.ndarray,
    y_train: np.ndarray,
    config: OperatorConfig = OperatorConfig(),
    *,
    key: jax.Array,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    progress: bool = False,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> OperatorResult:
    """Train `fmap` on pairs `x_train (n, *spatial)` → `y_train (n, *spatial_out)`.

    The model is cast to `config.dtype` and so is the data. With test data, the mean test
    relative L2 is logged after every epoch.

    Raises:
        ValueError: shapes of inputs and outputs disagree, the batch is larger than the
            training set, or the data hold NaN/inf.
        FloatingPointError: the loss became NaN.
    """
    _check_pairs("training", x_train, y_train)
    if x_test is not None or y_test is not None:
        if x_test is None or y_test is None:
            raise ValueError("give both x_test and y_test, or neither")
        _check_pairs("test", x_test, y_test)
        if x_test.shape[1:] != x_train.shape[1:]:
            logger.info("test inputs %s differ in shape from training inputs %s",
                        x_test.shape[1:], x_train.shape[1:])
    n = len(x_train)
    if config.batch_size > n:
        raise ValueError(f"batch_size {config.batch_size} exceeds the {n} training samples")
    dtype = jnp.dtype(config.dtype)
    if jax.dtypes.canonicalize_dtype(dtype) != dtype:  # float64 silently becomes float32
        raise ValueError("dtype float64 needs 64-bit JAX: call "
                         "jax.config.update('jax_enable_x64', True) in your entry point")
    fmap = _cast(fmap, dtype)
    x = jnp.asarray(x_train, dtype)
    y = jnp.asarray(y_train, dtype)
    n_batches = n // config.batch_size
    total = n_batches * config.epochs
    schedule = _schedule(config, n_batches, total)
    optimiser = optax.adamw(schedule, weight_decay=config.weight_decay)
    spec = fmap.trainable()
    params, static = eqx.partition(fmap, spec)
    opt_state = optimiser.init(params)
    loop = config.loop
    if loop == "auto":
        loop = "python" if _has_convolution(static, params, x[:1], y[:1]) else "scan"
    logger.debug("operator training: %s loop over minibatches", loop)
    if loop == "python":  # its steps donate their inputs: never the caller's arrays
        params = jax.tree.map(jnp.copy, params)
    epoch_fn = _epoch_function(optimiser, static, n_batches, config.batch_size, loop)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs, desc="train operator", leave=False)
    rows, durations, t0 = [], [], time.perf_counter()
    try:
        for epoch in range(config.epochs):
            key, kp = jax.random.split(key)
            perm = jax.random.permutation(kp, n)
            te = time.perf_counter()
            params, opt_state, loss = epoch_fn(params, opt_state, x, y, perm)
            loss = float(loss)  # blocks until the epoch is done
            durations.append(time.perf_counter() - te)
            if not math.isfinite(loss):
                raise FloatingPointError(f"operator training: loss became {loss} in epoch "
                                         f"{epoch + 1}; lower the learning rate or check the data")
            row = {"step": epoch + 1, "loss": loss, "elapsed_s": time.perf_counter() - t0}
            if x_test is not None:
                current = eqx.combine(params, static)
                row["test_rel_l2"] = float(np.mean(relative_l2_errors(
                    current, x_test, y_test, config.eval_batch)))
            rows.append(row)
            if callback is not None:
                callback(epoch + 1, row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3e}" for k, v in row.items()
                                 if k in ("loss", "test_rel_l2")})
            logger.debug("epoch %d: %s", epoch + 1, row)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    # Throughput: the median epoch after the first (which compiles), evaluation excluded.
    steady = durations[1:] if len(durations) > 1 else durations
    rate = n_batches * config.batch_size / float(np.median(steady))
    history = history_dataset(rows, "adamw").rename(step="epoch")
    logger.info("operator training: %d epochs, loss %.3e, %.1f s", config.epochs,
                rows[-1]["loss"], wall)
    return OperatorResult(eqx.combine(params, static), history, wall, rate)


def _has_convolution(static, params, xb, yb) -> bool:
    """Whether the training loss of `combine(params, static)` contains a convolution."""
    def loss(p):
        return relative_l2_loss(eqx.combine(p, static), xb, yb)

    # the printed jaxpr includes every nested (pjit, custom_vjp, scan) sub-jaxpr
    return "conv_general_dilated" in str(jax.make_jaxpr(loss)(params))


def _epoch_function(optimiser, static, n_batches: int, batch_size: int, loop: str):
    def loss_fn(params, xb, yb):
        return relative_l2_loss(eqx.combine(params, static), xb, yb)

    def step(carry, xb, yb):
        p, s = carry
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
        updates, s = optimiser.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), loss

    def batches(perm):
        return perm[: n_batches * batch_size].reshape(n_batches, batch_size)

    if loop == "scan":
        @jax.jit
        def epoch(params, opt_state, x, y, perm):
            (params, opt_state), losses = jax.lax.scan(
                lambda c, i: step(c, x[i], y[i]), (params, opt_state), batches(perm))
            return params, opt_state, jnp.mean(losses)

        return epoch

    jstep = jax.jit(step, donate_argnums=0)

    def epoch(params, opt_state, x, y, perm):
        carry, losses = (params, opt_state), []
        for i in np.asarray(batches(perm)):
            carry, loss = jstep(carry, x[i], y[i])
            losses.append(loss)
        return *carry, jnp.mean(jnp.stack(losses))

    return epoch


def _schedule(config: OperatorConfig, n_batches: int, total: int):
    warm = config.warmup_epochs * n_batches
    decay = optax.cosine_decay_schedule(config.learning_rate, max(total - warm, 1),
                                        alpha=config.final_lr_ratio)
    if warm == 0:
        return decay
    return optax.join_schedules(
        [optax.linear_schedule(0.0, config.learning_rate, warm), decay], [warm])


def _check_pairs(what: str, x: np.ndarray, y: np.ndarray) -> None:
    if len(x) != len(y):
        raise ValueError(f"{what} inputs and outputs differ in sample count: {len(x)} vs "
                         f"{len(y)}")
    if len(x) == 0:
        raise ValueError(f"no {what} samples")
    for name, a in (("inputs", x), ("outputs", y)):
        if not np.all(np.isfinite(np.asarray(a))):
            raise ValueError(f"{what} {name} contain NaN or inf; regenerate or clean the data")


def _dtype_of(tree) -> Any:
    leaves = jax.tree.leaves(eqx.filter(tree, eqx.is_inexact_array))
    return leaves[0].dtype if leaves else jnp.float32


def _cast(tree, dtype):
    from sciml.neural_operators import cast

    return cast(tree, dtype)


__all__ = [
    "FieldMap",
    "OperatorConfig",
    "OperatorResult",
    "field_map",
    "predict",
    "relative_l2_errors",
    "relative_l2_loss",
    "train_operator",
]
