"""Operator-learning problem families, each an input-function sampler and a reference solver.

- `DarcyFlow`: −∇·(a∇u) = 1 on the unit square, a two-valued from a Gaussian random field
  (the FNO benchmark); finite-volume reference.
- `BurgersPeriodic`: u0 ↦ u(·, 1) for viscous Burgers on [0, 1) periodic, ν = 0.1 (the FNO
  benchmark); pseudo-spectral + diffrax reference, checked against Cole–Hopf.
- `Antiderivative`: u ↦ ∫_0^x u with u an RBF Gaussian process (DeepONet); exact reference.

All three follow `OperatorLearningProblem`: `sample(seed, indices, stream=, resolutions=)`
returns `{n: {input: array, output: array}}`, arrays of shape `(len(indices), *grid)`.
Samples are deterministic per (seed, stream, index): see `sample_rng`. No neural code here.
"""

from sciml.problems.operator_learning._antiderivative import Antiderivative, sensor_grid
from sciml.problems.operator_learning._base import OperatorLearningProblem, check_indices
from sciml.problems.operator_learning._burgers import (
    BurgersPeriodic,
    cole_hopf_periodic,
    periodic_grid,
)
from sciml.problems.operator_learning._darcy import (
    DarcyFlow,
    block_average,
    cell_centres,
    solve_darcy,
)
from sciml.problems.operator_learning._grf import RBFGRF, NeumannGRF, PeriodicGRF, sample_rng

__all__ = [
    "Antiderivative",
    "BurgersPeriodic",
    "DarcyFlow",
    "NeumannGRF",
    "OperatorLearningProblem",
    "PeriodicGRF",
    "RBFGRF",
    "block_average",
    "cell_centres",
    "check_indices",
    "cole_hopf_periodic",
    "periodic_grid",
    "sample_rng",
    "sensor_grid",
    "solve_darcy",
]
