"""The Kohn–Sham SCF: energies against PySCF on the same basis, grid and guess; gradients
(implicit and unrolled) against finite differences on a variational quantity (the
energy) and a non-variational one (the dipole); degenerate orbitals; padding; bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest

from sciml.dft import AbstractFunctional, functional
from sciml.dft._neural import NeuralFunctional
from sciml.problems.molecules import (
    Molecule,
    build_system,
    h2,
    molecule,
    pad_system,
    pyscf_energy,
    stack_systems,
)
from sciml.solvers import DIIS, SCFConvergenceError, solve_scf

jax.config.update("jax_enable_x64", True)
TIGHT = DIIS(tol_energy=1e-13, tol_commutator=1e-10)


class HartreeFock(AbstractFunctional):
    """No semi-local XC, full exact exchange: the SCF is Hartree–Fock."""

    exact_exchange: float = 1.0
    is_gga: bool = False

    def energy_density(self, rho, sigma):
        return jnp.zeros(rho.shape[-1])


@pytest.fixture(scope="module")
def water():
    return build_system(molecule("H2O", "sto-3g"), grid_level=1)


@pytest.mark.parametrize("name", ["H2O", "O2"])
def test_hartree_fock_equals_pyscf(name):
    from pyscf import scf

    mol = molecule(name, "sto-3g")
    system, _ = build_system(mol, grid_level=0)
    sol = solve_scf(HartreeFock(), system)
    ref = (scf.RHF if mol.spin == 0 else scf.UHF)(mol.to_pyscf())
    ref.conv_tol = 1e-12
    assert abs(float(sol.energy) - ref.kernel()) < 1e-9
    assert sol.converged and int(sol.stats["cycles"]) < 20


@pytest.mark.parametrize("xc", ["lda", "b3lyp"])
def test_kohn_sham_equals_pyscf_on_the_same_grid(water, xc):
    system, info = water
    sol = solve_scf(functional(xc), system)
    e_ref, cycles = pyscf_energy(info, xc)
    assert abs(float(sol.energy) - e_ref) < 1e-8
    assert abs(int(sol.stats["cycles"]) - cycles) <= 1


def test_uks_open_shell_equals_pyscf():
    system, info = build_system(molecule("N", "sto-3g"), grid_level=1)
    sol = solve_scf(functional("pbe"), system)
    e_ref, _ = pyscf_energy(info, "pbe")
    assert abs(float(sol.energy) - e_ref) < 1e-8
    n_alpha = float(jnp.sum(sol.density[0] * system.overlap))
    n_beta = float(jnp.sum(sol.density[1] * system.overlap))
    assert (n_alpha, n_beta) == pytest.approx((5.0, 2.0), abs=1e-10)


def test_a_neural_functional_starts_at_its_base_and_is_spin_symmetric(water):
    """Zero-initialised last layer: exactly PBE; the energy does not change when the spins
    are swapped (its features use ζ², so RKS Fock matrices of both spins agree)."""
    system, _ = water
    neural = NeuralFunctional("pbe", key=jax.random.PRNGKey(0))
    rho = jnp.abs(jax.random.normal(jax.random.PRNGKey(1), (2, 50)))
    sigma = jnp.abs(jax.random.normal(jax.random.PRNGKey(2), (3, 50)))
    np.testing.assert_allclose(neural.energy_density(rho, sigma),
                               functional("pbe").energy_density(rho, sigma), rtol=1e-14)
    p, s = eqx.partition(neural, eqx.is_inexact_array)
    moved = eqx.combine(jax.tree.map(lambda a: a + 0.1, p), s)
    swap = moved.energy_density(rho[::-1], sigma[::-1])
    np.testing.assert_allclose(moved.energy_density(rho, sigma), swap, rtol=1e-13)
    sol = solve_scf(moved, system, restricted=False)  # UKS from a closed-shell guess
    np.testing.assert_allclose(sol.fock[0], sol.fock[1], atol=1e-8)


def test_padding_and_vmap_keep_the_energy(water):
    system, _ = water
    e = float(solve_scf(functional("lda"), system).energy)
    other, _ = build_system(h2(1.4, "sto-3g"), grid_level=1)
    e_h2 = float(solve_scf(functional("lda"), other).energy)
    stacked = stack_systems([system, other])  # H2 padded to H2O's basis and grid
    assert stacked.n_ao == system.n_ao and other.n_ao < system.n_ao
    np.testing.assert_array_equal(np.asarray(pad_system(other, system.n_ao, system.n_grid)
                                             .overlap), np.asarray(stacked.overlap[1]))
    batch = jax.vmap(lambda s: solve_scf(functional("lda"), s, restricted=True).energy)(stacked)
    np.testing.assert_allclose(np.asarray(batch), [e, e_h2], atol=1e-10)


# Slow (~60 s of compilation, twice that on a loaded machine): the two adjoints compile
# the SCF's derivative separately; run with `pytest -m slow tests/solvers/test_scf.py`.
@pytest.mark.slow
def test_implicit_and_unrolled_gradients_match_finite_differences():
    """d/dt of the energy and of the dipole along a random direction t in a neural
    functional's parameters. The dipole is not variational, so a wrong adjoint cannot hide
    behind the energy's stationarity."""
    heh = Molecule(("He", "H"), [[0, 0, 0], [0, 0, 1.46]], charge=1, basis="6-31g")
    system, _ = build_system(heh, grid_level=0)
    f0 = NeuralFunctional("pbe", width=8, depth=1, key=jax.random.PRNGKey(0))
    params, static = eqx.partition(f0, eqx.is_inexact_array)
    keys = jax.random.split(jax.random.PRNGKey(1), len(jax.tree.leaves(params)))
    leaves = jax.tree.leaves(params)
    direction = jax.tree.unflatten(jax.tree.structure(params), [
        0.2 * jax.random.normal(k, a.shape) for k, a in zip(keys, leaves, strict=True)])
    # start off the zero-output initialisation, where the derivative would be sparse
    params = jax.tree.map(lambda a, d: a + d, params, direction)

    def q(t, adjoint):
        p = jax.tree.map(lambda a, d: a + t * d, params, direction)
        sol = solve_scf(eqx.combine(p, static), system, solver=TIGHT, adjoint=adjoint,
                        restricted=True, max_steps=80)
        return jnp.stack([sol.energy, sol.dipole(system)[2]])

    h = 1e-4
    implicit_q = lambda t: q(t, None)  # noqa: E731  (the default: implicit, GMRES)
    fd = np.asarray((implicit_q(h) - implicit_q(-h)) / (2 * h))
    implicit = np.asarray(jax.jacrev(implicit_q)(0.0))
    unrolled = np.asarray(jax.jacrev(lambda t: q(t, optx.RecursiveCheckpointAdjoint()))(0.0))
    assert np.all(np.abs(fd) > 1e-4)  # a real signal in both
    np.testing.assert_allclose(implicit, fd, rtol=1e-6)
    np.testing.assert_allclose(unrolled, fd, rtol=1e-6)


@pytest.mark.slow  # ~30 s: both adjoints compiled again for N2
def test_degenerate_orbitals_have_finite_gradients():
    """N₂'s occupied π pair is exactly degenerate: eigh's own derivative is NaN there, the
    SCF differentiates only through occupied–virtual pairs."""
    system, _ = build_system(molecule("N2", "sto-3g"), grid_level=0)
    sol = solve_scf(functional("lda"), system)
    eps = np.asarray(sol.orbital_energies[0])
    assert np.min(np.abs(np.diff(eps[:7]))) < 1e-8  # a degenerate occupied pair
    def moment(scale, adjoint):
        """Tr P X² (X the x-position matrix): not variational, so P's derivative counts."""
        f = eqx.tree_at(lambda f: f.weights, functional("lda"), (scale, 1.0))
        sol = solve_scf(f, system, solver=TIGHT, adjoint=adjoint, max_steps=80)
        x = system.dipole[0]
        return jnp.sum((sol.density[0] + sol.density[1]) * (x @ x))

    h, one = 1e-4, jnp.asarray(1.0)
    fd = float((moment(one + h, None)
                - moment(one - h, None)) / (2 * h))
    for adjoint in (None, optx.RecursiveCheckpointAdjoint()):
        g = float(jax.grad(moment)(one, adjoint))
        assert np.isfinite(g) and g == pytest.approx(fd, rel=1e-6)


# --- bad input ----------------------------------------------------------------------------
def test_bad_molecules_are_refused():
    with pytest.raises(ValueError, match="unknown element 'Xx'"):
        Molecule(("Xx",), [[0, 0, 0]])
    with pytest.raises(ValueError, match="cannot have spin 2S = 0"):
        Molecule(("H",), [[0, 0, 0]])
    with pytest.raises(ValueError, match="coordinates must have shape"):
        Molecule(("H", "H"), [[0, 0, 0]])
    with pytest.raises(ValueError, match="basis 'no-such-basis' is not available"):
        Molecule(("H", "H"), [[0, 0, 0], [0, 0, 1.4]], basis="no-such-basis").to_pyscf()
    with pytest.raises(ValueError, match="unknown molecule"):
        molecule("H2Oo")


def test_odd_electrons_with_rks_are_refused():
    system, _ = build_system(molecule("N", "sto-3g"), grid_level=0)
    with pytest.raises(ValueError, match="restricted Kohn–Sham needs N_alpha = N_beta"):
        solve_scf(functional("lda"), system, restricted=True)


def test_unconverged_scf_names_its_commutator_and_energy_change(water):
    system, _ = water
    with pytest.raises(SCFConvergenceError, match=r"did not converge in 3 cycles: last max "
                       r"\|FPS − SPF\| = .* energy change"):
        solve_scf(functional("lda"), system, max_steps=3)
    sol = solve_scf(functional("lda"), system, max_steps=3, throw=False)
    assert not bool(sol.converged) and int(sol.stats["cycles"]) == 3


class _NaNBelow(AbstractFunctional):
    """LDA exchange, but NaN where the density is below 1e-3 (a broken functional)."""

    exact_exchange: float = 0.0
    is_gga: bool = False

    def energy_density(self, rho, sigma):
        n = rho[0] + rho[1]
        return jnp.where(n < 1e-3, jnp.nan, -0.7386 * jnp.abs(n) ** (4 / 3))


def test_a_functional_giving_nan_is_reported_with_the_grid_point(water):
    system, _ = water
    with pytest.raises(SCFConvergenceError, match=r"not finite at \d+ grid point.*r = \("):
        solve_scf(_NaNBelow(), system)


@pytest.mark.slow  # ~60 s: compiles the implicit adjoint under vmap
def test_stationary_energy_gradient_equals_the_implicit_one():
    """Training's shortcut: E is stationary in P at self-consistency, so the gradient with
    the converged density held fixed is the full derivative (measured 2.3e-12 relative)."""
    from sciml.problems.molecules import from_label
    from sciml.solvers import scf_energies

    f = NeuralFunctional("pbe", width=8, depth=1, key=jax.random.PRNGKey(0))
    p, s = eqx.partition(f, eqx.is_inexact_array)
    p = jax.tree.map(lambda a: a + 0.1 * jnp.sin(jnp.arange(a.size).reshape(a.shape)), p)
    f = eqx.combine(p, s)
    stacked = stack_systems([build_system(from_label(m, "6-31g"), grid_level=0)[0]
                             for m in ("H2@1.4", "HeH+")])
    def gradient(mode):
        g = eqx.filter_grad(
            lambda f: jnp.sum(scf_energies(f, stacked, gradient=mode, solver=TIGHT)))(f)
        return np.concatenate([np.ravel(x) for x in jax.tree.leaves(g)])

    grads = [gradient(mode) for mode in ("stationary", "implicit")]
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-8, atol=1e-10 * np.abs(grads[1]).max())
