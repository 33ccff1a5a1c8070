"""Validation cases: what runs, which reference it is checked against, and how tightly.

A `Case` names a problem and a `run` function. `run` returns an `Outcome` holding one or
more `Check`s (a metric, the error measured, the tolerance it must meet), the figures to
put in the report, and the data behind them as an `xarray.Dataset` so notebooks can
re-plot without re-running. The registry is filled in one place: `validation/cases/`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SUITES = ("quick", "full")


@dataclass(frozen=True)
class Check:
    """One metric compared with its tolerance: passes when `0 <= error <= tolerance`.

    An error measure is a finite number >= 0: a NaN, infinite or negative error never
    passes, and `invalid` says why (a negative error is a bug in the metric, not a pass).
    """

    metric: str
    error: float
    tolerance: float

    @property
    def invalid(self) -> str | None:
        """Why `error` is not a usable error measure (NaN, infinite, negative), else None."""
        error = float(self.error)
        if math.isnan(error):
            return "the error is NaN; an error measure is a finite number >= 0"
        if math.isinf(error):
            return "the error is infinite; an error measure is a finite number >= 0"
        if error < 0:
            return f"the error is negative ({error:.3g}); an error measure is >= 0"
        return None

    @property
    def passed(self) -> bool:
        return self.invalid is None and float(self.error) <= float(self.tolerance)


@dataclass
class Outcome:
    """What a case's `run` returns.

    Attributes:
        checks: the metrics with their tolerances (at least one).
        figures: name -> matplotlib Figure; written as `<case>-<name>.png`.
        data: arrays behind the figures (xarray.Dataset), written as `<case>.nc`.
        info: short key/value facts for the report (sizes, steps, solver settings).
    """

    checks: list[Check]
    figures: dict[str, Any] = field(default_factory=dict)
    data: Any = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """A registered validation case.

    Attributes:
        name: unique, lowercase with dots/underscores (e.g. `quantum_wells.finite_well.ground`).
        problem: the problem's registered name.
        description: one line for the report.
        run: callable returning an `Outcome`; it runs under float64 (the runner enables it).
        suites: suites the case belongs to; every `quick` case also belongs to `full`.
        precision: the floating-point precision the case runs in.
    """

    name: str
    problem: str
    description: str
    run: Callable[[], Outcome]
    suites: tuple[str, ...] = ("full",)
    precision: str = "float64"

    def __post_init__(self):
        unknown = set(self.suites) - set(SUITES)
        if unknown:
            raise ValueError(f"case {self.name!r}: unknown suites {sorted(unknown)}; use {SUITES}")
        if "quick" in self.suites and "full" not in self.suites:
            object.__setattr__(self, "suites", (*self.suites, "full"))


def all_cases() -> dict[str, Case]:
    """Every registered case by name (imports the case modules on first call)."""
    from sciml.validation.cases import CASES

    names = [c.name for c in CASES]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise RuntimeError(f"duplicate validation case names: {sorted(dupes)}")
    return {c.name: c for c in CASES}


def select_cases(suite: str = "quick", only: list[str] | None = None) -> list[Case]:
    """Cases of `suite`, optionally restricted to names in `only` (or names starting with one).

    Raises:
        ValueError: unknown suite, or a name in `only` that matches no case.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")
    cases = all_cases()
    if only:
        chosen = []
        for pattern in only:
            hits = [c for n, c in cases.items() if n == pattern or n.startswith(pattern + ".")]
            if not hits:
                raise ValueError(
                    f"no validation case named {pattern!r}; known cases: {', '.join(sorted(cases))}"
                )
            chosen.extend(h for h in hits if h not in chosen)
        return chosen
    return [c for c in cases.values() if suite in c.suites]
