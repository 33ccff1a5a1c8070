"""Generators: run an operator family's reference solver over sample indices, on every core.

Each returns {resolution: {variable: array of shape (len(indices), *grid)}} for all the
requested resolutions from one solve per sample. Darcy's scipy solves run in a process pool
(`spawn` start method: a clean interpreter per worker, safe whatever threads JAX has started
in the parent; from a script, guard the entry point with `if __name__ == "__main__":` as
multiprocessing requires, otherwise generation falls back to one process with a warning).
Burgers' JAX solves run as vmapped chunks on threads (XLA releases the GIL). The
antiderivative is closed-form and runs in-process.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_TASK = 2  # Darcy samples per process-pool task (~0.5 s of work each; balances the workers)
_MIN_PARALLEL = 16  # fewer samples are solved in-process (a spawned worker needs ~2 s to start)

Update = Callable[[int], None]


def default_workers() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _stack(
    samples: Sequence[dict[int, tuple[np.ndarray, np.ndarray]]],
    names: tuple[str, str],
    resolutions: Sequence[int],
    shape: Callable[[int], tuple[int, ...]],
) -> dict[int, dict[str, np.ndarray]]:
    out = {}
    for r in resolutions:
        arrays = {v: np.empty((len(samples), *shape(r))) for v in names}
        for i, s in enumerate(samples):
            for v, value in zip(names, s[r], strict=True):
                arrays[v][i] = value
        out[r] = arrays
    return out


def _darcy_task(
    params: dict[str, Any], seed: int, stream: int, resolutions: tuple[int, ...], indices
) -> list[dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Worker: solve Darcy samples `indices` (module level, so a spawned process can import
    it)."""
    from sciml.problems.operator_learning import DarcyFlow

    problem = DarcyFlow(**params)
    return [problem.sample(seed, i, stream=stream, resolutions=resolutions) for i in indices]


def _map_processes(task: Callable, chunks: list, workers: int, update: Update) -> list:
    """[task(c) for c in chunks] on `workers` processes, in order; `update(len(c))` after each."""

    def serial():
        out = []
        for c in chunks:
            out.append(task(c))
            update(len(c))
        return out

    if workers <= 1 or len(chunks) <= 1:
        return serial()
    results = []
    try:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=ctx) as pool:
            for c, r in zip(chunks, pool.map(task, chunks), strict=True):
                results.append(r)
                update(len(c))
    except BrokenProcessPool as e:
        logger.warning(
            "process pool failed (%s); generating in this process instead. From a script, "
            "put the call under `if __name__ == '__main__':` to use every core.",
            e,
        )
        done = len(results)
        rest = chunks[done:]
        for c in rest:
            results.append(task(c))
            update(len(c))
    return results


def darcy(
    problem,
    seed: int,
    stream: int,
    indices: Sequence[int],
    resolutions,
    workers: int,
    update: Update,
) -> dict[int, dict[str, np.ndarray]]:
    """Darcy samples: {n: {"a": (len(indices), n, n), "u": (len(indices), n, n)}}."""
    indices = [int(i) for i in indices]
    chunks = [indices[i : i + _TASK] for i in range(0, len(indices), _TASK)]
    task = functools.partial(_darcy_task, problem.params, seed, stream, tuple(resolutions))
    if len(indices) < _MIN_PARALLEL:
        workers = 1
    samples = [s for part in _map_processes(task, chunks, workers, update) for s in part]
    return _stack(samples, ("a", "u"), resolutions, lambda n: (n, n))


def burgers(
    problem,
    seed: int,
    stream: int,
    indices: Sequence[int],
    resolutions,
    workers: int,
    update: Update,
) -> dict[int, dict[str, np.ndarray]]:
    """Burgers samples: {n: {"u0": (len(indices), n), "u": (len(indices), n)}}."""
    data = problem.sample(
        seed,
        list(indices),
        stream=stream,
        resolutions=tuple(resolutions),
        workers=workers,
        callback=update,
    )
    return {n: {"u0": u0, "u": u} for n, (u0, u) in data.items()}


def antiderivative(
    problem,
    seed: int,
    stream: int,
    indices: Sequence[int],
    resolutions,
    workers: int,
    update: Update,
) -> dict[int, dict[str, np.ndarray]]:
    """Antiderivative samples: {m: {"u": (len(indices), m), "s": (len(indices), m)}}."""
    samples = []
    for i in indices:
        samples.append(problem.sample(seed, int(i), stream=stream, resolutions=resolutions))
        update(1)
    return _stack(samples, ("u", "s"), resolutions, lambda m: (m,))
