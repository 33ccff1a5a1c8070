"""The DCDM network: a learned multigrid cycle that maps a residual to a search direction.

Kaneda et al. (ICML 2023) train a convolutional network `N(r) ≈ A⁻¹ r` (up to a scale) and
use its output as the next direction of a conjugate-direction iteration. At 128³ on a
2-core CPU one 3×3×3 convolution with 8 channels costs about 1.6 s, while the whole
application must stay near 0.2 s, so this network is a multigrid V-cycle whose fine levels
are scalar stencils and whose channels live on coarse grids:

- the stencils are the system's own (`Level`: its couplings, Dirichlet faces and fluid
  mask, coarsened by summing across aggregates), so one network serves every obstacle
  layout, and every grid size whose coarsest level has at most `coarsest` cells per axis;
- learned: the weights of each Jacobi smoothing step (pre and post), the scale of each
  coarse-grid correction, and on grids of at most `conv_cells` cells a convolutional
  correction with `channels` channels, linear in the residual and gated by features of the
  fluid mask (so `N` is positively homogeneous, and its output zero on solid cells);
- a W-cycle by default (`cycle=2`): a V-cycle's coarse grids blur thin walls, and the
  second coarse cycle restores what a wall's two sides need (measured in `__init__`);
- exact on the coarsest grid: a pseudo-inverse computed once per system (`setup`), which
  copes with floating fluid regions (singular operators).

Parameters are shared by grid size, counted from the coarsest grid up: one set for grids
of 2× the coarsest size (16³ by default), one for 4× (32³), one for every larger grid. A
level so plays the same part at every problem size (a 32³ grid is two levels above the exact
solve at 32³ and at 128³ alike), and training at 32³ fits the sets of 16³ and 32³.
Initialised at a classical cycle (Chebyshev smoothing weights, unit coarse scale, zero
convolutional correction): training starts from a working preconditioner.
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from sciml import checks
from sciml.precond._stencil import Level, prolong, restrict

_DN = {2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}
_CLASSES = 3  # parameter sets, by grid size: 2×coarsest, 4×coarsest, and larger


def _conv(x: Array, w: Array) -> Array:
    """A 3-tap-per-axis convolution with zero padding on one channels-last field."""
    d = x.ndim - 1
    return jax.lax.conv_general_dilated(x[None], w, (1,) * d, [(1, 1)] * d,
                                        dimension_numbers=_DN[d])[0]


def _chebyshev_weights(steps: int, low: float = 0.6, high: float = 2.0) -> np.ndarray:
    """Richardson weights `1/θ_i` at the Chebyshev nodes of `[low, high]`, the eigenvalue
    range of `D⁻¹A` that smoothing must damp (the rest is the coarse grid's job)."""
    i = np.arange(1, steps + 1)
    theta = 0.5 * (low + high) + 0.5 * (high - low) * np.cos(np.pi * (2 * i - 1) / (2 * steps))
    return 1.0 / theta


class Hierarchy(eqx.Module):
    """What `MultigridNetwork.setup` builds once per system: the levels, the gates of the
    convolutional corrections (one per level, `None` where there is none; `()` before
    `attach`) and the coarsest grid's pseudo-inverse."""

    levels: tuple[Level, ...]
    gates: tuple[Array | None, ...]
    coarse_inverse: Float[Array, "m m"]


class MultigridNetwork(eqx.Module):
    """`N(r)`: one learned V-cycle on the stencils of a system (module docstring).

    Attributes:
        pre, post: `(3, smoothing)` Jacobi weights before and after the coarse correction,
            per size class (module docstring).
        coarse_scale: `(3,)` scale of the coarse correction, likewise.
        conv_in, conv_gate, conv_out: the convolutional correction's kernels,
            `(3,)*d + (1, c)`, `(3,)*d + (2, c)` and `(3,)*d + (c, 1)`.
        ndim, smoothing, channels, coarsest, conv_cells: static configuration.
    """

    pre: Float[Array, "3 s"]
    post: Float[Array, "3 s"]
    coarse_scale: Float[Array, 3]
    conv_in: Float[Array, ...]
    conv_gate: Float[Array, ...]
    conv_out: Float[Array, ...]
    ndim: int = eqx.field(static=True)
    smoothing: int = eqx.field(static=True)
    channels: int = eqx.field(static=True)
    coarsest: int = eqx.field(static=True)
    conv_cells: int = eqx.field(static=True)
    cycle: int = eqx.field(static=True)

    def __init__(self, ndim: int = 3, *, smoothing: int = 2, channels: int = 8,
                 coarsest: int = 8, conv_cells: int = 32**3, cycle: int = 2,
                 dtype=jnp.float32, key: PRNGKeyArray):
        """`smoothing` Jacobi steps before and after each coarse correction; `channels` of
        the convolutional correction on grids of at most `conv_cells` cells (0 channels:
        none); coarsen until a grid has at most `coarsest` cells per axis; `cycle` 1 is a
        V-cycle, 2 a W-cycle (each coarse grid but the coarsest solved by two cycles of the
        next: at 128³ with thin walls, 8 DCDM steps instead of 20, in 2.6 s instead of
        3.7)."""
        self.ndim = checks.integer("ndim", ndim, low=2, high=3)
        self.smoothing, self.coarsest = checks.counts(smoothing=smoothing, coarsest=coarsest)
        self.channels = checks.integer("channels", channels, low=0)
        self.conv_cells = checks.integer("conv_cells", conv_cells, low=0)
        self.cycle = checks.integer("cycle", cycle, low=1, high=2)
        w = np.tile(_chebyshev_weights(smoothing), (_CLASSES, 1))
        self.pre = jnp.asarray(w, dtype)
        self.post = jnp.asarray(w[:, ::-1], dtype)
        self.coarse_scale = jnp.ones(_CLASSES, dtype)
        c, taps = max(channels, 1), (3,) * ndim
        k1, k2 = jax.random.split(key)
        bound = math.sqrt(3.0 / 3**ndim)  # unit variance gain, fan-in 3^d
        self.conv_in = jax.random.uniform(k1, taps + (1, c), dtype, -bound, bound)
        bound = math.sqrt(3.0 / (2 * 3**ndim))
        self.conv_gate = jax.random.uniform(k2, taps + (2, c), dtype, -bound, bound)
        self.conv_out = jnp.zeros(taps + (c, 1), dtype)  # starts as the classical cycle

    @property
    def dtype(self):
        return self.pre.dtype

    def depths(self, shape: tuple[int, ...]) -> int:
        """The number of levels for a grid of `shape`; raises if the network cannot serve it."""
        shape = tuple(shape)
        if len(shape) != self.ndim:
            raise ValueError(f"this network is {self.ndim}-D, the system's grid is "
                             f"{len(shape)}-D {shape}: build a MultigridNetwork(ndim="
                             f"{len(shape)})")
        levels, n = 1, shape
        while max(n) > self.coarsest:
            if any(m % 2 for m in n):
                raise ValueError(
                    f"grid {shape} does not fit this network: every size must halve down to "
                    f"at most coarsest={self.coarsest} cells per axis (sizes m·2^k with m ≤ "
                    f"{self.coarsest}, e.g. 32, 64, 128), but {n} is odd")
            n, levels = tuple(m // 2 for m in n), levels + 1
        return levels

    def setup(self, weights, dirichlet, fluid) -> Hierarchy:
        """The hierarchy for one system, from its fine-grid stencil (`Stencil.weights`,
        `.dirichlet`, `.fluid`, arrays of the grid's shape); jit- and vmap-able."""
        return self.attach(self.coarsen(weights, dirichlet, fluid))

    def coarsen(self, weights, dirichlet, fluid) -> Hierarchy:
        """The parameter-free part of `setup`: the levels and the coarsest pseudo-inverse,
        without the gates (`attach` adds them); what training precomputes once."""
        depth = self.depths(fluid.shape)
        cast = lambda x: jnp.asarray(x, self.dtype)
        levels = [Level([cast(w) for w in weights], cast(dirichlet), jnp.asarray(fluid, bool))]
        for _ in range(depth - 1):
            levels.append(levels[-1].coarsen())
        coarse = levels[-1]
        m = math.prod(coarse.shape)
        dense = jax.vmap(lambda e: coarse.mv(e.reshape(coarse.shape)).ravel())(
            jnp.eye(m, dtype=self.dtype)).T
        lam, vec = jnp.linalg.eigh(dense)
        keep = lam > 1e-5 * lam[-1]  # drops the constants of floating regions
        inv = (vec * jnp.where(keep, 1 / jnp.where(keep, lam, 1), 0)) @ vec.T
        return Hierarchy(tuple(levels), (), inv)

    def attach(self, hierarchy: Hierarchy) -> Hierarchy:
        """`hierarchy` with the gates of this network's convolutional corrections."""
        levels, depth = hierarchy.levels, len(hierarchy.levels)
        gates = tuple(self._gate(lvl) if self._has_conv(lvl, i, depth) else None
                      for i, lvl in enumerate(levels))
        return Hierarchy(levels, gates, hierarchy.coarse_inverse)

    def _size_class(self, shape: tuple[int, ...]) -> int:
        """Which parameter set a level uses: counted from the coarsest grid up, so a level
        plays the same part (its distance from the exact coarse solve) at every size."""
        ratio = max(shape) // self.coarsest
        return min(max(ratio.bit_length() - 2, 0), _CLASSES - 1)

    def _has_conv(self, level: Level, index: int, depth: int) -> bool:
        return (self.channels > 0 and index < depth - 1
                and math.prod(level.shape) <= self.conv_cells)

    def _gate(self, level: Level) -> Array:
        features = jnp.stack([level.active.astype(self.dtype),
                              level.diagonal / (2 * self.ndim)], axis=-1)
        return jax.nn.sigmoid(_conv(features, self.conv_gate))

    def __call__(self, hierarchy: Hierarchy, r: Float[Array, "*shape"]) -> Array:
        """The direction `N(r)` for a residual `r` of the fine grid's shape, computed in the
        network's dtype and returned in `r`'s; on inactive cells (the operator's identity
        rows) it is `r` itself."""
        if r.shape != hierarchy.levels[0].shape:
            raise ValueError(f"residual of shape {r.shape} on a hierarchy for grid "
                             f"{hierarchy.levels[0].shape}")
        if self.channels and not hierarchy.gates:
            raise ValueError("this hierarchy has no gates: build it with network.setup(...) "
                             "or network.attach(hierarchy)")
        active = hierarchy.levels[0].active
        out = self._cycle(hierarchy, 0, jnp.where(active, r.astype(self.dtype), 0))
        return jnp.where(active, out.astype(r.dtype), r)  # solid cells: identity rows

    def _cycle(self, h: Hierarchy, i: int, f: Array) -> Array:
        level = h.levels[i]
        if i == len(h.levels) - 1:
            return (h.coarse_inverse @ f.ravel()).reshape(f.shape)
        k = self._size_class(level.shape)
        inv_diag = jnp.where(level.active, 1 / level.diagonal, 0)
        u = self.pre[k, 0] * inv_diag * f
        for w in self.pre[k, 1:]:
            u = u + w * inv_diag * (f - level.mv(u))
        residual = f - level.mv(u)
        fc = restrict(residual)
        correction = self._cycle(h, i + 1, fc)
        if i + 2 < len(h.levels):
            for _ in range(self.cycle - 1):  # a W-cycle: iterate the coarse cycle
                correction = correction + self._cycle(h, i + 1,
                                                      fc - h.levels[i + 1].mv(correction))
        u = u + self.coarse_scale[k] * jnp.where(
            level.active, prolong(correction, h.levels[i + 1].active), 0)
        if h.gates and h.gates[i] is not None:
            r = (f - level.mv(u)) * inv_diag
            u = u + jnp.where(level.active, _conv(_conv(r[..., None], self.conv_in) * h.gates[i],
                                                  self.conv_out)[..., 0], 0)
        for w in self.post[k]:
            u = u + w * inv_diag * (f - level.mv(u))
        return u

    def describe(self) -> dict[str, Any]:
        """The static configuration, for checkpoints."""
        return {"ndim": self.ndim, "smoothing": self.smoothing, "channels": self.channels,
                "coarsest": self.coarsest, "conv_cells": self.conv_cells, "cycle": self.cycle,
                "dtype": jnp.dtype(self.dtype).name}
