"""One vocabulary for what every loop returns: iterative solves give lineax's or
optimistix's `Solution` (`value`, `result`, `stats`), training loops a `TrainingResult`
(`model`, `history`, `stats`, `wall_time_s`, `result`). `RESULTS` extends optimistix's (and
so lineax's) outcomes; `RESULTS.promote(item)` lifts theirs into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optimistix as optx
import xarray as xr


class RESULTS(optx.RESULTS):  # pyright: ignore
    """Outcomes of every solver and loop in `sciml.solvers`."""

    successful = ""
    nonfinite_loss = (
        "The training loss became NaN or infinite: lower the learning rate, check the data "
        "for NaN, or rescale the loss terms."
    )
    buffer_overflow = (
        "A fixed-capacity buffer overflowed (a padded batch or a neighbour list): raise its "
        "capacity."
    )
    uncertified = (
        "The solution's a posteriori certificate (residual norm and gap bounds) misses its "
        "tolerances: it may still be accurate, but nothing shows it; train longer, widen the "
        "network or add collocation nodes, or loosen the tolerances."
    )


@dataclass(kw_only=True)
class TrainingResult:
    """What a training loop returns.

    Attributes:
        model: the trained model (the loop's value).
        history: `xarray.Dataset` over `step` (or `epoch`): `loss`, `elapsed_s` (wall seconds
            since the call started, compilation included) and every logged term or metric.
        wall_time_s: seconds spent in the call, compilation included.
        result: a `RESULTS` item; `RESULTS.successful` unless the loop was told not to raise
            (`throw=False`) and failed.
        stats: loop-specific numbers (steps, chunk times, loop kind, devices...).
    """

    model: Any
    history: xr.Dataset
    wall_time_s: float
    result: Any = field(default_factory=lambda: RESULTS.successful)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def successful(self) -> bool:
        return bool(self.result == RESULTS.successful)
