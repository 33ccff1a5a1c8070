"""Building blocks: MLPs with smooth activations."""

from sciml.nn._mlp import ACTIVATIONS, MLP

__all__ = ["ACTIVATIONS", "MLP"]
