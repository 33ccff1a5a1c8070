"""Running a family's generator over sample indices, on any `concurrent.futures.Executor`.

Tasks are chunks of sample indices of one random stream (`Execution.chunk` samples each),
submitted to the executor with `submit`; results are put back in sample order, so the
data are the same whatever ran them. A caller's executor (a `ProcessPoolExecutor`,
dask.distributed's `client.get_executor()`, ...) is used as it is and never shut down.
Without one, the family's `Execution` chooses:

- "processes": a local process pool with the `spawn` start method (a clean interpreter
  per worker, safe whatever threads JAX has started in this one). Workers ignore SIGINT;
  on Ctrl-C (or any exception) the parent cancels the pending chunks and terminates the
  workers, so an interrupted generation stops at once and caches nothing. Spawned workers import
  the main script again, so a script must keep its module-level work under
  `if __name__ == "__main__":`. When the call comes from unguarded module-level code of a
  script, or from inside a spawned worker, the samples are generated in this process
  instead, with one warning, before any worker starts.
- "threads": a thread pool (for generators that release the GIL, such as XLA), the first
  chunk run in this process first when `warm_up` (a JAX generator compiles once).
- "inline": this process.
"""

from __future__ import annotations

import ast
import concurrent.futures as cf
import functools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sciml.datasets._family import Block, Family

logger = logging.getLogger(__name__)

Job = tuple[int, list[int]]  # (stream, sample indices)


def default_workers() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Task:
    """One call of a family's generator on a chunk: picklable (module-level generator, a
    picklable problem), so process pools and dask can run it."""

    generator: Callable[..., Any]
    ragged: bool
    problem: Any
    seed: int
    resolutions: tuple[int | None, ...]

    def __call__(self, job: Job) -> dict[int | None, dict[str, np.ndarray]]:
        stream, indices = job
        if self.ragged:
            return {None: self.generator(self.problem, self.seed, stream, list(indices))}
        return self.generator(self.problem, self.seed, stream, list(indices), self.resolutions)


# --- is a spawn pool safe here? -------------------------------------------------------------
def _main_frame():
    """The frame running the `__main__` module's own code: on this thread's stack, else
    on the main thread's (a call from a thread the script started); None if neither."""
    stacks = [sys._getframe(1)]
    main = threading.main_thread()
    if threading.current_thread() is not main:
        stacks.append(sys._current_frames().get(main.ident))
    for frame in stacks:
        while frame is not None:
            code = frame.f_code
            if code.co_name == "<module>" and frame.f_globals.get("__name__") == "__main__":
                return frame
            frame = frame.f_back
    return None


def _is_main_guard(node: ast.AST) -> bool:
    """`__name__ == "__main__"` (either way round)."""
    if not (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.Eq)
    ):
        return False
    sides = [node.left, node.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


@functools.lru_cache(maxsize=16)
def _guarded_lines(path: str, mtime: float) -> tuple[tuple[int, int], ...] | None:
    """Line ranges of the bodies of `if __name__ == "__main__":` blocks in `path`; None if
    the file cannot be read or parsed."""
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    return tuple(
        (node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_main_guard(node.test)
    )


def spawn_unsafe_reason() -> str | None:
    """Why starting `spawn` workers from here would fail, or None when it is safe.

    Unsafe: inside a spawned worker (its own bootstrap); or called, directly or through
    functions, from module-level code of a `__main__` script that is not inside an
    `if __name__ == "__main__":` block (each worker would run that code again).
    """
    if multiprocessing.parent_process() is not None:
        return "this is a worker process itself (multiprocessing.parent_process() is set)"
    frame = _main_frame()
    if frame is None:
        return None
    path = frame.f_globals.get("__file__") or frame.f_code.co_filename
    if not path or not os.path.isfile(path):
        return None  # interactive or `python -c`: spawned workers do not re-run it
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        mtime = 0.0
    guarded = _guarded_lines(os.path.abspath(path), mtime)
    line = frame.f_lineno
    if guarded is not None and any(a <= line <= b for a, b in guarded):
        return None
    return (
        f"the call runs at module level of {path} (line {line}) outside an "
        "`if __name__ == '__main__':` block, so each worker process would run the "
        "script again"
    )


# --- running tasks ---------------------------------------------------------------------------
def _chunks(family: Family, ranges: dict[int, range]) -> list[Job]:
    size = family.execution.chunk
    jobs = []
    for stream, r in ranges.items():
        idx = list(r)
        jobs.extend((stream, idx[i : i + size]) for i in range(0, len(idx), size))
    return jobs


def _default_executor(family: Family, n_samples: int, n_jobs: int, workers: int):
    """(executor or None for in-process, description) for the family's default."""
    ex = family.execution
    if ex.kind == "inline" or workers <= 1 or n_jobs <= 1 or n_samples < ex.min_parallel:
        return None, "this process"
    n = min(workers, n_jobs - (1 if ex.warm_up else 0))
    if n <= 1:
        return None, "this process"
    if ex.kind == "threads":
        return cf.ThreadPoolExecutor(n), f"{n} threads"
    reason = spawn_unsafe_reason()
    if reason is not None:
        logger.warning(
            "%s: generating %d samples in this process: %s. To use every core, put the "
            "call under `if __name__ == '__main__':` (or pass executor=...).",
            family.name,
            n_samples,
            reason,
        )
        return None, "this process"
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(n, mp_context=ctx, initializer=_ignore_sigint)
    return pool, f"a process pool of {n} workers (spawn)"


def _ignore_sigint() -> None:
    """Pool worker initializer: Ctrl-C in a terminal signals the whole process group, and a
    worker dying of it mid-task can leave the parent waiting on it forever; the parent
    alone handles the interruption and stops the workers (`_stop`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(executor: cf.Executor, grace: float = 5.0, others: frozenset = frozenset()) -> None:
    """Shut down an interrupted pool of ours without waiting for its running tasks: cancel
    what is pending, terminate the worker processes, reap them (kill after `grace` s).
    Children of this process not in `others` (those alive before the pool) count as the
    pool's too: a Ctrl-C while the pool spawns a worker can leave it out of the pool's
    table, and the interpreter would then wait for it at exit."""
    # a process pool's workers (private, and dropped by `shutdown`: read first)
    procs = list((getattr(executor, "_processes", None) or {}).values())
    procs += [p for p in multiprocessing.active_children() if p not in others
              and p not in procs]
    # the call queue's feeder thread may be blocked writing a task into the pipe of a worker
    # that will never read it; joined at exit, it would hang the interpreter
    queue = getattr(executor, "_call_queue", None)
    if queue is not None:
        queue.cancel_join_thread()
    executor.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)


def _run(
    task: _Task,
    jobs: list[Job],
    executor: cf.Executor | None,
    update: Callable[[int], None],
    *,
    warm_up: bool,
    owned: bool,
) -> list:
    """[task(job) for job in jobs], in order, on `executor` (None: this process)."""
    results: list = [None] * len(jobs)

    def inline(k: int) -> None:
        results[k] = task(jobs[k])
        update(len(jobs[k][1]))

    if executor is None:
        for k in range(len(jobs)):
            inline(k)
        return results
    start = 0
    if warm_up and jobs:
        inline(0)
        start = 1
    futures = {executor.submit(task, jobs[k]): k for k in range(start, len(jobs))}
    try:
        for f in cf.as_completed(futures):
            k = futures[f]
            results[k] = f.result()
            update(len(jobs[k][1]))
    except BrokenProcessPool as e:
        if not owned:
            raise
        logger.warning("process pool failed (%s); generating the rest in this process", e)
        for k in range(len(jobs)):
            if results[k] is None:
                inline(k)
    finally:
        for f in futures:
            f.cancel()
    return results


def generate_blocks(
    family: Family,
    problem,
    seed: int,
    ranges: dict[str, range],
    *,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> dict[int | None, dict[str, Block]]:
    """Generate samples `ranges[split]` of each split (train: stream 0, test: stream 1) at
    every resolution of `family`.

    Returns:
        {resolution: {split: block}} (resolution None for a ragged family), each block
        holding its split's samples in index order.
    """
    from tqdm.auto import tqdm

    if executor is not None and workers is not None:
        raise ValueError("pass workers (for the default executor) or executor, not both")
    splits = list(ranges)
    streams = {s: k for k, s in enumerate(("train", "test"))}
    jobs = _chunks(family, {streams[s]: ranges[s] for s in splits})
    total = sum(len(r) for r in ranges.values())
    resolutions = family.resolutions
    task = _Task(family.generator, family.ragged, problem, seed, resolutions)
    owned = executor is None
    others = frozenset(multiprocessing.active_children())
    if owned:
        workers = default_workers() if workers is None else max(1, int(workers))
        executor, how = _default_executor(family, total, len(jobs), workers)
        warm_up = family.execution.warm_up
    else:
        how, warm_up = type(executor).__name__, False
    logger.info("generating %d %s samples (seed %d) on %s", total, family.name, seed, how)
    start = time.perf_counter()
    try:
        with tqdm(total=total, desc=family.name, unit="sample", disable=not progress) as bar:
            results = _run(task, jobs, executor, bar.update, warm_up=warm_up, owned=owned)
    except BaseException:  # Ctrl-C, SIGTERM turned into an exception, a failed sample
        if owned and executor is not None:
            _stop(executor, others=others)
        raise
    if owned and executor is not None:
        executor.shutdown(cancel_futures=True)
    elapsed = time.perf_counter() - start
    logger.info("generated %d %s samples in %.1f s", total, family.name, elapsed)
    return _assemble(family, jobs, results, splits, streams)


def _assemble(
    family: Family,
    jobs: Sequence[Job],
    results: Sequence[dict],
    splits: Sequence[str],
    streams: dict[str, int],
) -> dict[int | None, dict[str, Block]]:
    out: dict[int | None, dict[str, Block]] = {}
    for n in family.resolutions:
        out[n] = {}
        for s in splits:
            blocks = []
            for (stream, indices), result in zip(jobs, results, strict=True):
                if stream != streams[s]:
                    continue
                if n not in result:
                    raise RuntimeError(f"{family.name}: the generator returned no resolution {n}")
                blocks.append(family.conform(result[n], n, len(indices)))
            block = family.concat(blocks, n)
            for name, a in block.items():
                if a.dtype.kind in "fc":
                    bad = int(a.size - np.count_nonzero(np.isfinite(a)))
                    if bad:
                        raise RuntimeError(
                            f"{family.name}: the solver produced {bad} non-finite values of "
                            f"{name!r}; nothing was cached"
                        )
            out[n][s] = block
    return out
