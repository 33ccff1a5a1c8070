"""Synthetic validation cases: fast, no training, covering every way a case can end."""

import math

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from sciml.validation.registry import Case, Check, Outcome


def make_figure() -> Figure:
    # A bare Figure (no pyplot) keeps the tests free of global matplotlib state.
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot([0.0, 1.0], [0.0, 1.0])
    return fig


def make_dataset() -> xr.Dataset:
    x = np.linspace(0.0, 1.0, 17)
    return xr.Dataset(
        {"psi": ("x", np.sin(np.pi * x), {"units": "1", "meta": {"sign": "fixed"}})},
        coords={"x": x},
        attrs={
            "energy_exact": 1.5,
            "nested": {"a": 1, "b": [1.0, 2.0]},
            "flag": True,
            "nothing": None,
            "sizes": [3, 4],
            "names": ["ground", "first"],
        },
    )


def passing_run() -> Outcome:
    return Outcome(
        checks=[Check("energy_rel", 1e-8, 1e-6), Check("psi_l2", np.float64(2e-5), 1e-4)],
        figures={"wavefunction": make_figure()},
        data=make_dataset(),
        info={"n_collocation": 64, "learning_rate": 1e-3},
    )


def failing_run() -> Outcome:
    return Outcome(checks=[Check("energy_rel", 1e-2, 1e-6)])


def raising_run() -> Outcome:
    raise RuntimeError("boom")


def nan_run() -> Outcome:
    return Outcome(checks=[Check("psi_l2", math.nan, 1.0)], info={"note": "diverged"})


PASS = Case(
    "synthetic.pass",
    "synthetic_problem",
    "A case within tolerance (error < tolerance & more).",
    passing_run,
    suites=("quick",),
)
FAIL = Case("synthetic.fail", "synthetic_problem", "A case out of tolerance.", failing_run)
RAISE = Case("synthetic.raise", "other_problem", "A case that raises.", raising_run)
NAN = Case("synthetic.nan", "other_problem", "NaN error.", nan_run, precision="float32")

ALL = [PASS, FAIL, RAISE, NAN]
