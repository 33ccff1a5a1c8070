"""Test configuration: float64 everywhere, and fresh PRNG keys."""

import jax
import pytest

# Tests compare with exact references, so they run in float64. This is the test entry
# point; library modules never flip global config themselves.
jax.config.update("jax_enable_x64", True)


@pytest.fixture
def getkey():
    """A function returning a fresh `jax.random.PRNGKey` on each call, split from seed 0."""
    key = jax.random.PRNGKey(0)

    def _getkey():
        nonlocal key
        key, subkey = jax.random.split(key)
        return subkey

    return _getkey


@pytest.fixture(scope="session")
def _well_solves():
    return {}


@pytest.fixture
def shared_well_solves(monkeypatch, _well_solves):
    """`solve_well` (the eigen-PINN solve behind the quantum-well validation cases and the
    `python -m sciml.problems.quantum_wells` script) computed once per session for each set
    of arguments: the script's test and the CLI case's test both solve the infinite well's
    ground state with the default settings (deterministic, ~10 s), and each checks its own
    wiring of the result. Copies are returned, so no test sees another's changes."""
    from sciml.validation.cases import quantum_wells

    solve = quantum_wells.solve_well

    def cached(name, n_states=1, *, seed=0, progress=False, **config):
        key = (name, n_states, seed, tuple(sorted(config.items())))
        if key not in _well_solves:
            _well_solves[key] = solve(name, n_states, seed=seed, progress=progress, **config)
        return _well_solves[key].copy(deep=True)

    monkeypatch.setattr(quantum_wells, "solve_well", cached)
