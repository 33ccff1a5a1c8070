"""Eigen-PINN on the infinite well (cheap settings), checked against the exact eigenpairs.

The validated accuracy on all three wells (default settings) is the `quantum_wells.*`
validation cases; `tests/validation/test_quantum_well_cases.py` runs them (slow).
"""

import jax
import numpy as np
import pytest

from sciml.problems import get_problem
from sciml.solvers import (
    EigenPINNConfig,
    aligned_wavefunction,
    compare_with_exact,
    solve_eigenstate,
    solve_eigenstates,
)

CHEAP = dict(width=16, depth=2, n_colloc=32, ritz_steps=200, adam_steps=500, lbfgs_steps=300)


@pytest.fixture(scope="module")
def two_states():
    problem = get_problem("infinite_well")
    return problem, solve_eigenstates(problem, 2, config=EigenPINNConfig(**CHEAP),
                                      key=jax.random.PRNGKey(0))


def test_ground_and_first_excited_state(two_states):
    # measured: energy rel. errors 2.6e-10 and 3.2e-11, psi L2 3.5e-6 and 1.3e-6
    problem, states = two_states
    for s in states:
        err = compare_with_exact(s, problem)
        assert err["energy_rel_error"] < 1e-8, err
        assert err["psi_l2_error"] < 1e-4, err
    xq, wq = problem.quadrature(200)
    a, b = (aligned_wavefunction(s, problem, xq) for s in states)
    assert abs(np.sum(wq * a * b)) < 1e-4  # deflation kept them orthogonal


def test_history_records_every_phase(two_states):
    _, states = two_states
    h = states[0].history
    assert np.all(np.diff(h.step.values) > 0)
    assert h.step.values[-1] == CHEAP["ritz_steps"] + CHEAP["adam_steps"] + CHEAP["lbfgs_steps"]
    assert {"loss", "energy", "residual", "norm_penalty"} <= set(h.data_vars)
    assert set(h.phase.values) == {"state 1: Ritz", "state 1: Adam", "state 1: L-BFGS"}
    e = h.energy.dropna("step")
    assert abs(float(e[-1]) - states[0].energy) < 1e-12


def test_fixed_energy_mode():
    # the paper's infinite-well setting: E = π² held fixed, only ψ trains (measured 1.2e-7)
    problem = get_problem("infinite_well")
    cfg = EigenPINNConfig(**CHEAP, train_energy=False, energy=float(np.pi**2))
    s = solve_eigenstate(problem, config=cfg, key=jax.random.PRNGKey(1))
    assert s.energy == float(np.pi**2)
    assert compare_with_exact(s, problem)["psi_l2_error"] < 1e-5


def test_config_errors():
    with pytest.raises(ValueError, match="fixed-energy solve needs `energy`"):
        EigenPINNConfig(train_energy=False)
    with pytest.raises(ValueError, match="n_colloc must be >= 1"):
        EigenPINNConfig(n_colloc=0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        solve_eigenstates(get_problem("infinite_well"), 0, key=jax.random.PRNGKey(0))
