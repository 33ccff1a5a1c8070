"""Labelled structures as flat arrays (the `atomic_structures` dataset layout) and back.

The layout is ragged: per-atom variables (`numbers`, `positions`, `forces`) hold every
structure's atoms one structure after the other along the `atom` dimension; `count` holds
each structure's number of atoms and `offset` its first atom, so structure i's atoms are
`offset[i] : offset[i] + count[i]`. Per-structure variables sit along `sample`.

`VARIABLES` is the one description of these variables: the dataset family is built from
it (`sciml.datasets`), and `from_atoms` lays a user's structures out the same way.

Units: Å, eV, eV/Å, eV/Å³ (stress (1/V) ∂E/∂ε, 3×3), K.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms

from sciml.problems.atomistic._calculators import Labels, labelled, labels_of
from sciml.problems.atomistic._configurations import KINDS
from sciml.problems.atomistic._structures import MIN_DISTANCE, close_pairs

if TYPE_CHECKING:
    import xarray as xr

# (name, dims, long_name, units, role, dtype)
VARIABLES: tuple[tuple[str, tuple[str, ...], str, str, str, str], ...] = (
    ("numbers", ("atom",), "atomic number Z", "1", "input", "int64"),
    ("positions", ("atom", "xyz"), "atom position", "angstrom", "input", "float64"),
    ("cell", ("sample", "vector", "xyz"), "cell vectors (rows; zeros along axes without "
     "one)", "angstrom", "input", "float64"),
    ("pbc", ("sample", "vector"), "periodic along each cell vector (1) or not (0)", "1",
     "input", "int8"),
    ("trajectory", ("sample",), "trajectory id: frames of one trajectory are correlated, "
     "split by it", "1", "input", "int64"),
    ("kind", ("sample",), "configuration kind: " + ", ".join(
        f"{k} {name}" for k, name in enumerate(KINDS)), "1", "input", "int8"),
    ("temperature", ("sample",), "MD thermostat temperature (0 for static configurations)",
     "K", "input", "float64"),
    ("frame", ("sample",), "frame within its trajectory", "1", "input", "int64"),
    ("energy", ("sample",), "total energy", "eV", "output", "float64"),
    ("forces", ("atom", "xyz"), "force -dE/dx", "eV/angstrom", "output", "float64"),
    ("stress", ("sample", "row", "column"), "stress (1/V) dE/d(strain), ASE's sign; zeros "
     "where has_stress is 0", "eV/angstrom^3", "output", "float64"),
    ("has_stress", ("sample",), "1 where stress is labelled (cells periodic along all "
     "three axes), else 0: the mask of the stress loss", "1", "output", "int8"),
)
SIZES = {"xyz": 3, "vector": 3, "row": 3, "column": 3}
ITEM = "atom"
FORCE_SUM_TOL = 1e-6  # eV/Å: EMT conserves momentum, its forces add up to ~1e-13


def atoms_arrays(structures: Sequence[Atoms], **label_keys) -> dict[str, np.ndarray]:
    """The flat arrays of labelled structures: every variable of `VARIABLES` and `count`
    (atoms per structure). Labels are read with `labels_of` (`label_keys`: its
    `energy_key`, `forces_key`, `stress_key`); `info` gives `trajectory` (default: the
    structure's position, each its own trajectory), `kind` (a name of `KINDS`, default
    "other"), `temperature` (default 0) and `frame` (default 0)."""
    out: dict[str, list] = {name: [] for name, *_ in VARIABLES}
    out["count"] = []
    for k, a in enumerate(structures):
        lab = labels_of(a, name=f"structure {k}", **label_keys)
        kind = a.info.get("kind", "other")
        if kind not in KINDS:
            raise ValueError(f"structure {k}: info['kind'] = {kind!r}; use one of "
                             f"{', '.join(KINDS)}")
        out["numbers"].append(a.numbers)
        out["positions"].append(a.positions)
        out["forces"].append(lab.forces)
        out["cell"].append(a.cell[:])
        out["pbc"].append(a.pbc)
        out["energy"].append(lab.energy)
        out["stress"].append(lab.stress)
        out["has_stress"].append(lab.has_stress)
        out["trajectory"].append(int(a.info.get("trajectory", k)))
        out["kind"].append(KINDS.index(kind))
        out["temperature"].append(float(a.info.get("temperature", 0.0)))
        out["frame"].append(int(a.info.get("frame", 0)))
        out["count"].append(len(a))
    dtypes = {name: dtype for name, _, _, _, _, dtype in VARIABLES}
    arrays = {}
    for name, dims, *_ in VARIABLES:
        values = out[name]
        if dims[0] == ITEM:
            tail = tuple(SIZES[d] for d in dims[1:])
            arrays[name] = (np.concatenate(values) if values
                            else np.empty((0, *tail))).astype(dtypes[name])
        else:
            tail = tuple(SIZES[d] for d in dims[1:])
            arrays[name] = np.asarray(values, dtype=dtypes[name]).reshape(-1, *tail)
    arrays["count"] = np.asarray(out["count"], dtype=np.int64)
    return arrays


def from_atoms(structures: Sequence[Atoms], *, split: Sequence[str] | str = "train",
               **label_keys) -> xr.Dataset:
    """An `xarray.Dataset` in the `atomic_structures` layout (ragged: `atom` items with
    `count` and `offset`; coordinates `sample`, `split`, `index`) of labelled structures
    (`atoms_arrays`); `split` names each structure's split, or one for all."""
    import xarray as xr

    arrays = atoms_arrays(structures, **label_keys)
    count = arrays["count"]
    n = count.size
    split = np.full(n, split) if isinstance(split, str) else np.asarray(split, dtype=str)
    if split.shape != (n,):
        raise ValueError(f"split has {split.size} entries for {n} structures")
    index = np.zeros(n, dtype=np.int64)
    for s in np.unique(split):
        index[split == s] = np.arange(np.count_nonzero(split == s))
    data = {
        "offset": (("sample",), np.cumsum(count) - count,
                   {"long_name": "position of the sample's first atom"}),
        "count": (("sample",), count, {"long_name": "number of atoms"}),
    }
    for name, dims, long_name, units, _, _ in VARIABLES:
        data[name] = (dims, arrays[name], {"long_name": long_name, "units": units})
    roles = {r: " ".join(v[0] for v in VARIABLES if v[4] == r) for r in ("input", "output")}
    return xr.Dataset(
        data,
        coords={"sample": np.arange(n), "split": ("sample", split),
                "index": ("sample", index)},
        attrs={"layout": "ragged", "item_dim": ITEM, "input": roles["input"],
               "output": roles["output"],
               "layout_note": "an item is one atom; structures in Å, eV, eV/Å, eV/Å³"},
    )


def to_atoms(ds) -> list[Atoms]:
    """The structures of an `atomic_structures` dataset (`sciml.datasets.load`, or
    `from_atoms`) as labelled `ase.Atoms`: energy, forces and (where `has_stress`) stress
    in a `SinglePointCalculator`; `info` trajectory, kind (its name), temperature, frame."""
    v = {name: ds[name].values for name, *_ in VARIABLES}
    count = ds["count"].values.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(count)])
    out = []
    for i in range(count.size):
        lo, hi = offsets[i], offsets[i + 1]
        atoms = Atoms(v["numbers"][lo:hi], positions=v["positions"][lo:hi], cell=v["cell"][i],
                      pbc=v["pbc"][i].astype(bool))
        labels = Labels(float(v["energy"][i]), v["forces"][lo:hi], v["stress"][i],
                        bool(v["has_stress"][i]))
        out.append(labelled(atoms, labels, trajectory=int(v["trajectory"][i]),
                            kind=KINDS[int(v["kind"][i])],
                            temperature=float(v["temperature"][i]), frame=int(v["frame"][i])))
    return out


def structure_problems(ds, *, min_distance: float = MIN_DISTANCE,
                       force_sum_tol: float | None = FORCE_SUM_TOL) -> str | None:
    """What is physically wrong with an `atomic_structures` dataset, or None: unknown kind
    codes, pbc or has_stress not 0/1, stress labelled on a cell not periodic along all
    axes (or non-zero where unlabelled), forces not adding up to ~0 per structure (EMT
    conserves momentum; `force_sum_tol` eV/Å, None to skip: DFT data need not), atoms
    closer than `min_distance` Å (periodic images included)."""
    count = ds["count"].values.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(count)])
    kind = ds["kind"].values
    if np.any((kind < 0) | (kind >= len(KINDS))):
        return f"variable 'kind' holds codes outside 0..{len(KINDS) - 1}"
    pbc, has_stress = ds["pbc"].values, ds["has_stress"].values
    for name, a in (("pbc", pbc), ("has_stress", has_stress)):
        if np.any((a != 0) & (a != 1)):
            return f"variable {name!r} holds values other than 0 and 1"
    full = np.all(pbc == 1, axis=1)
    stress = ds["stress"].values
    if np.any((has_stress == 1) & ~full):
        i = int(np.flatnonzero((has_stress == 1) & ~full)[0])
        return f"structure {i} has a stress label but is not periodic along all axes"
    if np.any(stress[has_stress == 0] != 0):
        return "variable 'stress' is non-zero where has_stress is 0"
    forces, positions, cell = ds["forces"].values, ds["positions"].values, ds["cell"].values
    if force_sum_tol is not None and count.size and forces.size:
        total = np.add.reduceat(forces, offsets[:-1][count > 0], axis=0)
        worst = np.max(np.abs(total), axis=1)
        if np.any(worst > force_sum_tol):
            i = int(np.flatnonzero(count > 0)[int(np.argmax(worst))])
            return (f"the forces of structure {i} add up to {worst.max():.3g} eV/Å, not ~0 "
                    f"(> {force_sum_tol:g}): EMT forces conserve momentum")
    for i in range(count.size):
        lo, hi = offsets[i], offsets[i + 1]
        a, b, d = close_pairs(positions[lo:hi], cell[i], pbc[i].astype(bool), min_distance)
        if a.size:
            k = int(np.argmin(d))
            return (f"structure {i} has atoms {a[k]} and {b[k]} {d[k]:.3g} Å apart (< "
                    f"{min_distance} Å, periodic images included)")
    return None
