"""Atomistic structures and references: LJ minima against the Cambridge Cluster Database,
EMT forces and stress against finite differences of its energy, the configuration
generator (deterministic, split by trajectory), extended XYZ, and bad input."""

import numpy as np
import pytest
from ase import Atoms

from sciml.problems import get_problem
from sciml.problems.atomistic import (
    KINDS,
    LJ_MINIMA,
    AtomicStructures,
    LennardJones,
    check_structure,
    cluster,
    emt,
    fcc_bulk,
    fcc_surface,
    generate_configurations,
    labels_of,
    lj_cluster_minimum,
    rattled,
    read_extxyz,
    reference_labels,
    split_by_trajectory,
    strained,
    trajectory_split,
    with_vacancies,
    write_extxyz,
)


@pytest.fixture(scope="module")
def cycle():
    """One cycle of the default generator (23 labelled configurations, 11 trajectories)."""
    return generate_configurations(seed=3)


def _energy(atoms, calc):
    a = atoms.copy()
    a.calc = calc
    return a.get_potential_energy()


# --- Lennard-Jones ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [7, 13, 38])
def test_lj_minima_reproduce_the_cambridge_cluster_database(n):
    m = lj_cluster_minimum(n)
    assert m.reference.kind == "literature" and "Wales" in m.reference.citation
    assert len(m.atoms) == n and not np.any(m.atoms.pbc)
    # the database gives 6 decimals: agreement to rounding
    assert abs(_energy(m.atoms, LennardJones()) - LJ_MINIMA[n]) < 1e-6
    assert m.energy == LJ_MINIMA[n]


def test_lj13_minimum_is_minus_44_326801():
    assert abs(_energy(lj_cluster_minimum(13).atoms, LennardJones()) + 44.326801) < 1e-6
    assert get_problem("lj_cluster", n=13).labels().energy == pytest.approx(-44.326801,
                                                                            abs=1e-6)
    assert lj_cluster_minimum(9).atoms is None  # an energy without a geometry builder


def test_lj_forces_are_minus_the_gradient():
    atoms = rattled(lj_cluster_minimum(13).atoms, 0.05, np.random.default_rng(0))
    forces = reference_labels(atoms, LennardJones()).forces
    h = 1e-5
    for i, k in [(0, 0), (5, 2), (12, 1)]:
        a, b = atoms.copy(), atoms.copy()
        a.positions[i, k] += h
        b.positions[i, k] -= h
        fd = -(_energy(a, LennardJones()) - _energy(b, LennardJones())) / (2 * h)
        assert fd == pytest.approx(forces[i, k], rel=1e-6, abs=1e-8)


# --- EMT ------------------------------------------------------------------------------------
def _structures():
    rng = np.random.default_rng(1)
    eps = np.array([[0.01, 0.004, -0.002], [0.004, -0.015, 0.003], [-0.002, 0.003, 0.02]])
    return {
        "strained bulk": rattled(strained(fcc_bulk("Cu", 2), eps), 0.05, rng),
        "Al vacancy": rattled(with_vacancies(fcc_bulk("Al", 2), 1, rng), 0.05, rng),
        "Ni(111) slab": rattled(fcc_surface("Ni", "111", (2, 2, 4)), 0.05, rng),
        "Cu13 cluster": rattled(cluster("Cu", 13), 0.05, rng),
    }


@pytest.mark.parametrize("name", list(_structures()))
def test_emt_forces_are_central_differences_of_the_energy(name):
    atoms = _structures()[name]
    labels = reference_labels(atoms, emt(atoms))
    np.testing.assert_allclose(labels.forces.sum(0), 0.0, atol=1e-10)  # momentum conserved
    h = 1e-5
    rng = np.random.default_rng(2)
    for i, k in zip(rng.choice(len(atoms), 4, replace=False), rng.integers(0, 3, 4),
                    strict=True):
        a, b = atoms.copy(), atoms.copy()
        a.positions[i, k] += h
        b.positions[i, k] -= h
        fd = -(_energy(a, emt()) - _energy(b, emt())) / (2 * h)
        assert fd == pytest.approx(labels.forces[i, k], rel=1e-6, abs=1e-8), (i, k)


def test_emt_stress_is_the_strain_derivative_of_the_energy():
    atoms = _structures()["strained bulk"]
    labels = reference_labels(atoms, emt(atoms))
    assert labels.has_stress and labels.stress.shape == (3, 3)
    np.testing.assert_allclose(labels.stress, labels.stress.T, atol=1e-14)
    volume, h = atoms.get_volume(), 1e-5
    for i, j in [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)]:
        e = np.zeros((3, 3))
        e[i, j] = e[j, i] = h if i == j else h / 2  # an off-diagonal pair: dE/dh = V σ_ij
        de = _energy(strained(atoms, e), emt()) - _energy(strained(atoms, -e), emt())
        assert de / (2 * h) / volume == pytest.approx(labels.stress[i, j], rel=1e-6,
                                                       abs=1e-9), (i, j)


def test_stress_only_for_fully_periodic_cells():
    s = _structures()
    for name, has in [("strained bulk", True), ("Ni(111) slab", False),
                      ("Cu13 cluster", False)]:
        labels = reference_labels(s[name], emt())
        assert labels.has_stress is has
        if not has:
            assert np.all(labels.stress == 0)


def test_registered_emt_problem_rebuilds_the_same_structure():
    p = get_problem("emt", metal="Al", kind="vacancy", seed=4)
    assert p.reference.kind == "analytic"
    a, b = p.build(), get_problem("emt", **p.params).build()
    assert len(a) == 31 and np.array_equal(a.positions, b.positions)
    assert a.get_chemical_symbols() == ["Al"] * 31


# --- the configuration generator -------------------------------------------------------------
def test_cycle_kinds_labels_and_info(cycle):
    problem = AtomicStructures()
    assert len(cycle) == problem.samples_per_cycle == 23
    kinds = [a.info["kind"] for a in cycle]
    assert set(kinds) == set(KINDS) - {"other"}
    sizes = {a.info["kind"]: len(a) for a in cycle}
    assert sizes["vacancy"] == 31 and sizes["md"] == 32 and max(map(len, cycle)) == 108
    md = [a for a in cycle if a.info["kind"] == "md"]
    assert sorted({a.info["temperature"] for a in md}) == [300.0, 600.0, 1200.0]
    assert [a.info["frame"] for a in md] == [0, 1, 2, 3, 4] * 3
    assert {a.info["temperature"] for a in cycle if a.info["kind"] != "md"} == {0.0}
    for a in cycle:
        labels = labels_of(a)
        assert labels.has_stress == bool(np.all(a.pbc))
        np.testing.assert_allclose(labels.forces.sum(0), 0.0, atol=1e-10)
        check_structure(a)
    # strains stay within the generator's 3 %
    cells = [a.cell[:] for a in cycle if a.info["kind"] == "strain" and len(a) == 32]
    a0 = fcc_bulk("Cu", 2).cell[0, 0]
    for c in cells:
        assert np.max(np.abs(c / a0 - np.eye(3))) <= 0.03 + 1e-12


def test_samples_depend_only_on_seed_stream_index(cycle):
    problem = AtomicStructures()
    some = problem.configurations(3, 0, [21, 4, 10])  # an MD frame alone, out of order
    for a, i in zip(some, [21, 4, 10], strict=True):
        assert np.array_equal(a.positions, cycle[i].positions)
        assert a.get_potential_energy() == cycle[i].get_potential_energy()
        assert a.info == cycle[i].info
    other = problem.configurations(3, 1, [0])[0]  # the test stream: other trajectories
    assert other.info["trajectory"] == 1_000_000
    assert not np.array_equal(other.positions, cycle[0].positions)
    assert problem.locate(23) == (11, 0) and problem.locate(22) == (10, 4)


def test_split_by_trajectory_never_splits_a_trajectory(cycle):
    parts = split_by_trajectory(cycle, (0.6, 0.2, 0.2), seed=1)
    ids = [{a.info["trajectory"] for a in p} for p in parts]
    assert all(ids) and not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert sum(map(len, parts)) == len(cycle)
    # every frame of a trajectory goes where its trajectory goes
    for p, s in zip(parts, ids, strict=True):
        for t in s:
            assert sum(a.info["trajectory"] == t for a in p) == sum(
                a.info["trajectory"] == t for a in cycle)


def test_trajectory_split_shares_and_errors():
    ids = np.repeat(np.arange(200), 5)  # 200 trajectories of 5 frames
    train, val, test = trajectory_split(ids, (0.8, 0.1, 0.1), seed=0)
    assert len(train) == 800 and len(val) == 100 and len(test) == 100
    assert not set(ids[train]) & set(ids[test])
    again = trajectory_split(ids, (0.8, 0.1, 0.1), seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(again, (train, val, test), strict=True))
    with pytest.raises(ValueError, match="add up to 1"):
        trajectory_split(ids, (0.8, 0.1))
    with pytest.raises(ValueError, match="2 trajectories cannot fill 3 splits"):
        trajectory_split([0, 0, 1], (0.5, 0.25, 0.25))
    with pytest.raises(ValueError, match=r"have no info\['trajectory'\]"):
        split_by_trajectory([Atoms("Cu")])


# --- extended XYZ ---------------------------------------------------------------------------
def test_extxyz_round_trip(cycle, tmp_path):
    path = tmp_path / "cu.xyz"
    write_extxyz(path, cycle)
    assert [p.name for p in tmp_path.iterdir()] == ["cu.xyz"]  # no temporary left behind
    back = read_extxyz(path)
    assert len(back) == len(cycle)
    for a, b in zip(cycle, back, strict=True):
        la, lb = labels_of(a), labels_of(b)
        assert lb.energy == la.energy and lb.has_stress == la.has_stress
        np.testing.assert_allclose(lb.forces, la.forces, atol=1e-8)  # 8 decimals per atom
        np.testing.assert_allclose(lb.stress, la.stress, rtol=1e-15)
        np.testing.assert_allclose(b.positions, a.positions, atol=1e-8)
        np.testing.assert_array_equal(b.pbc, a.pbc)
        assert {k: b.info[k] for k in ("trajectory", "kind", "temperature", "frame")} == {
            k: a.info[k] for k in ("trajectory", "kind", "temperature", "frame")}
    with pytest.raises(FileNotFoundError, match="directory .* does not exist"):
        write_extxyz(tmp_path / "missing" / "x.xyz", cycle[:1])
    with pytest.raises(ValueError, match="structure 0: no energy"):
        write_extxyz(tmp_path / "bare.xyz", [fcc_bulk("Cu", 1)])


def _write_plain(path, frames):
    from ase.io import write

    write(path, frames, format="extxyz")


def test_extxyz_reader_names_the_frame_and_the_fix(cycle, tmp_path):
    with pytest.raises(FileNotFoundError, match="no extended-XYZ file at .*nope.xyz"):
        read_extxyz(tmp_path / "nope.xyz")
    garbage = tmp_path / "garbage.xyz"
    garbage.write_text("3\nnot a comment line\nCu 0 0\n")
    with pytest.raises(ValueError, match="cannot be read as extended XYZ"):
        read_extxyz(garbage)

    no_energy = tmp_path / "no_energy.xyz"
    bare = cycle[1].copy()
    bare.arrays["forces"] = cycle[1].get_forces()
    _write_plain(no_energy, [cycle[0], bare])
    with pytest.raises(ValueError, match=r"no_energy.xyz, frame 1: no energy.*energy_key="):
        read_extxyz(no_energy)

    nan = tmp_path / "nan.xyz"
    bad = cycle[2].copy()
    forces = cycle[2].get_forces().copy()
    forces[7, 1] = np.nan
    from ase.calculators.singlepoint import SinglePointCalculator

    bad.calc = SinglePointCalculator(bad, energy=1.0, forces=forces)
    _write_plain(nan, [cycle[0], cycle[1], bad])
    with pytest.raises(ValueError, match=r"nan.xyz, frame 2: NaN or infinite forces on atoms "
                                         r"\[7\]; drop this structure or relabel it"):
        read_extxyz(nan)

    # labels under other keys (as many DFT data sets store them)
    ref = tmp_path / "ref.xyz"
    a = Atoms(cycle[0].numbers, cycle[0].positions, cell=cycle[0].cell, pbc=True)
    a.info["REF_energy"] = -1.5
    a.arrays["REF_forces"] = np.zeros((len(a), 3))
    _write_plain(ref, [a])
    with pytest.raises(ValueError, match="no energy"):
        read_extxyz(ref)
    (got,) = read_extxyz(ref, energy_key="REF_energy", forces_key="REF_forces")
    assert got.get_potential_energy() == -1.5 and not labels_of(got).has_stress


# --- bad input ------------------------------------------------------------------------------
def test_unknown_metals_and_elements_list_the_supported_ones():
    with pytest.raises(ValueError, match="unknown metal 'Fe' for EMT; supported fcc metals: Ag, "
                                         "Al, Au, Cu, Ni, Pd, Pt"):
        fcc_bulk("Fe")
    with pytest.raises(ValueError, match="EMT has no parameters for Fe; supported elements"):
        emt(Atoms("CuFe", positions=[[0, 0, 0], [2.5, 0, 0]]))
    with pytest.raises(ValueError, match="unknown metal 'Fe'"):
        AtomicStructures(metal="Fe")
    with pytest.raises(ValueError, match="unknown metal"):
        get_problem("emt", metal="W")
    with pytest.raises(ValueError, match="unknown structure kind 'liquid'"):
        get_problem("emt", kind="liquid")
    with pytest.raises(ValueError, match="no geometry for LJ8"):
        get_problem("lj_cluster", n=8)
    with pytest.raises(ValueError, match="no literature minimum for LJ20; known sizes"):
        lj_cluster_minimum(20)


def test_bad_strains_and_vacancies():
    atoms = fcc_bulk("Cu", 1)
    with pytest.raises(ValueError, match="strain is not symmetric.*symmetric part"):
        strained(atoms, [[0, 0.01, 0], [0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match=r"strain too large: max \|ε_ij\| = 0.2 > 0.1"):
        strained(atoms, 0.2 * np.eye(3))
    assert len(strained(atoms, 0.2 * np.eye(3), limit=0.25)) == 4
    with pytest.raises(ValueError, match="3x3 matrix"):
        strained(atoms, np.zeros(6))
    with pytest.raises(ValueError, match="cannot make 4 vacancies in a structure of 4 atoms"):
        with_vacancies(atoms, 4, np.random.default_rng(0))


def test_bad_structures_are_refused_before_labelling():
    atoms = fcc_bulk("Cu", 2)
    nan = atoms.copy()
    nan.positions[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite positions of atoms \[3\]"):
        reference_labels(nan, emt())
    close = atoms.copy()
    close.positions[1] = close.positions[0] + [0.1, 0.2, 0.0]
    with pytest.raises(ValueError, match="1 pairs of atoms closer than 0.5 Å .atoms 0 and 1 at "
                                         "0.224 Å"):
        check_structure(close)
    # overlapping only through the periodic boundary
    image = Atoms("Cu2", positions=[[0.1, 1, 1], [3.5, 1, 1]], cell=[3.7, 3.7, 3.7], pbc=True)
    with pytest.raises(ValueError, match="periodic images included"):
        check_structure(image)
    image.pbc = False
    image.cell = np.zeros((3, 3))
    check_structure(image)  # 3.4 Å apart without the images
    slab = fcc_surface("Cu", "100", (2, 2, 3))
    slab.positions[0, 2] = slab.cell[2, 2] + 1.0
    with pytest.raises(ValueError, match=r"atoms \[0\] lie outside the cell along its "
                                         r"non-periodic axes \[2\]"):
        check_structure(slab)
    with pytest.raises(ValueError, match="exact Lennard-Jones sum is for non-periodic"):
        reference_labels(atoms, LennardJones())
