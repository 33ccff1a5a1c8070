"""Loops that drive `sciml` modules over `sciml.problems`.

- `sciml.solvers.train`: the generic optax training loop (`fit`), histories, checkpoints.
- `sciml.solvers.eigen_pinn`: physics-informed networks for 1-D Schrödinger eigenproblems.
"""
