"""What `fit` records in a checkpoint besides the arrays, and the checks on resume.

A checkpoint's meta holds the step, the history rows, the phase label and a description of
the optimiser: its building blocks and their hyperparameters (read from the closures optax
builds, e.g. `scale_by_adam.b1 = 0.9`, `scale.step_size = -0.001`). Resuming under another
optimiser (Adam's moments continued by SGD) or other hyperparameters is refused, because
the run would silently be a different one; the file's arrays and checksums are checked by
`sciml.io.load_checkpoint`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import optax

from sciml.io import IntegrityError

__all__ = ["check_meta", "describe_optimiser"]

# Closures that only wrap or combine others: they add no block of their own.
_WRAPPERS = ("chain", "with_extra_args_support", "named_chain", "init_empty_state",
             "identity")


def _number(x: Any) -> float | int | bool | str | None:
    """A JSON-able scalar for a hyperparameter value, or None when `x` is not one."""
    if isinstance(x, bool | int | float | str):
        return x if not isinstance(x, float) or math.isfinite(x) else repr(x)
    if isinstance(x, np.generic) or (hasattr(x, "shape") and getattr(x, "shape", None) == ()):
        try:
            return _number(np.asarray(x).item())
        except Exception:  # a tracer or an exotic array: not a recordable constant
            return None
    return None


def describe_optimiser(optimiser: Any) -> dict[str, Any]:
    """{"blocks": [...], "hyperparameters": {block.name: value}} of an optax transformation.

    Walks the closures of `optimiser.init`/`update` (and of schedules inside them): each
    function defined inside an optax factory (`scale_by_adam.<locals>.update_fn`) is a
    block named after the factory, its scalar free variables are its hyperparameters.
    Two optimisers with the same description run the same update.
    """
    blocks: list[str] = []
    hyper: dict[str, Any] = {}
    seen: set[int] = set()

    def visit(obj: Any, depth: int) -> None:
        if depth > 12 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, list | tuple):
            for o in obj:
                visit(o, depth + 1)
            return
        if hasattr(obj, "init") and hasattr(obj, "update") and not callable(obj):
            visit(obj.init, depth + 1)
            visit(obj.update, depth + 1)
            return
        code = getattr(obj, "__code__", None)
        if code is None:
            return
        owner = obj.__qualname__.split(".<locals>")[0]
        if owner not in _WRAPPERS and owner not in blocks:
            blocks.append(owner)
        for name, cell in zip(code.co_freevars, obj.__closure__ or (), strict=True):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            number = _number(value)
            if number is not None and owner not in _WRAPPERS:
                hyper[f"{owner}.{name}"] = number
            elif callable(value) or isinstance(value, list | tuple):
                visit(value, depth + 1)

    visit(optimiser, 0)
    return {"blocks": blocks, "hyperparameters": hyper, "optax": optax.__version__}


def _fail(path: Path, msg: str) -> None:
    raise IntegrityError(f"checkpoint {path}: {msg}; delete it and start without resume",
                         path=path, what="header")


def check_meta(meta: dict[str, Any], path: Path, optimiser: dict[str, Any]) -> None:
    """Check a checkpoint's meta as `fit` wrote it, and that it was written under the same
    optimiser as `optimiser` (a `describe_optimiser` result).

    Raises:
        IntegrityError: a field is missing or malformed (names it).
        ValueError: another optimiser or other hyperparameters (names both).
    """
    expected = {"step", "history", "desc", "optimiser"}
    if set(meta) != expected:
        _fail(path, f"its header holds the fields {sorted(meta)}, expected {sorted(expected)}")
    step = meta["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        _fail(path, f"'step' must be a non-negative integer, got {step!r}")
    rows = meta["history"]
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and all(isinstance(k, str) and isinstance(v, int | float)
                                    and not isinstance(v, bool) for k, v in r.items())
        and {"step", "loss", "elapsed_s"} <= set(r) for r in rows
    ):
        _fail(path, "'history' must be a list of rows {'step', 'loss', 'elapsed_s', ...: "
              "number}")
    if rows and rows[-1]["step"] != step:
        _fail(path, f"its last history row is step {rows[-1]['step']}, its 'step' {step}")
    if not isinstance(meta["desc"], str):
        _fail(path, f"'desc' must be a string, got {meta['desc']!r}")
    saved = meta["optimiser"]
    if not (isinstance(saved, dict) and set(saved) == {"blocks", "hyperparameters", "optax"}
            and isinstance(saved["blocks"], list) and isinstance(saved["hyperparameters"], dict)):
        _fail(path, f"'optimiser' is malformed: {saved!r:.200}")
    now = {k: optimiser[k] for k in ("blocks", "hyperparameters")}
    then = {k: saved[k] for k in ("blocks", "hyperparameters")}
    if now != then:
        changed = sorted(k for k in set(now["hyperparameters"]) | set(then["hyperparameters"])
                         if now["hyperparameters"].get(k) != then["hyperparameters"].get(k))
        raise ValueError(
            f"checkpoint {path} was written under another optimiser: "
            f"{' + '.join(then['blocks'])} there, {' + '.join(now['blocks'])} here"
            + (" (differing hyperparameters: "
               + ", ".join(f"{k} {then['hyperparameters'].get(k)!r} -> "
                           f"{now['hyperparameters'].get(k)!r}" for k in changed[:6]) + ")"
               if changed else "")
            + "; resume with the optimiser it was written with, or start without resume"
        )
