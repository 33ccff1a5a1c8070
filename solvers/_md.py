"""Molecular dynamics with a learned potential: velocity Verlet (NVE) and Langevin (NVT, the
BAOAB splitting of Leimkuhler & Matthews), jitted, with a neighbour list rebuilt on
displacement.

Units: Å, eV, amu, fs, K (ASE's: time internally in Å·√(amu/eV), converted with
`ase.units.fs`). The list is built with a skin: its radius is r_cut + skin, and it is
rebuilt (inside the jitted loop, `lax.cond`) when any atom has moved more than skin/2 since
the last build, which guarantees that no pair inside r_cut is ever missed. A rebuild that
overflows the neighbour capacity stops the run with an error (`eqx.error_if`), never a
silent truncation. Steps run in jitted chunks of `record_every` (`lax.scan`); between
chunks the energies and temperature are recorded.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from ase import units

from sciml import checks
from sciml.potentials import Graph, predict, species_index
from sciml.potentials._graph import check_positions
from sciml.potentials._jax_neighbours import NeighbourSpec, check_overflow
from sciml.solvers._result import RESULTS

logger = logging.getLogger(__name__)
KB = units.kB  # eV/K


class Langevin(eqx.Module):
    """A Langevin thermostat at `temperature_K` with friction `friction` (1/fs)."""

    temperature_K: float
    friction: float = 0.01

    def __check_init__(self):
        checks.positive("temperature_K", self.temperature_K)
        checks.positive("friction", self.friction)


class MDState(eqx.Module):
    positions: jax.Array   # (n, 3) Å
    velocities: jax.Array  # (n, 3) Å per internal time unit
    forces: jax.Array      # (n, 3) eV/Å
    energy: jax.Array      # potential energy, eV
    reference: jax.Array   # positions at the last neighbour-list build
    neighbours: jax.Array
    shifts: jax.Array
    mask: jax.Array
    rebuilds: jax.Array
    max_count: jax.Array
    key: jax.Array


@dataclass(kw_only=True)
class MDResult:
    """A trajectory's record: `time_fs`, `potential`, `kinetic`, `total` (eV) and
    `temperature` (K) per record; the final `positions`/`velocities` (Å, Å/fs);
    `stats` (steps, neighbour rebuilds, the most neighbours any atom had, wall time);
    `result` (`RESULTS`)."""

    time_fs: np.ndarray
    potential: np.ndarray
    kinetic: np.ndarray
    temperature: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    wall_time_s: float
    result: object = field(default_factory=lambda: RESULTS.successful)
    stats: dict = field(default_factory=dict)

    @property
    def total(self) -> np.ndarray:
        return self.potential + self.kinetic

    def max_energy_drift_per_atom(self) -> float:
        """max_t |E(t) − E(0)| / n_atoms, eV/atom."""
        return float(np.max(np.abs(self.total - self.total[0])) / self.positions.shape[0])


def run_md(model, atoms, steps: int, *, dt_fs: float = 1.0, thermostat: Langevin | None = None,
           record_every: int = 10, skin: float = 0.5, capacity: int | None = None,
           seed: int = 0, progress: bool = False) -> MDResult:
    """Integrate `atoms` (`ase.Atoms` with velocities, e.g. from
    `MaxwellBoltzmannDistribution`) for `steps` steps of `dt_fs` fs under `model`:
    velocity Verlet without a thermostat (NVE), BAOAB Langevin with one (NVT).

    `capacity`: neighbour slots per atom (default: 1.5× the most at the start, + 8).
    Raises on neighbour-list overflow, non-finite energies, unknown elements, atoms
    overlapping or outside a non-periodic box.
    """
    steps, record_every = checks.count("steps", steps), checks.count("record_every", record_every)
    checks.positive("dt_fs", dt_fs)
    checks.positive("skin", skin)
    cell, pbc = np.asarray(atoms.cell[:], float), np.asarray(atoms.pbc, bool)
    check_positions(atoms.positions, cell, pbc, what="MD start")
    if pbc.any() and not pbc.all():
        raise ValueError("MD supports fully periodic or fully isolated structures; got pbc "
                         f"{pbc.tolist()}")
    dtype = model.e0.dtype
    n = len(atoms)
    species = jnp.asarray(species_index(atoms.numbers, model.species))
    masses = jnp.asarray(atoms.get_masses(), dtype)[:, None]
    r_list = model.r_cut + skin
    x0 = jnp.asarray(atoms.positions, dtype)
    cellj = jnp.asarray(cell if pbc.any() else np.zeros((3, 3)), dtype)
    probe = NeighbourSpec(cell, pbc, r_list, n, n)  # capacity n: cannot overflow
    first = jax.jit(probe.build)(x0, cellj)
    K = int(capacity) if capacity is not None else int(math.ceil(1.5 * int(first.max_count))) + 8
    spec = NeighbourSpec(cell, pbc, r_list, K, n)
    dt = dt_fs * units.fs

    def energy_forces(x, nl):
        g = Graph(x, species, nl[0], nl[1], nl[2], jnp.zeros(n, jnp.int32), cellj[None],
                  jnp.ones(n, bool))
        out = predict(model, g, forces=True)
        return out["energy"][0], out["forces"]

    def rebuild(state):
        x = state.positions
        if pbc.any():  # wrap into the cell: the list and its image counts follow
            frac = x @ jnp.linalg.inv(cellj)
            x = (frac - jnp.floor(frac)) @ cellj
        nl = spec.build(x, cellj)
        nl = check_overflow(nl, K)
        return eqx.tree_at(lambda s: (s.positions, s.reference, s.neighbours, s.shifts, s.mask,
                                      s.rebuilds, s.max_count),
                           state, (x, x, nl.neighbours, nl.shifts, nl.mask, state.rebuilds + 1,
                                   jnp.maximum(state.max_count, nl.max_count)))

    def maybe_rebuild(state):
        moved = jnp.max(jnp.sum((state.positions - state.reference) ** 2, axis=-1))
        return jax.lax.cond(moved > (skin / 2) ** 2, rebuild, lambda s: s, state)

    def force_update(state):
        state = maybe_rebuild(state)
        e, f = energy_forces(state.positions, (state.neighbours, state.shifts, state.mask))
        return eqx.tree_at(lambda s: (s.energy, s.forces), state, (e, f))

    def step(state, _):
        v = state.velocities + 0.5 * dt * state.forces / masses
        if thermostat is None:
            state = eqx.tree_at(lambda s: (s.positions, s.velocities), state,
                                (state.positions + dt * v, v))
        else:
            c1 = math.exp(-thermostat.friction * dt_fs)
            kT = KB * thermostat.temperature_K
            key, sub = jax.random.split(state.key)
            x = state.positions + 0.5 * dt * v
            noise = jax.random.normal(sub, v.shape, dtype)
            v = c1 * v + math.sqrt(1 - c1**2) * jnp.sqrt(kT / masses) * noise
            x = x + 0.5 * dt * v
            state = eqx.tree_at(lambda s: (s.positions, s.velocities, s.key), state,
                                (x, v, key))
        state = force_update(state)
        v = state.velocities + 0.5 * dt * state.forces / masses
        return eqx.tree_at(lambda s: s.velocities, state, v), None

    @eqx.filter_jit
    def chunk(state):
        state, _ = jax.lax.scan(step, state, None, length=record_every)
        e = eqx.error_if(state.energy, ~jnp.isfinite(state.energy),
                         "MD: the potential energy became non-finite")
        return eqx.tree_at(lambda s: s.energy, state, e)

    @eqx.filter_jit
    def start(x, v):
        nl = check_overflow(spec.build(x, cellj), K)
        e, f = energy_forces(x, (nl.neighbours, nl.shifts, nl.mask))
        return MDState(x, v, f, e, x, nl.neighbours, nl.shifts, nl.mask, jnp.asarray(0),
                       nl.max_count, jax.random.PRNGKey(seed))

    v0 = jnp.asarray(atoms.get_velocities(), dtype)
    t0 = time.perf_counter()
    state = start(x0, v0)
    dof = 3 * n - (3 if thermostat is None else 0)
    rec = {"t": [], "pot": [], "kin": []}

    def record(state, t):
        kin = float(0.5 * jnp.sum(masses * state.velocities**2))
        rec["t"].append(t)
        rec["pot"].append(float(state.energy))
        rec["kin"].append(kin)

    record(state, 0.0)
    bar = None
    if progress:
        import sys

        from tqdm.auto import tqdm
        bar = tqdm(total=steps, desc="md") if sys.stderr.isatty() else None
    done = 0
    while done < steps:
        todo = min(record_every, steps - done)
        if todo < record_every:  # a shorter last chunk compiles once more
            state, _ = jax.lax.scan(step, state, None, length=todo)
        else:
            state = chunk(state)
        done += todo
        record(state, done * dt_fs)
        if bar is not None:
            bar.update(todo)
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - t0
    kin = np.array(rec["kin"])
    res = MDResult(time_fs=np.array(rec["t"]), potential=np.array(rec["pot"]), kinetic=kin,
                   temperature=2 * kin / (dof * KB), positions=np.asarray(state.positions),
                   velocities=np.asarray(state.velocities) * units.fs, wall_time_s=wall,
                   stats={"steps": steps, "rebuilds": int(state.rebuilds),
                          "max_neighbours": int(state.max_count), "capacity": K,
                          "search": "cell list" if spec.grid else "all pairs"})
    logger.info("md: %d steps of %.2f fs in %.1f s, %d neighbour rebuilds", steps, dt_fs, wall,
                res.stats["rebuilds"])
    return res
