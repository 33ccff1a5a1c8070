"""Poisson systems on cell grids: the pressure-projection systems of smoke simulation.

For learned Krylov solvers (DCDM) and their baselines. A `PoissonSystem` is a boolean
`fluid` mask on an `(n,)*d` grid (d = 2 or 3, cells of width h = 1/n on the unit box)
with Dirichlet or Neumann domain faces; its operator `A = h² (−Δ_h)` acts on whole arrays
(identity on solid cells) in stencil form (`Stencil`, also as the lineax operator
`PoissonOperator`) or as a scipy sparse matrix. `layout` draws obstacle geometries from a
seed (seeds ≥ 1000 held out), `smoke_rhs` smoke-like right-hand sides, `manufactured`
and `sine_solution` right-hand sides with exact solutions.

    system = layout("spheres", 64, seed=3)           # 3-D, open top
    b = system.check_rhs(smoke_rhs(system, seed=3))
    x = lx.linear_solve(system.operator(), jnp.asarray(b), lx.CG(rtol=1e-8, atol=1e-8)).value
"""

from sciml.problems.linear_systems._layouts import (
    LAYOUT_KINDS,
    is_held_out,
    layout,
    test_seeds,
    training_seeds,
)
from sciml.problems.linear_systems._rhs import (
    manufactured,
    sine_solution,
    smoke_rhs,
    smoke_velocity,
)
from sciml.problems.linear_systems._stencil import PoissonOperator, Stencil
from sciml.problems.linear_systems._system import PoissonSystem

__all__ = [
    "LAYOUT_KINDS",
    "PoissonOperator",
    "PoissonSystem",
    "Stencil",
    "is_held_out",
    "layout",
    "manufactured",
    "sine_solution",
    "smoke_rhs",
    "smoke_velocity",
    "test_seeds",
    "training_seeds",
]
