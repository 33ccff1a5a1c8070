"""Networks that approximate the inverse of an operator, for learned Krylov solvers (DCDM).

`MultigridNetwork` is the DCDM network: a learned V-cycle on a system's own stencils;
`MultigridNetwork.setup` builds its `Hierarchy` for one system, and `network(hierarchy, r)`
is the search direction for a residual `r`. `save_network`/`load_network` store one without
pickle; `pretrained()` is the small 3-D network shipped with the package.
"""

from sciml.precond._io import load_network, pretrained, save_network
from sciml.precond._network import Hierarchy, MultigridNetwork
from sciml.precond._stencil import Level, prolong, restrict

__all__ = [
    "Hierarchy", "Level", "MultigridNetwork", "load_network", "pretrained", "prolong",
    "restrict", "save_network",
]
