"""Molecules and atoms: what is computed, checked before PySCF sees it.

Coordinates are stored in bohr (atomic units); `Molecule.from_angstrom` converts. `spin`
is PySCF's: 2S = N_alpha − N_beta.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, field

import numpy as np

BOHR_PER_ANGSTROM = 1.0 / 0.52917721092  # PySCF's pyscf.data.nist.BOHR (CODATA 2010)

# Chemical symbols up to Kr: the elements the bundled Pople/Dunning bases cover.
ELEMENTS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn "
    "Ga Ge As Se Br Kr"
).split()


@dataclass(frozen=True)
class Molecule:
    """A molecule or atom.

    Attributes:
        symbols: chemical symbols, e.g. `("O", "H", "H")`.
        coordinates: `(n_atoms, 3)` nuclear positions in bohr.
        charge: total charge (electrons = ΣZ − charge).
        spin: 2S = N_alpha − N_beta (PySCF's convention); 0 for a closed shell.
        basis: a basis-set name PySCF knows (e.g. "6-31g*", "cc-pvdz").
        name: a label for reports.
    """

    symbols: tuple[str, ...]
    coordinates: np.ndarray = field(repr=False)
    charge: int = 0
    spin: int = 0
    basis: str = "6-31g*"
    name: str = ""

    def __post_init__(self):
        if isinstance(self.symbols, str):
            raise TypeError(f"symbols must be a sequence of element symbols, e.g. ('O', 'H', "
                            f"'H'), not the string {self.symbols!r}")
        symbols = tuple(str(s).strip().capitalize() for s in self.symbols)
        for s in symbols:
            if s not in ELEMENTS:
                close = difflib.get_close_matches(s, ELEMENTS, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown element {s!r}.{hint} Known: H to Kr.")
        xyz = np.asarray(self.coordinates, dtype=np.float64).reshape(-1, 3) \
            if np.size(self.coordinates) else np.zeros((0, 3))
        if xyz.shape != (len(symbols), 3):
            raise ValueError(f"coordinates must have shape ({len(symbols)}, 3) for "
                             f"{len(symbols)} atoms, got {np.shape(self.coordinates)}")
        if not np.all(np.isfinite(xyz)):
            raise ValueError("coordinates contain NaN or infinity")
        if not symbols:
            raise ValueError("a molecule needs at least one atom")
        for k in ("charge", "spin"):
            v = getattr(self, k)
            if isinstance(v, bool) or int(v) != v:
                raise TypeError(f"{k} must be an integer, got {v!r}")
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "coordinates", xyz)
        object.__setattr__(self, "charge", int(self.charge))
        object.__setattr__(self, "spin", int(self.spin))
        n = self.n_electrons
        if n <= 0:
            raise ValueError(f"charge {self.charge} leaves {n} electrons")
        if self.spin < 0 or self.spin > n or (n - self.spin) % 2:
            raise ValueError(
                f"{n} electrons cannot have spin 2S = {self.spin}: N_alpha − N_beta must have "
                f"the parity of the electron count and lie in [0, {n}] "
                f"(e.g. spin={n % 2} for the lowest multiplicity)")
        if not self.name:
            object.__setattr__(self, "name", self.formula)

    @classmethod
    def from_angstrom(cls, symbols, coordinates, **kw) -> Molecule:
        """A molecule whose `coordinates` are given in ångström."""
        return cls(tuple(symbols), np.asarray(coordinates, float) * BOHR_PER_ANGSTROM, **kw)

    @property
    def atomic_numbers(self) -> np.ndarray:
        return np.array([ELEMENTS.index(s) + 1 for s in self.symbols])

    @property
    def n_electrons(self) -> int:
        return int(self.atomic_numbers.sum()) - self.charge

    @property
    def n_alpha(self) -> int:
        return (self.n_electrons + self.spin) // 2

    @property
    def n_beta(self) -> int:
        return (self.n_electrons - self.spin) // 2

    @property
    def formula(self) -> str:
        out = []
        for s in dict.fromkeys(self.symbols):
            k = self.symbols.count(s)
            out.append(s + (str(k) if k > 1 else ""))
        return "".join(out)

    def with_basis(self, basis: str) -> Molecule:
        return Molecule(self.symbols, self.coordinates, self.charge, self.spin, basis, self.name)

    def to_pyscf(self, verbose: int = 0):
        """A built `pyscf.gto.Mole` (coordinates in bohr).

        Raises:
            ValueError: a basis PySCF does not know for one of the elements.
        """
        from pyscf import gto

        mol = gto.Mole()
        mol.atom = [(s, tuple(x)) for s, x in zip(self.symbols, self.coordinates, strict=True)]
        mol.unit = "Bohr"
        mol.charge, mol.spin, mol.basis, mol.verbose = self.charge, self.spin, self.basis, verbose
        try:
            with warnings.catch_warnings():  # PySCF's advice to install basis-set-exchange
                warnings.simplefilter("ignore", UserWarning)
                mol.build()
        except (KeyError, RuntimeError, ValueError, OSError) as e:  # BasisNotFoundError too
            raise ValueError(
                f"basis {self.basis!r} is not available for {self.formula} in PySCF "
                f"({str(e).splitlines()[0]}); "
                "use a basis name from pyscf.gto.basis (e.g. '6-31g*', 'cc-pvdz', 'def2-svp')"
            ) from None
        return mol


def _deg(a):
    return np.deg2rad(a)


def _named() -> dict[str, Molecule]:
    """Test molecules at experimental equilibrium geometries (ångström, NIST CCCBDB)."""
    r, th = 0.9572, _deg(104.52)
    h2o = Molecule.from_angstrom(
        "OHH", [[0, 0, 0], [r, 0, 0], [r * np.cos(th), r * np.sin(th), 0]], name="H2O")
    c = 1.087 / np.sqrt(3)
    ch4 = Molecule.from_angstrom(
        "CHHHH", [[0, 0, 0], [c, c, c], [-c, -c, c], [-c, c, -c], [c, -c, -c]], name="CH4")
    out = {
        "H2O": h2o,
        "CH4": ch4,
        "N2": Molecule.from_angstrom(("N", "N"), [[0, 0, 0], [0, 0, 1.0977]], name="N2"),
        "HF": Molecule.from_angstrom(("H", "F"), [[0, 0, 0], [0, 0, 0.9168]], name="HF"),
        "O2": Molecule.from_angstrom(("O", "O"), [[0, 0, 0], [0, 0, 1.2075]], spin=2, name="O2"),
        "N": Molecule(("N",), [[0, 0, 0]], spin=3, name="N"),
        "H": Molecule(("H",), [[0, 0, 0]], spin=1, name="H"),
        "He": Molecule(("He",), [[0, 0, 0]], name="He"),
        "H2": h2(1.4),
        "LiH": Molecule.from_angstrom(("Li", "H"), [[0, 0, 0], [0, 0, 1.5949]], name="LiH"),
    }
    return out


def h2(bond_bohr: float, basis: str = "6-31g*") -> Molecule:
    """H₂ with its bond of `bond_bohr` along z."""
    return Molecule(("H", "H"), [[0, 0, 0], [0, 0, float(bond_bohr)]], basis=basis,
                    name=f"H2@{bond_bohr:g}")


def molecule(name: str, basis: str = "6-31g*") -> Molecule:
    """A named test molecule (`molecule_names()`) in `basis`.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    table = _named()
    if name not in table:
        close = difflib.get_close_matches(name, table, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown molecule {name!r}.{hint} Known: {', '.join(table)}.")
    return table[name].with_basis(basis)


def from_label(label: str, basis: str = "6-31g*") -> Molecule:
    """A molecule from a short label: a named one (`molecule_names()`), `H2@R` (H₂ with
    its bond of R bohr) or `HeH+` (R = 1.46 bohr)."""
    if label.startswith("H2@"):
        return h2(float(label[3:]), basis)
    if label == "HeH+":
        return Molecule(("He", "H"), [[0, 0, 0], [0, 0, 1.46]], charge=1, basis=basis,
                        name="HeH+")
    return molecule(label, basis)


def molecule_names() -> list[str]:
    return list(_named())
