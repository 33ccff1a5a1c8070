"""Every registered problem is a `Problem` of exactly one family, and keeps its family's
contract: built with default parameters, exercised cheaply."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from sciml.problems import Problem, Reference, get_problem, problem_names
from sciml.problems.atomistic import AtomisticProblem
from sciml.problems.molecules import ElectronicStructureProblem
from sciml.problems.operator_learning import OperatorLearningProblem
from sciml.problems.pde import PDEProblem
from sciml.problems.quantum_wells import QuantumWell

FAMILIES = (QuantumWell, PDEProblem, OperatorLearningProblem, ElectronicStructureProblem,
            AtomisticProblem)


def _real(v) -> bool:
    return (
        isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool)
        and math.isfinite(v)
    )


@pytest.fixture(scope="module", params=problem_names())
def problem(request):
    return get_problem(request.param)


def test_problem_and_one_family(problem):
    assert isinstance(problem, Problem)
    assert sum(isinstance(problem, f) for f in FAMILIES) == 1, type(problem).__mro__
    assert problem.name in problem_names()
    assert isinstance(problem.reference, Reference)


def test_params_are_real_numbers_and_rebuild_the_problem(problem):
    params = problem.params
    assert isinstance(params, dict) and all(isinstance(k, str) for k in params)
    for key, value in params.items():
        ok = _real(value) or (isinstance(value, str) and value) or (
            isinstance(value, tuple) and value and all(_real(x) for x in value)
        )
        assert ok, f"{problem.name}: parameter {key} = {value!r} is not a real number or a name"
    assert get_problem(problem.name, **params).params == params


def test_abstract_bases_cannot_be_built():
    for base in (Problem, *FAMILIES):
        with pytest.raises(TypeError, match="abstract"):
            base()


def _check_quantum_well(p: QuantumWell):
    e = p.energies(2)
    assert e.shape == (2,) and np.all(np.isfinite(e)) and e[0] < e[1]
    x, w = p.quadrature(48)
    assert np.all((x > 0) & (x < p.L)) and w.sum() == pytest.approx(p.L, rel=1e-13)
    psi = p.eigenfunction(1, x)
    assert np.sum(w * psi**2) == pytest.approx(1.0, abs=1e-12)
    assert np.all((p.breakpoints > 0) & (p.breakpoints < p.L))
    v = np.asarray(p.potential(x))
    assert v.shape == x.shape and np.all(np.isfinite(v))
    # -ψ'' + Vψ = Eψ at the nodes (away from the jumps of V)
    lhs = -p.eigenfunction(1, x, derivative=2) + v * psi
    np.testing.assert_allclose(lhs, e[0] * psi, atol=1e-8 * e[0])


def _check_pde(p: PDEProblem):
    x = np.asarray(p.domain.sample_qmc(4, seed=0))
    assert x.shape == (4, p.dim) and len(p.variables) == p.dim
    u = p.solution(x)
    assert u.shape == (4,) and np.all(np.isfinite(u))
    try:
        exact = p.exact(jnp.asarray(x[0]))
    except NotImplementedError:
        return  # numerical reference: no closed form whose residual to take
    assert float(exact) == pytest.approx(u[0], rel=1e-12, abs=1e-14)
    centre = 0.5 * (np.asarray(p.domain.lower) + np.asarray(p.domain.upper))  # peak's centre
    for point in [*x, centre]:
        r = float(p.residual(p.exact, jnp.asarray(point)))
        assert abs(r) < 1e-8, f"{p.name}: residual of the exact solution {r:.2e}"


def _check_operator(p: OperatorLearningProblem):
    assert p.input != p.output and p.dims and p.resolutions
    n = min(p.resolutions)
    assert p.grid(n).shape == (n,)
    data = p.sample(0, [1, 0], stream=1, resolutions=(n,))
    assert set(data) == {n} and set(data[n]) == {p.input, p.output}
    for v in data[n].values():
        assert v.shape == (2, *p.shape(n)) and v.dtype == np.float64
        assert np.all(np.isfinite(v))
    # per-sample determinism: sample 0 alone has the same bits as in the batch
    alone = p.sample(0, [0], stream=1, resolutions=(n,))
    np.testing.assert_array_equal(alone[n][p.output][0], data[n][p.output][1])


def test_family_contract(problem):
    if isinstance(problem, QuantumWell):
        _check_quantum_well(problem)
    elif isinstance(problem, PDEProblem):
        _check_pde(problem)
    elif isinstance(problem, ElectronicStructureProblem):
        _check_molecule(problem)
    elif isinstance(problem, AtomisticProblem):
        _check_atomistic(problem)
    else:
        _check_operator(problem)


def _check_molecule(p: ElectronicStructureProblem):
    from sciml.problems.molecules import KohnSham

    small = KohnSham("H2", p.xc, "sto-3g", grid_level=0)  # the default's contract, cheaply
    system, info = small.build()
    assert system.n_ao == info.n_ao == 2 and system.weights.shape == (info.n_grid,)
    assert float(system.weights.sum()) > 0 and np.all(np.isfinite(system.ao))
    energy, cycles = small.reference_energy(info)
    assert -1.2 < energy < -1.0 and cycles >= 1


def _check_atomistic(p: AtomisticProblem):
    atoms = p.build()
    labels = p.labels()
    assert len(atoms) > 1 and np.all(np.isfinite(atoms.positions))
    assert np.isfinite(labels.energy) and labels.forces.shape == (len(atoms), 3)
    assert labels.stress.shape == (3, 3) and labels.has_stress == bool(np.all(atoms.pbc))
    # both references conserve momentum: the forces add up to zero
    np.testing.assert_allclose(labels.forces.sum(0), 0.0, atol=1e-10)
