"""`PoissonSystem`: the pressure-projection system of a fluid mask, its null space and matrices."""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from sciml.problems.base import Problem, Reference
from sciml.problems.linear_systems._stencil import PoissonOperator, Stencil

logger = logging.getLogger(__name__)

FACES = ("x-", "x+", "y-", "y+", "z-", "z+")


def _boundary(boundary, ndim: int) -> tuple[str, ...]:
    """`boundary` as one of "dirichlet"/"neumann" per face (x-, x+, y-, y+, z-, z+)."""
    if isinstance(boundary, str):
        if boundary == "smoke":  # open top (the last axis' + face), closed elsewhere
            return ("neumann",) * (2 * ndim - 1) + ("dirichlet",)
        boundary = (boundary,) * (2 * ndim)
    if not isinstance(boundary, tuple | list) or len(boundary) != 2 * ndim:
        raise ValueError(f"parameter 'boundary' must be 'dirichlet', 'neumann', 'smoke' or a "
                         f"tuple of {2 * ndim} of the first two (faces "
                         f"{', '.join(FACES[:2 * ndim])}), got {boundary!r}")
    for face, b in zip(FACES, boundary, strict=False):
        if b not in ("dirichlet", "neumann"):
            raise ValueError(f"parameter 'boundary': face {face} must be 'dirichlet' or "
                             f"'neumann', got {b!r}")
    return tuple(boundary)


class PoissonSystem(Problem):
    """`A u = b`: the cell-centred Poisson equation `−Δu = f` on the fluid cells of a grid.

    The grid has `n` cubic cells of width `h = 1/n` along each of its 2 or 3 axes (axis k is
    coordinate k, cell centres at `(i + 1/2) h`). `A = h² (−Δ_h)` (unscaled: `−Δu = f`
    becomes `A u = h² f`), with ghost value `−p` beyond a Dirichlet domain face (`p = 0` on
    it), no flux through Neumann faces and solid–fluid faces; solid rows are the identity,
    right-hand sides and solutions vanish there. See `Stencil`.

    A fluid component touching no Dirichlet face *floats*: A is singular on it (constant
    null vector). `pockets="solid"` turns such components solid (counted in
    `removed_cells`, `removed_components`); `pockets="project"` keeps them, and right-hand
    sides must then sum to zero over each (`project`, `check_rhs`).

    Not in the problem registry: a mask is not a real-number parameter.

    Args:
        fluid: bool array of shape `(n, n)` or `(n, n, n)`, True on unknown cells.
        boundary: "dirichlet", "neumann", "smoke" (Dirichlet on the top face, the last
            axis' + face, Neumann elsewhere), or one of the first two per face in the order
            (x-, x+, y-, y+, z-, z+).
        pockets: "solid" or "project", what to do with floating components.

    Attributes:
        shape, ndim, n, h: the grid.
        fluid: the bool mask after pockets were removed (read-only).
        boundary: one name per face.
        components: int array `shape`, the fluid connected component (1, 2, ...) of each
            cell (face connectivity), 0 on solids.
        floating: the ids of floating components (empty with `pockets="solid"`).
        fluid_index: flat C-order indices of the fluid cells: the reduced unknowns' order.
    """

    name = "poisson_system"

    def __init__(self, fluid, boundary="dirichlet", *, pockets: str = "solid"):
        fluid = np.array(fluid)  # a copy: the caller's mask is not frozen with ours
        if fluid.dtype != np.bool_:
            raise TypeError(f"parameter 'fluid' must be a boolean array (e.g. mask.astype(bool)),"
                            f" got dtype {fluid.dtype}")
        if fluid.ndim not in (2, 3) or len(set(fluid.shape)) != 1 or fluid.shape[0] < 1:
            raise ValueError(f"parameter 'fluid' must be a square (n, n) or cubic (n, n, n) "
                             f"array, got shape {fluid.shape}")
        if pockets not in ("solid", "project"):
            raise ValueError(f"parameter 'pockets' must be 'solid' or 'project', got {pockets!r}")
        if not fluid.any():
            raise ValueError("parameter 'fluid': the mask has no fluid cells")
        self.shape, self.ndim, self.n = fluid.shape, fluid.ndim, fluid.shape[0]
        self.h = 1.0 / self.n
        self.boundary, self.pockets = _boundary(boundary, self.ndim), pockets

        components, count = ndimage.label(fluid)  # face connectivity by default
        anchored = np.unique(components[self._dirichlet(fluid) > 0])
        floating = np.setdiff1d(np.arange(1, count + 1), anchored)
        self.removed_cells = self.removed_components = 0
        if pockets == "solid" and floating.size:
            pocket = np.isin(components, floating)
            self.removed_cells, self.removed_components = int(pocket.sum()), int(floating.size)
            if pocket.sum() == fluid.sum():
                raise ValueError(
                    "PoissonSystem: every fluid cell floats (no fluid component touches a "
                    f"Dirichlet face, as in an all-Neumann box; boundary={self.boundary}), so "
                    "pockets='solid' leaves no fluid: use pockets='project' or make a face "
                    "Dirichlet")
            logger.info("PoissonSystem: %d floating components (%d cells) made solid",
                        self.removed_components, self.removed_cells)
            fluid &= ~pocket
            components, _ = ndimage.label(fluid)
            floating = floating[:0]
        self.fluid, self.components = fluid, components
        self.floating = tuple(int(c) for c in floating)
        self.fluid_index = np.flatnonzero(fluid)
        for a in (self.fluid, self.components, self.fluid_index):
            a.flags.writeable = False
        self._e = self._dirichlet(fluid).astype(np.uint8)  # small ints: light at n = 256
        self._w = []
        for a in range(self.ndim):  # w[i] = 1 where cell i and its +a neighbour are fluid
            w = np.zeros(self.shape, bool)
            lo, hi = [slice(None)] * self.ndim, [slice(None)] * self.ndim
            lo[a], hi[a] = slice(0, -1), slice(1, None)
            w[tuple(lo)] = fluid[tuple(lo)] & fluid[tuple(hi)]
            self._w.append(w)
        # floating components for `project`: their cells (flat) and component number 0..k-1
        cells = np.isin(components, floating)
        self._fidx = np.flatnonzero(cells)
        self._fseg = np.searchsorted(floating, components.ravel()[self._fidx])
        self._fcount = np.bincount(self._fseg, minlength=len(floating)).astype(float)

    def _dirichlet(self, fluid: np.ndarray) -> np.ndarray:
        """2 per Dirichlet domain face each fluid cell touches."""
        e = np.zeros(fluid.shape)
        for a in range(fluid.ndim):
            for side, index in ((0, 0), (1, -1)):
                if self.boundary[2 * a + side] == "dirichlet":
                    e[(slice(None),) * a + (index,)] += 2.0
        return e * fluid

    # --- the problem contract ---------------------------------------------------------------
    @property
    def params(self) -> dict:
        names = {_boundary(b, self.ndim): b for b in ("dirichlet", "neumann", "smoke")}
        return {"ndim": self.ndim, "n": self.n, "boundary": names.get(self.boundary, self.boundary),
                "pockets": self.pockets, "fluid_cells": self.num_fluid}

    @property
    def reference(self) -> Reference:
        return Reference("analytic", evidence=(
            "manufactured(): b = A u_exact in float64, exact to rounding for the discrete "
            "system; sine_solution(): the continuum solution, matched to O(h²) (tested)"))

    def __repr__(self) -> str:
        return ("PoissonSystem(" + ", ".join(f"{k}={v!r}" for k, v in self.params.items()) + ")")

    @property
    def num_fluid(self) -> int:
        """The number of unknowns (fluid cells)."""
        return int(self.fluid_index.size)

    @property
    def is_definite(self) -> bool:
        """Whether A is positive definite (no fluid component floats)."""
        return not self.floating

    # --- operators --------------------------------------------------------------------------
    def stencil(self, dtype=jnp.float64) -> Stencil:
        """The operator in stencil form, as jnp arrays of `dtype` (float32 if x64 is off)."""
        dtype = jax.dtypes.canonicalize_dtype(dtype)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(f"parameter 'dtype' must be a floating dtype, got {dtype}")
        return Stencil(tuple(jnp.asarray(w, dtype) for w in self._w), jnp.asarray(self._e, dtype),
                       jnp.asarray(self.fluid))

    def operator(self, dtype=jnp.float64) -> PoissonOperator:
        """A lineax operator on arrays of `shape` (symmetric, positive semidefinite)."""
        return PoissonOperator(self.stencil(dtype), definite=self.is_definite)

    def matrix(self, reduced: bool = True) -> sp.csr_matrix:
        """A as a float64 CSR matrix: on the fluid unknowns (in `fluid_index` order) when
        `reduced`, else N × N over all cells in C order with identity rows on solids."""
        size = int(np.prod(self.shape))
        index = np.arange(size).reshape(self.shape)
        i = np.concatenate([index[w] for w in self._w])
        j = np.concatenate([index[w] + index.strides[a] // index.itemsize
                            for a, w in enumerate(self._w)])
        off = sp.coo_matrix((-np.ones(2 * i.size), (np.r_[i, j], np.r_[j, i])), (size, size))
        diag = np.where(self.fluid.ravel(), self._e.ravel() - off.sum(axis=1).A1, 1.0)
        a = (off + sp.diags(diag)).tocsr()
        return a[self.fluid_index][:, self.fluid_index] if reduced else a

    # --- vectors ----------------------------------------------------------------------------
    def restrict(self, x):
        """The fluid entries of `x` of shape `(..., *shape)`, as `(..., num_fluid)`."""
        return x.reshape(*x.shape[:x.ndim - self.ndim], -1)[..., self.fluid_index]

    def extend(self, x_reduced):
        """A full array `(..., *shape)` from fluid values `(..., num_fluid)`, 0 on solids."""
        batch = x_reduced.shape[:-1]
        size = int(np.prod(self.shape))
        if isinstance(x_reduced, jax.Array):
            full = jnp.zeros((*batch, size), x_reduced.dtype).at[..., self.fluid_index].set(
                x_reduced)
        else:
            full = np.zeros((*batch, size), np.asarray(x_reduced).dtype)
            full[..., self.fluid_index] = x_reduced
        return full.reshape(*batch, *self.shape)

    def project(self, x):
        """`x` (shape `(..., *shape)`, numpy or jnp, jit-able) minus each floating
        component's mean over that component: orthogonal to A's null space."""
        if not self.floating:
            return x
        k = len(self.floating)
        flat = x.reshape(-1, self.fluid.size)
        vals = flat[:, self._fidx]
        if isinstance(x, jax.Array):
            sums = jax.ops.segment_sum(vals.T, self._fseg, k).T
            flat = flat.at[:, self._fidx].add(-(sums / self._fcount)[:, self._fseg])
        else:
            rows = len(flat)
            bins = (np.arange(rows)[:, None] * k + self._fseg).ravel()
            sums = np.bincount(bins, vals.ravel(), minlength=rows * k).reshape(rows, k)
            flat = flat.astype(np.result_type(flat, float))  # a copy
            flat[:, self._fidx] -= (sums / self._fcount)[:, self._fseg]
        return flat.reshape(x.shape)

    def check_rhs(self, b):
        """`b` unchanged if it is a valid right-hand side (concrete array of `shape`, finite,
        zero on solid cells, summing to ~0 over each floating component); else ValueError."""
        arr = np.asarray(b)
        if arr.shape != self.shape:
            raise ValueError(f"{self!r}: the right-hand side must have shape {self.shape}, "
                             f"got {arr.shape}")
        eps = np.finfo(arr.dtype if np.issubdtype(arr.dtype, np.floating) else float).eps
        arr = arr.astype(np.float64)
        if bad := int(np.sum(~np.isfinite(arr))):
            raise ValueError(f"{self!r}: the right-hand side has {bad} non-finite entries")
        if bad := int(np.count_nonzero(arr[~self.fluid])):
            raise ValueError(f"{self!r}: the right-hand side is nonzero on {bad} solid cells "
                             "(solutions vanish there): set b[~system.fluid] = 0")
        norm = np.linalg.norm(arr)
        sums = np.bincount(self._fseg, arr.ravel()[self._fidx], minlength=len(self.floating))
        for c, s, count in zip(self.floating, sums, self._fcount, strict=True):
            # rounding in computing b: ~ eps √count ‖b‖, with a wide margin
            if abs(s) > 1e3 * eps * np.sqrt(count) * norm:
                raise ValueError(
                    f"{self!r}: the right-hand side is inconsistent: floating component {c} "
                    f"({int(count)} cells, no Dirichlet face) sums to {s:.3g} (‖b‖₂ = "
                    f"{norm:.3g}), so A u = b has no solution; use system.project(b)")
        return b
