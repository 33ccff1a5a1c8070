"""Neural exchange-correlation functionals in the Grad DFT form.

E_xc = ∫ Σ_i w_i,θ(x(r)) e_i(r) dr: known energy densities e_i (libxc components) weighted
by a network of local features x = (ρ^1/3/(1+ρ^1/3), ŝ, ζ²), with ŝ = s²/(1+s²) of the
reduced gradient s = |∇ρ|/(2(3π²)^1/3 ρ^4/3) and ζ the spin polarisation (squared: the
energy must not change when the spins are swapped). The weights are

    w_i = c_i (1 + ŝ · tanh(g_θ,i(x))),

so at s = 0 (the uniform electron gas) w_i = c_i: a functional whose components reduce
to the uniform-gas energy there (PBE: LDA exchange and PW92 correlation) keeps that limit
for every θ. The network's last layer starts at zero, so training starts exactly at the
functional the c_i name ("pbe", "blyp", "b3lyp", ...), and tanh bounds each weight to
[0, 2 c_i], which keeps a trained functional from running away between grid points.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sciml.dft._functionals import COMPONENTS, COMPOSITES, AbstractFunctional

_S_SCALE = 4.0 * (3.0 * np.pi**2) ** (2.0 / 3.0)  # s² = σ / (_S_SCALE ρ^(8/3))
_THRESHOLD = 1e-12  # bohr^-3: below it the features are irrelevant (every e_i vanishes)


def local_features(rho, sigma):
    """`(g, 3)` features (ρ^1/3/(1+ρ^1/3), ŝ, ζ²) with finite derivatives at ρ = 0, and ŝ
    `(g,)`."""
    n = rho[0] + rho[1]
    ok = n > _THRESHOLD
    n_safe = jnp.where(ok, n, 1.0)
    cube = n_safe ** (1.0 / 3.0)
    sig = jnp.maximum(sigma[0] + 2.0 * sigma[1] + sigma[2], 0.0)
    s2 = sig / (_S_SCALE * n_safe ** (8.0 / 3.0))
    shat = jnp.where(ok, s2 / (1.0 + s2), 0.0)
    zeta = jnp.where(ok, jnp.clip((rho[0] - rho[1]) / n_safe, -1.0, 1.0), 0.0)
    x = jnp.stack([jnp.where(ok, cube / (1.0 + cube), 0.0), shat, zeta**2], axis=-1)
    return x, shat


class NeuralFunctional(AbstractFunctional):
    """A Grad-DFT-form functional (module docstring).

    Attributes:
        components: libxc component names e_i (`sciml.dft.COMPONENTS`).
        coefficients: their starting weights c_i.
        exact_exchange: fraction of Hartree–Fock exchange (fixed).
        net: MLP from the 3 features to one output per component.
    """

    components: tuple[str, ...] = eqx.field(static=True)
    coefficients: tuple[float, ...] = eqx.field(static=True)
    exact_exchange: float = eqx.field(static=True)
    net: eqx.nn.MLP

    def __init__(self, base: str = "pbe", *, width: int = 16, depth: int = 2,
                 key: jax.Array):
        """Starts exactly at the composite `base` (a name in `sciml.dft.COMPOSITES`)."""
        if base not in COMPOSITES:
            raise ValueError(f"unknown base functional {base!r}; known: {sorted(COMPOSITES)}")
        parts, a = COMPOSITES[base]
        self.components = tuple(c for c, _ in parts)
        self.coefficients = tuple(float(w) for _, w in parts)
        self.exact_exchange = float(a)
        net = eqx.nn.MLP(3, len(parts), width, depth, activation=jax.nn.gelu, key=key,
                         dtype=jnp.float64)
        last = net.layers[-1]
        self.net = eqx.tree_at(lambda m: (m.layers[-1].weight, m.layers[-1].bias), net,
                               (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)))

    @property
    def is_gga(self) -> bool:
        return True

    def weights(self, rho, sigma):
        """`(g, k)` the local weights w_i of the k components."""
        x, shat = local_features(rho, sigma)
        g = jax.vmap(self.net)(x)
        return jnp.asarray(self.coefficients) * (1.0 + shat[:, None] * jnp.tanh(g))

    def energy_density(self, rho, sigma):
        e = jnp.stack([COMPONENTS[c][0](rho, sigma) for c in self.components], axis=-1)
        return jnp.sum(self.weights(rho, sigma) * e, axis=-1)
