"""Training histories as `xarray.Dataset`s over `step`."""

from __future__ import annotations

import numpy as np
import xarray as xr


def history_dataset(rows: list[dict[str, float]], phase: str = "") -> xr.Dataset:
    """Turn logged rows `{step, loss, ...}` into an `xarray.Dataset` over `step`."""
    steps = np.array([r["step"] for r in rows], dtype=np.int64)
    names = sorted({k for r in rows for k in r} - {"step"})
    data = {
        k: ("step", np.array([r.get(k, np.nan) for r in rows], dtype=np.float64)) for k in names
    }
    ds = xr.Dataset(data, coords={"step": steps})
    ds["phase"] = ("step", np.array([phase] * len(steps), dtype=object).astype(str))
    return ds


def concat_histories(*histories: xr.Dataset) -> xr.Dataset:
    """Join histories of successive phases (e.g. Adam then L-BFGS) into one timeline.

    Each history counts its steps (and `elapsed_s`, if present) from 0, as `fit` does;
    they are shifted by the last values of the histories before it.
    """
    parts, offset, elapsed = [], 0, 0.0
    for h in histories:
        if h.sizes.get("step", 0) == 0:
            continue
        h = h.assign_coords(step=h["step"].values + offset)
        if "elapsed_s" in h:
            h["elapsed_s"] = h["elapsed_s"] + elapsed
            elapsed = float(h["elapsed_s"].values[-1])
        parts.append(h)
        offset = int(h["step"].values[-1])
    return xr.concat(parts, dim="step") if parts else xr.Dataset(coords={"step": []})
