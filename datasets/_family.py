"""Dataset families: what a dataset holds, how it is laid out, and how it is generated.

A `Family` names a problem factory, its variables, a coordinate layout, a generator and
the checks made on every read. Two layouts:

- `GridLayout`: every sample is a field on the same grid; variables have dims
  `("sample", *grid dims)`, one file per resolution, all made from one solve per sample.
- `RaggedLayout`: samples of different sizes (point clouds, molecules, atomic
  structures). Per-item variables (dims `(item, ...)`) hold every sample's items
  concatenated in sample order; `count` (dims `("sample",)`) holds each sample's number of
  items and `offset` its first item, so sample i's items are
  `offset[i] : offset[i] + count[i]`. Per-sample variables (dims `("sample", ...)`) sit
  beside them. Other dims have fixed sizes (`RaggedLayout.sizes`, e.g. `{"xyz": 3}`).

Within a family, data move as *blocks*: `{variable: array}` dicts whose per-sample arrays
have one row per sample and per-item arrays one row per item (ragged blocks also hold
`count`). `Family.select` and `Family.concat` slice and join blocks; `Family.to_dataset`
and `Family.block` convert between blocks and `xarray.Dataset`s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr

FORMAT = 1  # bump when the built-in generators change what a file holds; old files are ignored
OFFSET, COUNT = "offset", "count"  # the ragged layout's index variables
SAMPLE = "sample"

Block = dict[str, np.ndarray]
# A check made on every read, after the generic ones: (dataset, problem) -> None when the
# data pass, else a message saying what is wrong.
Check = Callable[[xr.Dataset, Any], "str | None"]


@dataclass(frozen=True)
class Variable:
    """One variable of a family.

    Attributes:
        name: the variable's name in the dataset.
        dims: its dimensions: `("sample", *grid dims)` in a grid layout; `("sample", ...)`
            (per sample) or `(item, ...)` (per item) in a ragged layout.
        long_name, units: stored as the variable's attrs.
        role: "input" or "output" of the map a model learns.
        dtype: the numpy dtype every file must hold.
    """

    name: str
    dims: tuple[str, ...]
    long_name: str
    units: str = "1"
    role: Literal["input", "output"] = "input"
    dtype: str = "float64"


@dataclass(frozen=True)
class GridLayout:
    """Every sample on the same grid.

    Attributes:
        dims: the grid dimensions after `sample`, e.g. `("x", "y")`.
        resolutions: allowed points (or cells) per dimension; the first is the default.
            Generating one writes every resolution.
        coords: `coords(n)`: the coordinate values along each grid dimension, shape (n,).
        note: how the values relate to the grid (stored as the `grid` attribute).
    """

    dims: tuple[str, ...]
    resolutions: tuple[int, ...]
    coords: Callable[[int], np.ndarray]
    note: str = ""
    kind: ClassVar[str] = "grid"

    def resolution(self, family: str, resolution: int | None) -> int:
        """`resolution` checked against `resolutions` (None: the default)."""
        if resolution is None:
            return self.resolutions[0]
        if resolution not in self.resolutions:
            allowed = ", ".join(str(r) for r in sorted(self.resolutions))
            raise ValueError(
                f"dataset {family!r} has no resolution {resolution!r}; allowed: {allowed} "
                f"(default {self.resolutions[0]})"
            )
        return int(resolution)

    def sizes(self, resolution: int) -> dict[str, int]:
        return {d: resolution for d in self.dims}


@dataclass(frozen=True)
class RaggedLayout:
    """Samples of different sizes: a flat item dimension with per-sample offsets.

    Attributes:
        item: the name of the item dimension (e.g. "item", "atom").
        sizes: sizes of the other, fixed dimensions variables use, e.g. `{"xyz": 3}`.
        note: what an item is (stored as the `layout_note` attribute).
    """

    item: str = "item"
    sizes: Mapping[str, int] = field(default_factory=dict)
    note: str = ""
    kind: ClassVar[str] = "ragged"
    resolutions: ClassVar[tuple[None]] = (None,)  # one file per seed: no resolutions

    def resolution(self, family: str, resolution: int | None) -> None:
        if resolution is not None:
            raise ValueError(
                f"dataset {family!r} has a ragged layout and no resolutions; pass "
                f"resolution=None, got {resolution!r}"
            )
        return None


Layout = GridLayout | RaggedLayout


@dataclass(frozen=True)
class Execution:
    """How a family generates by default (a caller's `executor` replaces the pool).

    Attributes:
        kind: "processes" (a local process pool, `spawn` start method), "threads" (a
            thread pool: for work that releases the GIL, such as XLA) or "inline" (this
            process).
        chunk: samples per task.
        min_parallel: fewer samples than this are generated in-process (a spawned worker
            takes seconds to start).
        warm_up: run the first chunk in-process before starting the threads (a JAX
            generator then compiles once instead of once per thread).
    """

    kind: Literal["processes", "threads", "inline"] = "inline"
    chunk: int = 64
    min_parallel: int = 0
    warm_up: bool = False

    def __post_init__(self):
        if self.kind not in ("processes", "threads", "inline"):
            raise ValueError(f"unknown execution kind {self.kind!r}")
        if self.chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {self.chunk}")


_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Family:
    """A dataset family: its problem, variables, layout, generator and checks.

    Attributes:
        name: the dataset name (lowercase, digits, underscores); it names the cache files.
        problem: builds the problem with its default parameters (no arguments). The
            problem's `name`, `params` and `reference` go into the file's attributes, and
            a file made with other parameters is refused on read.
        variables: the variables (`Variable`), inputs and outputs.
        layout: `GridLayout` or `RaggedLayout`.
        generator: a picklable module-level function computing the samples of a chunk:

            grid: `generator(problem, seed, stream, indices, resolutions)` ->
                `{n: {name: array (len(indices), *grid)}}` for every n in `resolutions`;
            ragged: `generator(problem, seed, stream, indices)` -> `{name: array}` with
                per-sample arrays of `len(indices)` rows, per-item arrays of
                `sum(count)` rows and `"count"`, each sample's item count.

            Train sample i is sample i of stream 0, test sample i of stream 1; a sample
            must depend only on (seed, stream, i), never on the chunk it is computed in.
        checks: extra checks made on every read (`Check`), after the generic ones.
        execution: how generation runs by default (`Execution`).
        version: the file format of this family's files (in their names); bump it when
            the generator changes what a file holds.
        sampling: how samples are drawn (stored as the `sampling` attribute).
    """

    name: str
    problem: Callable[[], Any]
    variables: tuple[Variable, ...]
    layout: Layout
    generator: Callable[..., Any]
    checks: tuple[Check, ...] = ()
    execution: Execution = Execution()
    version: int = FORMAT
    sampling: str = (
        "train sample i is sample i of random stream 0, test sample i of stream 1; each "
        "depends only on (seed, stream, i)"
    )

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(f"family name {self.name!r}: use lowercase letters, digits, _")
        object.__setattr__(self, "variables", tuple(self.variables))
        object.__setattr__(self, "checks", tuple(self.checks))
        names = [v.name for v in self.variables]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: variable names repeat: {names}")
        if not self.inputs or not self.outputs:
            raise ValueError(f"{self.name}: needs at least one input and one output variable")
        for v in self.variables:
            if v.role not in ("input", "output"):
                raise ValueError(f"{self.name}: variable {v.name!r} has role {v.role!r}")
        layout = self.layout
        if isinstance(layout, GridLayout):
            dims = (SAMPLE, *layout.dims)
            for v in self.variables:
                if tuple(v.dims) != dims:
                    raise ValueError(f"{self.name}: variable {v.name!r} must have dims {dims}")
        elif isinstance(layout, RaggedLayout):
            for v in self.variables:
                if v.name in (OFFSET, COUNT):
                    raise ValueError(f"{self.name}: {v.name!r} is the layout's own variable")
                if not v.dims or v.dims[0] not in (SAMPLE, layout.item):
                    raise ValueError(
                        f"{self.name}: variable {v.name!r} must start with dim {SAMPLE!r} "
                        f"or {layout.item!r}, got {v.dims}"
                    )
                unknown = [d for d in v.dims[1:] if d not in layout.sizes]
                if unknown:
                    raise ValueError(
                        f"{self.name}: variable {v.name!r} uses dims {unknown} without a "
                        "size in RaggedLayout.sizes"
                    )
        else:
            raise TypeError(f"{self.name}: layout must be a GridLayout or a RaggedLayout")
        if not callable(self.problem) or not callable(self.generator):
            raise TypeError(f"{self.name}: problem and generator must be callables")

    # --- description ---------------------------------------------------------------------------
    @property
    def ragged(self) -> bool:
        return isinstance(self.layout, RaggedLayout)

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables if v.role == "input")

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables if v.role == "output")

    @property
    def resolutions(self) -> tuple[int | None, ...]:
        """The grid resolutions (default first); `(None,)` for a ragged family."""
        return tuple(self.layout.resolutions)

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)

    def per_item(self, name: str) -> bool:
        """Whether variable `name` has one row per item (ragged layout) rather than per
        sample."""
        return self.ragged and name != COUNT and self.variable(name).dims[0] == self.layout.item

    def shape(
        self, name: str, resolution: int | None, n_samples: int, n_items: int = 0
    ) -> tuple[int, ...]:
        """The shape variable `name` must have."""
        if name == COUNT:
            return (n_samples,)
        v = self.variable(name)
        if isinstance(self.layout, GridLayout):
            return (n_samples, *(resolution,) * len(self.layout.dims))
        lead = n_items if v.dims[0] == self.layout.item else n_samples
        return (lead, *(self.layout.sizes[d] for d in v.dims[1:]))

    # --- blocks ----------------------------------------------------------------------------
    def empty(self, resolution: int | None) -> Block:
        """A block with no samples."""
        out = {v.name: np.empty(self.shape(v.name, resolution, 0), v.dtype) for v in self.variables}
        if self.ragged:
            out[COUNT] = np.empty(0, np.int64)
        return out

    def select(self, block: Block, positions: Sequence[int]) -> Block:
        """The samples at `positions` of `block`, in that order."""
        pos = np.asarray(positions, dtype=np.int64)
        items = None
        if self.ragged:
            items = item_positions(block[COUNT], pos)
        return {k: a[items] if self.per_item(k) else a[pos] for k, a in block.items()}

    def concat(self, blocks: Sequence[Block], resolution: int | None) -> Block:
        """The samples of `blocks` one after the other."""
        blocks = [b for b in blocks if b is not None]
        if not blocks:
            return self.empty(resolution)
        return {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}

    def n_samples(self, block: Block) -> int:
        if self.ragged:
            return int(block[COUNT].shape[0])
        return int(block[self.variables[0].name].shape[0])

    def conform(self, block: Mapping[str, Any], resolution: int | None, n: int) -> Block:
        """`block` (a generator's output for `n` samples) with every variable present, of
        its dtype and shape; raises naming the family and variable otherwise."""
        where = f"{self.name}: the generator"
        names = [v.name for v in self.variables] + ([COUNT] if self.ragged else [])
        missing = [k for k in names if k not in block]
        if missing:
            raise RuntimeError(f"{where} returned no {missing} (got {sorted(block)})")
        out: Block = {}
        if self.ragged:
            count = np.asarray(block[COUNT])
            if count.shape != (n,) or count.dtype.kind not in "iu" or np.any(count < 0):
                raise RuntimeError(
                    f"{where} returned {COUNT!r} of shape {count.shape} and dtype "
                    f"{count.dtype}; expected ({n},) non-negative integers"
                )
            out[COUNT] = count.astype(np.int64)
        n_items = int(out[COUNT].sum()) if self.ragged else 0
        for v in self.variables:
            a = np.asarray(block[v.name])
            want = self.shape(v.name, resolution, n, n_items)
            if a.shape != want:
                raise RuntimeError(
                    f"{where} returned {v.name!r} of shape {a.shape}; expected {want}"
                )
            if not np.can_cast(a.dtype, v.dtype, "safe"):
                raise RuntimeError(
                    f"{where} returned {v.name!r} as {a.dtype}; expected {v.dtype}"
                )
            out[v.name] = a.astype(v.dtype, copy=False)
        return out

    # --- datasets --------------------------------------------------------------------------
    def to_dataset(
        self,
        block: Block,
        resolution: int | None,
        split: np.ndarray,
        index: np.ndarray,
        attrs: dict,
    ) -> xr.Dataset:
        """The dataset of `block`, with coordinates `sample`, `split`, `index` (and the
        grid's), and `attrs`."""
        data: dict[str, Any] = {
            v.name: (v.dims, block[v.name], {"long_name": v.long_name, "units": v.units})
            for v in self.variables
        }
        coords: dict[str, Any] = {}
        if isinstance(self.layout, GridLayout):
            coords.update({d: (d, self.layout.coords(resolution)) for d in self.layout.dims})
        else:
            count = np.asarray(block[COUNT], dtype=np.int64)
            ragged = {
                OFFSET: (
                    (SAMPLE,),
                    np.cumsum(count) - count,
                    {"long_name": f"position of the sample's first {self.layout.item}"},
                ),
                COUNT: ((SAMPLE,), count, {"long_name": f"number of {self.layout.item}s"}),
            }
            data = {**ragged, **data}
        coords[SAMPLE] = (SAMPLE, np.arange(split.size))
        coords["split"] = (SAMPLE, split.astype(str))
        coords["index"] = (SAMPLE, index.astype(np.int64))
        ds = xr.Dataset(data, coords=coords, attrs=attrs)
        if isinstance(self.layout, GridLayout):
            for d in self.layout.dims:
                ds[d].attrs.update(long_name=d, units="1")
        return ds

    def block(self, ds: xr.Dataset) -> Block:
        """The arrays of a (checked) dataset of this family, as a block."""
        out = {v.name: ds[v.name].values for v in self.variables}
        if self.ragged:
            out[COUNT] = ds[COUNT].values.astype(np.int64)
        return out


def item_positions(count: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Positions in the item dimension of the items of the samples at `positions`, in
    order, for per-sample item counts `count`."""
    count = np.asarray(count, dtype=np.int64)
    start = np.cumsum(count) - count
    c = count[positions]
    first = np.cumsum(c) - c  # where each selected sample's items begin in the result
    return np.repeat(start[positions] - first, c) + np.arange(int(c.sum()))
