"""Molecules, their PySCF integrals and grid as a PyTree, and the reference energies."""

import jax.numpy as jnp
import numpy as np
import pytest

from sciml.problems.molecules import (
    BOHR_PER_ANGSTROM,
    EXACT,
    Molecule,
    MoleculeEnergies,
    basis_set_error,
    build_system,
    correlated_energy,
    from_label,
    h2,
    molecule,
)


def test_molecule_units_and_electron_counts():
    m = Molecule.from_angstrom(("O", "O"), [[0, 0, 0], [0, 0, 1.2075]], spin=2)
    assert m.coordinates[1, 2] == pytest.approx(1.2075 * BOHR_PER_ANGSTROM, rel=1e-15)
    assert (m.n_electrons, m.n_alpha, m.n_beta, m.formula) == (16, 9, 7, "O2")
    assert molecule("CH4").formula == "CH4" and from_label("HeH+").charge == 1
    with pytest.raises(TypeError, match="sequence of element symbols"):
        Molecule("OH", [[0, 0, 0], [0, 0, 1]])


@pytest.fixture(scope="module")
def water():
    return build_system(molecule("H2O", "6-31g*"), grid_level=3)


def test_system_integrals_and_grid_are_consistent(water):
    system, info = water
    s, x = np.asarray(system.overlap), np.asarray(system.orthogonaliser)
    np.testing.assert_allclose(x.T @ s @ x, np.eye(info.n_ao), atol=1e-12)
    # the grid integrates AO products to the analytic overlap, and the guess to N electrons
    ao, w = np.asarray(system.ao[0]), np.asarray(system.weights)
    np.testing.assert_allclose(ao.T @ (w[:, None] * ao), s, atol=2e-5)
    rho = np.einsum("gi,sij,gj->g", ao, np.asarray(system.dm0), ao)
    electrons = float(np.sum(np.asarray(system.dm0).sum(0) * s))  # PySCF's minao guess: ≈ 10
    assert float(w @ rho) == pytest.approx(electrons, abs=1e-5) and abs(electrons - 10) < 0.05
    assert info.n_grid == info.pyscf_grids.weights.size == system.weights.size
    assert tuple(np.asarray(system.n_electrons)) == (5, 5)
    assert float(system.nuclear_repulsion) == pytest.approx(9.19496, abs=1e-4)  # 104.52°, 0.9572 Å


def test_density_fitting_is_an_option():
    exact, _ = build_system(h2(1.4, "cc-pvdz"), grid_level=0)
    fitted, _ = build_system(h2(1.4, "cc-pvdz"), grid_level=0, density_fit=True)
    assert fitted.eri is None and exact.cderi is None
    from sciml.solvers import coulomb_exchange

    dm = exact.dm0
    e_j = [float(0.5 * jnp.sum((dm[0] + dm[1]) * coulomb_exchange(s, dm)[0]))
           for s in (exact, fitted)]
    assert e_j[1] == pytest.approx(e_j[0], rel=1e-4)  # the fitting error of J


def test_exact_references_and_basis_set_errors():
    """Variational: every finite-basis FCI lies above the basis-limit energy, by tens of
    mHa in small bases (the basis-set error the references state)."""
    assert EXACT["H"].energy == -0.5 and EXACT["He"].reference.kind == "literature"
    e_he, method = correlated_energy(molecule("He", "cc-pvdz"))
    assert method == "fci" and 0 < basis_set_error("He", e_he) < 0.02
    e_h2, _ = correlated_energy(h2(1.4, "cc-pvdz"))
    assert 0 < basis_set_error("H2@1.4", e_h2) < 0.02
    e_h, _ = correlated_energy(molecule("H", "6-31g*"), "hf")  # one electron: HF is exact
    assert 0 < basis_set_error("H", e_h) < 0.005
    with pytest.raises(ValueError, match="no exact energy"):
        basis_set_error("Li", -7.4)


def test_molecule_energies_dataset_is_cached_with_its_command(tmp_path):
    from sciml.datasets import load

    ds = load("molecule_energies", n_train=2, n_test=1, cache_dir=tmp_path)
    assert list(ds.fci.values) == [1, 1, 1] and ds.sizes["atom"] == 5
    direct = correlated_energy(from_label(MoleculeEnergies.TEST[0], "6-31g"))[0]
    assert float(ds.energy.values[2]) == pytest.approx(direct, abs=1e-10)
    assert np.all(ds.energy.values < ds.hf_energy.values)
    assert "load('molecule_energies', n_train=2, n_test=1" in ds.attrs["command"]
    with pytest.raises(ValueError, match="has 5 molecules"):
        load("molecule_energies", n_train=6, n_test=1, cache_dir=tmp_path)
