"""Reading a user's labelled structures from extended XYZ, and writing them atomically.

ASE writes per-atom columns (positions, forces) with 8 decimals (1e-8 Å, 1e-8 eV/Å) and
per-structure values (energy, stress, cell) at full precision.

Units: Å, eV, eV/Å, eV/Å³.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ase import Atoms

from sciml.problems.atomistic._calculators import labelled, labels_of
from sciml.problems.atomistic._structures import check_structure


def read_extxyz(path: str | os.PathLike, *, index: str | int = ":",
                energy_key: str = "energy", forces_key: str = "forces",
                stress_key: str = "stress") -> list[Atoms]:
    """The labelled structures of an extended-XYZ file (`ase.io.read(path, index)`), each
    checked: energy and forces present (`energy_key`, `forces_key`: where your file keeps
    them, e.g. "REF_energy"), finite, one force row per atom; positions finite, no
    overlapping atoms, atoms inside the cell along non-periodic axes that have one. The
    labels are returned in a `SinglePointCalculator` (`labels_of`), stress only for cells
    periodic along all axes.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: unreadable file, no structures, or a structure failing a check (the
            message names the file, the frame and the fix).
    """
    from ase.io import read

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no extended-XYZ file at {path}; check the path")
    try:
        frames = read(path, index=index, format="extxyz")
    except Exception as e:  # ASE raises many types for malformed files
        raise ValueError(f"{path} cannot be read as extended XYZ ({type(e).__name__}: {e}); "
                         "check the file is extended XYZ (write it with ase.io.write(..., "
                         "format='extxyz'))") from e
    frames = [frames] if isinstance(frames, Atoms) else list(frames)
    if not frames:
        raise ValueError(f"{path} holds no structures")
    out = []
    for k, atoms in enumerate(frames):
        where = f"{path}, frame {k}"
        check_structure(atoms, name=where)
        labels = labels_of(atoms, name=where, energy_key=energy_key, forces_key=forces_key,
                           stress_key=stress_key)
        atoms.calc = None
        for key in (energy_key, stress_key):
            atoms.info.pop(key, None)
        atoms.arrays.pop(forces_key, None)
        out.append(labelled(atoms, labels))
    return out


def write_extxyz(path: str | os.PathLike, structures: Sequence[Atoms]) -> None:
    """Write labelled structures (energy, forces and, for periodic cells, stress: see
    `labels_of`) and their `info` to `path` as extended XYZ, atomically (a temporary file
    renamed onto `path`: a crash leaves the old file whole).

    Raises:
        ValueError: a structure without labels, or with NaN/infinite ones (named).
    """
    from ase.io import write

    from sciml.io import atomic_path

    structures = list(structures)
    if not structures:
        raise ValueError(f"no structures to write to {path}")
    ready = [labelled(a, labels_of(a, name=f"structure {k}"))
             for k, a in enumerate(structures)]
    with atomic_path(path) as tmp:
        write(tmp, ready, format="extxyz")
