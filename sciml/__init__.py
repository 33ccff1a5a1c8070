"""sciml — a JAX toolkit for scientific machine learning, checked against exact references.

The top-level import is deliberately light: subpackages (`sciml.nn`, `sciml.pinn`,
`sciml.problems`, `sciml.solvers`, `sciml.datasets`, `sciml.validation`) are imported
on demand, so `import sciml.problems` pulls in no neural code.
"""

__version__ = "0.1.0"
