"""DCDM and its network: the multigrid pieces against their definitions, the solver against
scipy, its outcomes, gradients through the solve, bad input, training and stored networks."""

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sciml.io import IntegrityError
from sciml.precond import Level, MultigridNetwork, load_network, pretrained, prolong, restrict
from sciml.precond import save_network as save
from sciml.problems import linear_systems as ls
from sciml.solvers import CG, DCDM, RESULTS, DCDMTrainingConfig, JacobiPCG, train_dcdm

solve = eqx.filter_jit(lambda op, b, solver, throw=True: lx.linear_solve(op, b, solver,
                                                                          throw=throw))


@pytest.fixture(scope="module")
def network():
    return MultigridNetwork(key=jax.random.key(0))


def level_of(system, dtype=jnp.float64):
    st = system.stencil(dtype)
    return Level(st.weights, st.dirichlet, st.fluid)


def test_level_is_the_systems_operator():
    system = ls.layout("mixed", 16, seed=3)
    x = np.random.default_rng(0).standard_normal(system.shape) * system.fluid
    np.testing.assert_allclose(level_of(system).mv(jnp.asarray(x)),
                               system.operator().mv(jnp.asarray(x)), rtol=1e-13, atol=1e-13)


def test_coarse_level_is_half_the_galerkin_product():
    """Coarse A = ½ Pᵀ A P for piecewise-constant P, on a grid with obstacles and Dirichlet,
    Neumann and solid faces: couplings summed across aggregates, not guessed."""
    fine = level_of(ls.layout("walls", 16, seed=1))
    coarse = fine.coarsen()
    rng = np.random.default_rng(1)
    for _ in range(3):
        u = jnp.asarray(rng.standard_normal(coarse.shape)) * coarse.active
        pc = jnp.repeat(jnp.repeat(jnp.repeat(u, 2, 0), 2, 1), 2, 2) * fine.active
        galerkin = 0.5 * restrict(fine.mv(pc))
        np.testing.assert_allclose(jnp.where(coarse.active, coarse.mv(u), 0),
                                   jnp.where(coarse.active, galerkin, 0), atol=1e-12)


def test_prolongation_is_linear_interpolation_inside():
    x = (np.arange(8) + 0.5) / 8
    u = jnp.asarray(np.add.outer(np.add.outer(x, 2 * x), -x))  # linear in each axis
    fine = np.asarray(prolong(u, jnp.ones(u.shape, bool)))
    xf = (np.arange(16) + 0.5) / 16
    exact = np.add.outer(np.add.outer(xf, 2 * xf), -xf)
    np.testing.assert_allclose(fine[1:-1, 1:-1, 1:-1], exact[1:-1, 1:-1, 1:-1], atol=1e-12)


def test_dcdm_reaches_the_exact_solution_and_beats_jacobi_pcg(network):
    # 16³ (measured 9 steps against Jacobi-PCG's 132): two grid levels compile faster than 32³
    system = ls.layout("spheres", 16, seed=1000)
    exact, b = ls.manufactured(system, seed=2)  # b = A u*: the discrete solution is known
    op = system.operator()
    sol = solve(op, jnp.asarray(b), DCDM(network, rtol=1e-8, max_steps=60))
    x = np.asarray(sol.value)
    assert np.linalg.norm(b - np.asarray(op.mv(sol.value))) <= 1e-8 * np.linalg.norm(b)
    assert np.linalg.norm(x - exact) <= 1e-5 * np.linalg.norm(exact)  # κ·rtol
    assert np.all(x[~system.fluid] == 0)
    steps = int(sol.stats["num_steps"])
    history = np.asarray(sol.stats["residuals"])
    assert history[0] == pytest.approx(1.0) and history[steps] <= 1e-8
    assert np.all(np.isnan(history[steps + 1:]))
    jac = solve(op, jnp.asarray(b), JacobiPCG(rtol=1e-8, max_steps=3000))
    np.testing.assert_allclose(jac.value, exact, rtol=0, atol=1e-5 * np.abs(exact).max())
    assert steps * 10 <= int(jac.stats["num_steps"])


def test_out_of_steps_is_returned(network):
    system = ls.layout("boxes", 16, seed=1001)
    b = jnp.asarray(ls.smoke_rhs(system, seed=0))
    sol = solve(system.operator(), b, DCDM(network, rtol=1e-12, max_steps=2), throw=False)
    assert RESULTS.promote(sol.result) == RESULTS.max_steps_reached
    assert int(sol.stats["num_steps"]) == 2


# 4 s (a second compiled solve, throw=True). Raising on `max_steps_reached` is lineax's, the
# same for every solver: tests/solvers/test_cg.py::test_max_steps_returns_or_raises_as_asked
# checks it by default; DCDM's part, the result, is test_out_of_steps_is_returned.
@pytest.mark.slow
def test_out_of_steps_raises(network):
    system = ls.layout("boxes", 16, seed=1001)
    b = jnp.asarray(ls.smoke_rhs(system, seed=0))
    with pytest.raises(Exception, match="maximum number of solver steps"):
        solve(system.operator(), b, DCDM(network, rtol=1e-12, max_steps=2))


def test_gradient_through_the_solve_matches_finite_differences(network):
    """d/dθ of cᵀx(θ), x solving (A + θ·E) x = b + θ·g: lineax's implicit adjoint with DCDM
    (solving the tangent and adjoint systems too) at rtol = 1e-6, against central differences
    of sparse direct solves, to 10× the solve tolerance."""
    system = ls.layout("mixed", 16, seed=1002)
    st = system.stencil()
    rng = np.random.default_rng(4)
    b = ls.smoke_rhs(system, seed=1)
    g = rng.standard_normal(system.shape) * system.fluid
    c = rng.standard_normal(system.shape) * system.fluid
    rtol = 1e-6

    def scalar(theta):
        stencil = eqx.tree_at(lambda s: s.dirichlet, st, st.dirichlet * (1 + theta))
        op = ls.PoissonOperator(stencil)
        rhs = jnp.asarray(b) + theta * jnp.asarray(g)
        x = lx.linear_solve(op, rhs, DCDM(network, rtol=rtol, max_steps=80)).value
        return jnp.vdot(jnp.asarray(c), x)

    a = system.matrix(reduced=True).tocsc()
    e = sp.diags(system.restrict(np.asarray(st.dirichlet)))

    def direct(theta):
        x = spla.spsolve((a + theta * e).tocsc(), system.restrict(b + theta * g))
        return system.restrict(c) @ x

    grad = float(jax.jit(jax.grad(scalar))(0.1))
    eps = 1e-4
    fd = (direct(0.1 + eps) - direct(0.1 - eps)) / (2 * eps)  # O(eps²) ~ 1e-8 relative
    assert grad == pytest.approx(fd, rel=10 * rtol)


def test_bad_input_is_named(network):
    # the grid and solver settings of test_dcdm_reaches_the_exact_solution_and_beats_jacobi_pcg
    # (filter_jit holds Python numbers static), so these two solves reuse its compiled ones
    system = ls.layout("spheres", 16, seed=1003)
    op, b = system.operator(), jnp.asarray(ls.smoke_rhs(system, seed=0))
    # checked inside jit (eqx.error_if), so a runtime error, naming the right-hand side
    with pytest.raises(RuntimeError, match="right-hand side has NaN or infinite"):
        solve(op, b.at[3, 3, 3].set(jnp.nan), DCDM(network, rtol=1e-8, max_steps=60))
    with pytest.raises(RuntimeError, match="right-hand side has NaN or infinite"):
        solve(op, b.at[3, 3, 3].set(jnp.inf), JacobiPCG(rtol=1e-8, max_steps=3000))
    untagged = lx.FunctionLinearOperator(system.operator().mv, op.in_structure())
    with pytest.raises(ValueError, match="symmetric positive"):
        lx.linear_solve(untagged, b, DCDM(network, rtol=1e-6))
    nonsym = lx.MatrixLinearOperator(jnp.array([[2.0, 1.0], [0.0, 2.0]]),
                                     (lx.symmetric_tag, lx.positive_semidefinite_tag))
    with pytest.raises(RuntimeError, match="not symmetric"):  # tagged, but not so
        lx.linear_solve(nonsym, jnp.ones(2), JacobiPCG(rtol=1e-6))
    rect = lx.MatrixLinearOperator(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="square"):
        lx.linear_solve(rect, jnp.ones(2), JacobiPCG(rtol=1e-6))
    plain = lx.MatrixLinearOperator(jnp.eye(4), (lx.symmetric_tag,
                                                 lx.positive_semidefinite_tag))
    with pytest.raises(TypeError, match="stencil"):
        lx.linear_solve(plain, jnp.ones(4), DCDM(network, rtol=1e-6))
    net2 = MultigridNetwork(2, channels=0, key=jax.random.key(0))  # no convolutions to draw
    with pytest.raises(ValueError, match="2-D, the system's grid is 3-D"):
        lx.linear_solve(op, b, DCDM(net2, rtol=1e-6))
    odd = ls.layout("empty", 18, seed=0)  # 18 -> 9: odd and above coarsest = 8
    with pytest.raises(ValueError, match="does not fit this network"):
        lx.linear_solve(odd.operator(), jnp.asarray(ls.smoke_rhs(odd)), DCDM(network, 1e-6))
    with pytest.raises(ValueError, match="no fluid cells"):
        ls.PoissonSystem(np.zeros((8, 8, 8), bool))
    with pytest.raises(TypeError, match="MultigridNetwork"):
        DCDM(lambda r: r, rtol=1e-6)
    with pytest.raises(ValueError, match="rtol > 0"):
        DCDM(network, rtol=0.0)


def test_saved_network_loads_bit_for_bit_and_refuses_changes(tmp_path):
    net = MultigridNetwork(channels=4, key=jax.random.key(3))
    path = tmp_path / "net.ckpt"
    save(path, net, {"note": "test"})
    loaded, provenance = load_network(path)
    assert provenance == {"note": "test"} and loaded.channels == 4
    assert all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(net),
                                                   jax.tree.leaves(loaded), strict=True))
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        load_network(path)


@pytest.mark.slow
def test_training_lowers_the_loss_reproducibly():
    config = DCDMTrainingConfig(n=16, systems=2, rhs_per_system=1, residual_steps=1,
                                steps=20, batch_size=4, learning_rate=1e-2)
    net = MultigridNetwork(key=jax.random.key(0))
    a = train_dcdm(net, config, seed=0, log_every=10)
    b = train_dcdm(net, config, seed=0, log_every=10)
    loss = a.history["loss"].values
    assert loss[-1] < loss[0]
    assert all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a.model),
                                                   jax.tree.leaves(b.model), strict=True))


def test_pretrained_network_serves_held_out_layouts():
    net = pretrained()
    assert net.ndim == 3 and net.dtype == jnp.float32
    # 16³ and the solver settings of test_dcdm_reaches_the_exact_solution_and_beats_jacobi_pcg,
    # whose network has the shipped one's structure: the DCDM solve reuses its compiled one
    # (measured: 8 steps against CG's 155)
    system = ls.layout("walls", 16, seed=1004)
    b = jnp.asarray(ls.smoke_rhs(system, seed=3))
    dcdm = solve(system.operator(), b, DCDM(net, rtol=1e-8, max_steps=60))
    cg = solve(system.operator(), b, CG(rtol=1e-8, max_steps=3000))
    assert 5 * int(dcdm.stats["num_steps"]) <= int(cg.stats["num_steps"])


@pytest.mark.slow
def test_dcdm_at_256_cubed():
    """16.8 M unknowns: DCDM with the shipped network reaches 1e-6 in at most 1.5× its
    128³ steps (7–8 in benchmarks/results/dcdm_vs_baselines-full.md)."""
    system = ls.layout("mixed", 256, seed=1000)
    b = jnp.asarray(ls.smoke_rhs(system, seed=1000))
    sol = solve(system.operator(), b, DCDM(pretrained(), rtol=1e-6, max_steps=40))
    r = np.linalg.norm(np.asarray(b - system.operator().mv(sol.value))) / np.linalg.norm(b)
    assert r <= 1e-6 and int(sol.stats["num_steps"]) <= 12


@pytest.mark.slow
def test_quick_validation_case_passes():
    from sciml.validation.cases.linear_systems import CASES

    outcome = next(c for c in CASES if c.name == "linear_systems.dcdm.quick").run()
    assert all(check.passed for check in outcome.checks), outcome.checks
    assert set(outcome.data.solver.values) == {"DCDM", "CG", "Jacobi-PCG"}
