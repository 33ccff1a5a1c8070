"""The built-in dataset families, registered in this one place (`builtin_families`).

- `darcy`: dims (sample, x, y); `a` (input) and `u` (output) are *cell averages* over n x n
  cells of the 256² finite-volume solve, coordinates the cell centres (j + 1/2)/n;
  n in 64 (default), 128, 32, 16. Generated on a local process pool (`spawn`).
- `burgers_periodic`: dims (sample, x); `u0` (input) and `u` = u(·, 1) (output) are point
  values at x = j/n, n in 1024 (default), 512, 256, 128. Generated on threads (XLA
  releases the GIL), vmapped chunks of 8, the first chunk in-process to compile once.
- `antiderivative`: dims (sample, x); `u` (input) and `s` (output) are point values at
  x = j/(m − 1), m in 100 (default), 50, 200, 500, 1000. Closed form, in-process.

All three sample through the problems' one contract,
`OperatorLearningProblem.sample(seed, indices, stream=, resolutions=)` (`sample_operator`).

- `molecule_energies`: ragged (`atom` items); correlated energies of fixed molecule sets.
- `atomic_structures`: ragged (`atom` items); EMT-labelled configurations of an fcc metal
  (`sciml.problems.atomistic.AtomicStructures`: strained, defective, surface, cluster and
  Langevin-MD structures in trajectories), per atom `numbers`, `positions` (Å), `forces`
  (eV/Å), per structure `energy` (eV), `stress` (3x3, eV/Å³, masked by `has_stress`),
  `cell`, `pbc`, `trajectory`, `kind`, `temperature`, `frame`. Checked on every read for
  forces adding up to ~0 and atoms at least 0.5 Å apart (periodic images included).
  `sciml.problems.atomistic.to_atoms` / `from_atoms` convert to labelled `ase.Atoms` and back.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from sciml.datasets._family import Execution, Family, GridLayout, RaggedLayout, Variable

_SAMPLING = (
    "train sample i is sample i of random stream 0, test sample i of stream 1: "
    "numpy SeedSequence(seed, spawn_key=(crc32(problem), stream, i))"
)


def sample_operator(
    problem, seed: int, stream: int, indices: Sequence[int], resolutions: Sequence[int]
) -> dict[int, dict[str, np.ndarray]]:
    """The generator of every operator-learning family: the problem's own sampler."""
    return problem.sample(seed, list(indices), stream=stream, resolutions=tuple(resolutions))


# --- checks made on every read, beyond the generic ones ---------------------------------------
def _darcy_values(ds: xr.Dataset, problem) -> str | None:
    lo, hi = min(problem.a_low, problem.a_high), max(problem.a_low, problem.a_high)
    a = ds["a"].values
    if a.size and (a.min() < lo * (1 - 1e-12) or a.max() > hi * (1 + 1e-12)):
        return f"variable 'a' leaves [{lo:g}, {hi:g}] (cell averages of a two-valued field)"
    if problem.forcing > 0 and np.any(ds["u"].values <= 0):
        return "variable 'u' is not positive (the solution for a positive source is)"
    return None


def _burgers_zero_mean(ds: xr.Dataset, problem) -> str | None:
    if ds.sizes["x"] <= problem.kl_modes:
        return None  # wavenumbers that are multiples of n alias onto the mean
    u0 = ds["u0"].values
    if u0.size and np.max(np.abs(u0.mean(axis=-1))) > 1e-10 * max(1.0, np.abs(u0).max()):
        return "variable 'u0' does not have zero mean (the random field has none)"
    return None


def _antiderivative_at_zero(ds: xr.Dataset, problem) -> str | None:
    s = ds["s"].values
    if s.size and np.any(s[:, 0] != 0):
        return "variable 's' is not 0 at x = 0 (it is the integral from 0)"
    return None


def molecule_energies(problem, seed, stream, indices) -> dict[str, np.ndarray]:
    """Generator of `molecule_energies`: atoms, charge, spin and the correlated and
    Hartree–Fock energies of the split's molecules (deterministic: no randomness)."""
    from sciml.problems.molecules import correlated_energy

    out = {k: [] for k in ("atomic_number", "position", "count", "charge", "spin", "energy",
                           "hf_energy", "fci")}
    for i in indices:
        mol = problem.molecule(stream, int(i))
        energy, method = correlated_energy(mol)
        out["atomic_number"].append(mol.atomic_numbers)
        out["position"].append(mol.coordinates)
        out["count"].append(len(mol.symbols))
        out["charge"].append(mol.charge)
        out["spin"].append(mol.spin)
        out["energy"].append(energy)
        out["hf_energy"].append(correlated_energy(mol, "hf")[0])
        out["fci"].append(method == "fci")
    return {
        "atomic_number": np.concatenate(out["atomic_number"]).astype(np.int64),
        "position": np.concatenate(out["position"]).astype(np.float64),
        "count": np.asarray(out["count"], np.int64),
        **{k: np.asarray(out[k], np.int64) for k in ("charge", "spin", "fci")},
        **{k: np.asarray(out[k], np.float64) for k in ("energy", "hf_energy")},
    }


def atomic_structures(problem, seed, stream, indices) -> dict[str, np.ndarray]:
    """Generator of `atomic_structures`: the problem's labelled configurations (each
    trajectory run once per chunk) as flat arrays."""
    from sciml.problems.atomistic import atoms_arrays

    return atoms_arrays(problem.configurations(seed, stream, indices))


def _physical_structures(ds: xr.Dataset, problem) -> str | None:
    from sciml.problems.atomistic import structure_problems

    return structure_problems(ds)


def _correlation_lowers_the_energy(ds: xr.Dataset, problem) -> str | None:
    if np.any(ds["energy"].values > ds["hf_energy"].values + 1e-10):
        return "variable 'energy' lies above 'hf_energy' (correlation energies are negative)"
    return None


# --- the registry ---------------------------------------------------------------------------
def _operator_family(
    problem: Any,
    *,
    resolutions: tuple[int, ...],
    long_names: dict[str, str],
    note: str,
    check,
    execution: Execution,
) -> Family:
    p = problem()
    dims = ("sample", *p.dims)
    return Family(
        name=p.name,
        problem=problem,
        variables=(
            Variable(p.input, dims, long_names[p.input], role="input"),
            Variable(p.output, dims, long_names[p.output], role="output"),
        ),
        layout=GridLayout(dims=p.dims, resolutions=resolutions, coords=p.grid, note=note),
        generator=sample_operator,
        checks=(check,),
        execution=execution,
        sampling=_SAMPLING,
    )


def builtin_families() -> dict[str, Family]:
    """{name: Family} of the built-in datasets: the one place they are registered."""
    # Problems are imported here, not at module import: `import sciml.datasets` stays cheap.
    from sciml.problems import operator_learning as op

    families = [
        _operator_family(
            op.DarcyFlow,
            resolutions=(64, 128, 32, 16),
            long_names={"a": "permeability a(x, y)", "u": "pressure u(x, y)"},
            note="cell averages of the 256x256 finite-volume fields over n x n cells; "
            "x, y are the cell centres (j + 1/2)/n",
            check=_darcy_values,
            # ~0.2 s per solve: 2 samples per task balance the workers; a spawned worker
            # needs ~2 s to start, so fewer than 16 samples are solved in-process.
            execution=Execution("processes", chunk=2, min_parallel=16),
        ),
        _operator_family(
            op.BurgersPeriodic,
            resolutions=(1024, 512, 256, 128),
            long_names={"u0": "initial condition u(x, 0)", "u": "solution u(x, 1)"},
            note="point values at x = j/n on the periodic interval [0, 1)",
            check=_burgers_zero_mean,
            # one vmapped solve of 8 samples per task (the problem's compiled batch)
            execution=Execution("threads", chunk=8, warm_up=True),
        ),
        _operator_family(
            op.Antiderivative,
            resolutions=(100, 50, 200, 500, 1000),
            long_names={"u": "input function u(x)", "s": "antiderivative s(x) = int_0^x u"},
            note="point values at the m equispaced points x = j/(m - 1) of [0, 1]",
            check=_antiderivative_at_zero,
            execution=Execution("inline", chunk=256),
        ),
    ]
    from sciml.problems.molecules import MoleculeEnergies

    families.append(Family(
        name="molecule_energies",
        problem=MoleculeEnergies,
        variables=(
            Variable("atomic_number", ("atom",), "nuclear charge Z", dtype="int64"),
            Variable("position", ("atom", "xyz"), "nuclear position", units="bohr"),
            Variable("charge", ("sample",), "total charge", dtype="int64"),
            Variable("spin", ("sample",), "2S = N_alpha - N_beta", dtype="int64"),
            Variable("energy", ("sample",), "correlated total energy (FCI or CCSD(T))",
                     units="hartree", role="output"),
            Variable("hf_energy", ("sample",), "Hartree-Fock total energy", units="hartree",
                     role="output"),
            Variable("fci", ("sample",), "1 where energy is FCI (exact in the basis), 0 for "
                     "CCSD(T)", dtype="int64", role="output"),
        ),
        layout=RaggedLayout(item="atom", sizes={"xyz": 3},
                            note="an item is one nucleus; molecules in the problem's basis"),
        generator=molecule_energies,
        checks=(_correlation_lowers_the_energy,),
        execution=Execution("inline", chunk=16),
        sampling="train sample i is MoleculeEnergies.TRAIN[i], test sample i TEST[i]; no "
                 "randomness (the seed only names the file)",
    ))
    from sciml.problems.atomistic import VARIABLES, AtomicStructures

    families.append(Family(
        name="atomic_structures",
        problem=AtomicStructures,
        variables=tuple(Variable(name, dims, long_name, units=units, role=role, dtype=dtype)
                        for name, dims, long_name, units, role, dtype in VARIABLES),
        layout=RaggedLayout(item="atom", sizes={"xyz": 3, "vector": 3, "row": 3, "column": 3},
                            note="an item is one atom; Å, eV, eV/Å, eV/Å³ (stress (1/V) "
                                 "dE/d(strain), 3x3, labelled where has_stress)"),
        generator=atomic_structures,
        checks=(_physical_structures,),
        # ~20 ms per sample (23-sample cycles of EMT labels and Langevin MD): chunks of two
        # whole cycles; below 20 chunks a spawned worker's start-up (~3 s) is not worth it
        execution=Execution("processes", chunk=46, min_parallel=920),
        sampling="sample i of stream s (train 0, test 1) is frame f of trajectory t of a "
                 "repeating cycle of trajectories (AtomicStructures.locate); trajectory t "
                 "draws from SeedSequence(seed, spawn_key=(crc32(name), s, t)) and has id "
                 "s * 1000000 + t: split by it, never by frame",
    ))
    return {f.name: f for f in families}


def dataset_names() -> list[str]:
    """Names accepted by `load`, sorted."""
    return sorted(builtin_families())


def get_family(name: str | Family) -> Family:
    """The registered family `name`; a `Family` is returned as it is.

    Raises:
        KeyError: unknown `name` (the message lists the known ones).
    """
    if isinstance(name, Family):
        return name
    families = builtin_families()
    if name not in families:
        close = difflib.get_close_matches(str(name), families, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(
            f"unknown dataset {name!r}.{hint} Known datasets: {', '.join(sorted(families))}."
        )
    return families[name]
