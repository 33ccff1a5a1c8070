"""Loops that drive `sciml` modules over `sciml.problems`; the public API is this file.

Two kinds of loop, one shape each:

- **Training**: `fit` is the one driver (any optax optimiser; `FullBatch`, `Minibatches` or
  `PaddedBatches` of ragged data; scan or Python step loop; sharding over local devices;
  checkpoints, callbacks, progress, histories as `xarray.Dataset`). PINNs (`train_pinn`,
  with `ResidualLoss`/`RitzLoss`, `Hard`/`Soft` constraints and the samplers), eigen-PINNs
  (`solve_eigenstates`) and neural operators (`train_operator`) are losses handed to it.
- **Iterative solves** in the lineax/optimistix shape: `CG` is a `lineax` solver,
  driven by `lineax.linear_solve`.

Every training loop returns a `TrainingResult` (`model`, `history`, `stats`, `wall_time_s`,
`result` from `RESULTS`); iterative solves return lineax/optimistix `Solution`s.
"""

from sciml.solvers._batching import AbstractBatcher, FullBatch, Minibatches, PaddedBatches
from sciml.solvers._cg import CG
from sciml.solvers._checkpoint import load_checkpoint, save_checkpoint
from sciml.solvers._eigen_pinn import (
    EigenModel,
    EigenPINNConfig,
    EigenSolution,
    aligned_wavefunction,
    compare_with_exact,
    solve_eigenstate,
    solve_eigenstates,
)
from sciml.solvers._evaluate import predict, relative_l2
from sciml.solvers._factories import (
    CONSTRAINTS,
    LOSSES,
    NETWORKS,
    OPERATORS,
    SAMPLERS,
    build_network,
    build_operator,
    make_constraint,
    make_loss,
    make_sampler,
)
from sciml.solvers._history import concat_histories, history_dataset
from sciml.solvers._operator_learning import (
    FieldMap,
    OperatorConfig,
    OperatorResult,
    field_errors,
    field_map,
    relative_l2_loss,
    train_operator,
)
from sciml.solvers._pinn import (
    Hard,
    PINNConfig,
    PINNResult,
    ResidualField,
    ResidualLoss,
    RitzLoss,
    Soft,
    error_quadrature,
    reference_error,
    train_pinn,
)
from sciml.solvers._result import RESULTS, TrainingResult
from sciml.solvers._sampling import (
    AAS,
    RAD,
    RAR,
    AbstractSampler,
    Quadrature,
    QuasiRandom,
    SamplerState,
    Uniform,
    residual_values,
)
from sciml.solvers._train import AutoLoop, FitResult, LogRecord, PythonLoop, ScanLoop, fit, lbfgs

__all__ = [
    "AAS", "CG", "CONSTRAINTS", "LOSSES", "NETWORKS", "OPERATORS", "RAD", "RAR", "RESULTS",
    "SAMPLERS", "AbstractBatcher", "AbstractSampler", "AutoLoop", "EigenModel",
    "EigenPINNConfig", "EigenSolution", "FieldMap", "FitResult", "FullBatch", "Hard",
    "LogRecord", "Minibatches", "OperatorConfig", "OperatorResult", "PINNConfig", "PINNResult",
    "PaddedBatches", "PythonLoop", "Quadrature", "QuasiRandom", "ResidualField",
    "ResidualLoss", "RitzLoss", "SamplerState", "ScanLoop", "Soft", "TrainingResult",
    "Uniform", "aligned_wavefunction", "build_network", "build_operator", "compare_with_exact",
    "concat_histories", "error_quadrature", "field_errors", "field_map", "fit",
    "history_dataset", "lbfgs", "load_checkpoint", "make_constraint", "make_loss",
    "make_sampler", "predict", "reference_error", "relative_l2", "relative_l2_loss",
    "residual_values", "save_checkpoint", "solve_eigenstate", "solve_eigenstates",
    "train_operator", "train_pinn",
]
