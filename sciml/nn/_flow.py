"""A RealNVP normalising flow on a box, the sampler for adversarial adaptive sampling.

Adversarial adaptive sampling (AAS; Tang, Wan, Liao 2023) trains a flow on the PDE domain
to put its samples where the residual is large; the original uses KRnet, this RealNVP is our
stand-in. Densities are on the box `[lower, upper] ⊂ R^dim` w.r.t. Lebesgue measure.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray, Scalar

from sciml import checks


def _logistic_log_prob(z: Float[Array, " dim"]) -> Scalar:
    """Log-density of independent standard logistic coordinates."""
    return jnp.sum(jax.nn.log_sigmoid(z) + jax.nn.log_sigmoid(-z))


class _AffineCoupling(eqx.Module):
    """`y = m ⊙ z + (1 - m) ⊙ (z ⊙ exp(s) + t)` with `(s, t) = net(m ⊙ z)`, `|s| < max_log_scale`.

    With an all-False mask (dim 1) the net sees the constant input 0: an elementwise affine map.
    """

    net: eqx.nn.MLP
    mask: tuple[bool, ...] = eqx.field(static=True)
    max_log_scale: float = eqx.field(static=True)

    def __init__(
        self,
        mask: tuple[bool, ...],
        width: int,
        depth: int,
        max_log_scale: float,
        *,
        key: PRNGKeyArray,
    ):
        dim = len(mask)
        self.mask, self.max_log_scale = tuple(bool(m) for m in mask), float(max_log_scale)
        net = eqx.nn.MLP(dim, 2 * dim, width, depth, activation=jnp.tanh, key=key)
        last = net.layers[-1]
        zeroed = eqx.tree_at(
            lambda lyr: (lyr.weight, lyr.bias),
            last,
            (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)),
        )
        self.net = eqx.tree_at(lambda n: n.layers[-1], net, zeroed)  # identity at init

    def _scale_shift(self, z: Float[Array, " dim"]) -> tuple[Array, Array]:
        m = jnp.asarray(self.mask)
        s, t = jnp.split(self.net(jnp.where(m, z, 0.0)), 2)
        c = self.max_log_scale
        s = c * jnp.tanh(s / c)
        return jnp.where(m, 0.0, s), jnp.where(m, 0.0, t)

    def forward(self, z: Float[Array, " dim"]) -> tuple[Float[Array, " dim"], Scalar]:
        s, t = self._scale_shift(z)  # depends only on the masked (unchanged) coordinates
        return z * jnp.exp(s) + t, jnp.sum(s)

    def inverse(self, y: Float[Array, " dim"]) -> tuple[Float[Array, " dim"], Scalar]:
        s, t = self._scale_shift(y)
        return (y - t) * jnp.exp(-s), -jnp.sum(s)


class RealNVP(eqx.Module):
    """A RealNVP flow with a logistic base, squashed onto the box `[lower, upper]`.

    `z ~ Logistic(0, 1)^dim`, `y = coupling_n ∘ … ∘ coupling_1(z)`,
    `x = lower + (upper - lower) ⊙ sigmoid(y)`. The couplings are affine with alternating
    binary masks (for `dim == 1`, learned elementwise affine maps), log-scales bounded by
    `max_log_scale` through a tanh, and coupling MLPs whose last layer is zero at init: at
    init the flow is the identity and `x` is exactly UNIFORM on the box.

    All methods act on ONE point; `jax.vmap` them (over keys for sampling).

    Attributes:
        couplings: the `n_layers` affine coupling layers.
        lower, upper: the box, as tuples of `dim` floats (static: the support is fixed, never
            trained).
        dim: the dimension.
    """

    couplings: tuple[_AffineCoupling, ...]
    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    dim: int = eqx.field(static=True)

    def __init__(
        self,
        dim: int,
        *,
        n_layers: int = 6,
        width: int = 64,
        depth: int = 2,
        max_log_scale: float = 2.0,
        lower: float | Array = -1.0,
        upper: float | Array = 1.0,
        key: PRNGKeyArray,
    ):
        dim, n_layers, width, depth = checks.counts(
            dim=dim, n_layers=n_layers, width=width, depth=depth
        )
        max_log_scale = checks.positive("max_log_scale", max_log_scale)
        lower, upper = jnp.asarray(lower, float), jnp.asarray(upper, float)
        for name, a in (("lower", lower), ("upper", upper)):
            if a.shape not in {(), (dim,)}:
                raise ValueError(f"{name} must have shape () or ({dim},), got {a.shape}")
        lower, upper = jnp.broadcast_to(lower, (dim,)), jnp.broadcast_to(upper, (dim,))
        if not bool(jnp.all(jnp.isfinite(lower) & jnp.isfinite(upper) & (upper > lower))):
            raise ValueError(f"the box needs finite upper > lower, got {lower}, {upper}")
        self.dim = dim
        self.lower = tuple(float(v) for v in lower)
        self.upper = tuple(float(v) for v in upper)
        masks = [tuple(dim > 1 and (j + i) % 2 == 0 for j in range(dim)) for i in range(n_layers)]
        keys = jax.random.split(key, n_layers)
        self.couplings = tuple(
            _AffineCoupling(m, width, depth, max_log_scale, key=k)
            for m, k in zip(masks, keys, strict=True)
        )

    def _box(self) -> tuple[Array, Array]:
        return jnp.asarray(self.lower), jnp.asarray(self.upper)

    def forward(self, z: Float[Array, " dim"]) -> tuple[Float[Array, " dim"], Scalar]:
        """Base point `z` to box point `x`, with `log|det dx/dz|`."""
        lo, hi = self._box()
        y, log_det = z, jnp.zeros((), z.dtype)
        for layer in self.couplings:
            y, ld = layer.forward(y)
            log_det = log_det + ld
        x = jnp.clip(lo + (hi - lo) * jax.nn.sigmoid(y), lo, hi)
        log_det = log_det + jnp.sum(
            jnp.log(hi - lo) + jax.nn.log_sigmoid(y) + jax.nn.log_sigmoid(-y)
        )
        return x, log_det

    def inverse(self, x: Float[Array, " dim"]) -> tuple[Float[Array, " dim"], Scalar]:
        """Box point `x` (strictly inside) to base point `z`, with `log|det dz/dx|`."""
        lo, hi = self._box()
        u = (x - lo) / (hi - lo)
        y = jnp.log(u) - jnp.log1p(-u)
        log_det = -jnp.sum(jnp.log(hi - lo) + jnp.log(u) + jnp.log1p(-u))
        for layer in reversed(self.couplings):
            y, ld = layer.inverse(y)
            log_det = log_det + ld
        return y, log_det

    def log_prob(self, x: Float[Array, " dim"]) -> Scalar:
        """Log-density at `x` on the box (w.r.t. Lebesgue measure).

        `x` is first clipped a few ulps inside the box, so points on the boundary are safe.
        """
        lo, hi = self._box()
        x = jnp.asarray(x, float)
        eps = 16 * jnp.finfo(x.dtype).eps * (hi - lo)
        z, log_det = self.inverse(jnp.clip(x, lo + eps, hi - eps))
        return _logistic_log_prob(z) + log_det

    def sample(self, key: PRNGKeyArray) -> Float[Array, " dim"]:
        """One point on the box, reparameterised: differentiable in the flow's parameters."""
        return self.sample_and_log_prob(key)[0]

    def sample_and_log_prob(self, key: PRNGKeyArray) -> tuple[Float[Array, " dim"], Scalar]:
        """One point `x` on the box and `log p(x)`, both differentiable in the parameters."""
        z = jax.random.logistic(key, (self.dim,))
        x, log_det = self.forward(z)
        return x, _logistic_log_prob(z) - log_det
