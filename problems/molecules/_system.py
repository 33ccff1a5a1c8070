"""A molecule's integrals and DFT grid, computed once by PySCF into a PyTree.

`MolecularSystem` holds every array a Kohn–Sham SCF needs (atomic units throughout:
bohr, hartree), so the SCF is a pure function of it that passes through `jit`, `vmap`
and `grad`. `build_system` makes one; `pad_system` pads one to a larger basis and grid
for batching several molecules in one compiled call; `stack_systems` pads and stacks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from sciml.problems.molecules._molecule import Molecule

logger = logging.getLogger(__name__)

# Padded basis functions get this diagonal core-Hamiltonian value (Ha): far above every
# real orbital energy, so aufbau never occupies them, and with an identity overlap block
# the padded overlap stays invertible.
PAD_SHIFT = 1.0e3


class MolecularSystem(eqx.Module):
    """Integrals (AO basis, n functions) and DFT grid (g points) of one molecule.

    Attributes:
        overlap: `(n, n)` S.
        hcore: `(n, n)` kinetic + nuclear attraction (Ha).
        orthogonaliser: `(n, n)` X with Xᵀ S X = 1 (canonical, S^-1/2 eigenbasis).
        eri: `(n, n, n, n)` two-electron integrals (ij|kl), chemists' order; or None.
        cderi: `(naux, n, n)` density-fitting factors, (ij|kl) ≈ Σ_L B_Lij B_Lkl; or None.
        ao: `(4, g, n)` AO values and their x, y, z derivatives (bohr^-3/2, bohr^-5/2).
        weights: `(g,)` quadrature weights (bohr³); 0 on padding.
        coords: `(g, 3)` grid points (bohr).
        dipole: `(3, n, n)` position integrals about `origin` (bohr).
        nuclear_dipole: `(3,)` Σ Z_A (R_A − origin) (e·bohr).
        nuclear_repulsion: scalar (Ha).
        n_electrons: `(2,)` integers, (N_alpha, N_beta).
        dm0: `(2, n, n)` the initial-guess spin density matrices (PySCF's, for the same
            starting point).
        ao_mask: `(n,)` True on real basis functions, False on padding.
    """

    overlap: Float[Array, "n n"]
    hcore: Float[Array, "n n"]
    orthogonaliser: Float[Array, "n n"]
    eri: Float[Array, "n n n n"] | None
    cderi: Float[Array, "naux n n"] | None
    ao: Float[Array, "4 g n"]
    weights: Float[Array, " g"]
    coords: Float[Array, "g 3"]
    dipole: Float[Array, "3 n n"]
    nuclear_dipole: Float[Array, " 3"]
    nuclear_repulsion: Float[Array, ""]
    n_electrons: Int[Array, " 2"]
    dm0: Float[Array, "2 n n"]
    ao_mask: Array

    @property
    def n_ao(self) -> int:
        return self.overlap.shape[-1]

    @property
    def n_grid(self) -> int:
        return self.weights.shape[-1]


@dataclass(frozen=True)
class SystemInfo:
    """Host-side facts about a built system (not part of the PyTree)."""

    molecule: Molecule
    n_ao: int
    n_grid: int
    grid_level: int
    density_fit: bool
    pyscf_grids: object  # the pyscf.dft.gen_grid.Grids used, for references on the same grid


def build_system(molecule: Molecule, *, grid_level: int = 3, density_fit: bool = False,
                 auxbasis: str = "weigend", init_guess: str = "minao",
                 prune_small_rho: bool = True) -> tuple[MolecularSystem, SystemInfo]:
    """Integrals, grid and initial guess of `molecule` from PySCF (float64).

    The grid is PySCF's Kohn–Sham grid at `grid_level` (Treutler–Ahlrichs radial, Lebedev
    angular, NWChem pruning, Becke partition), after the same pruning of points where the
    initial-guess density is negligible that `pyscf.dft` applies (`small_rho_cutoff`), so
    a PySCF calculation on `info.pyscf_grids` uses exactly these points.

    Returns:
        `(system, info)`.
    """
    from pyscf import dft, gto  # noqa: F401  (pyscf is imported only when building)

    if not (isinstance(grid_level, int) and 0 <= grid_level <= 9):
        raise ValueError(f"grid_level must be an integer in 0..9, got {grid_level!r}")
    mol = molecule.to_pyscf()
    restricted = molecule.spin == 0
    mf = dft.RKS(mol) if restricted else dft.UKS(mol)
    mf.grids.level = grid_level
    dm0 = np.asarray(mf.get_init_guess(key=init_guess))
    if not prune_small_rho:
        mf.small_rho_cutoff = 0.0
    mf.initialize_grids(mol, dm0)
    grids = mf.grids
    dm0 = np.stack([dm0 / 2, dm0 / 2]) if dm0.ndim == 2 else dm0
    s = mol.intor("int1e_ovlp")
    h = mol.intor("int1e_kin") + mol.intor("int1e_nuc")
    eri = cderi = None
    if density_fit:
        from pyscf import df

        cd = df.incore.cholesky_eri(mol, auxbasis=auxbasis)
        from pyscf import lib

        cderi = lib.unpack_tril(cd)  # (naux, n, n)
    else:
        eri = mol.intor("int2e", aosym="s1")
    w, v = np.linalg.eigh(s)
    if w.min() < 1e-8:
        raise ValueError(f"the {molecule.basis} basis of {molecule.name} is nearly linearly "
                         f"dependent (smallest overlap eigenvalue {w.min():.1e}); use a smaller "
                         "basis or remove diffuse functions")
    x = v / np.sqrt(w)
    z = mol.atom_charges().astype(float)
    origin = (z[:, None] * mol.atom_coords()).sum(0) / z.sum()  # centre of nuclear charge
    with mol.with_common_orig(origin):
        r = mol.intor("int1e_r")
    ao = dft.numint.eval_ao(mol, grids.coords, deriv=1)
    system = MolecularSystem(
        overlap=jnp.asarray(s), hcore=jnp.asarray(h), orthogonaliser=jnp.asarray(x),
        eri=None if eri is None else jnp.asarray(eri.reshape((mol.nao,) * 4)),
        cderi=None if cderi is None else jnp.asarray(cderi),
        ao=jnp.asarray(ao), weights=jnp.asarray(grids.weights), coords=jnp.asarray(grids.coords),
        dipole=jnp.asarray(r),
        nuclear_dipole=jnp.asarray((z[:, None] * (mol.atom_coords() - origin)).sum(0)),
        nuclear_repulsion=jnp.asarray(mol.energy_nuc()),
        n_electrons=jnp.asarray([molecule.n_alpha, molecule.n_beta]),
        dm0=jnp.asarray(dm0), ao_mask=jnp.ones(mol.nao, bool))
    logger.info("built %s/%s: %d basis functions, %d grid points", molecule.name,
                molecule.basis, mol.nao, grids.weights.size)
    return system, SystemInfo(molecule, mol.nao, grids.weights.size, grid_level, density_fit,
                              grids)


def pad_system(system: MolecularSystem, n_ao: int, n_grid: int) -> MolecularSystem:
    """`system` padded to `n_ao` basis functions and `n_grid` grid points.

    Padded functions have an identity overlap block (S stays invertible), a core
    Hamiltonian of `PAD_SHIFT` on the diagonal (so no electron occupies them) and no
    integrals with anything; padded grid points have zero weight and zero AO values. The
    SCF energy of a padded system equals the unpadded one's.
    """
    n, g = system.n_ao, system.n_grid
    if n_ao < n or n_grid < g:
        raise ValueError(f"cannot pad a system of {n} functions and {g} points to "
                         f"{n_ao} and {n_grid}")
    a, q = n_ao - n, n_grid - g

    def mat(m, diag=0.0):
        out = jnp.pad(m, [(0, 0)] * (m.ndim - 2) + [(0, a), (0, a)])
        return out.at[..., jnp.arange(n, n_ao), jnp.arange(n, n_ao)].set(diag) if a else out

    return MolecularSystem(
        overlap=mat(system.overlap, 1.0), hcore=mat(system.hcore, PAD_SHIFT),
        orthogonaliser=mat(system.orthogonaliser, 1.0),
        eri=None if system.eri is None else jnp.pad(system.eri, [(0, a)] * 4),
        cderi=None if system.cderi is None else mat(system.cderi),
        ao=jnp.pad(system.ao, [(0, 0), (0, q), (0, a)]),
        weights=jnp.pad(system.weights, (0, q)),
        coords=jnp.pad(system.coords, [(0, q), (0, 0)]),
        dipole=mat(system.dipole), nuclear_dipole=system.nuclear_dipole,
        nuclear_repulsion=system.nuclear_repulsion, n_electrons=system.n_electrons,
        dm0=mat(system.dm0), ao_mask=jnp.pad(system.ao_mask, (0, a)))


def stack_systems(systems: list[MolecularSystem]) -> MolecularSystem:
    """Systems padded to the largest basis and grid and stacked on a leading axis (for
    `jax.vmap` and the training driver's minibatches). Their integrals must be of one kind
    (all exact or all density-fitted, with one auxiliary size)."""
    if not systems:
        raise ValueError("no systems to stack")
    kinds = {(s.eri is None, None if s.cderi is None else s.cderi.shape[0]) for s in systems}
    if len(kinds) > 1:
        raise ValueError("systems to stack must all use exact integrals, or all density "
                         "fitting with one auxiliary basis size")
    n = max(s.n_ao for s in systems)
    g = max(s.n_grid for s in systems)
    padded = [pad_system(s, n, g) for s in systems]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *padded)
