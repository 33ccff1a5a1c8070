"""Interatomic potentials (InvariantPotential, MACE): forces and stresses against finite
differences, rotation/translation/permutation symmetry, periodic images, batching and
padding, JAX neighbour lists against vesin, bad input, and the ASE calculator. float64.

Every structure is padded to `N_PAD` atoms with `CAP` neighbour slots, so each model
compiles `predict` for one graph shape (the batch test adds a second)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.cluster import Octahedron
from ase.optimize import BFGS
from scipy.spatial.transform import Rotation

from sciml.potentials import (
    MACE,
    InvariantPotential,
    NeighbourOverflowError,
    NeighbourSpec,
    SciMLCalculator,
    batch_graphs,
    check_overflow,
    graph_from_atoms,
    neighbour_list,
    predict,
)

jax.config.update("jax_enable_x64", True)
# e3nn-jax's spherical harmonics call a deprecated JAX function; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

R_CUT, CAP, N_PAD = 4.0, 24, 32  # Å; fcc Cu has 18 neighbours within 4 Å
SPECIES = (29, 28)
PREDICT = eqx.filter_jit(lambda m, g: predict(m, g, forces=True, stress=True))


def _model(kind, scale=None):
    """Tiny random models. MACE's random readout is ~20x weaker than the invariant
    model's (forces ~1e-3 eV/Å), so its scale is 20: forces of 0.01–0.3 eV/Å in both."""
    if kind == "invariant":
        return InvariantPotential(SPECIES, r_cut=R_CUT, channels=4, layers=2, l_max=2,
                                  n_basis=4, radial_width=8, scale=scale or 1.0,
                                  key=jax.random.PRNGKey(0))
    return MACE(SPECIES, r_cut=R_CUT, channels=4, layers=2, max_ell=1, hidden_l=1,
                correlation=3, n_basis=4, radial_width=8, scale=scale or 20.0,
                product="gaunt" if kind == "mace_gaunt" else "cg", key=jax.random.PRNGKey(1))


@pytest.fixture(scope="module", params=["invariant", "mace"])
def model(request):
    return _model(request.param)


def graph(atoms, model, n_atoms=N_PAD):
    return batch_graphs([atoms], model.species, model.r_cut, capacity=CAP, n_atoms=n_atoms)


def run(model, atoms, n_atoms=N_PAD):
    """energy (float), forces (n, 3), stress (3, 3) of one structure, as numpy."""
    out = jax.device_get(PREDICT(model, graph(atoms, model, n_atoms)))
    return float(out["energy"][0]), out["forces"][: len(atoms)], out["stress"][0]


def cu_cell(seed=1):
    """The conventional 4-atom fcc cell, sheared (triclinic), one Ni, rattled."""
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
    atoms.set_cell(atoms.cell[:] @ (np.eye(3) + [[0, 0.03, 0], [0, 0, -0.02], [0.04, 0, 0]]),
                   scale_atoms=True)
    atoms.numbers[1] = 28
    atoms.rattle(0.05, seed=seed)
    return atoms


def cu_bulk(seed=2):
    """32 atoms: the sheared cell repeated twice, rattled again."""
    atoms = cu_cell().repeat(2)
    atoms.numbers[[5, 20]] = 28
    atoms.rattle(0.05, seed=seed)
    return atoms


def cluster(seed=3):
    """A 19-atom octahedron, isolated (no cell), one Ni, rattled."""
    c = Octahedron("Cu", 3)
    atoms = Atoms(c.numbers, c.positions)
    atoms.numbers[0] = 28
    atoms.rattle(0.05, seed=seed)
    return atoms


def prim_cell():
    """The 1-atom fcc primitive cell: height 2.08 Å, below the 4 Å cut-off."""
    return bulk("Cu", "fcc", a=3.61)


# --- 1. forces and stress are derivatives of the energy ----------------------------------------


@pytest.mark.parametrize("make", [cu_bulk, cluster], ids=["bulk", "cluster"])
def test_forces_are_minus_the_energy_gradient(model, make):
    atoms = make()
    g = graph(atoms, model)
    _, forces, _ = run(model, atoms)
    energy = lambda x: float(PREDICT(model, eqx.tree_at(lambda t: t.positions, g, x))
                             ["energy"][0])
    h, x0 = 1e-4, g.positions
    scale = np.abs(forces).max()
    assert scale > 1e-2  # a test with non-trivial forces
    for i, d in [(0, 0), (1, 2), (7, 1), (len(atoms) - 1, 2)]:
        fd = -(energy(x0.at[i, d].add(h)) - energy(x0.at[i, d].add(-h))) / (2 * h)
        # central differences: truncation O(h² E''') ≈ 1e-9, rounding ≈ 1e-12 eV/Å
        assert abs(fd - forces[i, d]) <= 1e-6 * scale, (i, d, fd, forces[i, d])


def test_stress_is_the_strain_derivative_over_volume(model):
    atoms = cu_bulk()
    g = graph(atoms, model)
    _, _, stress = run(model, atoms)
    volume = atoms.get_volume()

    def energy(eps):  # x -> x (1 + ε), cell -> cell (1 + ε), rows as vectors
        eps = jnp.asarray(eps)
        x = g.positions + g.positions @ eps
        strained = eqx.tree_at(lambda t: (t.positions, t.cells), g,
                               (x, g.cells + g.cells @ eps))
        return float(PREDICT(model, strained)["energy"][0])

    h = 1e-5
    scale = np.abs(stress).max()
    assert scale > 1e-4
    assert np.allclose(stress, stress.T, atol=1e-12 * scale)
    for a, b in [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]:
        e = np.zeros((3, 3))
        e[a, b] += h / 2
        e[b, a] += h / 2
        fd = (energy(e) - energy(-e)) / (2 * h) / volume
        assert abs(fd - stress[a, b]) <= 1e-6 * scale, (a, b, fd, stress[a, b])


# --- 2. symmetry --------------------------------------------------------------------------------


def _rotated(atoms, R):
    out = atoms.copy()
    out.positions = atoms.positions @ R.T
    if atoms.pbc.any():
        out.set_cell(atoms.cell[:] @ R.T, scale_atoms=False)
    return out


@pytest.mark.parametrize("make", [cu_bulk, cluster], ids=["bulk", "cluster"])
def test_rotations_translations_permutations(model, make):
    atoms = make()
    e, f, s = run(model, atoms)
    tol_e, tol_f = 1e-10 * max(abs(e), 1.0), 1e-10 * np.abs(f).max()
    R = Rotation.random(random_state=0).as_matrix()
    mirror = np.diag([1.0, -1.0, 1.0]) @ R  # improper: E(3) invariance includes parity
    for Q in (R, mirror):
        er, fr, sr = run(model, _rotated(atoms, Q))
        assert abs(er - e) <= tol_e
        assert np.abs(fr - f @ Q.T).max() <= tol_f
        if atoms.pbc.all():
            assert np.abs(sr - Q @ s @ Q.T).max() <= 1e-10 * np.abs(s).max()
    moved = atoms.copy()
    moved.positions += [5.3, -7.1, 2.2]  # periodic: atoms leave the cell (unwrapped)
    et, ft, _ = run(model, moved)
    assert abs(et - e) <= tol_e and np.abs(ft - f).max() <= tol_f
    perm = np.random.default_rng(0).permutation(len(atoms))
    ep, fp, _ = run(model, atoms[perm])
    assert abs(ep - e) <= tol_e and np.abs(fp - f[perm]).max() <= tol_f


# --- 3. periodic images -------------------------------------------------------------------------


def test_gaunt_product_model_has_exact_forces_and_symmetries():
    """The Gaunt-grid MACE (product="gaunt") on the same checks as the others: forces and
    stress = derivatives, invariance/equivariance, periodic images."""
    gaunt = _model("mace_gaunt")
    test_forces_are_minus_the_energy_gradient(gaunt, cu_bulk)
    test_stress_is_the_strain_derivative_over_volume(gaunt)
    test_rotations_translations_permutations(gaunt, cluster)
    test_supercell_has_the_same_energy_per_atom(gaunt, prim_cell)


@pytest.mark.parametrize("make", [cu_cell, prim_cell], ids=["cubic", "primitive"])
def test_supercell_has_the_same_energy_per_atom(model, make):
    atoms = make()
    big = atoms.repeat(2)
    e, f, s = run(model, atoms)
    eb, fb, sb = run(model, big)
    assert abs(eb / len(big) - e / len(atoms)) <= 1e-10 * abs(e / len(atoms))
    assert np.abs(fb - np.tile(f, (8, 1))).max() <= 1e-10 + 1e-10 * np.abs(f).max()
    assert np.abs(sb - s).max() <= 1e-10 * np.abs(s).max()
    if make is prim_cell:  # the atom is its own neighbour, through images
        nb, sh, m = neighbour_list(atoms.positions, atoms.cell[:], atoms.pbc, R_CUT)
        assert m.sum() == 18 and np.all(nb[m] == 0)


# --- 4. batching and padding --------------------------------------------------------------------


def test_batch_equals_each_structure_alone(model):
    structures = [cu_cell(), cluster(), prim_cell()]  # 4 + 19 + 1 atoms, padded to 32
    g = batch_graphs(structures, model.species, model.r_cut, capacity=CAP, n_atoms=N_PAD)
    out = jax.device_get(PREDICT(model, g))
    start = 0
    for k, atoms in enumerate(structures):
        e, f, s = run(model, atoms)
        n = len(atoms)
        assert abs(out["energy"][k] - e) <= 1e-12 * max(abs(e), 1.0)
        assert np.abs(out["forces"][start:start + n] - f).max() <= 1e-12
        if atoms.pbc.all():
            assert np.abs(out["stress"][k] - s).max() <= 1e-12
        else:
            assert np.all(np.isnan(out["stress"][k]))  # no cell, no stress
        start += n
    assert np.all(out["forces"][start:] == 0)


def test_padding_changes_nothing_and_has_finite_gradients(model):
    atoms = cluster()
    e, f, _ = run(model, atoms)
    e0, f0, _ = run(model, atoms, n_atoms=None)  # unpadded
    assert abs(e - e0) <= 1e-12 * abs(e0) and np.abs(f - f0).max() <= 1e-12

    g = graph(atoms, model)  # 13 padding atoms, all at the origin

    @eqx.filter_jit
    @eqx.filter_grad
    def grads(args):  # a training-like loss: energies and forces
        m, positions = args
        out = predict(m, eqx.tree_at(lambda t: t.positions, g, positions))
        return out["energy"].sum() + jnp.sum(out["forces"] ** 2)

    gm, gx = grads((model, g.positions))
    leaves = jax.tree.leaves(eqx.filter(gm, eqx.is_inexact_array))
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in leaves)
    assert bool(jnp.all(jnp.isfinite(gx))) and bool(jnp.all(gx[len(atoms):] == 0))


# --- 5. JAX neighbour lists against vesin ---------------------------------------------------------


def _pairs(nb, sh, mask):
    nb, sh, mask = np.asarray(nb), np.rint(np.asarray(sh)).astype(int), np.asarray(mask)
    i, k = np.nonzero(mask)
    return {(int(a), int(nb[a, b]), *map(int, sh[a, b])) for a, b in zip(i, k, strict=True)}


def _compare(atoms, r_list, capacity, cell_list):
    spec = NeighbourSpec(atoms.cell[:], atoms.pbc, r_list, capacity, len(atoms))
    assert (spec.grid is not None) == cell_list
    nl = jax.jit(spec.build)(jnp.asarray(atoms.positions), jnp.asarray(atoms.cell[:]))
    ref = neighbour_list(atoms.positions, atoms.cell[:], atoms.pbc, r_list)
    assert not bool(nl.overflow) and int(nl.max_count) == ref[2].sum(1).max()
    assert _pairs(nl.neighbours, nl.shifts, nl.mask) == _pairs(*ref)


def test_all_pairs_search_equals_vesin():
    atoms = cu_cell()  # heights ≈ 3.5 Å < 5.5 Å: all pairs over ±2 images
    atoms.positions[2] += 0.4 * atoms.cell[0] - 0.3 * atoms.cell[2]  # a little outside
    _compare(atoms, 5.5, 96, cell_list=False)


def test_all_pairs_search_with_unwrapped_atoms_equals_vesin():
    atoms = cu_cell()
    atoms.positions[0] += 2 * atoms.cell[0] - atoms.cell[1]  # an MD trajectory's unwrapped atom
    _compare(atoms, 5.5, 96, cell_list=False)


def test_cell_list_equals_vesin_with_unwrapped_atoms():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(6)  # 21.7 Å: 3 cells of 5.5 Å
    atoms.rattle(0.1, seed=4)
    rng = np.random.default_rng(0)
    atoms.positions[:40] += rng.integers(-2, 3, (40, 3)) @ atoms.cell[:]
    _compare(atoms, 5.5, 96, cell_list=True)


@pytest.mark.filterwarnings("error:scatter inputs have incompatible types:FutureWarning")
def test_cell_list_has_no_dtype_promotion_warning():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(5)  # a shape not traced elsewhere
    spec = NeighbourSpec(atoms.cell[:], atoms.pbc, 5.5, 96, len(atoms))
    assert spec.grid == (3, 3, 3)
    jax.jit(spec.build)(jnp.asarray(atoms.positions), jnp.asarray(atoms.cell[:]))


@pytest.mark.parametrize("cell_list", [False, True])
def test_overflow_sets_the_flag_and_raises_under_jit(cell_list):
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(6 if cell_list else 1)
    x, c = jnp.asarray(atoms.positions), jnp.asarray(atoms.cell[:])
    spec = NeighbourSpec(atoms.cell[:], atoms.pbc, 5.5, 20, len(atoms))
    assert (spec.grid is not None) == cell_list
    nl = jax.jit(spec.build)(x, c)
    assert bool(nl.overflow) and int(nl.max_count) == 54  # shells of 12, 6, 24, 12
    with pytest.raises(Exception, match="neighbour list overflow.*capacity 20"):
        jax.block_until_ready(jax.jit(lambda x, c: check_overflow(spec.build(x, c), 20))(x, c))
    if cell_list:  # a full cell of the cell list is an overflow too
        tight = NeighbourSpec(atoms.cell[:], atoms.pbc, 5.5, 96, len(atoms), cell_capacity=8)
        assert bool(jax.jit(tight.build)(x, c).overflow)
    with pytest.raises(NeighbourOverflowError,
                       match="54 neighbours within 5.5 Å, more than the capacity 20"):
        neighbour_list(atoms.positions, atoms.cell[:], atoms.pbc, 5.5, capacity=20)


# --- 6. bad input ---------------------------------------------------------------------------------


def test_unknown_element_is_named():
    atoms = cu_cell()
    atoms.numbers[0] = 79
    with pytest.raises(ValueError, match=r"\['Au'\] not in the model's species \['Cu', 'Ni'\]"):
        graph_from_atoms(atoms, SPECIES, R_CUT)
    atoms.calc = SciMLCalculator(_model("invariant"))
    with pytest.raises(ValueError, match="Au.*not in the model's species"):
        atoms.get_potential_energy()


def test_bad_positions_are_refused():
    pair = Atoms("Cu2", [[0, 0, 0], [0.3, 0, 0]])
    with pytest.raises(ValueError, match=r"atoms 0 and 1 overlap \(0.300 Å apart"):
        graph_from_atoms(pair, SPECIES, R_CUT)
    boxed = Atoms("Cu2", [[1, 1, 1], [11, 2, 2]], cell=[10, 10, 10], pbc=False)
    with pytest.raises(ValueError, match="atom 1 .* outside the non-periodic box"):
        graph_from_atoms(boxed, SPECIES, R_CUT)
    nan = cu_cell()
    nan.positions[2, 1] = np.nan
    with pytest.raises(ValueError, match="atom 2 has a non-finite position"):
        graph_from_atoms(nan, SPECIES, R_CUT)
    with pytest.raises(NeighbourOverflowError, match="raise the neighbour capacity"):
        graph_from_atoms(cu_cell(), SPECIES, R_CUT, capacity=4)
    calc_atoms = cu_cell()
    calc_atoms.calc = SciMLCalculator(_model("invariant"), capacity=4)
    with pytest.raises(NeighbourOverflowError):
        calc_atoms.get_forces()


# --- 7. the ASE calculator ------------------------------------------------------------------------


def test_calculator_equals_predict_in_voigt_order(model):
    atoms = cu_bulk()
    e, f, s = run(model, atoms)
    atoms.calc = SciMLCalculator(model, capacity=CAP)
    assert abs(atoms.get_potential_energy() - e) <= 1e-12 * abs(e)
    assert np.abs(atoms.get_forces() - f).max() <= 1e-12
    voigt = atoms.get_stress()  # ASE: xx yy zz yz xz xy
    assert np.abs(voigt - s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]).max() <= 1e-14
    assert np.abs(atoms.get_stress(voigt=False) - s).max() <= 1e-14
    assert len(set(np.round(voigt[3:], 8))) == 3  # sheared cell: distinct shear stresses


def test_bfgs_relaxes_a_vacancy_with_the_calculator():
    """BFGS (fmax 0.01 eV/Å) on a 31-atom vacancy cell. A random model alone has no
    short-range repulsion (tried: 12 random models collapse atoms below 0.5 Å or start
    converged), so EMT is added through ASE's `SumCalculator`: the random model's forces
    (≈0.1 eV/Å) shift EMT's minimum, and BFGS must balance them."""
    from ase.calculators.emt import EMT
    from ase.calculators.mixing import SumCalculator

    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    del atoms[0]
    atoms.rattle(0.02, seed=5)
    sciml = SciMLCalculator(_model("invariant"), capacity=CAP)
    atoms.calc = SumCalculator([EMT(), sciml])
    e0 = atoms.get_potential_energy()
    opt = BFGS(atoms, logfile=None)
    assert opt.run(fmax=0.01, steps=100) and opt.nsteps >= 3
    assert np.linalg.norm(atoms.get_forces(), axis=1).max() < 0.01
    assert atoms.get_potential_energy() < e0
    model_forces = sciml.get_forces(atoms)
    assert np.linalg.norm(model_forces, axis=1).max() > 0.02  # the model mattered
    assert np.abs(model_forces + EMT().get_forces(atoms)).max() < 0.01
