"""Supervised training of neural operators on (input field, output field) pairs.

`train_operator` minimises the mean per-sample relative L2 error (the loss of the FNO and
MgNO papers) with AdamW and a cosine learning-rate decay, in shuffled minibatches, on the
training driver `fit`: one chunk (and one history row) per epoch, a `lax.scan` over the
epoch's batches, or a Python loop of jitted steps for convolutional models (MgNO) whose
convolutions XLA:CPU runs slowly inside loop bodies (`AutoLoop`, jax-ml/jax#12868).

Models are wrapped in `FieldMap`, which makes every operator a function from one input
field to one output field (FNO/MgNO take channel-first arrays, DeepONet takes sensor values
and query points) and applies a scalar normalisation of inputs and outputs. Scalar (not
pointwise) statistics keep the map resolution-agnostic: the same weights apply on a 32×32
and a 64×64 grid, which the resolution-transfer study relies on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from sciml.neural_operators import cast
from sciml.solvers._batching import Minibatches
from sciml.solvers._evaluate import predict, relative_l2
from sciml.solvers._result import TrainingResult
from sciml.solvers._train import AutoLoop, LogRecord, PythonLoop, ScanLoop, fit

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
        loop: `AutoLoop()` (default), `ScanLoop()` or `PythonLoop()`: see `fit`.
    """

    epochs: int = 100
    batch_size: int = 20
    learning_rate: float = 1e-3
    final_lr_ratio: float = 1e-2
    warmup_epochs: int = 0
    weight_decay: float = 1e-4
    dtype: str = "float32"
    loop: AutoLoop | ScanLoop | PythonLoop = AutoLoop()

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"need epochs >= 1 and batch_size >= 1, got {self.epochs}, "
                             f"{self.batch_size}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if not isinstance(self.loop, AutoLoop | ScanLoop | PythonLoop):
            raise TypeError(f"loop must be AutoLoop(), ScanLoop() or PythonLoop(), got "
                            f"{self.loop!r}")


@dataclass(kw_only=True)
class OperatorResult(TrainingResult):
    """`TrainingResult` of `train_operator`: `history` is over `epoch` (`loss`, the mean
    training relative L2 of the epoch's batches; `test_rel_l2` with test data;
    `elapsed_s`); `samples_per_s` counts training samples per second in the median epoch
    after the first (which compiles), evaluation excluded."""

    samples_per_s: float = float("nan")


def relative_l2_loss(fmap: FieldMap, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
    """Mean over a batch `(x, y)` of shapes `(batch, *spatial)` of ‖pred − y‖₂ / ‖y‖₂."""
    x, y = batch
    return jnp.mean(relative_l2(jax.vmap(fmap)(x), y, axis=tuple(range(1, y.ndim))))


def field_errors(fmap: FieldMap, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample relative L2 errors `(n,)` of the map's predictions for `x` against `y`."""
    return relative_l2(predict(fmap, x), np.asarray(y, np.float64),
                       axis=tuple(range(1, np.ndim(y))))


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
    callbacks: Sequence[Callable[[LogRecord], bool | None]] = (),
    **fit_options: Any,
) -> OperatorResult:
    """Train `fmap` on pairs `x_train (n, *spatial)` → `y_train (n, *spatial_out)`.

    The model is cast to `config.dtype` and so is the data. With test data, the mean test
    relative L2 is logged after every epoch. `callbacks` and `fit_options` (`checkpoint`,
    `resume`, `devices`, `throw`) go to `fit`.

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
    dtype = jnp.dtype(config.dtype)
    if jax.dtypes.canonicalize_dtype(dtype) != dtype:  # float64 silently becomes float32
        raise ValueError("dtype float64 needs 64-bit JAX: call "
                         "jax.config.update('jax_enable_x64', True) in your entry point")
    fmap = cast(fmap, dtype)
    data = (jnp.asarray(x_train, dtype), jnp.asarray(y_train, dtype))
    batcher = Minibatches(config.batch_size)
    n_batches = batcher.steps_per_epoch(data)
    metrics = None
    if x_test is not None:
        metrics = lambda m: {"test_rel_l2": float(np.mean(field_errors(m, x_test, y_test)))}
    res = fit(fmap, relative_l2_loss, optax.adamw(_schedule(config, n_batches),
                                                  weight_decay=config.weight_decay),
              steps=n_batches * config.epochs, data=data, batcher=batcher, key=key,
              filter_spec=fmap.trainable(), log_every=n_batches, metrics=metrics,
              callbacks=callbacks, loop=config.loop, progress=progress,
              desc="train operator", **fit_options)
    history = res.history.assign_coords(step=res.history["step"].values // n_batches)
    # Throughput: the median epoch after the first (which compiles), evaluation excluded.
    seconds = res.stats["chunk_seconds"]
    rate = n_batches * config.batch_size / float(np.median(seconds[1:] or seconds))
    return OperatorResult(model=res.model, history=history.rename(step="epoch"),
                          wall_time_s=res.wall_time_s, result=res.result,
                          stats={**res.stats, "steps_per_epoch": n_batches},
                          samples_per_s=rate)


def _schedule(config: OperatorConfig, n_batches: int):
    warm, total = config.warmup_epochs * n_batches, config.epochs * n_batches
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
