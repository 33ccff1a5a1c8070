"""An ASE `Calculator` running a sciml potential, so ASE's optimisers, MD drivers and
equations of state use it (energy eV, forces eV/Å, stress eV/Å³ in ASE's conventions)."""

from __future__ import annotations

import equinox as eqx
import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from sciml.potentials._graph import graph_from_atoms
from sciml.potentials._predict import predict


class SciMLCalculator(Calculator):
    """ASE calculator for an `AbstractPotential`.

    Args:
        model: the potential (its `species`, `r_cut` and dtype are used).
        capacity: neighbour slots per atom (default: as many as the structure needs; a new
            count compiles a new shape).

    Every call checks its input: elements the model was not trained on, overlapping atoms,
    atoms outside a non-periodic box and non-finite positions raise `ValueError` naming the
    atom; a neighbour list beyond `capacity` raises `NeighbourOverflowError`.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(self, model, capacity: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.model, self.capacity = model, capacity
        self._predict = eqx.filter_jit(
            lambda m, g, stress: predict(m, g, forces=True, stress=stress))
        self._energies = eqx.filter_jit(lambda m, g: m.atomic_energies(g))

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        dtype = self.model.e0.dtype
        graph = graph_from_atoms(atoms, self.model.species, self.model.r_cut,
                                 capacity=self.capacity, dtype=dtype)
        stress = bool(np.all(atoms.pbc)) and "stress" in properties
        out = self._predict(self.model, graph, stress)
        energy = float(out["energy"][0])
        self.results = {"energy": energy, "free_energy": energy,
                        "forces": np.asarray(out["forces"], float)}
        if "energies" in properties:
            self.results["energies"] = np.asarray(self._energies(self.model, graph), float)
        if stress:
            s = np.asarray(out["stress"][0], float)
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2],
                                               s[0, 1]])
