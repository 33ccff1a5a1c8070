"""The one registry of problems, filled in one place."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any


def _builders() -> dict[str, Callable[..., Any]]:
    # Imported here so that importing the registry stays cheap.
    from sciml.problems import atomistic, molecules, operator_learning, pde
    from sciml.problems.quantum_wells import FiniteBarrier, FiniteWell, InfiniteWell

    return {
        "poisson_1d": pde.Poisson1D,
        "poisson_2d": pde.Poisson2D,
        "helmholtz_2d": pde.Helmholtz2D,
        "peak": pde.Peak,
        "nonlinear_elliptic": pde.NonlinearElliptic,
        "burgers": pde.Burgers,
        "allen_cahn": pde.AllenCahn,
        "infinite_well": InfiniteWell,
        "finite_well": FiniteWell,
        "finite_barrier": FiniteBarrier,
        "darcy": operator_learning.DarcyFlow,
        "burgers_periodic": operator_learning.BurgersPeriodic,
        "antiderivative": operator_learning.Antiderivative,
        "kohn_sham": molecules.KohnSham,
        "emt": atomistic.EMTStructure,
        "lj_cluster": atomistic.LJCluster,
    }


def problem_names() -> list[str]:
    """Names accepted by `get_problem`, sorted."""
    return sorted(_builders())


def get_problem(name: str, **params: Any) -> Any:
    """Build the problem registered as `name` with `params` (its keyword arguments).

    Raises:
        KeyError: `name` is not registered; the message lists the known names.
    """
    builders = _builders()
    if name not in builders:
        close = difflib.get_close_matches(name, builders, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(
            f"unknown problem {name!r}.{hint} Known problems: {', '.join(sorted(builders))}."
        )
    return builders[name](**params)
