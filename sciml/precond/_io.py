"""Saving and loading DCDM networks without pickle (sealed `sciml.io` checkpoints).

The file holds the parameters, the network's configuration (`MultigridNetwork.describe`) and
whatever provenance the caller adds (the training command and its numbers); `load_network`
rebuilds the network from the configuration and verifies every checksum before use.
`pretrained()` is the small network shipped with the package (`weights/dcdm-3d.ckpt`, made by
`sciml train-dcdm`; its header records how).
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

import jax
import jax.numpy as jnp

from sciml.io import load_configured, save_checkpoint
from sciml.precond._network import MultigridNetwork

_KIND = "sciml.precond.MultigridNetwork"
PRETRAINED = "dcdm-3d.ckpt"


def save_network(path: str | os.PathLike[str], network: MultigridNetwork,
                 provenance: dict[str, Any] | None = None) -> None:
    """Write `network` to `path` atomically, with `provenance` (JSON-able) in its header."""
    if not isinstance(network, MultigridNetwork):
        raise TypeError(f"save_network saves a MultigridNetwork, got {type(network).__name__}")
    save_checkpoint(path, network, {"kind": _KIND, "config": network.describe(),
                                    "provenance": provenance or {}})


def load_network(path: str | os.PathLike[str]) -> tuple[MultigridNetwork, dict[str, Any]]:
    """The network stored at `path` and its provenance.

    Raises:
        FileNotFoundError: no file there; `sciml.io.IntegrityError`: the file changed;
        ValueError: it holds something other than a `MultigridNetwork`.
    """

    def build(config):
        dtype = jnp.dtype(config.pop("dtype"))
        return MultigridNetwork(**config, dtype=dtype, key=jax.random.key(0))

    network, meta = load_configured(path, _KIND, build)
    return network, meta.get("provenance", {})


def pretrained() -> MultigridNetwork:
    """The 3-D network shipped with sciml (trained at 32³ on layouts of the training seeds)."""
    ref = resources.files("sciml.precond") / "weights" / PRETRAINED
    with resources.as_file(ref) as path:
        return load_network(path)[0]
