"""One optax training loop for every model in the toolkit.

`fit` drives any Equinox model with any optax optimiser (first-order ones like Adam, and
line-search ones like `optax.lbfgs`, which need the loss function itself) over a loss
`loss_fn(model, data) -> scalar` or `-> (scalar, aux)`. Steps run in jitted chunks of
`log_every` steps (`lax.scan`), so Python only wakes up to log, call callbacks, draw the
progress bar and write checkpoints. The history is an `xarray.Dataset` over `step`.

Checkpoints are one file: a JSON header line (step, history, user metadata) followed by
the leaves of (model, optimiser state) written with `equinox.tree_serialise_leaves`. No
pickle: loading a checkpoint cannot run code.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np
import optax
import xarray as xr

from sciml.io import atomic_path

logger = logging.getLogger(__name__)

_MAGIC = "sciml-checkpoint-v1"


@dataclass(frozen=True)
class LogRecord:
    """What callbacks receive at each log point."""

    step: int
    model: Any
    loss: float
    metrics: dict[str, float]


@dataclass
class FitResult:
    """The trained model and how it got there.

    Attributes:
        model: the model after the last step.
        opt_state: the optimiser state (pass back to `fit` to continue).
        step: total optimiser steps taken (including those before a resume).
        history: `xarray.Dataset` over `step` with `loss`, `elapsed_s` (wall seconds since
            the call started, compilation included) and every logged metric.
        stopped_early: a callback asked to stop.
        wall_time_s: seconds spent in this call (compilation included).
    """

    model: Any
    opt_state: Any
    step: int
    history: xr.Dataset
    stopped_early: bool = False
    wall_time_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def fit(
    model: Any,
    loss_fn: Callable[..., Any],
    optimiser: optax.GradientTransformation,
    *,
    steps: int,
    data: Any = None,
    filter_spec: Any = eqx.is_inexact_array,
    has_aux: bool = False,
    log_every: int = 100,
    metrics: Callable[[Any], dict[str, Any]] | None = None,
    callbacks: Sequence[Callable[[LogRecord], bool | None]] = (),
    project: Callable[[Any, Any], Any] | None = None,
    opt_state: Any = None,
    start_step: int = 0,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    desc: str = "train",
) -> FitResult:
    """Minimise `loss_fn(model, data)` over the leaves of `model` selected by `filter_spec`.

    Args:
        model: an Equinox module (any PyTree).
        loss_fn: `(model, data) -> loss` or, with `has_aux`, `-> (loss, aux_dict)`; aux
            scalars are logged in the history.
        optimiser: an optax transformation; `optax.lbfgs` and other `...ExtraArgs`
            transformations get `value`, `grad` and `value_fn` as they require.
        steps: optimiser steps of this run, counted from `start_step`; a run resumed
            from a checkpoint continues to `start_step + steps`.
        data: passed unchanged to `loss_fn` (collocation points, a batch...).
        filter_spec: which leaves train (a bool PyTree prefix or a callable on leaves);
            the rest stay fixed.
        log_every: steps per jitted chunk and per history row.
        metrics: `model -> {name: scalar}` evaluated at each log point (outside the jit).
        callbacks: called with a `LogRecord` at each log point; returning True stops.
        project: `(model, data) -> model` applied (jitted) after every chunk, e.g. an exact
            minimisation over one block of parameters; it must return the same structure.
        opt_state, start_step: continue from an earlier `FitResult`.
        checkpoint: file written atomically at each log point; with `resume=True` and the
            file present, training restarts from it.
        progress: show a tqdm progress bar on stderr.
        desc: label for the progress bar and logs.

    Raises:
        FloatingPointError: the loss became NaN or infinite (the message gives the step).
    """
    if steps < 0 or log_every < 1:
        raise ValueError(f"need steps >= 0 and log_every >= 1, got {steps}, {log_every}")
    t0 = time.perf_counter()
    wrapped, chunk = _compiled_chunk(loss_fn, optimiser, has_aux, project)
    params, static = eqx.partition(model, filter_spec)
    if opt_state is None:
        opt_state = wrapped.init(params)
    rows: list[dict[str, float]] = []
    step = start_step
    if resume and checkpoint is not None and Path(checkpoint).exists():
        (params, opt_state), meta = load_checkpoint(checkpoint, (params, opt_state))
        step, rows = int(meta["step"]), list(meta["history"])
        logger.info("%s: resumed from %s at step %d", desc, checkpoint, step)
    end = start_step + steps

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=end - step, desc=desc, leave=False)
    stopped = False
    try:
        while step < end:
            n = min(log_every, end - step)
            params, opt_state, loss, aux = chunk(
                params, opt_state, n, static, data, filter_spec
            )
            step += n
            loss = float(loss)
            current = eqx.combine(params, static)
            row = {"step": step, "loss": loss, "elapsed_s": time.perf_counter() - t0,
                   **{k: float(v) for k, v in aux.items()}}
            if metrics is not None:
                row.update({k: float(v) for k, v in metrics(current).items()})
            rows.append(row)
            if bar is not None:
                bar.update(n)
                bar.set_postfix(loss=f"{loss:.3e}")
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"{desc}: loss became {loss} by step {step}; lower the learning rate, "
                    "check the data for NaN, or rescale the loss terms"
                )
            if checkpoint is not None:
                save_checkpoint(
                    checkpoint, (params, opt_state), {"step": step, "history": rows, "desc": desc}
                )
            record = LogRecord(step, current, loss, {k: v for k, v in row.items() if k != "step"})
            if any(cb(record) for cb in callbacks):
                stopped = True
                break
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    logger.info("%s: %d steps, loss %.3e, %.1f s", desc, step - start_step,
                rows[-1]["loss"] if rows else float("nan"), wall)
    return FitResult(eqx.combine(params, static), opt_state, step, history_dataset(rows, desc),
                     stopped, wall)


@functools.lru_cache(maxsize=32)
def _compiled_chunk(loss_fn, optimiser, has_aux, project):
    """The jitted `log_every`-step chunk for one (loss, optimiser) pair.

    Cached so that successive `fit` calls with the same loss function and optimiser
    object (rounds of adaptive sampling, say) reuse the compiled code: data, the static
    part of the model and the filter are arguments, not closures.
    """
    wrapped = optax.with_extra_args_support(optimiser)

    def total_loss(p, static, data):
        out = loss_fn(eqx.combine(p, static), data)
        return out if has_aux else (out, {})

    def one_step(carry, _, static, data):
        p, s = carry
        (loss, aux), grads = jax.value_and_grad(total_loss, has_aux=True)(p, static, data)
        updates, s = wrapped.update(
            grads, s, p, value=loss, grad=grads,
            value_fn=lambda q: total_loss(q, static, data)[0],
        )
        return (eqx.apply_updates(p, updates), s), (loss, aux)

    @eqx.filter_jit
    def chunk(p, s, n, static, data, filter_spec):
        body = functools.partial(one_step, static=static, data=data)
        (p, s), (losses, aux) = jax.lax.scan(body, (p, s), None, length=n)
        if project is not None:
            p = eqx.filter(project(eqx.combine(p, static), data), filter_spec)
        return p, s, losses[-1], jax.tree.map(lambda a: a[-1], aux)

    return wrapped, chunk


def history_dataset(rows: list[dict[str, float]], phase: str = "") -> xr.Dataset:
    """Turn logged rows `{step, loss, ...}` into an `xarray.Dataset` over `step`."""
    steps = np.array([r["step"] for r in rows], dtype=np.int64)
    names = sorted({k for r in rows for k in r} - {"step"})
    data = {
        k: ("step", np.array([r.get(k, np.nan) for r in rows], dtype=np.float64)) for k in names
    }
    ds = xr.Dataset(data, coords={"step": steps})
    ds["phase"] = ("step", np.array([phase] * len(steps), dtype=object).astype(str))
    return ds


def concat_histories(*histories: xr.Dataset) -> xr.Dataset:
    """Join histories of successive phases (e.g. Adam then L-BFGS) into one timeline.

    Each history counts its steps (and `elapsed_s`, if present) from 0, as `fit` does;
    they are shifted by the last values of the histories before it.
    """
    parts, offset, elapsed = [], 0, 0.0
    for h in histories:
        if h.sizes.get("step", 0) == 0:
            continue
        h = h.assign_coords(step=h["step"].values + offset)
        if "elapsed_s" in h:
            h["elapsed_s"] = h["elapsed_s"] + elapsed
            elapsed = float(h["elapsed_s"].values[-1])
        parts.append(h)
        offset = int(h["step"].values[-1])
    return xr.concat(parts, dim="step") if parts else xr.Dataset(coords={"step": []})


def save_checkpoint(path: str | Path, tree: Any, meta: dict[str, Any]) -> None:
    """Write `tree`'s array leaves and JSON-able `meta` to `path` atomically (no pickle)."""
    header = json.dumps({"format": _MAGIC, **meta}, allow_nan=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header.encode() + b"\n")
        eqx.tree_serialise_leaves(f, tree)


def load_checkpoint(path: str | Path, like: Any) -> tuple[Any, dict[str, Any]]:
    """Read a checkpoint written by `save_checkpoint` into the structure of `like`.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: the file is not a sciml checkpoint or does not match `like`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    with open(path, "rb") as f:
        try:
            meta = json.loads(f.readline())
        except (json.JSONDecodeError, UnicodeDecodeError):
            meta = None
        if not isinstance(meta, dict) or meta.get("format") != _MAGIC:
            raise ValueError(f"{path} is not a sciml checkpoint (expected header {_MAGIC!r})")
        try:
            tree = eqx.tree_deserialise_leaves(f, like)
        except Exception as e:  # equinox raises several types on a structure mismatch
            raise ValueError(
                f"checkpoint {path} does not match the model/optimiser it is loaded into: {e}"
            ) from e
    return tree, meta


def lbfgs(memory_size: int = 20) -> optax.GradientTransformationExtraArgs:
    """optax's L-BFGS with a zoom line search: the second phase of PINN training."""
    return optax.lbfgs(memory_size=memory_size)


__all__ = [
    "FitResult",
    "LogRecord",
    "concat_histories",
    "fit",
    "history_dataset",
    "lbfgs",
    "load_checkpoint",
    "save_checkpoint",
]
