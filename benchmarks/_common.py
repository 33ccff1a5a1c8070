"""What every benchmark records: the machine, package versions, and atomic result files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine(packages=("sciml", "jax", "jaxlib", "equinox", "optax", "numpy", "scipy")) -> dict:
    """Platform, CPU count, Python and the versions of `packages` that are installed."""
    from sciml.provenance import machine as this_machine
    from sciml.provenance import versions

    return {**this_machine(), "versions": versions(packages)}


def meta(**extra) -> dict:
    """The header of a results file: command, date, machine."""
    from sciml.provenance import timestamp

    return {"command": "python " + " ".join(sys.argv),
            "date": timestamp(),
            "machine": machine(), **extra}


def _plain(o):
    """Numbers (numpy, JAX scalars) as floats; anything else (e.g. a configured callable
    such as `circular_shifts(reflection=-1)`) as its repr."""
    try:
        return float(o)
    except (TypeError, ValueError):
        return repr(o)


def write_json(path: Path, obj) -> None:
    from sciml.io import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=2, default=_plain))
