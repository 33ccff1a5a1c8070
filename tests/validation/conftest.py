"""Fixtures for the validation tests."""

import pytest

from sciml.validation.registry import Case

from .synthetic import ALL


@pytest.fixture
def synthetic_cases() -> list[Case]:
    return list(ALL)


@pytest.fixture
def patch_registry(monkeypatch):
    """Make the registry (hence `select_cases` and the CLI) see only `cases`."""
    from sciml.validation import registry

    def patch(cases: list[Case]) -> None:
        monkeypatch.setattr(registry, "all_cases", lambda: {c.name: c for c in cases})

    return patch
