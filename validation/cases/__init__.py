"""All validation cases, registered in this one list."""

from sciml.validation.cases.atomistic import CASES as _ATOMISTIC
from sciml.validation.cases.linear_systems import CASES as _LINEAR
from sciml.validation.cases.molecules import CASES as _MOLECULES
from sciml.validation.cases.operators import CASES as _OPERATORS
from sciml.validation.cases.pde import CASES as _PDE
from sciml.validation.cases.quantum_well_sweep import CASES as _QW_SWEEP
from sciml.validation.cases.quantum_wells import CASES as _QW

CASES = [*_QW, *_QW_SWEEP, *_PDE, *_OPERATORS, *_LINEAR, *_MOLECULES, *_ATOMISTIC]
