"""Building blocks: MLPs with smooth activations, PINN encodings and architectures, flows."""

from sciml.nn._activations import ACTIVATIONS, resolve_activation
from sciml.nn._features import (
    FourierFeatureMLP,
    ModifiedMLP,
    PeriodicEmbedding,
    PeriodicMLP,
    Siren,
)
from sciml.nn._flow import RealNVP
from sciml.nn._mlp import MLP

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "FourierFeatureMLP",
    "ModifiedMLP",
    "PeriodicEmbedding",
    "PeriodicMLP",
    "RealNVP",
    "Siren",
    "resolve_activation",
]
