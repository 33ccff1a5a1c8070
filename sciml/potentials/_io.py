"""Saving and loading potentials without pickle (sealed `sciml.io` checkpoints).

The file holds the parameters, the model's structure (`AbstractPotential.describe`) and the
caller's provenance (the training command, data and measured errors); `load_potential`
rebuilds the model from the structure and verifies every checksum before use.
`pretrained(name)` loads a model shipped in `sciml/potentials/weights/`.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

import jax
import jax.numpy as jnp

from sciml.io import load_configured, save_checkpoint
from sciml.potentials._models import MACE, AbstractPotential, InvariantPotential

_KIND = "sciml.potentials.AbstractPotential"
_CLASSES = {"MACE": MACE, "InvariantPotential": InvariantPotential}


def save_potential(path: str | os.PathLike[str], model: AbstractPotential,
                   provenance: dict[str, Any] | None = None) -> None:
    """Write `model` to `path` atomically, with `provenance` (JSON-able) in its header."""
    if not isinstance(model, AbstractPotential):
        raise TypeError(f"save_potential saves an AbstractPotential, got {type(model).__name__}")
    save_checkpoint(path, model, {"kind": _KIND, "config": model.describe(),
                                  "provenance": provenance or {}})


def load_potential(path: str | os.PathLike[str]) -> tuple[AbstractPotential, dict[str, Any]]:
    """The potential stored at `path` and its provenance.

    Raises:
        FileNotFoundError: no file there; `sciml.io.IntegrityError`: the file changed;
        ValueError: it holds something other than a potential.
    """

    def build(config):
        cls = _CLASSES[config.pop("class")]
        dtype = jnp.dtype(config.pop("dtype"))
        return cls(config.pop("species"), **config, dtype=dtype, key=jax.random.key(0))

    model, meta = load_configured(path, _KIND, build)
    return model, meta.get("provenance", {})


def pretrained(name: str = "cu-mace") -> tuple[AbstractPotential, dict[str, Any]]:
    """A potential shipped with sciml and its provenance: "cu-mace" / "cu-invariant" (EMT
    copper, trained by `sciml train-potentials`; the header records the command and the
    held-out errors)."""
    names = sorted(p.name.removesuffix(".ckpt") for p in
                   (resources.files("sciml.potentials") / "weights").iterdir()
                   if p.name.endswith(".ckpt"))
    if name not in names:
        raise ValueError(f"no shipped potential {name!r}; available: {names}")
    ref = resources.files("sciml.potentials") / "weights" / f"{name}.ckpt"
    with resources.as_file(ref) as path:
        return load_potential(path)
