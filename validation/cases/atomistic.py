"""Interatomic potentials against EMT copper: held-out errors, energy conservation in MD,
relaxation through the ASE calculator.

Data: the `atomic_structures` dataset (EMT Cu: strained and rattled bulk, vacancies,
(111)/(100) slabs, clusters, Langevin MD at 300/600/1200 K). Training and validation sets are
stream 0, split by trajectory (never by frame); the test set is stream 1 (other
trajectories). Models train in float32 on the one training driver and are evaluated in
float64. The trained weights ship in `sciml/potentials/weights/` (`pretrained`), with the
command and errors in their header; the quick case evaluates them instead of retraining.
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from sciml.validation.registry import Case, Check, Outcome

N_TRAIN, N_TEST = 460, 46          # 20 and 2 cycles of the generator
R_CUT = 5.5                        # Å: EMT Cu reaches the 4th shell (5.1 Å), to 5.27 Å
MAX_TRAIN_ATOMS = 64
ENERGY_MAE, FORCES_MAE = 2.0, 30.0  # meV/atom, meV/Å (the equivariant model's targets)
HELD_OUT_KINDS = ("bulk", "vacancy", "surface")
MODELS = {
    # name: (class, constructor arguments, training steps, batch size)
    "cu-mace": ("MACE", dict(channels=32, hidden_l=0, max_ell=3, correlation=3, layers=2),
                7000, 4),
    "cu-invariant": ("InvariantPotential", dict(channels=32, layers=3, l_max=3), 3000, 4),
}
COMMAND = "sciml train-potentials --out sciml/potentials/weights"


def data(n_train: int = N_TRAIN, n_test: int = N_TEST):
    """(train, validation, test) labelled `ase.Atoms` lists of the Cu dataset."""
    from sciml.datasets import load, train_test_split
    from sciml.problems.atomistic import split_by_trajectory, to_atoms

    ds = load("atomic_structures", n_train=n_train, n_test=n_test)
    train, test = train_test_split(ds)
    if n_train == 0:
        return [], [], to_atoms(test)
    tr, va, _ = split_by_trajectory(to_atoms(train), (0.9, 0.1, 0.0))
    # padded batches cost their largest possible size: train on the cells of up to 38 atoms
    # (4 per batch, no padding waste) and test on every size, the 108-atom cells included
    small = lambda atoms: [a for a in atoms if len(a) <= MAX_TRAIN_ATOMS]
    return small(tr), small(va), to_atoms(test)


def as_float64(model):
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    return jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x,
                        model)


def test_errors(model, test) -> dict[str, dict[str, float]]:
    """Errors per structure kind, over bulk+vacancy+surface and over everything
    (`structure_errors`, float64, one pass)."""
    from sciml.solvers import structure_errors, structures_to_ragged, summarise_errors

    errors = structure_errors(model, structures_to_ragged(test, model.species, R_CUT))
    kinds = [a.info["kind"] for a in test]
    out = {"all": summarise_errors(errors)}
    for k in sorted(set(kinds)):
        out[k] = summarise_errors(errors, [i for i, x in enumerate(kinds) if x == k])
    out["bulk+vacancy+surface"] = summarise_errors(
        errors, [i for i, x in enumerate(kinds) if x in HELD_OUT_KINDS])
    return out


def train(name: str, steps: int | None = None, progress: bool = False):
    """Train model `name` of `MODELS` on the Cu data; returns (model float64, result,
    test errors, parameter count)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from sciml import potentials
    from sciml.solvers import (
        PotentialTrainingConfig,
        fit_statistics,
        structures_to_ragged,
        train_potential,
    )

    cls, kwargs, default_steps, batch = MODELS[name]
    tr, va, te = data()
    table = (29,)
    dtr = structures_to_ragged(tr, table, R_CUT, dtype=np.float32)
    dva = structures_to_ragged(va, table, R_CUT, dtype=np.float32)
    stats = fit_statistics(dtr, len(table))
    model = getattr(potentials, cls)(table, r_cut=R_CUT, **kwargs, e0=stats["e0"],
                                     scale=stats["scale"], avg_neighbours=stats["avg_neighbours"],
                                     key=jax.random.PRNGKey(0), dtype=jnp.float32)
    n_params = int(sum(x.size for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array))))
    steps = steps or default_steps
    config = PotentialTrainingConfig(steps=steps, batch_size=batch, learning_rate=1e-2,
                                     decay=0.02, energy_weight=30.0, forces_weight=1.0,
                                     stress_weight=10.0, ema_decay=0.995,
                                     log_every=min(100, steps))
    res = train_potential(model, dtr, config=config, validation=dva, progress=progress)
    m64 = as_float64(res.model)
    return m64, res, test_errors(m64, te), n_params, (len(tr), len(va), len(te))


def train_and_save(out_dir, names=tuple(MODELS), steps: int | None = None) -> dict:
    """Train the shipped models and write them (float32) with their provenance."""
    from pathlib import Path

    from sciml.potentials import save_potential

    report = {}
    for name in names:
        model, res, errors, n_params, sizes = train(name, steps, progress=True)
        prov = {"command": COMMAND, "data": f"atomic_structures n_train={N_TRAIN} "
                f"n_test={N_TEST} (train/validation by trajectory: {sizes[0]}/{sizes[1]}; "
                f"test {sizes[2]} from stream 1)", "steps": res.step,
                "training_s": round(res.wall_time_s, 1), "parameters": n_params,
                "test_errors": errors, "units": "meV/atom, meV/Å, meV/Å³"}
        save_potential(Path(out_dir) / f"{name}.ckpt", res.model, prov)
        report[name] = prov
    return report


# --- cases -------------------------------------------------------------------------------------


def _table(rows: dict) -> xr.Dataset:
    names = list(rows)
    keys = ("energy_mae", "forces_mae", "energy_rmse", "forces_rmse")
    kinds = list(next(iter(rows.values()))["test_errors"])
    return xr.Dataset(
        {k: (("model", "kind"), [[rows[n]["test_errors"][kd].get(k, np.nan) for kd in kinds]
                                 for n in names]) for k in keys}
        | {"parameters": ("model", [rows[n]["parameters"] for n in names]),
           "training_s": ("model", [rows[n]["training_s"] for n in names])},
        coords={"model": names, "kind": kinds},
        attrs={"units": "energy meV/atom, forces meV/Å (components), training s"})


def _checks(name: str, errors: dict) -> list[Check]:
    return [Check(f"{name}_{kind}_energy_mae_meV_per_atom", errors[kind]["energy_mae"],
                  ENERGY_MAE) for kind in ("bulk+vacancy+surface", "all")] + [
            Check(f"{name}_{kind}_forces_mae_meV_per_A", errors[kind]["forces_mae"],
                  FORCES_MAE) for kind in ("bulk+vacancy+surface", "all")]


def _potentials() -> Outcome:
    """Train both models (about an hour here) and compare them on held-out structures."""
    rows, info = {}, {}
    for name in MODELS:
        model, res, errors, n_params, sizes = train(name)
        rows[name] = {"test_errors": errors, "parameters": n_params,
                      "training_s": res.wall_time_s}
        info[name] = (f"{n_params} parameters, {res.step} steps in {res.wall_time_s:.0f} s; "
                      f"held-out energy MAE {errors['all']['energy_mae']:.2f} meV/atom, "
                      f"forces {errors['all']['forces_mae']:.1f} meV/Å")
    checks = _checks("mace", rows["cu-mace"]["test_errors"])
    info["data"] = (f"atomic_structures: {sizes[0]} train / {sizes[1]} validation structures "
                    f"(stream 0, by trajectory), {sizes[2]} test (stream 1)")
    return Outcome(checks=checks, data=_table(rows), info=info)


def _shipped(name: str = "cu-mace"):
    from sciml.potentials import pretrained

    model, prov = pretrained(name)
    return as_float64(model), prov


def _quick() -> Outcome:
    """The shipped equivariant model: held-out errors, forces = −∂E/∂x, a short NVE run."""
    import jax
    from ase.build import bulk

    from sciml.potentials import graph_from_atoms, predict

    model, prov = _shipped()
    _, _, test = data(n_train=0, n_test=N_TEST)
    errors = test_errors(model, test)
    checks = _checks("mace", errors)
    # forces against central differences of the energy, float64
    atoms = bulk("Cu", cubic=True).repeat(2)
    atoms.rattle(0.05, seed=1)
    energy = jax.jit(lambda g: predict(model, g, forces=False)["energy"][0])
    forces = np.asarray(predict(model, graph_from_atoms(atoms, model.species, R_CUT))["forces"])
    h, worst = 1e-4, 0.0
    for i, d in ((0, 0), (5, 1), (17, 2)):
        e = []
        for s in (1, -1):
            a = atoms.copy()
            a.positions[i, d] += s * h
            e.append(float(energy(graph_from_atoms(a, model.species, R_CUT))))
        fd = -(e[0] - e[1]) / (2 * h)
        worst = max(worst, abs(fd - forces[i, d]) / max(abs(forces[i, d]), 1e-3))
    checks.append(Check("forces_vs_finite_differences_rel", worst, 1e-6))
    info = {"model": f"shipped cu-mace: {prov.get('parameters')} parameters, trained "
                     f"{prov.get('steps')} steps in {prov.get('training_s')} s by "
                     f"`{prov.get('command')}`",
            "held-out errors": f"energy {errors['all']['energy_mae']:.2f} meV/atom, forces "
                               f"{errors['all']['forces_mae']:.1f} meV/Å over {len(test)} "
                               "structures"}
    return Outcome(checks=checks, data=_table({"cu-mace": {
        "test_errors": errors, "parameters": prov.get("parameters", 0),
        "training_s": prov.get("training_s", np.nan)}}), info=info)


def nve(model, picoseconds: float, dt_fs: float = 1.0, seed: int = 0):
    """NVE of a 108-atom Cu cell started at 300 K (Maxwell–Boltzmann, EMT lattice constant)."""
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    from sciml.problems.atomistic import fcc_bulk
    from sciml.solvers import run_md

    atoms = fcc_bulk("Cu", 3)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(seed))
    Stationary(atoms)
    steps = int(round(picoseconds * 1000 / dt_fs))
    return run_md(model, atoms, steps, dt_fs=dt_fs, record_every=100)


def relax_vacancy(model):
    """A 107-atom vacancy cell relaxed with ASE's BFGS under `model` and under EMT:
    (energy difference per atom eV, largest position difference Å, steps, EMT's)."""
    from ase.calculators.emt import EMT
    from ase.optimize import BFGS

    from sciml.potentials import SciMLCalculator
    from sciml.problems.atomistic import fcc_bulk

    start = fcc_bulk("Cu", 3)
    del start[0]
    start.rattle(0.02, seed=0)  # off the symmetric saddle
    out = {}
    for name, calc in (("model", SciMLCalculator(model)), ("emt", EMT())):
        a = start.copy()
        a.calc = calc
        opt = BFGS(a, logfile=None)
        converged = opt.run(fmax=1e-3, steps=500)
        out[name] = (a, a.get_potential_energy(), opt.nsteps, converged)
    (am, em, nm, cm), (ae, ee, ne, ce) = out["model"], out["emt"]
    return {"energy_diff_per_atom": abs(em - ee) / len(am),
            "position_diff": float(np.max(np.linalg.norm(am.positions - ae.positions, axis=1))),
            "steps": nm, "emt_steps": ne, "converged": bool(cm and ce),
            "relaxation": float(np.max(np.linalg.norm(ae.positions - start.positions, axis=1)))}


def _md(picoseconds: float = 1.0) -> Outcome:
    model, prov = _shipped()
    t0 = time.perf_counter()
    res = nve(model, picoseconds)
    md_s = time.perf_counter() - t0
    drift = res.max_energy_drift_per_atom()
    relax = relax_vacancy(model)
    mae = prov["test_errors"]["all"]["energy_mae"] * 1e-3  # eV/atom
    checks = [Check("nve_max_drift_eV_per_atom", drift, 1e-4),
              Check("relaxed_energy_diff_over_test_mae", relax["energy_diff_per_atom"] / mae,
                    1.0),
              Check("relaxed_position_diff_A", relax["position_diff"], 0.01),
              Check("relaxation_not_converged", 0.0 if relax["converged"] else 1.0, 0.0)]
    data = xr.Dataset({"potential": ("time", res.potential), "kinetic": ("time", res.kinetic),
                       "temperature": ("time", res.temperature)},
                      coords={"time": res.time_fs}, attrs={"units": "eV, K, fs"})
    info = {"NVE": f"108 Cu atoms from 300 K, {picoseconds} ps at 1 fs in {md_s:.0f} s: max "
                   f"|E(t) − E(0)| = {drift:.2e} eV/atom; {res.stats['rebuilds']} neighbour "
                   f"rebuilds ({res.stats['search']}, capacity {res.stats['capacity']})",
            "relaxation": f"vacancy cell (107 atoms), BFGS to fmax 1e-3 eV/Å: {relax['steps']} "
                          f"steps (EMT {relax['emt_steps']}); energy differs from EMT's relaxed "
                          f"by {relax['energy_diff_per_atom'] * 1e3:.3f} meV/atom (test MAE "
                          f"{mae * 1e3:.2f}); positions by ≤ {relax['position_diff']:.4f} Å "
                          f"(EMT moves atoms up to {relax['relaxation']:.3f} Å)"}
    return Outcome(checks=checks, figures={"nve": _nve_figure(data)}, data=data, info=info)


def _nve_figure(ds: xr.Dataset):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    n = 108
    total = (ds.potential + ds.kinetic).values
    axes[0].plot(ds.time / 1000, (total - total[0]) / n * 1e6)
    axes[0].set_xlabel("t (ps)")
    axes[0].set_ylabel("(E(t) − E(0))/N (µeV/atom)")
    axes[1].plot(ds.time / 1000, ds.temperature)
    axes[1].set_xlabel("t (ps)")
    axes[1].set_ylabel("T (K)")
    fig.tight_layout()
    return fig


CASES = [
    Case(name="atomistic.cu.quick", problem="emt",
         description="Shipped MACE-like potential on held-out EMT Cu: energy MAE ≤ 2 meV/atom, "
                     "forces ≤ 30 meV/Å; forces = −∂E/∂x to 1e-6",
         run=_quick, suites=("quick",)),
    Case(name="atomistic.cu.potentials", problem="emt",
         description="Invariant and MACE-like potentials trained on EMT Cu (about an hour): "
                     "held-out errors, parameters, training time",
         run=_potentials),
    Case(name="atomistic.cu.md", problem="emt",
         description="Shipped MACE-like potential: NVE 108 Cu atoms from 300 K for 1 ps "
                     "(drift < 1e-4 eV/atom); vacancy relaxation through the ASE calculator "
                     "vs EMT's",
         run=_md),
]

