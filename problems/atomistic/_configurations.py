"""Labelled configurations of a metal, deterministic from a seed, grouped in trajectories.

`AtomicStructures` is the problem behind the `atomic_structures` dataset. Its samples come
in *cycles* of trajectories, repeated: per cycle, for the metal (default Cu, EMT labels)

    strain   x2   2x2x2 cubic cell (32 atoms), random symmetric strain |ε_ij| <= max_strain,
                  rattled
    strain   x1   3x3x3 cubic cell (108 atoms), strained and rattled
    bulk     x1   2x2x2 cell, rattled
    vacancy  x1   2x2x2 cell with one vacancy (31 atoms), rattled
    surface  x2   fcc(111) 2x2x6 slab (24 atoms) and fcc(100) 3x3x4 slab (36 atoms), 6 Å
                  of vacuum each side, periodic in x, y; rattled
    cluster  x1   13-atom icosahedron or 38-atom truncated octahedron (non-periodic), rattled
    md       x1 per temperature: Langevin MD of the 2x2x2 cell, `md_frames` frames, one
                  every `md_interval` steps of `timestep` fs

— 8 single-frame trajectories and len(temperatures) MD ones (23 samples per cycle by
default). Sample i of stream s is frame f of trajectory t, both fixed by i alone
(`locate`); trajectory t draws everything from its own generator
`SeedSequence(seed, spawn_key=(crc32(name), s, t))`, so a sample depends only on
(seed, s, i) whatever chunk it is computed in. Trajectory ids are unique across streams:
stream s's trajectory t has id `s * TRAJECTORY_STREAM_OFFSET + t`.

Frames of one trajectory are correlated: split by trajectory (`split_by_trajectory`),
never by frame.

Units: Å, eV, eV/Å, eV/Å³; masses amu, time fs, temperature K.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from sciml import checks
from sciml.problems.atomistic._calculators import emt, labelled, reference_labels
from sciml.problems.atomistic._structures import (
    FCC_METALS,
    cluster,
    fcc_bulk,
    fcc_surface,
    random_strain,
    rattled,
    strained,
    with_vacancies,
)
from sciml.problems.base import Reference

KINDS = ("bulk", "strain", "vacancy", "surface", "cluster", "md", "other")
TRAJECTORY_STREAM_OFFSET = 1_000_000

EMT_REFERENCE = Reference("analytic", 1e-12, evidence=(
    "ASE's EMT: a closed-form many-body energy with analytic forces and stress, exact to "
    "float64 rounding for the model (not for the metal); forces match central finite "
    "differences of the energy and stress its strain derivative (tests/problems/"
    "test_atomistic.py)"))


@dataclass(frozen=True)
class TrajectorySpec:
    """One trajectory of a cycle: its `kind`, number of `frames`, MD `temperature` (K; 0
    for static configurations) and builder `option` (cell repeat, facet or "")."""

    kind: str
    frames: int = 1
    temperature: float = 0.0
    option: str = ""


class AtomicStructures:
    """Configurations of an fcc metal labelled by EMT (module docstring).

    Args:
        metal: one of `FCC_METALS`.
        temperatures: MD thermostat temperatures (K), one trajectory each per cycle.
        md_frames: frames per MD trajectory.
        md_interval: MD steps between frames (the first frame after `md_interval` steps).
        timestep: MD time step (fs).
        friction: Langevin friction (1/fs).
        max_strain: largest |ε_ij| of the random strains.
        rattle: largest standard deviation (Å) of the random displacements; each static
            configuration draws its own in [rattle/5, rattle].
    """

    name = "atomic_structures"

    def __init__(self, metal: str = "Cu", temperatures: Sequence[float] = (300.0, 600.0, 1200.0),
                 md_frames: int = 5, md_interval: int = 5, timestep: float = 5.0,
                 friction: float = 0.01, max_strain: float = 0.03, rattle: float = 0.1):
        if metal not in FCC_METALS:
            raise ValueError(f"unknown metal {metal!r} for EMT; supported fcc metals: "
                             f"{', '.join(FCC_METALS)}")
        self.metal = metal
        self.temperatures = tuple(checks.positive("temperatures", t) for t in temperatures)
        self.md_frames = checks.count("md_frames", md_frames)
        self.md_interval = checks.count("md_interval", md_interval)
        self.timestep = checks.positive("timestep", timestep)
        self.friction = checks.nonnegative("friction", friction)
        self.max_strain = checks.real("max_strain", max_strain, low=0.0, high=0.1)
        self.rattle = checks.real("rattle", rattle, low=0.0, high=0.3)

    @property
    def params(self) -> dict:
        return {"metal": self.metal, "temperatures": self.temperatures,
                "md_frames": self.md_frames, "md_interval": self.md_interval,
                "timestep": self.timestep, "friction": self.friction,
                "max_strain": self.max_strain, "rattle": self.rattle}

    @property
    def reference(self) -> Reference:
        return EMT_REFERENCE

    def __repr__(self) -> str:
        return f"AtomicStructures({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"

    # --- the schedule ------------------------------------------------------------------------
    @property
    def cycle(self) -> tuple[TrajectorySpec, ...]:
        """The trajectories of one cycle, in sample order."""
        return (
            TrajectorySpec("strain", option="2"), TrajectorySpec("strain", option="2"),
            TrajectorySpec("strain", option="3"), TrajectorySpec("bulk", option="2"),
            TrajectorySpec("vacancy", option="2"), TrajectorySpec("surface", option="111"),
            TrajectorySpec("surface", option="100"), TrajectorySpec("cluster"),
            *(TrajectorySpec("md", self.md_frames, t, "2") for t in self.temperatures),
        )

    @property
    def samples_per_cycle(self) -> int:
        return sum(s.frames for s in self.cycle)

    def locate(self, index: int) -> tuple[int, int]:
        """(trajectory t within its stream, frame) of sample `index`."""
        index = checks.integer("index", index, low=0)
        cycle = self.cycle
        c, r = divmod(index, self.samples_per_cycle)
        for k, spec in enumerate(cycle):
            if r < spec.frames:
                return c * len(cycle) + k, r
            r -= spec.frames
        raise AssertionError("unreachable")

    def rng(self, seed: int, stream: int, trajectory: int) -> np.random.Generator:
        """The random generator of trajectory `trajectory` of stream `stream`."""
        key = (zlib.crc32(self.name.encode()), checks.integer("stream", stream, low=0),
               checks.integer("trajectory", trajectory, low=0))
        return np.random.default_rng(np.random.SeedSequence(
            checks.integer("seed", seed, low=0), spawn_key=key))

    # --- configurations ---------------------------------------------------------------------
    def trajectory(self, seed: int, stream: int, t: int) -> list[Atoms]:
        """Every frame of trajectory `t` of `stream`, labelled (`labelled`: energy, forces,
        stress in a SinglePointCalculator; `info` trajectory, kind, temperature, frame)."""
        spec = self.cycle[t % len(self.cycle)]
        rng = self.rng(seed, stream, t)
        ident = stream * TRAJECTORY_STREAM_OFFSET + t
        if spec.kind == "md":
            frames = self._md(spec, rng)
        else:
            frames = [self._static(spec, rng)]
        return [
            labelled(a, reference_labels(a, emt(a), name=f"trajectory {ident} frame {f}"),
                     trajectory=ident, kind=spec.kind, temperature=spec.temperature, frame=f)
            for f, a in enumerate(frames)
        ]

    def configurations(self, seed: int, stream: int, indices: Sequence[int]) -> list[Atoms]:
        """Samples `indices` of stream `stream`, labelled; each trajectory is run once."""
        located = [self.locate(int(i)) for i in indices]
        runs = {t: self.trajectory(seed, stream, t) for t in dict.fromkeys(t for t, _ in located)}
        return [runs[t][f] for t, f in located]

    def _static(self, spec: TrajectorySpec, rng: np.random.Generator) -> Atoms:
        return static_structure(self.metal, spec.kind, rng, option=spec.option,
                                max_strain=self.max_strain, rattle=self.rattle)

    def _md(self, spec: TrajectorySpec, rng: np.random.Generator) -> list[Atoms]:
        from ase import units
        from ase.constraints import FixCom
        from ase.md.langevin import Langevin

        atoms = fcc_bulk(self.metal, int(spec.option))
        # Maxwell–Boltzmann momenta at 2T from the perfect lattice: equipartition shares
        # the kinetic energy with the potential, so the cell starts near T.
        m = atoms.get_masses()[:, None]
        p = rng.normal(size=(len(atoms), 3)) * np.sqrt(m * units.kB * 2 * spec.temperature)
        atoms.set_momenta(p - m * p.sum(0) / m.sum())
        atoms.set_constraint(FixCom())
        atoms.calc = emt(atoms)
        dyn = Langevin(atoms, self.timestep * units.fs, temperature_K=spec.temperature,
                       friction=self.friction / units.fs, fixcm=False, rng=rng)
        frames = []
        for _ in range(spec.frames):
            dyn.run(self.md_interval)
            frames.append(Atoms(atoms.numbers, atoms.positions, cell=atoms.cell,
                                pbc=atoms.pbc))
        return frames


STATIC_KINDS = ("bulk", "strain", "vacancy", "surface", "cluster")


def static_structure(metal: str, kind: str, rng: np.random.Generator, *, option: str = "",
                     max_strain: float = 0.03, rattle: float = 0.1) -> Atoms:
    """One rattled structure of `kind` (`STATIC_KINDS`), drawn by `rng`: bulk, strain and
    vacancy cells repeat the cubic cell `option` times (default 2: 32 atoms; strain
    |ε_ij| <= `max_strain`, one vacancy); surface is the fcc(`option`) slab, "111" (2x2x6,
    24 atoms, default) or "100" (3x3x4, 36 atoms); cluster a 13- or 38-atom cluster. The
    rattle's standard deviation is drawn in [rattle/5, rattle] (Å)."""
    if kind not in STATIC_KINDS:
        raise ValueError(f"unknown structure kind {kind!r}; use one of "
                         f"{', '.join(STATIC_KINDS)}")
    if kind == "surface":
        facet = option or "111"
        atoms = fcc_surface(metal, facet, (2, 2, 6) if facet == "111" else (3, 3, 4))
        atoms.info.clear()  # ASE's adsorption sites: a nested dict extxyz cannot hold
    elif kind == "cluster":
        atoms = cluster(metal, int(rng.choice([13, 38])))
    else:
        atoms = fcc_bulk(metal, int(option or 2))
        if kind == "strain":
            atoms = strained(atoms, random_strain(rng, max_strain))
        elif kind == "vacancy":
            atoms = with_vacancies(atoms, 1, rng)
    return rattled(atoms, rattle * rng.uniform(0.2, 1.0), rng)


def generate_configurations(n: int | None = None, *, seed: int = 0, stream: int = 0,
                            **params) -> list[Atoms]:
    """The first `n` configurations (default: one cycle, 23 with the defaults) of stream
    `stream` of `AtomicStructures(**params)`, as labelled `ase.Atoms`."""
    problem = AtomicStructures(**params)
    n = problem.samples_per_cycle if n is None else checks.integer("n", n, low=0)
    return problem.configurations(seed, stream, range(n))


# --- splitting by trajectory -----------------------------------------------------------------
def trajectory_split(trajectories, fractions: Sequence[float] = (0.8, 0.1, 0.1), *,
                     seed: int = 0) -> tuple[np.ndarray, ...]:
    """Positions of the samples in each split, for per-sample trajectory ids
    `trajectories`: whole trajectories go to one split, never frames of one to two.

    Trajectories are shuffled by `seed` and each joins the split furthest below its share
    `fractions` (non-negative, adding up to 1) of the samples.

    Returns:
        One sorted int array per fraction (e.g. train, validation, test).

    Raises:
        ValueError: bad fractions, or fewer trajectories than non-zero fractions.
    """
    ids = np.asarray(trajectories).reshape(-1)
    frac = np.asarray([checks.nonnegative("fractions", f) for f in fractions])
    if frac.size == 0 or abs(frac.sum() - 1) > 1e-9:
        raise ValueError(f"fractions must add up to 1, got {tuple(fractions)}")
    unique, inverse, sizes = np.unique(ids, return_inverse=True, return_counts=True)
    wanted = int(np.count_nonzero(frac))
    if unique.size < wanted:
        raise ValueError(f"{unique.size} trajectories cannot fill {wanted} splits; generate "
                         "more trajectories or use fewer splits")
    rng = np.random.default_rng(checks.integer("seed", seed, low=0))
    target = frac * ids.size
    have = np.zeros(frac.size)
    assign = np.empty(unique.size, dtype=np.int64)
    order = rng.permutation(unique.size)
    for k, u in enumerate(order):
        left = order.size - k
        empty = np.flatnonzero((frac > 0) & (have == 0))
        if empty.size >= left:  # just enough trajectories left: one for each empty split
            s = empty[0]
        else:
            s = int(np.argmax(np.where(frac > 0, target - have, -np.inf)))
        assign[u] = s
        have[s] += sizes[u]
    split_of = assign[inverse]
    return tuple(np.flatnonzero(split_of == s) for s in range(frac.size))


def split_by_trajectory(configurations: Sequence[Atoms],
                        fractions: Sequence[float] = (0.8, 0.1, 0.1), *,
                        seed: int = 0) -> tuple[list[Atoms], ...]:
    """Split labelled configurations (each with `info["trajectory"]`) into lists, e.g.
    (train, validation, test), by whole trajectories (`trajectory_split`)."""
    missing = [k for k, a in enumerate(configurations) if "trajectory" not in a.info]
    if missing:
        raise ValueError(f"configurations {missing[:10]} have no info['trajectory']; set one "
                         "id per trajectory (independent structures: one id each)")
    ids = [int(a.info["trajectory"]) for a in configurations]
    parts = trajectory_split(ids, fractions, seed=seed)
    return tuple([configurations[i] for i in p] for p in parts)
