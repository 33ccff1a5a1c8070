"""What every benchmark records: the machine, package versions, and atomic result files."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine(packages=("sciml", "jax", "jaxlib", "equinox", "optax", "numpy", "scipy")) -> dict:
    """Platform, CPU count, Python and the versions of `packages` that are installed."""
    versions = {}
    for pkg in packages:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return dict(platform=platform.platform(), processor=platform.machine(),
                cpu_count=os.cpu_count(), python=platform.python_version(), versions=versions)


def meta(**extra) -> dict:
    """The header of a results file: command, date, machine."""
    return {"command": "python " + " ".join(sys.argv),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": machine(), **extra}


def write_json(path: Path, obj) -> None:
    from sciml.io import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=2, default=float))
