"""Argument checks shared by the whole package: strict types, clear messages.

Every check takes the parameter's `name` (used in the message) and its `value`, and returns
the value in a canonical form or raises:

- `TypeError` when the value has the wrong *type*: a `str` such as `"1.0"` or a `bool` is not
  a number, a float such as `2.0` is not an integer;
- `ValueError` when the type is right and the *value* is not: NaN, infinite, out of range.

Numbers may be Python `int`/`float`, NumPy scalars, 0-d NumPy arrays or 0-d JAX arrays.
`real` also accepts a JAX tracer (inside `jax.jit` or `jax.vmap` over a parameter): it checks
its shape and dtype, skips the checks that need its value, and returns it unchanged. Counts
and sizes (`integer`, `count`, `ints`) must be concrete.

The module imports only NumPy, so checking a parameter never pulls in JAX.
"""

from __future__ import annotations

import math
import numbers
import operator
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["count", "counts", "integer", "ints", "is_tracer", "nonnegative", "positive", "real"]


def is_tracer(value: Any) -> bool:
    """Whether `value` is a JAX tracer (an abstract value inside a JAX transformation)."""
    jax = sys.modules.get("jax")  # no tracer can exist unless JAX has been imported
    return jax is not None and isinstance(value, jax.core.Tracer)


def real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    strict_low: bool = False,
    strict_high: bool = False,
    finite: bool = True,
) -> Any:
    """`value` as a Python float, checked to be a real number in the given range.

    Args:
        name: the parameter's name, for messages.
        value: a real scalar (not `str`, not `bool`), or a JAX tracer.
        low, high: bounds (None: unbounded), inclusive unless `strict_low`/`strict_high`.
        finite: refuse ±inf (NaN is always refused).

    Returns:
        A Python float; a tracer is returned unchanged (only its shape and dtype are checked).

    Raises:
        TypeError: `value` is not a real scalar.
        ValueError: it is NaN, infinite (with `finite`), or out of range.
    """
    if is_tracer(value):
        if value.shape != () or np.dtype(value.dtype).kind not in "iuf":
            raise TypeError(f"parameter {name!r} must be a real number, got a traced "
                            f"{value.dtype} array of shape {value.shape}")
        return value
    if isinstance(value, bool | np.bool_) or not _is_real(value):
        raise TypeError(f"parameter {name!r} must be a real number, got {_describe(value)}")
    v = float(value)
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ValueError(f"parameter {name!r} must be {'finite' if finite else 'a number'}, "
                         f"got {v}")
    below = low is not None and (v <= low if strict_low else v < low)
    above = high is not None and (v >= high if strict_high else v > high)
    if below or above:
        raise ValueError(f"parameter {name!r} must be "
                         f"{_range(low, high, strict_low, strict_high)}, got {v!r}")
    return v


def positive(name: str, value: Any) -> Any:
    """`real(name, value)` that is also > 0."""
    return real(name, value, low=0.0, strict_low=True)


def nonnegative(name: str, value: Any) -> Any:
    """`real(name, value)` that is also >= 0."""
    return real(name, value, low=0.0)


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """`value` as a Python int in `[low, high]` (None: unbounded).

    Accepts `int`, NumPy integers and 0-d integer arrays (anything `operator.index` takes);
    refuses `bool`, floats (even `2.0`), strings and tracers with a TypeError, and values out
    of range with a ValueError.
    """
    if is_tracer(value):
        raise TypeError(f"parameter {name!r} must be a concrete integer, got a traced value "
                        "(it sets a size or a count: keep it static, out of jit/vmap)")
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"parameter {name!r} must be an integer, got {_describe(value)}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"parameter {name!r} must be an integer, got {_describe(value)}"
                        ) from None
    if (low is not None and v < low) or (high is not None and v > high):
        if high is None and low in (0, 1):
            what = "a positive integer" if low == 1 else "a non-negative integer"
        else:
            what = f"an integer {_range(low, high, False, False)}"
        raise ValueError(f"parameter {name!r} must be {what}, got {v}")
    return int(v)


def count(name: str, value: Any) -> int:
    """`integer(name, value)` that is also >= 1: a size, a number of steps or points."""
    return integer(name, value, low=1)


def counts(**sizes: Any) -> tuple[int, ...]:
    """`count` of each keyword argument, named by its keyword; the ints in order.

    `width, depth = counts(width=width, depth=depth)`.
    """
    return tuple(count(name, value) for name, value in sizes.items())


def ints(name: str, value: Any, *, n: int | None = None, low: int | None = 1) -> tuple[int, ...]:
    """One integer or a sequence of them, as a tuple of Python ints, each >= `low`.

    A single integer gives `(value,) * n` (one entry when `n` is None); a sequence must have
    `n` entries when `n` is given. Entries are named `name[i]` in messages.
    """
    if isinstance(value, bool | np.bool_) or is_tracer(value) or _has_index(value):
        return (integer(name, value, low=low),) * (1 if n is None else n)
    scalar = getattr(value, "shape", None) == ()  # a 0-d array iterates, but only to fail
    if scalar or isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"parameter {name!r} must be an integer or a sequence of integers, "
                        f"got {_describe(value)}")
    out = tuple(integer(f"{name}[{i}]", v, low=low) for i, v in enumerate(value))
    if n is not None and len(out) != n:
        raise ValueError(f"parameter {name!r} must be an integer or a sequence of {n} of them, "
                         f"got {len(out)}: {value!r}")
    return out


# --- helpers -----------------------------------------------------------------------------------
def _is_real(value: Any) -> bool:
    if isinstance(value, numbers.Real):  # int, float, Fraction, NumPy real scalars
        return True
    # 0-d NumPy and JAX arrays of a real dtype (not bool, complex, str or object)
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape != () or dtype is None:
        return False
    try:
        return np.dtype(dtype).kind in "iuf"
    except TypeError:
        return False


def _has_index(value: Any) -> bool:
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _describe(value: Any) -> str:
    """`'1.0' (str)`, `True (bool)`, or `an array of shape (3,) (ndarray)`."""
    kind = type(value).__name__
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and shape != ():
        return f"an array of shape {shape} ({kind})"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({kind})"


def _range(low, high, strict_low: bool, strict_high: bool) -> str:
    if low is not None and high is not None:
        return (f"in {'(' if strict_low else '['}{low:g}, {high:g}{')' if strict_high else ']'}")
    if low is not None:
        return f"{'>' if strict_low else '>='} {low:g}"
    return f"{'<' if strict_high else '<='} {high:g}"
