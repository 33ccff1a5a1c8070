"""Loops that drive `sciml` modules over `sciml.problems`; the public API is this file.

Training: `fit` is the one driver; PINNs (`train_pinn`), eigen-PINNs (`solve_eigenstates`),
neural operators (`train_operator`), the DCDM network (`train_dcdm`), neural functionals
(`train_functional`) and interatomic potentials (`train_potential`) are losses handed to it,
each returning a `TrainingResult`. Molecular dynamics: `run_md` (NVE, `Langevin`).
Iterative solves: `CG`, `JacobiPCG` and `DCDM`
run under `lineax.linear_solve`; the Kohn–Sham SCF (`solve_scf`, `DIIS`) under
`optimistix.fixed_point`. Outcomes of both come from `RESULTS`.
"""

from sciml.solvers._batching import (
    AbstractBatcher,
    AugmentedMinibatches,
    FullBatch,
    Minibatches,
    PaddedBatches,
)
from sciml.solvers._cg import CG
from sciml.solvers._dcdm import DCDM, JacobiPCG
from sciml.solvers._dcdm_training import (
    DCDMTrainingConfig,
    dcdm_loss,
    train_dcdm,
    training_data,
)
from sciml.solvers._eigen_pinn import (
    EigenPINNConfig,
    EigenSolution,
    UncertifiedEigenstateError,
    aligned_wavefunction,
    compare_with_exact,
    solve_eigenstate,
    solve_eigenstates,
)
from sciml.solvers._evaluate import predict, relative_l2
from sciml.solvers._md import Langevin, MDResult, run_md
from sciml.solvers._operator_learning import (
    OperatorConfig,
    OperatorResult,
    circular_shifts,
    field_errors,
    relative_l2_loss,
    square_symmetries,
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
from sciml.solvers._potential_training import (
    PotentialResult,
    PotentialTrainingConfig,
    evaluate_potential,
    fit_statistics,
    labels,
    parameter_ema,
    potential_loss,
    structure_errors,
    structures_to_ragged,
    summarise_errors,
    train_potential,
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
from sciml.solvers._scf import (
    DIIS,
    SCFAux,
    SCFConvergenceError,
    SCFSolution,
    coulomb_exchange,
    density,
    electronic_energy,
    kohn_sham_fock,
    scf_map,
    solve_scf,
)
from sciml.solvers._scf_training import (
    FunctionalTrainingConfig,
    energy_loss,
    scf_energies,
    train_functional,
)
from sciml.solvers._train import (
    AutoLoop,
    FitResult,
    LogRecord,
    PythonLoop,
    ScanLoop,
    bfgs,
    concat_histories,
    fit,
    history_dataset,
    lbfgs,
)

__all__ = [
    "Langevin", "MDResult", "run_md", "PotentialResult", "PotentialTrainingConfig",
    "evaluate_potential", "fit_statistics", "labels", "parameter_ema", "potential_loss",
    "structure_errors", "structures_to_ragged", "summarise_errors", "train_potential",
    "DIIS", "SCFAux", "SCFConvergenceError", "SCFSolution", "coulomb_exchange", "density",
    "electronic_energy", "kohn_sham_fock", "scf_map", "solve_scf",
    "FunctionalTrainingConfig", "energy_loss", "scf_energies", "train_functional",
    "AAS", "CG", "DCDM", "DCDMTrainingConfig", "JacobiPCG", "RAD", "RAR", "RESULTS",
    "AbstractBatcher", "AbstractSampler", "AutoLoop",
    "EigenPINNConfig", "EigenSolution", "FitResult", "FullBatch", "Hard", "LogRecord",
    "Minibatches", "AugmentedMinibatches", "circular_shifts", "square_symmetries",
    "OperatorConfig",
    "OperatorResult", "PINNConfig", "PINNResult",
    "PaddedBatches", "PythonLoop", "Quadrature", "QuasiRandom", "ResidualField", "ResidualLoss",
    "RitzLoss", "SamplerState", "ScanLoop", "Soft", "TrainingResult", "UncertifiedEigenstateError",
    "Uniform",
    "aligned_wavefunction", "compare_with_exact", "concat_histories", "dcdm_loss",
    "error_quadrature",
    "field_errors", "bfgs", "fit", "history_dataset", "lbfgs", "predict", "reference_error",
    "relative_l2", "relative_l2_loss", "residual_values", "solve_eigenstate",
    "solve_eigenstates", "train_dcdm", "train_operator", "train_pinn", "training_data",
]
