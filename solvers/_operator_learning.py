"""Supervised training of neural operators (wrapped in a `FieldMap`) on field pairs:
the mean per-sample relative L2 loss of the FNO and MgNO papers, AdamW with cosine decay,
shuffled minibatches on `fit`, one chunk and history row per epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sciml import checks
from sciml.neural_operators import FieldMap, cast
from sciml.solvers._batching import AugmentedMinibatches, Minibatches
from sciml.solvers._evaluate import predict, relative_l2
from sciml.solvers._result import TrainingResult
from sciml.solvers._train import AutoLoop, LogRecord, PythonLoop, ScanLoop, fit


@dataclass(frozen=True)
class OperatorConfig:
    """Training settings.

    Attributes:
        epochs: passes over the training set.
        batch_size: samples per step; the last partial batch of an epoch is dropped
            (a fresh permutation each epoch, so every sample is seen).
        learning_rate: AdamW's peak rate (> 0); cosine decay to
            `learning_rate * final_lr_ratio` (`final_lr_ratio` in [0, 1]).
        warmup_epochs: linear warm-up from 0 (0 = none), at most `epochs`.
        weight_decay: AdamW's decoupled weight decay.
        dtype: training precision, `float32` (default, as the peers) or `float64`.
        augment: a random symmetry transform `(key, (x, y)) -> (x, y)` applied to every
            training batch (`AugmentedMinibatches`), e.g. `circular_shifts()` for an
            operator that commutes with translations on a periodic grid; None: none.
        loop: `AutoLoop()` (default), `ScanLoop()` or `PythonLoop()`: see `fit`.
    """

    epochs: int = 100
    batch_size: int = 20
    learning_rate: float = 1e-3
    final_lr_ratio: float = 1e-2
    warmup_epochs: int = 0
    weight_decay: float = 1e-4
    dtype: str = "float32"
    augment: Callable | None = None
    loop: AutoLoop | ScanLoop | PythonLoop = AutoLoop()

    def __post_init__(self):
        # strict types, stored canonical (Python int/float): np.int64(10) is fine, 10.0 is not
        epochs = checks.count("epochs", self.epochs)
        values = dict(
            epochs=epochs,
            batch_size=checks.count("batch_size", self.batch_size),
            learning_rate=checks.positive("learning_rate", self.learning_rate),
            final_lr_ratio=checks.real("final_lr_ratio", self.final_lr_ratio, low=0.0,
                                       high=1.0),
            warmup_epochs=checks.integer("warmup_epochs", self.warmup_epochs, low=0,
                                         high=epochs),
            weight_decay=checks.nonnegative("weight_decay", self.weight_decay),
        )
        for name, value in values.items():  # a frozen dataclass
            object.__setattr__(self, name, value)
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.augment is not None and not callable(self.augment):
            raise TypeError(f"augment must be None or a function (key, (x, y)) -> (x, y), "
                            f"got {self.augment!r}")
        if not isinstance(self.loop, AutoLoop | ScanLoop | PythonLoop):
            raise TypeError(f"loop must be AutoLoop(), ScanLoop() or PythonLoop(), got "
                            f"{self.loop!r}")


@dataclass(kw_only=True)
class OperatorResult(TrainingResult):
    """`TrainingResult` of `train_operator`, `history` over `epoch`; `samples_per_s`: of the
    median epoch after the compiling one, evaluation excluded."""

    samples_per_s: float = float("nan")


def relative_l2_loss(fmap: FieldMap, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
    """Mean over a batch `(x, y)` of shapes `(batch, *spatial)` of ‖pred − y‖₂ / ‖y‖₂."""
    x, y = batch
    return jnp.mean(relative_l2(jax.vmap(fmap)(x), y, axis=tuple(range(1, y.ndim))))


def field_errors(fmap: FieldMap, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample relative L2 errors `(n,)` of the map's predictions for `x` against `y`."""
    return relative_l2(predict(fmap, x), np.asarray(y, np.float64),
                       axis=tuple(range(1, np.ndim(y))))


def train_operator(fmap: FieldMap, x_train: np.ndarray, y_train: np.ndarray,
                   config: OperatorConfig = OperatorConfig(), *, key: jax.Array,
                   x_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                   progress: bool = False,
                   callbacks: Sequence[Callable[[LogRecord], bool | None]] = (), **fit_options: Any
) -> OperatorResult:
    """Train `fmap` on pairs `x_train (n, *spatial)` → `y_train (n, *spatial_out)`.

    The model is cast to `config.dtype` and so is the data. With test data, the mean test
    relative L2 is logged after every epoch. `callbacks` and `fit_options` (`checkpoint`,
    `resume`, `devices`, `throw`) go to `fit`.

    Raises:
        ValueError: inputs and outputs differ in sample count, the batch is larger than the
            training set, the data hold NaN/inf, or an output sample is all zero (its
            relative error is undefined).
        FloatingPointError: the loss became NaN.
    """
    if not isinstance(config, OperatorConfig):
        raise TypeError(f"config must be an OperatorConfig, got {type(config).__name__}")
    _check_pairs("x_train", "y_train", x_train, y_train, config.dtype)
    if x_test is not None or y_test is not None:
        if x_test is None or y_test is None:
            raise ValueError("give both x_test and y_test, or neither")
        _check_pairs("x_test", "y_test", x_test, y_test, config.dtype)
    dtype = jnp.dtype(config.dtype)
    if jax.dtypes.canonicalize_dtype(dtype) != dtype:  # float64 silently becomes float32
        raise ValueError("dtype float64 needs 64-bit JAX: call "
                         "jax.config.update('jax_enable_x64', True) in your entry point")
    fmap = cast(fmap, dtype)
    data = (jnp.asarray(x_train, dtype), jnp.asarray(y_train, dtype))
    batcher = (Minibatches(config.batch_size) if config.augment is None else
               AugmentedMinibatches(config.batch_size, config.augment))
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


@dataclass(frozen=True)
class circular_shifts:  # noqa: N801 - used as a function: `circular_shifts(reflection=-1)`
    """A batch augmentation for fields on a periodic 1-D grid (`(batch, n)` inputs and
    outputs on the same grid): each sample pair is rolled by the same random whole number
    of cells, and, with `reflection` = s (±1), mirrored with probability 1/2 as
    u(x) ↦ s·u(−x) (on the grid x_j = j h: index j ↦ (n − j) mod n).

    Valid when the operator commutes with these maps: translations for any
    translation-invariant evolution on a circle; s = −1 for Burgers' equation
    (u_t + u u_x = ν u_xx maps to itself under u(x, t) ↦ −u(−x, t)), s = +1 for the heat
    equation. Call it as `augment(key, (x, y)) -> (x, y)`.
    """

    reflection: float | None = None

    def __post_init__(self):
        if self.reflection is not None and self.reflection not in (1, -1):
            raise ValueError(f"reflection must be None, +1 or -1, got {self.reflection!r}")

    def __call__(self, key: jax.Array, batch: tuple[jax.Array, jax.Array]):
        x, y = batch
        if x.ndim != 2 or y.shape != x.shape:
            raise ValueError(f"circular_shifts augments 1-D fields with inputs and outputs on "
                             f"one grid, (batch, n) each; got x {x.shape}, y {y.shape}")
        n = x.shape[1]
        ks, kr = jax.random.split(key)
        shift = jax.random.randint(ks, (x.shape[0], 1), 0, n)
        idx = (jnp.arange(n) + shift) % n
        sign = jnp.ones((), x.dtype)
        if self.reflection is not None:
            mirror = jax.random.bernoulli(kr, 0.5, (x.shape[0], 1))
            idx = jnp.where(mirror, (-idx) % n, idx)
            sign = jnp.where(mirror, float(self.reflection), 1.0).astype(x.dtype)
        return (sign * jnp.take_along_axis(x, idx, axis=1),
                sign * jnp.take_along_axis(y, idx, axis=1))


@dataclass(frozen=True)
class square_symmetries:  # noqa: N801 - used as a function: `square_symmetries()`
    """A batch augmentation for fields on a square 2-D grid (`(batch, n, n)` inputs and
    outputs on the same grid): each sample pair goes through the same random element of
    the square's symmetry group D4 (8 elements: a transpose with probability 1/2, then
    each axis reversed with probability 1/2).

    Valid when the operator commutes with the rotations and reflections of the square
    and the data's distribution is invariant under them: Darcy flow on the unit square
    with a constant forcing and zero walls, whose coefficient field is isotropic. Call it
    as `augment(key, (x, y)) -> (x, y)`.
    """

    def __call__(self, key: jax.Array, batch: tuple[jax.Array, jax.Array]):
        x, y = batch
        if x.ndim != 3 or y.shape != x.shape or x.shape[1] != x.shape[2]:
            raise ValueError(f"square_symmetries augments square 2-D fields with inputs and "
                             f"outputs on one grid, (batch, n, n) each; got x {x.shape}, "
                             f"y {y.shape}")
        pick = jax.random.bernoulli(key, 0.5, (3, x.shape[0], 1, 1))

        def apply(f):
            f = jnp.where(pick[0], jnp.swapaxes(f, 1, 2), f)
            f = jnp.where(pick[1], f[:, ::-1, :], f)
            return jnp.where(pick[2], f[:, :, ::-1], f)

        return apply(x), apply(y)


def _schedule(config: OperatorConfig, n_batches: int):
    warm, total = config.warmup_epochs * n_batches, config.epochs * n_batches
    decay = optax.cosine_decay_schedule(config.learning_rate, max(total - warm, 1),
                                        alpha=config.final_lr_ratio)
    if warm == 0:
        return decay
    return optax.join_schedules(
        [optax.linear_schedule(0.0, config.learning_rate, warm), decay], [warm])


def _check_pairs(x_name: str, y_name: str, x, y, dtype: str) -> None:
    """Checks on the concrete data, before anything is compiled: pairs, finite values, and
    no all-zero output (the relative L2 loss divides by each output's norm)."""
    x, y = np.asarray(x), np.asarray(y)
    for name, a in ((x_name, x), (y_name, y)):
        if a.ndim < 1:
            raise ValueError(f"{name} needs a leading sample axis, got shape {a.shape}")
    if len(x) != len(y):
        raise ValueError(f"{x_name} and {y_name} differ in sample count: {len(x)} vs {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{x_name} and {y_name} hold no samples")
    for name, a in ((x_name, x), (y_name, y)):
        bad = np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(axis=1))
        if bad.size:
            raise ValueError(f"{name} holds NaN or inf in {bad.size} of its {len(a)} samples, "
                             f"the first {name}[{bad[0]}]; regenerate or drop those samples")
    # in the training precision: a tiny float64 output can round to zero in float32
    flat = y.reshape(len(y), -1).astype(dtype)
    zero = np.flatnonzero(~np.any(flat != 0, axis=1))
    if zero.size:
        shown = ", ".join(map(str, zero[:10])) + (", ..." if zero.size > 10 else "")
        raise ValueError(
            f"{y_name} has {zero.size} all-zero sample(s) (in {dtype}), at index {shown}: the "
            "loss is the relative L2 error |pred - y|/|y|, undefined for y = 0; drop those "
            f"samples, e.g. keep = np.any({y_name}.reshape(len({y_name}), -1) != 0, axis=1)"
        )
