"""Reference energies, each saying how exact it is.

- `EXACT`: non-relativistic, clamped-nucleus energies in the complete-basis limit (the
  H atom in closed form; He and H₂ from the literature). A finite basis misses them by its
  basis-set error (tens of mHa for 6-31G*), which `basis_set_error` reports.
- `pyscf_energy`: PySCF's Kohn–Sham energy with libxc on the same basis, grid and initial
  guess as a `MolecularSystem` — what the JAX SCF must reproduce.
- `correlated_energy`: FCI (exact in the basis, for two-electron systems and small atoms)
  or CCSD(T) in the same basis, computed here with PySCF: the targets of learned
  functionals (cached as the `molecule_energies` dataset, `sciml.datasets`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sciml.problems.base import Reference
from sciml.problems.molecules._molecule import Molecule


@dataclass(frozen=True)
class ExactEnergy:
    """A basis-limit energy (Ha) of a named system with its provenance."""

    energy: float
    reference: Reference


EXACT: dict[str, ExactEnergy] = {
    "H": ExactEnergy(-0.5, Reference("analytic", 0.0, "E = -1/2 Ha in closed form")),
    "He": ExactEnergy(-2.903724377034, Reference(
        "literature", 1e-12, citation="H. Nakashima, H. Nakatsuji, J. Chem. Phys. 127, "
        "224104 (2007); C. L. Pekeris, Phys. Rev. 115, 1216 (1959): -2.903724377")),
    "H2@1.4": ExactEnergy(-1.174475714, Reference(
        "literature", 1e-9, citation="W. Kołos, L. Wolniewicz, J. Chem. Phys. 49, 404 (1968) "
        "(-1.174475 at R = 1.4 bohr); K. Pachucki, Phys. Rev. A 82, 032509 (2010): "
        "-1.174475714")),
}

# PySCF's names of the functionals `sciml.dft.functional` implements.
PYSCF_XC = {"lda": "LDA,VWN", "svwn": "LDA,VWN", "svwn_rpa": "LDA,VWN_RPA",
            "lda_pw92": "LDA,PW", "pbe": "PBE", "blyp": "BLYP", "b3lyp": "B3LYP"}


def pyscf_energy(info, xc: str, *, conv_tol: float = 1e-11) -> tuple[float, int]:
    """PySCF's converged Kohn–Sham energy (Ha) and its cycle count, on the basis, grid
    and initial guess of a system built by `build_system` (its `SystemInfo`).

    Raises:
        RuntimeError: PySCF did not converge.
    """
    from pyscf import dft

    mol = info.molecule.to_pyscf()
    mf = dft.RKS(mol) if info.molecule.spin == 0 else dft.UKS(mol)
    mf.xc = PYSCF_XC.get(xc, xc)
    mf.grids = info.pyscf_grids
    mf.conv_tol = conv_tol
    if info.density_fit:
        mf = mf.density_fit()
    energy = mf.kernel()
    if not mf.converged:
        raise RuntimeError(f"PySCF {xc} on {info.molecule.name} did not converge")
    return float(energy), int(mf.cycles)


def correlated_energy(molecule: Molecule, method: str = "auto") -> tuple[float, str]:
    """The correlated total energy (Ha) of `molecule` in its basis, and the method used.

    `method`: "fci" (exact in the basis; used by "auto" up to 4 electrons), "ccsd(t)"
    (CCSD(T) on a restricted — or for open shells unrestricted — Hartree–Fock reference;
    "auto" above 4 electrons), or "hf".
    """
    from pyscf import cc, fci, scf

    mol = molecule.to_pyscf()
    if method == "auto":
        method = "fci" if molecule.n_electrons <= 4 else "ccsd(t)"
    mf = (scf.RHF(mol) if molecule.spin == 0 else scf.UHF(mol))
    mf.conv_tol = 1e-12
    e_hf = mf.kernel()
    if not mf.converged:
        raise RuntimeError(f"Hartree–Fock on {molecule.name} did not converge")
    if method == "hf":
        return float(e_hf), method
    if method == "fci":
        e, _ = fci.FCI(mf).kernel()
        return float(e), method
    if method == "ccsd(t)":
        mycc = cc.CCSD(mf)
        mycc.conv_tol = 1e-10
        e_cc = mycc.kernel()[0]
        return float(e_hf + e_cc + mycc.ccsd_t()), method
    raise ValueError(f"unknown method {method!r}; use 'fci', 'ccsd(t)', 'hf' or 'auto'")


def basis_set_error(name: str, energy: float) -> float:
    """`energy − EXACT[name]` (Ha): what a finite basis (and method) misses."""
    if name not in EXACT:
        raise ValueError(f"no exact energy for {name!r}; known: {', '.join(EXACT)}")
    return float(energy - EXACT[name].energy)


class MoleculeEnergies:
    """The problem behind the `molecule_energies` dataset: correlated total energies of a
    training and a test set of closed-shell molecules (labels of `from_label`) in one
    basis, the targets of learned functionals. Train sample i is `TRAIN[i]`, test sample
    i is `TEST[i]`.
    """

    name = "molecule_energies"
    TRAIN = ("H2@1.4", "He", "LiH", "H2O", "HF")
    TEST = ("H2@1.0", "H2@2.2", "HeH+", "CH4", "N2")

    def __init__(self, basis: str = "6-31g"):
        self.basis = basis

    @property
    def params(self):
        return {"basis": self.basis}

    @property
    def reference(self) -> Reference:
        return Reference("numerical", 1e-8, evidence=(
            "PySCF FCI (exact in the basis; systems of up to 4 electrons) or CCSD(T) on RHF, "
            "converged to 1e-10 Ha; their gap to the basis limit is the basis-set error"))

    def labels(self, stream: int) -> tuple[str, ...]:
        return self.TRAIN if stream == 0 else self.TEST

    def molecule(self, stream: int, index: int) -> Molecule:
        from sciml.problems.molecules._molecule import from_label

        labels = self.labels(stream)
        if not 0 <= index < len(labels):
            split = "train" if stream == 0 else "test"
            raise ValueError(f"the {split} set of {self.name} has {len(labels)} molecules "
                             f"({', '.join(labels)}); sample {index} does not exist")
        return from_label(labels[index], self.basis)
