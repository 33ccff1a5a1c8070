"""Checkpoints: one file, a JSON header line (step, history, user metadata) followed by the
leaves of a PyTree written with `equinox.tree_serialise_leaves`. No pickle: loading a
checkpoint cannot run code. PRNG keys are stored as their raw key data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import equinox as eqx
import jax

from sciml.io import atomic_path

_MAGIC = "sciml-checkpoint-v1"


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _raw(tree: Any) -> Any:
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def save_checkpoint(path: str | Path, tree: Any, meta: dict[str, Any]) -> None:
    """Write `tree`'s array leaves and JSON-able `meta` to `path` atomically (no pickle)."""
    header = json.dumps({"format": _MAGIC, **meta}, allow_nan=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header.encode() + b"\n")
        eqx.tree_serialise_leaves(f, _raw(tree))


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
            raw = eqx.tree_deserialise_leaves(f, _raw(like))
        except Exception as e:  # equinox raises several types on a structure mismatch
            raise ValueError(
                f"checkpoint {path} does not match the model/optimiser it is loaded into: {e}"
            ) from e
    tree = jax.tree.map(lambda r, x: jax.random.wrap_key_data(r, impl=jax.random.key_impl(x))
                        if _is_key(x) else r, raw, like)
    return tree, meta
