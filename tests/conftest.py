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
