"""Training a neural exchange-correlation functional through the Kohn–Sham SCF.

The loss is a loss of SCF solutions: every step solves each molecule of a padded batch
self-consistently with the current functional (`solve_scf` under `jax.vmap`) and
differentiates through the fixed point (implicit adjoint), so the functional is trained
on what it predicts after self-consistency, as in Grad DFT. Molecules are padded to one
basis and grid size (`stack_systems`: identity overlap block, padded orbitals shifted out
of the occupied space) and drawn by the training driver's batchers.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from sciml import checks
from sciml.problems.molecules import MolecularSystem, stack_systems
from sciml.solvers._batching import FullBatch, Minibatches
from sciml.solvers._scf import DIIS, electronic_energy, solve_scf
from sciml.solvers._train import FitResult, PythonLoop, fit

MHA = 1e3  # losses in mHa: an O(1) scale for Adam


@dataclass(frozen=True)
class FunctionalTrainingConfig:
    """Settings of `train_functional`.

    Attributes:
        steps: Adam steps.
        learning_rate: Adam's rate (cosine decay to 0).
        batch_size: molecules per step (None: all of them every step).
        max_scf_steps: SCF cycles per solve (a solve that does not converge raises).
        log_every: steps per history row.
    """

    steps: int = 40
    learning_rate: float = 3e-3
    batch_size: int | None = None
    max_scf_steps: int = 60
    log_every: int = 5

    def __post_init__(self):
        checks.count("steps", self.steps)
        checks.positive("learning_rate", self.learning_rate)
        checks.count("max_scf_steps", self.max_scf_steps)
        checks.count("log_every", self.log_every)
        if self.batch_size is not None:
            checks.count("batch_size", self.batch_size)


def scf_energies(functional, systems: MolecularSystem, *, max_steps: int = 60,
                 solver: DIIS | None = None, gradient: str = "stationary") -> jax.Array:
    """Self-consistent RKS energies (Ha) of stacked closed-shell `systems`, `(batch,)`.
    A solve that fails to converge gives NaN (the training loss then stops with
    `RESULTS.nonfinite_loss`).

    `gradient`: how the energies are differentiated in the functional's parameters.
    "stationary" (default): E[P*; θ] with the converged density held fixed. This is the
    exact derivative of the self-consistent energy, because E is stationary in P at P*
    along every change that keeps P idempotent with the same electron count
    (Tr F dP = 0: F is block-diagonal between occupied and virtual orbitals there), and
    it costs one Fock build instead of an adjoint solve (45 SCF solves' worth for H2O in
    6-31G). "implicit": through the fixed point (`solve_scf`'s adjoint); needed for any
    loss that is not the energy (densities, dipoles).
    """
    if gradient not in ("stationary", "implicit"):
        raise ValueError(f"gradient must be 'stationary' or 'implicit', got {gradient!r}")

    def one(system):
        sol = solve_scf(functional, system, restricted=True, max_steps=max_steps,
                        solver=solver, throw=False)
        energy = sol.energy
        if gradient == "stationary":
            energy = electronic_energy(functional, system, jax.lax.stop_gradient(sol.density))
        return jnp.where(sol.converged, energy, jnp.nan)

    return jax.vmap(one)(systems)


def energy_loss(functional, batch, *, max_steps: int = 60):
    """Mean squared error of SCF total energies against targets, in mHa², and the mean
    absolute error (mHa) as a logged term. `batch = (systems, targets)`."""
    systems, targets = batch
    err = (scf_energies(functional, systems, max_steps=max_steps) - targets) * MHA
    return jnp.mean(err**2), {"mae_mHa": jnp.mean(jnp.abs(err))}


def train_functional(functional, systems: list[MolecularSystem], targets, *,
                     config: FunctionalTrainingConfig = FunctionalTrainingConfig(),
                     key: jax.Array | None = None, progress: bool = False) -> FitResult:
    """Fit `functional`'s parameters so that SCF energies of `systems` (closed shells, RKS)
    match `targets` (Ha), on the one training driver (`fit`).

    Returns:
        `fit`'s `FitResult` (`model` is the trained functional; `history` has `loss`
        (mHa²) and `mae_mHa`).
    """
    targets = jnp.asarray(targets, dtype=jnp.float64)
    if targets.shape != (len(systems),):
        raise ValueError(f"need one target energy per system: {len(systems)} systems, "
                         f"targets of shape {targets.shape}")
    if not bool(jnp.all(jnp.isfinite(targets))):
        raise ValueError("target energies contain NaN or infinity")
    for i, s in enumerate(systems):
        if int(s.n_electrons[0]) != int(s.n_electrons[1]):
            raise ValueError(f"system {i} is open-shell: train_functional solves RKS, so it "
                             "needs closed shells (N_alpha = N_beta)")
    data = (stack_systems(list(systems)), targets)
    batcher = FullBatch() if config.batch_size is None else Minibatches(config.batch_size)
    schedule = optax.cosine_decay_schedule(config.learning_rate, config.steps)
    return fit(functional, lambda f, b: energy_loss(f, b, max_steps=config.max_scf_steps),
               optax.adam(schedule), steps=config.steps, data=data, batcher=batcher, key=key,
               has_aux=True, log_every=config.log_every, loop=PythonLoop(),
               progress=progress, desc="functional")
