"""Kohn–Sham self-consistent field as an `optimistix` fixed point, with DIIS.

The fixed-point variable is the spin Kohn–Sham (Fock) matrix F = (F_alpha, F_beta) in the
AO basis: `scf_map(F) = F[P(F)]`, where P(F) occupies the lowest orbitals of F (aufbau,
generalised eigenproblem F C = S C ε) and F[P] = ∂E/∂P is the Fock matrix of the energy
functional E[P] (`kohn_sham_fock`, a reusable function of (density matrix, system)).
`DIIS` is an `optx.AbstractFixedPointSolver` (Pulay's extrapolation of Fock matrices with
the commutator F P S − S P F as the error), so `optx.fixed_point` drives it and gives
implicit differentiation (`optx.ImplicitAdjoint`) or unrolling
(`optx.RecursiveCheckpointAdjoint`). `solve_scf` is the entry point.

Degenerate orbitals: P(F) is differentiated only through occupied–virtual pairs (a
custom JVP, dP = C [(Cᵀ dF C) ∘ W] Cᵀ with W_pq = (n_p − n_q)/(ε_p − ε_q)), which is exact
for the density matrix and finite whenever the HOMO–LUMO gap is, however degenerate the
occupied or virtual levels (N₂, CH₄); `jnp.linalg.eigh`'s own derivative is NaN there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx
from jaxtyping import Array, Float

from sciml.dft._grid import energy_density_on_grid, xc_energy
from sciml.problems.molecules import MolecularSystem

if TYPE_CHECKING:
    from sciml.dft import AbstractFunctional

logger = logging.getLogger(__name__)


# --- the Fock-matrix path: (density matrix, system) -> energy, Fock ------------------------
def coulomb_exchange(system: MolecularSystem, dm: Float[Array, "2 n n"]):
    """Coulomb J[P_alpha + P_beta] `(n, n)` and exchange K[P_σ] `(2, n, n)` (Ha)."""
    total = dm[0] + dm[1]
    if system.eri is not None:
        j = jnp.einsum("ijkl,kl->ij", system.eri, total)
        k = jnp.einsum("ikjl,skl->sij", system.eri, dm)
    else:
        b = system.cderi
        j = jnp.einsum("Lij,L->ij", b, jnp.einsum("Lkl,kl->L", b, total))
        k = jnp.einsum("Lik,skl,Ljl->sij", b, dm, b)
    return j, k


def electronic_energy(functional: AbstractFunctional, system: MolecularSystem,
                      dm: Float[Array, "2 n n"]) -> Float[Array, ""]:
    """Total Kohn–Sham energy E[P] (Ha), nuclear repulsion included:
    Σσ Tr P_σ h + ½ Tr P J[P] − (a/2) Σσ Tr P_σ K[P_σ] + E_xc[P] + E_nn,
    with a = `functional.exact_exchange`."""
    j, k = coulomb_exchange(system, dm)
    total = dm[0] + dm[1]
    e = jnp.sum(total * system.hcore) + 0.5 * jnp.sum(total * j)
    a = functional.exact_exchange
    if not (isinstance(a, (int, float)) and a == 0):
        e = e - 0.5 * a * jnp.sum(dm * k)
    return e + xc_energy(functional, system.ao, system.weights, dm) + system.nuclear_repulsion


def kohn_sham_fock(functional: AbstractFunctional, system: MolecularSystem,
                   dm: Float[Array, "2 n n"]):
    """`(energy, fock)`: E[P] and F_σ = ∂E/∂P_σ `(2, n, n)`, symmetrised (P is symmetric,
    so only the symmetric part of the gradient is a derivative along allowed changes)."""
    energy, g = jax.value_and_grad(electronic_energy, argnums=2)(functional, system, dm)
    return energy, 0.5 * (g + jnp.swapaxes(g, -1, -2))


@jax.custom_jvp
def _density(fock, x, occ):
    return _density_primal(fock, x, occ)[0]


def _density_primal(fock, x, occ):
    fp = jnp.swapaxes(x, -1, -2) @ fock @ x
    eps, cp = jnp.linalg.eigh(fp)
    c = x @ cp
    return (c * occ[..., None, :]) @ jnp.swapaxes(c, -1, -2), eps, c


@_density.defjvp
def _density_jvp(primals, tangents):
    fock, x, occ = primals
    dfock = tangents[0]  # x (the overlap) and occ are held fixed: see `density`
    p, eps, c = _density_primal(fock, x, occ)
    ct = jnp.swapaxes(c, -1, -2)
    gap = eps[..., :, None] - eps[..., None, :]
    docc = occ[..., :, None] - occ[..., None, :]
    pair = docc != 0  # occupied–virtual pairs only
    w = jnp.where(pair, docc / jnp.where(pair, gap, 1.0), 0.0)
    return p, c @ ((ct @ dfock @ c) * w) @ ct


def density(system: MolecularSystem, fock: Float[Array, "2 n n"], restricted: bool):
    """Aufbau density matrices `(2, n, n)` of `fock`, with orbital energies `(2, n)` and
    coefficients `(2, n, n)`. Restricted: both spins from F_alpha. Differentiable in
    `fock` (occupied–virtual pairs; module docstring); the overlap is held fixed."""
    x = jax.lax.stop_gradient(system.orthogonaliser)
    occ = (jnp.arange(system.n_ao)[None, :] < system.n_electrons[:, None]).astype(fock.dtype)
    if restricted:
        fock = jnp.stack([fock[0], fock[0]])
    p = _density(fock, x, jax.lax.stop_gradient(occ))
    _, eps, c = _density_primal(jax.lax.stop_gradient(fock), x, occ)
    return p, eps, c


def commutator(system: MolecularSystem, fock, dm):
    """Xᵀ (F P S − S P F) X per spin `(2, n, n)`: zero exactly at self-consistency (in an
    orthonormal basis, so its size does not depend on the basis' scaling)."""
    s, x = system.overlap, system.orthogonaliser
    fps = fock @ dm @ s
    return jnp.swapaxes(x, -1, -2) @ (fps - jnp.swapaxes(fps, -1, -2)) @ x


class SCFAux(eqx.Module):
    """What one application of the SCF map reports besides the new Fock matrix."""

    energy: Float[Array, ""]  # E[P(F_in)]
    error: Float[Array, "2 n n"]  # the DIIS error: commutator of F_out with P(F_in)
    density: Float[Array, "2 n n"]  # P(F_in)


def scf_map(fock, args):
    """The fixed-point map F -> F[P(F)], with `SCFAux` (`args = (functional, system,
    restricted)`)."""
    functional, system, restricted = args
    p, _, _ = density(system, fock, restricted)
    energy, f_out = kohn_sham_fock(functional, system, p)
    if restricted:  # ∂E/∂P of the total density with P_alpha = P_beta = P/2
        f_out = jnp.broadcast_to(0.5 * (f_out[0] + f_out[1]), f_out.shape)
    return f_out, SCFAux(energy, commutator(system, f_out, p), p)


# --- the solver -----------------------------------------------------------------------------
class _DIISState(eqx.Module):
    focks: Array  # (memory, 2, n, n) Fock matrices F_out
    errors: Array  # (memory, 2 n n) their commutators, flattened
    count: Array  # Fock matrices seen
    energy: Array  # E of the latest step
    energy_change: Array  # |E_k − E_{k-1}|
    error_norm: Array  # max |commutator| of the latest step
    energies: Array  # (max_history,) energy per step, NaN beyond `count`


class DIIS(optx.AbstractFixedPointSolver):
    """Pulay's direct inversion in the iterative subspace, for SCF maps (`scf_map`).

    The map's aux must carry `energy` and `error` (`SCFAux`). Each step extrapolates the
    last `memory` outputs F_out with the coefficients c (Σ c = 1) minimising ‖Σ c_i e_i‖,
    e_i their commutators. Converged when ‖commutator‖_max < `tol_commutator` and the
    energy change < `tol_energy` (Ha).

    Attributes:
        tol_energy, tol_commutator: convergence thresholds.
        memory: Fock matrices kept (PySCF's default 8).
        damping: y_{k+1} = (1 − d) DIIS + d y_k, kept through the solve (a fixed point of
            the damped map is one of the map).
        level_shift: Ha added to virtual orbitals while ‖commutator‖ > `shift_until`, then
            dropped, so the last iterates are a fixed point of the unshifted map (which
            implicit differentiation needs).
        start: the step from which extrapolation begins (before it, plain iteration).
        history: energies kept for reporting (steps beyond it are not recorded).
    """

    tol_energy: float = 1e-10
    tol_commutator: float = 1e-7
    memory: int = eqx.field(static=True, default=8)
    damping: float = 0.0
    level_shift: float = 0.0
    shift_until: float = 1e-3
    start: int = eqx.field(static=True, default=1)
    history: int = eqx.field(static=True, default=128)
    # optimistix's fixed-point contract names these; DIIS stops on the thresholds above
    rtol: float = eqx.field(static=True, default=0.0)
    atol: float = eqx.field(static=True, default=0.0)
    norm: Any = eqx.field(static=True, default=optx.max_norm)

    def __check_init__(self):
        if not 0 <= self.damping < 1:
            raise ValueError(f"damping must lie in [0, 1), got {self.damping}")
        if self.memory < 2:
            raise ValueError(f"DIIS memory must be >= 2, got {self.memory}")

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        m = self.memory
        return _DIISState(
            focks=jnp.zeros((m,) + y.shape, y.dtype), errors=jnp.zeros((m, y.size), y.dtype),
            count=jnp.asarray(0), energy=jnp.asarray(jnp.inf, y.dtype),
            energy_change=jnp.asarray(jnp.inf, y.dtype),
            error_norm=jnp.asarray(jnp.inf, y.dtype),
            energies=jnp.full(self.history, jnp.nan, y.dtype))

    def step(self, fn, y, args, options, state, tags):
        f_out, aux = fn(y, args)
        m = self.memory
        slot = state.count % m
        focks = state.focks.at[slot].set(f_out)
        errors = state.errors.at[slot].set(aux.error.reshape(-1))
        count = state.count + 1
        valid = jnp.arange(m) < count
        # Unrolled differentiation goes through the coefficients too: with them held
        # fixed, the derivative of the iterates does not converge to the fixed point's.
        b = errors @ errors.T
        scale = jnp.max(jnp.where(valid, jnp.diag(b), 0.0))
        b = jnp.where(valid[:, None] & valid[None, :], b / jnp.where(scale > 0, scale, 1.0), 0.0)
        b = b + jnp.diag(jnp.where(valid, 0.0, 1.0))
        ones = valid.astype(b.dtype)
        bordered = jnp.block([[b, -ones[:, None]], [-ones[None, :], jnp.zeros((1, 1), b.dtype)]])
        rhs = jnp.concatenate([jnp.zeros(m, b.dtype), -jnp.ones(1, b.dtype)])
        coeff = jnp.linalg.solve(bordered, rhs)[:m]
        ok = jnp.all(jnp.isfinite(coeff)) & (count > self.start)
        extrapolated = jnp.einsum("m,m...->...", jnp.where(valid, coeff, 0.0), focks)
        new_y = jnp.where(ok, extrapolated, f_out)
        err_norm = jnp.max(jnp.abs(aux.error))
        if self.level_shift:
            functional, system, restricted = args
            s = system.overlap
            virtual = s - s @ aux.density @ s  # projector onto the virtual space (S metric)
            on = (err_norm > self.shift_until).astype(y.dtype)
            new_y = new_y + on * self.level_shift * virtual
        if self.damping:
            new_y = (1 - self.damping) * new_y + self.damping * y
        change = jnp.abs(aux.energy - state.energy)
        energies = state.energies.at[jnp.minimum(state.count, self.history - 1)].set(
            jnp.where(state.count < self.history, aux.energy, state.energies[-1]))
        new_state = _DIISState(focks, errors, count, aux.energy, change, err_norm, energies)
        return new_y, new_state, aux

    def terminate(self, fn, y, args, options, state, tags):
        finite = jnp.isfinite(state.energy) & jnp.isfinite(state.error_norm)
        done = (state.energy_change < self.tol_energy) & (state.error_norm < self.tol_commutator)
        result = optx.RESULTS.where(finite | (state.count == 0), optx.RESULTS.successful,
                                    optx.RESULTS.nonlinear_divergence)
        return done | ~(finite | (state.count == 0)), result

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {"energy_change": state.energy_change, "commutator": state.error_norm,
                        "energies": state.energies, "cycles": state.count}


# --- the entry point ------------------------------------------------------------------------
def implicit_adjoint(rtol: float = 1e-12, max_steps: int = 200) -> optx.ImplicitAdjoint:
    """Implicit differentiation through the fixed point with a matrix-free GMRES solve of
    (1 − ∂F_out/∂F_in)ᵀ λ = g (the default adjoint of `solve_scf`). Optimistix's default
    materialises the Jacobian, one JVP of the Fock build per Fock-matrix entry: gigabytes
    on a DFT grid."""
    return optx.ImplicitAdjoint(linear_solver=lx.GMRES(rtol=rtol, atol=rtol,
                                                       max_steps=max_steps, restart=40))


class SCFConvergenceError(RuntimeError):
    """An SCF that did not converge in its budget, or diverged to NaN."""


class SCFSolution(eqx.Module):
    """A converged (or, with `throw=False`, the last) Kohn–Sham state.

    Attributes:
        energy: total energy (Ha), nuclear repulsion included.
        density: `(2, n, n)` spin density matrices.
        fock: `(2, n, n)` the Fock matrices F[density].
        orbital_energies: `(2, n)` (Ha), ascending.
        coefficients: `(2, n, n)` MO coefficients (columns).
        result: an `optx.RESULTS` item.
        stats: `cycles`, `commutator` (last max |FPS − SPF|), `energy_change` (Ha),
            `energies` (per cycle, NaN-padded).
    """

    energy: Float[Array, ""]
    density: Float[Array, "2 n n"]
    fock: Float[Array, "2 n n"]
    orbital_energies: Float[Array, "2 n"]
    coefficients: Float[Array, "2 n n"]
    result: Any
    stats: dict

    @property
    def converged(self):
        return self.result == optx.RESULTS.successful

    def dipole(self, system: MolecularSystem) -> Float[Array, " 3"]:
        """Dipole moment (e·bohr) about the centre of nuclear charge."""
        total = self.density[0] + self.density[1]
        return system.nuclear_dipole - jnp.einsum("xij,ij->x", system.dipole, total)


def solve_scf(functional: AbstractFunctional, system: MolecularSystem, *,
              restricted: bool | None = None, solver: DIIS | None = None,
              max_steps: int = 100, adjoint: optx.AbstractAdjoint | None = None,
              throw: bool = True, fock0: Array | None = None) -> SCFSolution:
    """Self-consistent Kohn–Sham state of `system` under `functional`.

    Starts from the system's initial-guess density (`dm0`, PySCF's), i.e. F0 = F[dm0], as
    PySCF does. Differentiable in the functional's parameters (and anything else in
    `system` the Fock matrix depends on) by implicit differentiation through the fixed
    point (default: `implicit_adjoint()`) or by unrolling
    (`adjoint=optx.RecursiveCheckpointAdjoint()`).

    Args:
        restricted: RKS (both spins share orbitals) or UKS; default RKS exactly when
            N_alpha = N_beta (a concrete system is checked: RKS with N_alpha ≠ N_beta is
            refused).
        solver: `DIIS(...)` (default `DIIS()`).
        max_steps: SCF cycles allowed.
        throw: raise `SCFConvergenceError` (with the last commutator norm and energy
            change) when not converged; under `jit` the error is raised through
            `eqx.error_if`. With `throw=False` the result says it (`result`, `converged`).
    """
    solver = DIIS() if solver is None else solver
    adjoint = implicit_adjoint() if adjoint is None else adjoint
    try:  # checked where the electron counts are known (not under jit or vmap)
        n_alpha, n_beta = (int(n) for n in system.n_electrons)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError):
        n_alpha = n_beta = None
    if restricted is None:
        if n_alpha is None:
            raise ValueError("under jit or vmap, pass restricted=True/False explicitly")
        restricted = n_alpha == n_beta
    if restricted and n_alpha is not None and n_alpha != n_beta:
        raise ValueError(f"restricted Kohn–Sham needs N_alpha = N_beta, got {n_alpha} "
                         f"and {n_beta} (an odd electron count or spin ≠ 0): use "
                         "restricted=False (UKS)")
    out = _solve(functional, system, fock0, restricted, solver, max_steps, adjoint)
    if throw:
        out = _raise_unconverged(out, functional, system, solver, max_steps)
    return out


@eqx.filter_jit
def _solve(functional, system, fock0, restricted, solver, max_steps, adjoint):
    """The compiled solve (one compilation per shape, functional structure and settings)."""
    if fock0 is None:
        fock0 = kohn_sham_fock(functional, system, system.dm0)[1]
    args = (functional, system, restricted)
    sol = optx.fixed_point(scf_map, solver, fock0, args, has_aux=True, max_steps=max_steps,
                           adjoint=adjoint, throw=False)
    p, eps, c = density(system, sol.value, restricted)
    energy, fock = kohn_sham_fock(functional, system, p)
    if restricted:
        fock = jnp.broadcast_to(0.5 * (fock[0] + fock[1]), fock.shape)
    return SCFSolution(energy, p, fock, eps, c, sol.result, sol.stats)


def _raise_unconverged(sol: SCFSolution, functional, system, solver, max_steps):
    traced = isinstance(sol.energy, jax.core.Tracer)
    if traced:
        return eqx.error_if(sol, ~sol.converged,
                            "the SCF did not converge (NaN energy or max_steps reached); "
                            "call solve_scf outside jit, or with throw=False, for the numbers")
    if bool(sol.converged) and bool(jnp.isfinite(sol.energy)):
        return sol
    st = {k: np.asarray(v) for k, v in sol.stats.items()}
    if not np.isfinite(sol.energy) or sol.result == optx.RESULTS.nonlinear_divergence:
        raise SCFConvergenceError(
            f"the SCF diverged to a non-finite energy after {int(st['cycles'])} cycles"
            + _nan_report(functional, system, sol.density))
    raise SCFConvergenceError(
        f"the SCF did not converge in {max_steps} cycles: last max |FPS − SPF| = "
        f"{float(st['commutator']):.3e} (tolerance {solver.tol_commutator:g}), last energy "
        f"change {float(st['energy_change']):.3e} Ha (tolerance {solver.tol_energy:g}), "
        f"energy {float(sol.energy):.10f} Ha. Raise max_steps, add damping or level_shift "
        "to DIIS(...), or start from a better guess")


def _nan_report(functional, system, dm) -> str:
    """Where the functional is not finite on the grid, for the error message."""
    e, rho, sigma = energy_density_on_grid(functional, system.ao, jnp.nan_to_num(dm))
    bad = np.flatnonzero(~np.isfinite(np.asarray(e)) & (np.asarray(system.weights) > 0))
    if not bad.size:
        return " (the functional is finite on the final density: check the integrals)"
    i = int(bad[0])
    xyz = np.asarray(system.coords[i])
    return (f": the functional is not finite at {bad.size} grid point(s), first at index {i}, "
            f"r = ({xyz[0]:.3f}, {xyz[1]:.3f}, {xyz[2]:.3f}) bohr, rho = "
            f"{np.asarray(rho[:, i])} bohr^-3, sigma = {np.asarray(sigma[:, i])}")
