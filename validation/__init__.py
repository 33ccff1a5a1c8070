"""Validation against exact references: the case registry, the runner and its reports.

`sciml validate` (see `sciml.cli`) is the usual entry point; `run_cases` is the same from
Python. Cases are registered in one place, `sciml.validation.cases`.
"""

from sciml.validation.registry import SUITES, Case, Check, Outcome, all_cases, select_cases
from sciml.validation.runner import Interrupted, Report, ReportError, run_cases

__all__ = [
    "SUITES",
    "Case",
    "Check",
    "Interrupted",
    "Outcome",
    "Report",
    "ReportError",
    "all_cases",
    "run_cases",
    "select_cases",
]
