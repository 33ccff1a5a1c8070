"""Energies, forces and stresses from a potential, by automatic differentiation (eV, Å)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array

from sciml.potentials._graph import Graph


def predict(model, graph: Graph, *, forces: bool = True, stress: bool = False
            ) -> dict[str, Array]:
    """Energy per structure `(S,)` eV; with `forces`, F = −∂E/∂x `(n_atoms, 3)` eV/Å; with
    `stress`, σ = (1/V) ∂E/∂ε at ε = 0 `(S, 3, 3)` eV/Å³ (ASE's sign convention), the strain
    ε acting on positions and cell alike. Structures without a cell get NaN stress."""
    S = graph.n_structures

    def total(positions, strain):
        eps = 0.5 * (strain + jnp.swapaxes(strain, -1, -2))
        x = positions + jnp.einsum("nd,nde->ne", positions,
                                   eps[jnp.minimum(graph.structure, S - 1)])
        cells = graph.cells + jnp.einsum("sad,sde->sae", graph.cells, eps)
        energies = graph.sum_per_structure(model.atomic_energies(graph, x, cells))
        return energies.sum(), energies

    zero = jnp.zeros((S, 3, 3), graph.positions.dtype)
    if not (forces or stress):
        return {"energy": total(graph.positions, zero)[1]}
    argnums = (0, 1) if stress else 0
    (_, energy), grads = jax.value_and_grad(total, argnums=argnums, has_aux=True)(
        graph.positions, zero)
    out = {"energy": energy}
    if stress:
        g_pos, g_strain = grads
        volume = jnp.abs(jnp.linalg.det(graph.cells))[:, None, None]
        # divide by a safe volume: a NaN in the unselected branch would poison gradients
        out["stress"] = jnp.where(volume > 0, g_strain / jnp.where(volume > 0, volume, 1.0),
                                  jnp.nan)
    else:
        g_pos = grads
    if forces:
        out["forces"] = jnp.where(graph.atom_mask[:, None], -g_pos, 0.0)
    return out

