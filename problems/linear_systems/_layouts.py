"""Obstacle layouts drawn in unit coordinates, so that one seed gives one geometry at every n."""

from __future__ import annotations

import numpy as np

from sciml import checks
from sciml.problems.linear_systems._system import PoissonSystem

LAYOUT_KINDS = ("empty", "spheres", "boxes", "walls", "mixed")
HELD_OUT = 1000  # seeds below are for training, seeds from here on for tests and benchmarks


def is_held_out(seed: int) -> bool:
    """Whether layouts (and right-hand sides) of `seed` are held out of training: the
    convention is seeds 0 … 999 for training, seeds ≥ 1000 for tests and benchmarks."""
    return checks.integer("seed", seed, low=0) >= HELD_OUT


def training_seeds(count: int) -> range:
    """The first `count` (≤ 1000) training seeds."""
    return range(checks.integer("count", count, low=1, high=HELD_OUT))


def test_seeds(count: int) -> range:
    """The first `count` held-out seeds: 1000, 1001, …"""
    return range(HELD_OUT, HELD_OUT + checks.count("count", count))


test_seeds.__test__ = False  # not a pytest test when imported into a test module


def _cells(lo: float, hi: float, n: int) -> slice:
    """The cells whose centres lie in [lo, hi], at least the one nearest its middle (so that
    thin walls and small openings survive coarse grids)."""
    i0, i1 = int(np.ceil(lo * n - 0.5)), int(np.floor(hi * n - 0.5)) + 1
    if i1 <= i0:
        i0 = int(np.clip(np.floor(0.5 * (lo + hi) * n), 0, n - 1))
        i1 = i0 + 1
    return slice(max(i0, 0), min(i1, n))


def _spheres(rng, d: int, count: int) -> list:
    return [("sphere", rng.uniform(0.1, 0.9, d), rng.uniform(0.05, 0.15)) for _ in range(count)]


def _boxes(rng, d: int, count: int) -> list:
    out = []
    for _ in range(count):
        size = rng.uniform(0.05, 0.25, d)
        lo = rng.uniform(0.05, 0.95 - size)
        out.append(("box", lo, lo + size))
    return out


def _walls(rng, d: int, count: int) -> list:
    # all walls of a layout share one axis and are ≥ 0.12 apart (one per slot of [0.15, 0.85]),
    # so the slabs between them connect through the openings (or run to the open top)
    axis, slot = int(rng.integers(d)), 0.7 / max(count, 1)
    out = []
    for i in range(count):
        openings = []
        for _ in range(rng.integers(1, 4)):
            size = rng.uniform(0.1, 0.3, d - 1)
            lo = rng.uniform(0.05, 0.95 - size)
            openings.append((lo, lo + size))
        at = rng.uniform(0.15 + i * slot + 0.06, 0.15 + (i + 1) * slot - 0.06)
        out.append(("wall", axis, at, openings))
    return out


def _draw(kind: str, rng, d: int) -> list:
    if kind == "empty":
        return []
    if kind == "mixed":
        return (_spheres(rng, d, rng.integers(1, 5)) + _boxes(rng, d, rng.integers(1, 5))
                + _walls(rng, d, rng.integers(0, 3)))
    return {"spheres": _spheres, "boxes": _boxes, "walls": _walls}[kind](
        rng, d, rng.integers(1, 4) if kind == "walls" else rng.integers(3, 9))


def _rasterise(shapes: list, n: int, d: int) -> np.ndarray:
    """The solid mask: cells whose centres lie inside an obstacle."""
    solid = np.zeros((n,) * d, bool)
    centres = (np.arange(n) + 0.5) / n
    for shape in shapes:
        if shape[0] == "sphere":
            _, c, r = shape
            box = tuple(_cells(ci - r, ci + r, n) for ci in c)
            x = np.ix_(*(centres[s] for s in box))
            solid[box] |= sum((xa - ca) ** 2 for xa, ca in zip(x, c, strict=True)) <= r * r
        elif shape[0] == "box":
            solid[tuple(_cells(lo, hi, n) for lo, hi in zip(*shape[1:], strict=True))] = True
        else:
            _, axis, at, openings = shape
            half = 0.5 * max(1 / 16, 2 / n)  # 2 cells at n = 32, and at least 2 below
            slab = [slice(None)] * d
            slab[axis] = _cells(at - half, at + half, n)
            solid[tuple(slab)] = True
            for lo, hi in openings:
                hole = [_cells(a, b, n) for a, b in zip(lo, hi, strict=True)]
                hole.insert(axis, slab[axis])
                solid[tuple(hole)] = False
    return solid


def layout(kind: str, n: int, *, seed: int = 0, ndim: int = 3, boundary=None,
           pockets: str = "solid") -> PoissonSystem:
    """A `PoissonSystem` on an `n`-cell grid with obstacles of `kind` drawn from `seed`.

    Obstacles are drawn in unit coordinates and rasterised at cell centres, so a seed gives
    the same geometry at every n (32, 64, 128, 256). Kinds (`LAYOUT_KINDS`):
    "empty" (all fluid); "spheres": 3–8 spheres (disks in 2-D) of radius 0.05–0.15;
    "boxes": 3–8 axis-aligned boxes of sides 0.05–0.25; "walls": 1–3 slabs of thickness
    max(1/16, 2/n) perpendicular to one random axis, each with 1–3 rectangular openings;
    "mixed": 1–4 spheres, 1–4 boxes and 0–2 walls. Seeds < 1000 are for training, seeds
    ≥ 1000 held out (`is_held_out`).

    Args:
        boundary: as `PoissonSystem`; default "dirichlet" for "empty", else "smoke" (open
            top: Dirichlet on the last axis' + face, Neumann elsewhere).
        pockets: as `PoissonSystem` (enclosed pockets made solid by default).
    """
    if kind not in LAYOUT_KINDS:
        raise ValueError(f"parameter 'kind' must be one of {', '.join(LAYOUT_KINDS)}, got {kind!r}")
    n, seed = checks.integer("n", n, low=2), checks.integer("seed", seed, low=0)
    if checks.integer("ndim", ndim) not in (2, 3):
        raise ValueError(f"parameter 'ndim' must be 2 or 3, got {ndim}")
    rng = np.random.default_rng([seed, LAYOUT_KINDS.index(kind), ndim])
    solid = _rasterise(_draw(kind, rng, ndim), n, ndim)
    if boundary is None:
        boundary = "dirichlet" if kind == "empty" else "smoke"
    return PoissonSystem(~solid, boundary, pockets=pockets)
