"""Reference calculators and the labels they give a structure.

- `emt()`: ASE's effective-medium theory (Jacobsen, Stoltze, Nørskov, Surf. Sci. 366, 394
  (1996)) for Ag, Al, Au, Cu, Ni, Pd, Pt: a closed-form many-body energy, its analytic
  forces and stress, exact to float64 rounding *for the model* (not for the metal).
- `LennardJones`: the exact all-pairs Lennard-Jones energy E = Σ_{i<j} 4ε((σ/r)¹² − (σ/r)⁶)
  of a finite cluster, no cut-off, no shift, with its analytic forces.

Units: Å, eV, eV/Å, and stress in eV/Å³ with ASE's convention σ = (1/V) ∂E/∂ε (stored
3×3). Lennard-Jones energies are in ε and lengths in σ (ε = σ = 1 by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from sciml import checks
from sciml.problems.atomistic._structures import FCC_METALS, check_structure

# EMT also has H, C, N, O, with parameters ASE calls unreliable: refused here.
EMT_ELEMENTS = FCC_METALS


def emt(atoms: Atoms | None = None) -> Calculator:
    """A fresh ASE `EMT` calculator; with `atoms`, their elements are checked first."""
    from ase.calculators.emt import EMT

    if atoms is not None:
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(EMT_ELEMENTS))
        if unknown:
            raise ValueError(f"EMT has no parameters for {', '.join(unknown)}; supported "
                             f"elements: {', '.join(EMT_ELEMENTS)}")
    return EMT()


class LennardJones(Calculator):
    """Exact all-pairs Lennard-Jones for non-periodic clusters: energy (ε), forces (ε/σ),
    per-atom energies. No cut-off (ASE's `LennardJones` truncates and shifts at `rc`)."""

    implemented_properties = ["energy", "free_energy", "energies", "forces"]

    def __init__(self, epsilon: float = 1.0, sigma: float = 1.0):
        super().__init__()
        self.epsilon = checks.positive("epsilon", epsilon)
        self.sigma = checks.positive("sigma", sigma)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if np.any(self.atoms.pbc):
            raise ValueError("the exact Lennard-Jones sum is for non-periodic clusters; for "
                             "periodic cells use ase.calculators.lj.LennardJones with a cut-off")
        x = self.atoms.positions
        d = x[:, None, :] - x[None, :, :]
        r2 = np.einsum("ijk,ijk->ij", d, d)
        np.fill_diagonal(r2, np.inf)
        s6 = (self.sigma**2 / r2) ** 3
        pair = 4 * self.epsilon * (s6 * s6 - s6)
        energies = 0.5 * pair.sum(axis=1)
        # F_i = Σ_j 24ε (2 s¹² − s⁶) / r² (x_i − x_j)
        forces = np.einsum("ij,ijk->ik", 24 * self.epsilon * (2 * s6 * s6 - s6) / r2, d)
        self.results = {"energy": float(energies.sum()), "free_energy": float(energies.sum()),
                        "energies": energies, "forces": forces}


@dataclass(frozen=True)
class Labels:
    """A structure's reference labels.

    Attributes:
        energy: total energy (eV).
        forces: (n_atoms, 3) forces −∂E/∂x (eV/Å).
        stress: (3, 3) stress (1/V) ∂E/∂ε (eV/Å³); zeros when `has_stress` is False.
        has_stress: True only for cells periodic along all three axes (a slab or a cluster
            has no volume, so no stress); losses mask the stress with it.
    """

    energy: float
    forces: np.ndarray
    stress: np.ndarray
    has_stress: bool


def reference_labels(atoms: Atoms, calculator, *, name: str = "structure") -> Labels:
    """Energy, forces and (for fully periodic cells) stress of `atoms` from `calculator`,
    on a copy (`atoms` keeps its own calculator). The structure is checked first
    (`check_structure`), the results after (finite, right shapes)."""
    check_structure(atoms, name=name)
    work = atoms.copy()
    work.calc = calculator
    energy = float(work.get_potential_energy())
    forces = np.array(work.get_forces(), dtype=np.float64)
    has_stress = bool(np.all(atoms.pbc))
    stress = (np.array(work.get_stress(voigt=False), dtype=np.float64) if has_stress
              else np.zeros((3, 3)))
    if forces.shape != (len(atoms), 3) or stress.shape != (3, 3):
        raise RuntimeError(f"{name}: the calculator returned forces {forces.shape} and "
                           f"stress {stress.shape}; expected ({len(atoms)}, 3) and (3, 3)")
    if not (np.isfinite(energy) and np.all(np.isfinite(forces)) and np.all(np.isfinite(stress))):
        raise RuntimeError(f"{name}: the calculator returned NaN or infinite labels")
    return Labels(energy, forces, stress, has_stress)


def labelled(atoms: Atoms, labels: Labels, **info) -> Atoms:
    """A copy of `atoms` carrying `labels` in a `SinglePointCalculator` (energy, forces,
    and stress only when `labels.has_stress`) and `info` in `atoms.info`."""
    from ase.calculators.singlepoint import SinglePointCalculator

    out = atoms.copy()
    results = {"energy": labels.energy, "forces": labels.forces}
    if labels.has_stress:
        results["stress"] = labels.stress
    out.calc = SinglePointCalculator(out, **results)
    out.info.update(info)
    return out


def labels_of(atoms: Atoms, *, name: str = "structure", energy_key: str = "energy",
              forces_key: str = "forces", stress_key: str = "stress") -> Labels:
    """The labels a structure carries: in its calculator's results (a
    `SinglePointCalculator`, as `ase.io.read` gives), else in `atoms.info[energy_key]`,
    `atoms.arrays[forces_key]` and `atoms.info[stress_key]`. Stress (3×3 or Voigt 6) is
    used only for cells periodic along all axes.

    Raises:
        ValueError: no energy or no forces, wrong shapes, or NaN/infinite values; the
            message names `name` and the fix.
    """
    results = dict(getattr(atoms.calc, "results", None) or {})
    energy = results.get(energy_key, atoms.info.get(energy_key))
    forces = results.get(forces_key, atoms.arrays.get(forces_key))
    stress = results.get(stress_key, atoms.info.get(stress_key))
    if energy is None:
        raise ValueError(f"{name}: no energy (looked for {energy_key!r} in the calculator "
                         "results and atoms.info); label it, or pass energy_key= naming the "
                         "key your file uses")
    if forces is None:
        raise ValueError(f"{name}: no forces (looked for {forces_key!r} in the calculator "
                         "results and atoms.arrays); label it, or pass forces_key=")
    try:
        energy = float(np.asarray(energy).reshape(()))
    except (TypeError, ValueError):
        raise ValueError(f"{name}: energy {energy!r} is not one number") from None
    forces = np.asarray(forces, dtype=np.float64)
    if forces.shape != (len(atoms), 3):
        raise ValueError(f"{name}: forces have shape {forces.shape}; expected "
                         f"({len(atoms)}, 3), one row per atom")
    if not np.isfinite(energy):
        raise ValueError(f"{name}: the energy is {energy}; drop this structure or relabel it")
    bad = np.flatnonzero(~np.all(np.isfinite(forces), axis=1))
    if bad.size:
        raise ValueError(f"{name}: NaN or infinite forces on atoms {bad[:10].tolist()}; "
                         "drop this structure or relabel it")
    has_stress = bool(np.all(atoms.pbc)) and stress is not None
    if has_stress:
        s = np.asarray(stress, dtype=np.float64)
        if s.shape == (6,):
            from ase.stress import voigt_6_to_full_3x3_stress

            s = voigt_6_to_full_3x3_stress(s)
        if s.shape != (3, 3) or not np.all(np.isfinite(s)):
            raise ValueError(f"{name}: stress of shape {s.shape} (expected 3x3 or Voigt 6) "
                             "or with NaN/infinite entries; fix or drop it")
        stress = s
    else:
        stress = np.zeros((3, 3))
    return Labels(energy, forces, stress, has_stress)
