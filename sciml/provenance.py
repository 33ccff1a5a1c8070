"""Where a result was made: the machine and the package versions, recorded the same way by
datasets, validation reports and benchmarks."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
from collections.abc import Iterable

# The stack a result depends on; packages not installed are left out.
PACKAGES = ("sciml", "jax", "jaxlib", "equinox", "optax", "optimistix", "lineax", "diffrax",
            "jaxtyping", "numpy", "scipy", "xarray", "h5netcdf", "h5py", "matplotlib", "pyscf",
            "ase", "e3nn-jax")


def versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """{package: version} for those of `packages` that are installed."""
    out = {}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def machine() -> dict[str, object]:
    """Platform, processor, CPU count and Python version of this machine."""
    return {"platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version()}


def timestamp() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def provenance(packages: Iterable[str] = PACKAGES) -> dict[str, object]:
    """`{"created", "machine", "versions"}`: the header of every saved result."""
    return {"created": timestamp(), "machine": machine(), "versions": versions(packages)}
