"""Everything built from a spec's names, in one place: networks, samplers, PINN losses and
constraints, and neural operators sized for a data set.

The library takes objects (`train_pinn(..., loss=RitzLoss(), constraint=Soft())`);
validation cases, benchmarks and scripts describe experiments as data (names and keyword
arguments), and these factories turn them into objects, naming the choices when a name is
unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sciml import nn, solvers
from sciml.neural_operators import FieldMap, field_map
from sciml.problems.pde import PDEProblem


def _pick(what: str, table: dict[str, Callable[..., Any]], name: str) -> Callable[..., Any]:
    if name not in table:
        raise ValueError(f"unknown {what} {name!r}; choose one of {', '.join(table)}")
    return table[name]


NETWORKS: dict[str, Callable[..., Any]] = {
    "mlp": nn.MLP, "fourier": nn.FourierFeatureMLP, "siren": nn.Siren,
    "modified": nn.ModifiedMLP, "periodic": nn.PeriodicMLP}


def build_network(kind: str, problem: PDEProblem, *, key: jax.Array, width: int = 32,
                  depth: int = 3, activation: str = "tanh", **kwargs):
    """A scalar network of one point for `problem`, inputs scaled from its bounding box.

    `kind` is a key of `NETWORKS`: `mlp`, `fourier` (Fourier-feature MLP), `siren`, `modified`
    (modified MLP) or `periodic` (exactly periodic in `problem.periodic` axes); extra
    keyword arguments go to the class.
    """
    cls = _pick("network", NETWORKS, kind)
    lo, hi = jnp.asarray(problem.domain.lower), jnp.asarray(problem.domain.upper)
    common = dict(lower=lo, upper=hi, key=key, **kwargs)
    if kind != "siren":
        common["activation"] = activation
    if kind == "periodic":
        axes = tuple(problem.periodic)
        common.update(axes=axes, periods=tuple(float(hi[a] - lo[a]) for a in axes))
    return cls(problem.dim, "scalar", width, depth, **common)


SAMPLERS: dict[str, Callable[..., solvers.AbstractSampler]] = {
    "uniform": solvers.Uniform,
    "sobol": lambda n_points, **kw: solvers.QuasiRandom(n_points, "sobol", **kw),
    "lhs": lambda n_points, **kw: solvers.QuasiRandom(n_points, "lhs", **kw),
    "quadrature": lambda n_points, **kw: solvers.Quadrature(**kw),
    "rar": solvers.RAR,
    "rad": solvers.RAD,
    "aas": solvers.AAS,
}


def make_sampler(name: str, n_points: int, **kwargs) -> solvers.AbstractSampler:
    """The sampler `name` (a key of `SAMPLERS`) with `n_points` collocation points (ignored
    by `quadrature`, which takes `panels` and `order`) and its own keyword arguments."""
    return _pick("sampler", SAMPLERS, name)(n_points, **kwargs)


LOSSES = {"residual": solvers.ResidualLoss, "energy": solvers.RitzLoss}
CONSTRAINTS = {"hard": solvers.Hard, "soft": solvers.Soft}


def make_loss(name: str, **kwargs) -> solvers.ResidualLoss | solvers.RitzLoss:
    """A PINN loss by name: `residual` (`ResidualLoss(causal=..., bins=...)`) or `energy`
    (`RitzLoss()`)."""
    return _pick("loss", LOSSES, name)(**kwargs)


def make_constraint(name: str, **kwargs) -> solvers.Hard | solvers.Soft | None:
    """A boundary treatment by name: `hard`, `soft` (`Soft(weight, n_boundary, n_initial)`)
    or `auto` (None: hard when the problem gives a lift)."""
    return None if name == "auto" else _pick("constraint", CONSTRAINTS, name)(**kwargs)


OPERATORS = ("fno", "mgno", "deeponet")


def build_operator(kind: str, x_train: np.ndarray, y_train: np.ndarray,
                   coords: Sequence[np.ndarray], *, key: jax.Array, periodic: bool = False,
                   **args) -> FieldMap:
    """An untrained operator of `kind` (one of `OPERATORS`) for inputs `x_train (n, *grid)`
    and outputs `y_train (n, *grid)` whose output grid has 1-d coordinates `coords` (one
    array per axis), wrapped in a `FieldMap` with the training statistics.

    `periodic` data get circular padding in MgNO (others zero padding) and may use a
    DeepONet Fourier trunk (`trunk_modes`, period = the grid's length); the FNO embeds
    cell-centre coordinates when every axis is `(j + 1/2)/n` (block averages), node
    coordinates otherwise, so its embedding names the same physical point on every grid.
    """
    from sciml import neural_operators as ops

    dim = np.ndim(x_train) - 1
    if kind == "fno":
        centred = all(np.allclose(c, (np.arange(len(c)) + 0.5) / len(c), rtol=0, atol=1e-12)
                      for c in coords)
        args = {"modes": 12 if dim == 2 else 16, "width": 32, "depth": 4,
                "grid": "cells" if centred else "nodes", **args}
        return field_map(ops.FNO(1, 1, key=key, **args), x_train, y_train)
    if kind == "mgno":
        args = {"width": 32, "depth": 4, "levels": 5, "ndim": dim,
                "boundary": "periodic" if periodic else "dirichlet", **args}
        return field_map(ops.MgNO(1, 1, key=key, **args), x_train, y_train)
    if kind == "deeponet":
        mesh = np.meshgrid(*coords, indexing="ij")
        queries = np.stack([m.ravel() for m in mesh], axis=-1)
        defaults = {"latent": 64, "branch_width": 64, "branch_depth": 3, "trunk_width": 64,
                    "trunk_depth": 3}
        if args.get("trunk_modes") is not None:  # a Fourier trunk: one period of the grid
            if not periodic or len(coords) != 1:
                raise ValueError("a Fourier trunk (trunk_modes) needs 1-D periodic data")
            c = np.asarray(coords[0], dtype=float)
            defaults.update(latent=None, period=float(len(c) * (c[1] - c[0])))
        args = {**defaults, **args}
        model = ops.DeepONet(int(np.prod(np.shape(x_train)[1:])), queries.shape[1], key=key,
                             **args)
        return field_map(model, x_train, y_train, queries=queries)
    raise ValueError(f"unknown operator {kind!r}; choose one of {', '.join(OPERATORS)}")
