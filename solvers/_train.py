"""The one training driver: `fit` runs any Equinox model under any optax optimiser.

Steps run in chunks of `log_every`; between chunks Python logs, evaluates metrics, calls
callbacks, draws the bar, checkpoints and checks the loss. A chunk is one jitted `lax.scan`
(`ScanLoop`: buffers reused, fastest for FFT and dense models) or a Python loop of one
jitted, buffer-donating step (`PythonLoop`): XLA:CPU runs convolutions inside loop bodies on
a slow path (jax-ml/jax#12868; an MgNO step: 17.9 s in a scan, 0.48 s alone), so `AutoLoop`
picks it exactly when the loss holds a convolution. With several devices (every process's,
after `jax.distributed.initialize()`; each runs the same call on the same data and key)
batches are sharded over a `batch` mesh axis, parameters replicated.
"""

from __future__ import annotations

import functools
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from jax.flatten_util import ravel_pytree
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from sciml.checks import integer
from sciml.io import check_writable_dir, load_checkpoint, save_checkpoint
from sciml.solvers._batching import AbstractBatcher, CapacityError, FullBatch
from sciml.solvers._checkpointing import check_meta, describe_optimiser
from sciml.solvers._result import RESULTS, TrainingResult

logger = logging.getLogger(__name__)


class ScanLoop(eqx.Module):
    """A chunk is one jitted `lax.scan` over its steps."""

    def kind(self, has_convolution: Callable[[], bool]) -> str:
        return "scan"


class PythonLoop(eqx.Module):
    """A chunk is a Python loop over one jitted step that donates its buffers."""

    def kind(self, has_convolution: Callable[[], bool]) -> str:
        return "python"


class AutoLoop(eqx.Module):
    """`PythonLoop` when the loss contains a convolution (jax#12868), else `ScanLoop`."""

    def kind(self, has_convolution: Callable[[], bool]) -> str:
        return "python" if has_convolution() else "scan"


@dataclass(frozen=True)
class LogRecord:
    """What callbacks receive at each log point."""

    step: int
    model: Any
    loss: float
    metrics: dict[str, float]


@dataclass(kw_only=True)
class FitResult(TrainingResult):
    """`TrainingResult` of `fit`, plus what continuing needs (pass them back to `fit`):
    `opt_state`, `batcher_state`, and `step`, the steps taken including any before a resume.
    """

    opt_state: Any = None
    step: int = 0
    batcher_state: Any = None


def fit(model: Any, loss_fn: Callable[..., Any], optimiser: optax.GradientTransformation, *,
        steps: int, data: Any = None, batcher: AbstractBatcher = FullBatch(),
        key: jax.Array | None = None, filter_spec: Any = eqx.is_inexact_array,
        has_aux: bool = False, log_every: int = 100,
        metrics: Callable[[Any], dict[str, Any]] | None = None,
        callbacks: Sequence[Callable[[LogRecord], bool | None]] = (),
        project: Callable[[Any, Any], Any] | None = None, opt_state: Any = None,
        batcher_state: Any = None, start_step: int = 0, checkpoint: str | Path | None = None,
        resume: bool = False, loop: ScanLoop | PythonLoop | AutoLoop = AutoLoop(),
        devices: Sequence[jax.Device] | None = None, progress: bool = False,
        desc: str = "train", throw: bool = True) -> FitResult:
    """Minimise `loss_fn(model, batch)` over the leaves of `model` selected by `filter_spec`.

    Args:
        model: an Equinox module (any PyTree).
        loss_fn: `(model, batch) -> loss`, or with `has_aux` `-> (loss, {name: scalar})`
            (logged). `batch` is `batcher.select(data, ...)`: all of `data` by default.
        optimiser: an optax transformation; `optax.lbfgs` and other `...ExtraArgs` ones get
            `value`, `grad` and `value_fn`.
        steps: optimiser steps of this call, counted from `start_step`.
        data, batcher, key: what the steps see (`FullBatch`, `Minibatches`,
            `PaddedBatches`); `key` drives the batcher's shuffling.
        filter_spec: which leaves train (a bool PyTree prefix or a callable on leaves).
        log_every: steps per chunk and per history row.
        metrics: `model -> {name: scalar}` at each log point, outside the jit.
        callbacks: called with a `LogRecord` at each log point; returning True stops.
        project: `(model, data) -> model` applied (jitted) after every chunk, e.g. an exact
            minimisation over one block of the trained parameters (others are kept).
        opt_state, batcher_state, start_step: continue from an earlier `FitResult`.
        checkpoint: file written atomically at each log point (its directory is created and
            checked before training starts); with `resume=True` and the file present,
            training restarts from it bit for bit, once its checksums, its fields and its
            optimiser (blocks and hyperparameters, `describe_optimiser`) check out.
        loop: `AutoLoop()`, `ScanLoop()` or `PythonLoop()` (module docstring).
        devices: devices to shard batches over (default: `jax.devices()`, all processes').
        progress: a tqdm bar on stderr, drawn only when stderr is a terminal.
        desc: label of the progress bar, logs and history `phase`.
        throw: raise `FloatingPointError` when the loss becomes NaN or infinite (or the
            batcher's `CapacityError`); with False, stop and return the last good model with
            `RESULTS.nonfinite_loss` (or `RESULTS.buffer_overflow`).
    """
    steps, start_step, log_every = (integer(n, v, low=low) for v, n, low in (
        (steps, "steps", 0), (start_step, "start_step", 0), (log_every, "log_every", 1)))
    t0 = time.perf_counter()
    wrapped = optax.with_extra_args_support(optimiser)
    params, static = eqx.partition(model, filter_spec)
    if opt_state is None:  # strongly typed: optax's L-BFGS starts with weak scalars that its
        # first step makes strong, so the second chunk would compile again
        opt_state = jax.tree.map(lambda a: jnp.asarray(a, dtype=a.dtype) if eqx.is_array(a)
                                 else a, wrapped.init(params))
    bstate = batcher.init(data, key) if batcher_state is None else batcher_state
    rows: list[dict[str, float]] = []
    step = start_step
    if checkpoint is not None:  # a bad path fails now, not after the first chunk
        checkpoint = Path(checkpoint)
        check_writable_dir(checkpoint.parent, "checkpoint directory")
        described = describe_optimiser(optimiser)
    if resume and checkpoint is not None and checkpoint.exists():
        (params, opt_state, bstate), meta = load_checkpoint(
            checkpoint, (params, opt_state, bstate),
            check=functools.partial(check_meta, path=checkpoint, optimiser=described))
        step, rows = meta["step"], list(meta["history"])
        t0 -= rows[-1]["elapsed_s"] if rows else 0.0  # the timeline continues
        logger.info("%s: resumed from %s at step %d", desc, checkpoint, step)
    end = start_step + steps
    mesh = _mesh(devices)
    if mesh is not None:
        params, opt_state = _place((params, opt_state), mesh, shard=False)
        data = _place(data, mesh, shard=isinstance(batcher, FullBatch))
    chunk, kind = None, None
    bar = _bar(progress, end - step, desc)
    result, stopped, seconds = RESULTS.successful, False, []
    try:
        while step < end:
            n = min(log_every, end - step)
            try:
                xs, new_bstate = batcher.plan(bstate, data, n)
            except CapacityError:
                if throw:
                    raise
                result = RESULTS.buffer_overflow
                break
            if chunk is None:
                kind = loop.kind(functools.partial(_has_convolution, loss_fn, params, static,
                                                   batcher, data, xs))
                spec_ = (kind, loss_fn, wrapped, has_aux, project, batcher, mesh)
                try:
                    chunk = _chunk(*spec_)
                except TypeError:  # unhashable (a loss holding arrays): compiled for this call
                    chunk = _chunk.__wrapped__(*spec_)
            if mesh is not None and kind == "scan":  # the Python loop places each step's
                xs = _place(xs, mesh, shard=False)
            tc = time.perf_counter()
            out = chunk(params, opt_state, static, data, filter_spec, xs, n)
            loss = float(out[2])  # blocks until the chunk is done
            seconds.append(time.perf_counter() - tc)
            if not (math.isfinite(loss) and bool(out[4])):
                what = ("parameters became NaN or inf" if math.isfinite(loss)
                        else f"loss became {loss}")
                if throw:
                    raise FloatingPointError(f"{desc}: {what} by step {step + n}; "
                                             + RESULTS[RESULTS.nonfinite_loss])
                result = RESULTS.nonfinite_loss
                logger.warning("%s: %s by step %d; returning the model of step %d", desc, what,
                               step + n, step)
                break
            params, opt_state, _, aux, _ = out
            bstate, step = new_bstate, step + n
            current = eqx.combine(params, static)
            row = {"step": step, "loss": loss, "elapsed_s": time.perf_counter() - t0,
                   **{k: float(v) for k, v in aux.items()}}
            if metrics is not None:
                row.update({k: float(v) for k, v in metrics(current).items()})
            rows.append(row)
            if bar is not None:
                bar.set_postfix(_postfix(row), refresh=False)
                bar.update(n)
            if checkpoint is not None and jax.process_index() == 0:
                save_checkpoint(checkpoint, (params, opt_state, bstate),
                                {"step": step, "history": rows, "desc": desc,
                                 "optimiser": described})
            record = LogRecord(step, current, loss, {k: v for k, v in row.items() if k != "step"})
            if stopped := any([cb(record) for cb in callbacks]):
                break
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    logger.info("%s: %d steps, loss %.3e, %.1f s", desc, step - start_step,
                rows[-1]["loss"] if rows else float("nan"), wall)
    stats = {"steps": step - start_step, "loop": kind, "chunk_seconds": seconds,
             "stopped_early": stopped, "devices": 1 if mesh is None else mesh.size}
    return FitResult(model=eqx.combine(params, static), history=history_dataset(rows, desc),
                     wall_time_s=wall, result=result, stats=stats, opt_state=opt_state,
                     step=step, batcher_state=bstate)


def _postfix(row: dict) -> dict[str, str]:
    """The bar's postfix: the loss terms first (a total held up by a constant-like term, as
    the eigen-PINN's Rayleigh quotient, hides the residual that converges), then the total."""
    terms = {k: v for k, v in row.items() if k not in ("step", "elapsed_s", "loss")}
    return {k: f"{v:.3e}" for k, v in {**terms, "loss": row["loss"]}.items()}


def _bar(progress: bool, total: int, desc: str):
    from tqdm.auto import tqdm

    # A bar redrawn into a log file is noise: terminals only.
    return tqdm(total=total, desc=desc, leave=False) if progress and sys.stderr.isatty() else None


def _mesh(devices: Sequence[jax.Device] | None) -> Mesh | None:
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.array(devices), ("batch",)) if len(devices) > 1 else None


def _shardable(a: Any, mesh: Mesh) -> bool:
    return eqx.is_array(a) and a.ndim >= 1 and a.shape[0] % mesh.size == 0


def _place(tree: Any, mesh: Mesh, *, shard: bool) -> Any:
    """Arrays of `tree` on `mesh`: split along their leading axis (`shard`, where it
    divides) or replicated. Built from this process's copy shard by shard, which also works
    when the mesh spans several processes."""
    def put(a):
        if not eqx.is_array(a):
            return a
        spec = PartitionSpec("batch") if shard and _shardable(a, mesh) else PartitionSpec()
        host = np.asarray(a)
        return jax.make_array_from_callback(host.shape, NamedSharding(mesh, spec),
                                            lambda index: host[index])

    return jax.tree.map(put, tree)


def _has_convolution(loss_fn, params, static, batcher, data, xs) -> bool:
    """Whether the loss of one step contains a convolution (the printed jaxpr includes every
    nested sub-jaxpr)."""
    x = None if xs is None else jax.tree.map(lambda a: a[0], xs)
    return "conv_general_dilated" in str(jax.make_jaxpr(
        lambda p: loss_fn(eqx.combine(p, static), batcher.select(data, x)))(params))


@functools.lru_cache(maxsize=16)
def _chunk(kind: str, loss_fn, optimiser, has_aux: bool, project, batcher, mesh):
    """The compiled chunk `(params, opt_state, static, data, spec, xs, n) -> (params,
    opt_state, reduced loss, reduced aux)`.

    Cached per (loss, optimiser, ...) so successive `fit` calls, such as the rounds of
    adaptive sampling, reuse the compiled code: data and the static model are arguments.
    """

    def total_loss(p, static, batch):
        out = loss_fn(eqx.combine(p, static), batch)
        return out if has_aux else (out, {})

    def one_step(p, s, static, data, x):
        batch = batcher.select(data, x)
        if mesh is not None and not isinstance(batcher, FullBatch) and not all(
                _shardable(a, mesh) for a in jax.tree.leaves(batch)):  # warned once, tracing
            logger.warning("%s: batch arrays whose leading size does not divide over %d "
                           "devices are replicated, each device computing them whole",
                           type(batcher).__name__, mesh.size)
        if mesh is not None:
            batch = jax.tree.map(lambda a: jax.lax.with_sharding_constraint(a, NamedSharding(
                mesh, PartitionSpec("batch") if _shardable(a, mesh) else PartitionSpec()))
                if eqx.is_array(a) else a, batch)
        (loss, aux), grads = jax.value_and_grad(total_loss, has_aux=True)(p, static, batch)
        updates, s = optimiser.update(grads, s, p, value=loss, grad=grads,
                                      value_fn=lambda q: total_loss(q, static, batch)[0])
        return eqx.apply_updates(p, updates), s, loss, aux

    @eqx.filter_jit
    def finish(p, static, data, spec):
        return eqx.filter(project(eqx.combine(p, static), data), spec)

    def reduce(losses, aux):
        return batcher.reduce(losses), jax.tree.map(batcher.reduce, aux)

    if kind == "scan":
        @eqx.filter_jit
        def chunk(p, s, static, data, spec, xs, n):
            def body(carry, x):
                p, s, loss, aux = one_step(*carry, static, data, x)
                return (p, s), (loss, aux)

            (p, s), (losses, aux) = jax.lax.scan(body, (p, s), xs, length=n)
            if project is not None:
                p = eqx.filter(project(eqx.combine(p, static), data), spec)
            return p, s, *reduce(losses, aux), _finite(p)

        return chunk

    # Only the first argument is kept: the step donates the parameters and optimiser state.
    step = eqx.filter_jit(lambda args, p, s: one_step(p, s, *args), donate="all-except-first")

    def chunk(p, s, static, data, spec, xs, n):
        # The step donates its inputs: copy once, so the caller's arrays (and the last
        # finite model, returned if this chunk diverges) survive.
        p, s = jax.tree.map(lambda a: jnp.copy(a) if eqx.is_array(a) else a, (p, s))
        losses, auxes = [], []
        for i in range(n):
            x = None if xs is None else jax.tree.map(lambda a, i=i: a[i], xs)
            if mesh is not None:
                x = _place(x, mesh, shard=False)
            p, s, loss, aux = step((static, data, x), p, s)
            losses.append(loss)
            auxes.append(aux)
        if project is not None:
            p = finish(p, static, data, spec)
        return (p, s, *reduce(jnp.stack(losses), jax.tree.map(lambda *a: jnp.stack(a), *auxes)),
                _finite_jit(p))

    return chunk


def _finite(tree: Any) -> jax.Array:
    return jnp.all(jnp.array([jnp.all(jnp.isfinite(a)) for a in jax.tree.leaves(tree)], bool))


_finite_jit = eqx.filter_jit(_finite)


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


def lbfgs(memory_size: int = 20) -> optax.GradientTransformationExtraArgs:
    """optax's L-BFGS with a zoom line search: the second phase of PINN training."""
    return optax.lbfgs(memory_size=memory_size)


class BFGSState(NamedTuple):
    """Dense BFGS: the inverse-Hessian estimate `(n, n)`, the last parameters and gradient
    (flattened, `(n,)`) and the number of updates."""

    inverse_hessian: jax.Array
    params: jax.Array
    grad: jax.Array
    count: jax.Array


def scale_by_bfgs() -> optax.GradientTransformation:
    """The BFGS direction H g with a dense inverse-Hessian estimate H (Nocedal & Wright,
    Alg. 6.1), updated from the step s and gradient change y when the curvature s·y is
    positive; H starts as (s·y / y·y) I after the first step (their eq. 6.20), and the
    first direction is the gradient capped at unit length."""

    def init(params):
        flat, _ = ravel_pytree(params)
        zero = jnp.zeros_like(flat)
        return BFGSState(jnp.eye(flat.size, dtype=flat.dtype), zero, zero,
                         jnp.zeros((), jnp.int32))

    def update(grads, state, params):
        g, unravel = ravel_pytree(grads)
        x, _ = ravel_pytree(params)
        s, y = x - state.params, g - state.grad
        sy = s @ y
        curved = (state.count > 0) & (sy > 1e-12 * jnp.sqrt((s @ s) * (y @ y)))
        h = jnp.where(state.count == 1, sy / (y @ y) * jnp.eye(g.size, dtype=g.dtype),
                      state.inverse_hessian)
        rho = 1.0 / jnp.where(curved, sy, 1.0)
        hy = h @ y
        # (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, expanded (H symmetric)
        updated = (h - rho * (jnp.outer(s, hy) + jnp.outer(hy, s))
                   + (rho**2 * (y @ hy) + rho) * jnp.outer(s, s))
        h = jnp.where(curved, updated, state.inverse_hessian)
        first = g * jnp.minimum(1.0, 1.0 / (jnp.linalg.norm(g) + jnp.finfo(g.dtype).tiny))
        direction = jnp.where(state.count == 0, first, h @ g)
        return unravel(direction), BFGSState(h, x, g, state.count + 1)

    return optax.GradientTransformation(init, update)


def bfgs(max_linesearch_steps: int = 20) -> optax.GradientTransformationExtraArgs:
    """Dense BFGS with optax's zoom (strong Wolfe) line search, for models of up to a few
    thousand parameters (its state is an n × n matrix: 3,000 parameters hold 72 MB in
    float64). On small PINNs it lowers the loss far faster per step than L-BFGS or Adam
    (Kiyani et al., "Which optimizer works best for physics-informed neural networks",
    2025); `fit` passes the line search the `value`, `grad` and `value_fn` it needs."""
    return optax.chain(scale_by_bfgs(), optax.scale(-1.0),
                       optax.scale_by_zoom_linesearch(max_linesearch_steps,
                                                      initial_guess_strategy="one"))
