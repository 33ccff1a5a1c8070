"""Interatomic potentials: an invariant and an E(3)-equivariant (MACE-like) message-passing
model. Energies in eV, distances in Å.

Both give per-atom energies `E_i = e0[Z_i] + scale · Σ_t readout_t(h_i^t)` from a `Graph`,
and `sciml.potentials.predict` takes forces as −∂E/∂x and the stress as (1/V) ∂E/∂ε by
autodiff, so forces and stresses are exactly consistent with the energy.

Equivariant features are dicts `{(l, p): (n_atoms, channels, 2l + 1)}` (p = ±1 the parity),
in e3nn-jax's real spherical-harmonic basis; products couple them with e3nn's Clebsch–Gordan
coefficients (`product="cg"`) or through a spherical grid (`product="gaunt"`, which keeps
only the parity-(−1)^l irreps the sphere carries).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import e3nn_jax as e3nn
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from sciml.potentials._graph import Graph
from sciml.potentials._radial import BesselBasis, PolynomialCutoff

Key = tuple[int, int]  # (l, parity)


class AbstractPotential(eqx.Module):
    """A model of per-atom energies on a `Graph`.

    Concrete potentials set `species` (atomic numbers, the embedding's table), `r_cut` (Å),
    `e0` (per-species energy shifts, eV) and `scale` (eV), and implement `interactions`.
    """

    species: eqx.AbstractVar[tuple[int, ...]]
    r_cut: eqx.AbstractVar[float]
    e0: eqx.AbstractVar[Float[Array, " n_species"]]
    scale: eqx.AbstractVar[Float[Array, ""]]

    def interactions(self, graph: Graph, vectors: Float[Array, "n K 3"]
                     ) -> Float[Array, " n"]:
        """Σ_t readout_t, the learned part of each atom's energy (dimensionless)."""
        raise NotImplementedError

    def describe(self) -> dict:
        """The constructor's arguments (JSON-able) that rebuild this model's structure."""
        names = {"InvariantPotential": ("r_cut", "channels", "layers", "l_max", "n_basis",
                                        "radial_width", "avg_neighbours"),
                 "MACE": ("r_cut", "channels", "max_ell", "hidden_l", "correlation", "layers",
                          "n_basis", "radial_width", "avg_neighbours", "product")}
        cls = type(self).__name__
        return {"class": cls, "species": list(self.species),
                "dtype": str(self.e0.dtype), **{k: getattr(self, k) for k in names[cls]}}

    def atomic_energies(self, graph: Graph, positions=None, cells=None) -> Float[Array, " n"]:
        """Per-atom energies, eV `(n_atoms,)`; 0 on padding. Positions and cells default to
        the graph's (pass strained ones for the stress)."""
        vectors = graph.edge_vectors(positions, cells)
        e = self.e0[graph.species] + self.scale * self.interactions(graph, vectors)
        return jnp.where(graph.atom_mask, e, 0.0)


def _edges(graph: Graph, vectors, r_cut, n_basis, max_ell):
    """Per-edge lengths' radial basis × envelope `(n, K, n_basis)`, the unit vectors'
    spherical harmonics `{l: (n, K, 2l+1)}` and the edge mask. Padded and beyond-cut-off
    edges get a safe length (r_c/2), so no 1/r or r̂ meets a zero length."""
    mask = graph.neighbour_mask & graph.atom_mask[:, None]
    r2 = jnp.sum(vectors**2, axis=-1)
    safe = jnp.where(mask, r2, (r_cut / 2) ** 2)
    r = jnp.sqrt(safe)
    env = jnp.where(mask, PolynomialCutoff(r_cut)(r), 0.0)
    radial = BesselBasis(r_cut, n_basis)(r) * env[..., None]
    unit = jnp.where(mask[..., None], vectors, jnp.array([0.0, 0.0, 1.0], vectors.dtype))
    sh = e3nn.spherical_harmonics(e3nn.Irreps([(1, natural(l)) for l in range(max_ell + 1)]),
                                  unit, normalize=True,
                                  normalization="component").array
    ys = {l: sh[..., l * l:(l + 1) ** 2] for l in range(max_ell + 1)}
    return radial, ys, mask


class _MLP(eqx.Module):
    """SiLU multilayer perceptron on the last axis, weights scaled 1/√fan-in."""

    weights: list
    biases: list

    def __init__(self, sizes: Sequence[int], key, dtype, bias_last: bool = True):
        keys = jax.random.split(key, len(sizes) - 1)
        self.weights = [jax.random.normal(k, (a, b), dtype) / math.sqrt(a)
                        for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)]
        self.biases = [jnp.zeros(b, dtype) for b in sizes[1:]]
        if not bias_last:
            self.biases[-1] = None

    def __call__(self, x):
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ w
            if b is not None:
                x = x + b
            if i < len(self.weights) - 1:
                x = jax.nn.silu(x)
        return x


# --- the invariant model -----------------------------------------------------------------------


class InvariantPotential(AbstractPotential):
    """Invariant message passing with three-body (angular) information, in the spirit of
    CHGNet and DPA3: each layer builds, per atom and channel c and angular order l ≤ `l_max`,

        A_i,c,lm = Σ_j R_c,l(r_ij) h_j,c Y_lm(r̂_ij),    p_i,c,l = Σ_m A_i,c,lm²,

    where p_l = Σ_jk R R' h_j h_k P_l(cos θ_jik)·(2l+1)/4π·… is exactly a sum over neighbour
    pairs of a Legendre polynomial of their bond angle (the addition theorem), computed in
    O(K) instead of CHGNet's O(K²) bond-angle graph; then h ← h + MLP([h, A_0, p_0…p_lmax]).
    """

    species: tuple[int, ...] = eqx.field(static=True)
    r_cut: float = eqx.field(static=True)
    channels: int = eqx.field(static=True)
    l_max: int = eqx.field(static=True)
    n_basis: int = eqx.field(static=True)
    avg_neighbours: float = eqx.field(static=True)
    layers: int = eqx.field(static=True)
    radial_width: int = eqx.field(static=True)
    embedding: Array
    radial: list
    update: list
    readout: list
    e0: Array
    scale: Array

    def __init__(self, species: Sequence[int], *, r_cut: float = 5.0, channels: int = 32,
                 layers: int = 3, l_max: int = 3, n_basis: int = 8, radial_width: int = 64,
                 avg_neighbours: float = 1.0, e0=None, scale: float = 1.0, key, dtype=None):
        dtype = dtype or jnp.zeros(()).dtype
        self.species = tuple(int(z) for z in species)
        self.r_cut, self.channels = float(r_cut), channels
        self.l_max, self.n_basis, self.avg_neighbours = l_max, n_basis, float(avg_neighbours)
        self.layers, self.radial_width = layers, radial_width
        keys = jax.random.split(key, 3 * layers + 1)
        self.embedding = jax.random.normal(keys[0], (len(self.species), channels), dtype)
        self.radial = [_MLP([n_basis, radial_width, channels * (l_max + 1)], k, dtype,
                            bias_last=False) for k in keys[1:layers + 1]]
        self.update = [_MLP([channels * (l_max + 3), 2 * channels, channels], k, dtype)
                       for k in keys[layers + 1:2 * layers + 1]]
        self.readout = [_MLP([channels, 16, 1], k, dtype) for k in keys[2 * layers + 1:]]
        self.e0 = jnp.zeros(len(self.species), dtype) if e0 is None else jnp.asarray(e0, dtype)
        self.scale = jnp.asarray(scale, dtype)

    def interactions(self, graph, vectors):
        radial, ys, mask = _edges(graph, vectors, self.r_cut, self.n_basis, self.l_max)
        h = self.embedding[graph.species]
        out = 0.0
        for rad, upd, read in zip(self.radial, self.update, self.readout, strict=True):
            w = rad(radial).reshape(*radial.shape[:2], self.l_max + 1, self.channels)
            hj = h[graph.neighbours] * mask[..., None]                   # (n, K, C)
            a = [jnp.einsum("nkc,nkm->ncm", w[:, :, l] * hj, ys[l]) / self.avg_neighbours
                 for l in range(self.l_max + 1)]
            powers = [jnp.sum(al**2, axis=-1) for al in a]
            h = h + upd(jnp.concatenate([h, a[0][..., 0]] + powers, axis=-1))
            out = out + read(h)[..., 0]
        return out


# --- the equivariant (MACE-like) model -----------------------------------------------------------


def natural(l: int) -> Key:
    """The irrep (l, (−1)^l) of spherical harmonics of degree l."""
    return (l, (-1) ** l)


def _cg(l1: int, l2: int, l3: int, dtype) -> np.ndarray:
    """e3nn's real Clebsch–Gordan coefficients `(2l1+1, 2l2+1, 2l3+1)`, scaled by √(2l3+1)
    so unit-variance inputs give unit-variance outputs ("component" normalisation)."""
    return np.asarray(e3nn.clebsch_gordan(l1, l2, l3), dtype) * math.sqrt(2 * l3 + 1)


def _paths(keys1, keys2, targets) -> list[tuple[Key, Key, Key]]:
    """Every (k1, k2 -> k3) allowed by angular momentum and parity with k3 in `targets`."""
    out = []
    for k1 in keys1:
        for k2 in keys2:
            for l3 in range(abs(k1[0] - k2[0]), k1[0] + k2[0] + 1):
                k3 = (l3, k1[1] * k2[1])
                if k3 in targets:
                    out.append((k1, k2, k3))
    return out


def _irreps(l_max: int, parities: str = "natural") -> tuple[Key, ...]:
    if parities == "natural":
        return tuple(natural(l) for l in range(l_max + 1))
    return tuple((l, p) for l in range(l_max + 1) for p in (1, -1))


class MACE(AbstractPotential):
    """An equivariant message-passing potential with higher-body-order messages (Batatia et
    al. 2022, MACE), on Clebsch–Gordan (`product="cg"`) or Gaunt (`product="gaunt"`) products.

    Each of `layers` interactions:

    1. A_i = (1/avg_neighbours) Σ_j Σ_paths R_path(r_ij) (W h_j ⊗ Y(r̂_ij))_path → irreps
       0e, 1o, …, up to `max_ell` (`channels` each), then a linear map per irrep;
    2. the product basis to correlation order ν = `correlation`: with species-dependent
       weights per channel and path, B = Σ_ν (A ⊗ … ⊗ A)_ν coupled to the hidden irreps
       (0e…L with parity (−1)^l; scalars only in the last layer);
    3. h ← W' B + W_s[Z] h (a species-dependent self-connection), readout of the scalars
       (linear, an MLP in the last layer).

    `hidden_l` is MACE's L (hidden irreps up to l = L), `max_ell` the spherical harmonics'
    degree. Intermediate products in the CG model keep both parities up to `max_ell` (as
    MACE's symmetric contraction does); the Gaunt model keeps parity (−1)^l only.
    """

    species: tuple[int, ...] = eqx.field(static=True)
    r_cut: float = eqx.field(static=True)
    channels: int = eqx.field(static=True)
    max_ell: int = eqx.field(static=True)
    hidden_l: int = eqx.field(static=True)
    correlation: int = eqx.field(static=True)
    n_basis: int = eqx.field(static=True)
    avg_neighbours: float = eqx.field(static=True)
    product: str = eqx.field(static=True)
    layers: int = eqx.field(static=True)
    radial_width: int = eqx.field(static=True)
    layer_irreps: tuple = eqx.field(static=True)  # per layer: (inputs, A, outputs) keys
    conv_paths: tuple = eqx.field(static=True)
    prod_paths: tuple = eqx.field(static=True)   # per layer, per order ν >= 2
    embedding: Array
    radial: list
    w_up: list
    w_a: list
    w_prod: list
    w_out: list
    w_skip: list
    readout: list
    e0: Array
    scale: Array

    def __init__(self, species: Sequence[int], *, r_cut: float = 5.0, channels: int = 32,
                 max_ell: int = 3, hidden_l: int = 1, correlation: int = 3, layers: int = 2,
                 n_basis: int = 8, radial_width: int = 64, avg_neighbours: float = 1.0,
                 product: str = "cg", e0=None, scale: float = 1.0, key, dtype=None):
        if product not in ("cg", "gaunt"):
            raise ValueError(f"product must be 'cg' or 'gaunt', got {product!r}")
        if not 1 <= correlation <= 4:
            raise ValueError(f"correlation must be 1 to 4, got {correlation}")
        if hidden_l > max_ell:
            raise ValueError(f"hidden_l={hidden_l} exceeds max_ell={max_ell}")
        dtype = dtype or jnp.zeros(()).dtype
        self.species, self.r_cut = tuple(int(z) for z in species), float(r_cut)
        self.channels, self.max_ell, self.hidden_l = channels, max_ell, hidden_l
        self.correlation, self.n_basis, self.product = correlation, n_basis, product
        self.avg_neighbours = float(avg_neighbours)
        self.layers, self.radial_width = layers, radial_width
        C, S = channels, len(self.species)
        sh = _irreps(max_ell)
        a_keys = sh  # MACE's interaction irreps: the spherical harmonics' (channels each)
        mid = sh if product == "gaunt" else _irreps(max_ell, "both")
        layer_irreps, conv_paths, prod_paths = [], [], []
        inputs: tuple[Key, ...] = (natural(0),)
        for t in range(layers):
            outputs = (natural(0),) if t == layers - 1 else _irreps(hidden_l)
            layer_irreps.append((inputs, a_keys, outputs))
            conv_paths.append(tuple(_paths(inputs, sh, a_keys)))
            orders, prev = [], a_keys
            for nu in range(2, correlation + 1):
                target = outputs if nu == correlation else mid
                orders.append(tuple(_paths(prev, a_keys, target)))
                prev = tuple(sorted({p[2] for p in orders[-1]}))
            prod_paths.append(tuple(orders))
            inputs = outputs
        self.layer_irreps, self.conv_paths = tuple(layer_irreps), tuple(conv_paths)
        self.prod_paths = tuple(prod_paths)

        keys = iter(jax.random.split(key, 16 * layers + 2))
        glorot = lambda k, shape: jax.random.normal(k, shape, dtype) / math.sqrt(shape[-2])
        self.embedding = jax.random.normal(next(keys), (S, C), dtype)
        self.radial, self.w_up, self.w_a, self.w_prod, self.w_out = [], [], [], [], []
        self.w_skip, self.readout = [], []
        for t, (ins, a_k, outs) in enumerate(layer_irreps):
            n_conv = len(conv_paths[t])
            self.radial.append(_MLP([n_basis, radial_width, radial_width, radial_width,
                                     C * n_conv], next(keys), dtype, bias_last=False))
            self.w_up.append({k: glorot(next(keys), (C, C)) for k in ins})
            self.w_a.append({k: glorot(next(keys), (C, C)) for k in a_k})
            if product == "gaunt":
                # per species, channel, order ν and degree l: the weights of A's degrees in
                # each of the ν factors multiplied on the sphere
                prods = [1.0 + 0.1 * jax.random.normal(
                    next(keys), (S, C, correlation, max_ell + 1), dtype)]
            else:
                # order 1 on A's own irreps, then one per path and order; species-dependent
                # per channel (MACE's symmetric contraction)
                prods = [jax.random.normal(next(keys), (S, C, len([k for k in a_k
                                                                    if k in outs])),
                                           dtype) / math.sqrt(correlation)]
                for paths in prod_paths[t]:
                    prods.append(jax.random.normal(next(keys), (S, C, len(paths)), dtype)
                                 / math.sqrt(max(1, len(paths))))
            self.w_prod.append(prods)
            self.w_out.append({k: glorot(next(keys), (C, C)) for k in outs})
            self.w_skip.append({k: jax.random.normal(next(keys), (S, C, C), dtype) / math.sqrt(C)
                                for k in outs if k in ins})
            last = t == len(layer_irreps) - 1
            self.readout.append(_MLP([C, 16, 1] if last else [C, 1], next(keys), dtype))
        self.e0 = jnp.zeros(S, dtype) if e0 is None else jnp.asarray(e0, dtype)
        self.scale = jnp.asarray(scale, dtype)

    # --- products ---

    @staticmethod
    def _terms(x: dict, y: dict, paths) -> list:
        """Channel-wise CG products of x and y, one array per path."""
        dtype = next(iter(x.values())).dtype
        return [jnp.einsum("...i,...j,ijk->...k", x[k1], y[k2], _cg(k1[0], k2[0], k3[0], dtype))
                for k1, k2, k3 in paths]

    def interactions(self, graph, vectors):
        radial, ys, mask = _edges(graph, vectors, self.r_cut, self.n_basis, self.max_ell)
        species = graph.species
        h = {natural(0): self.embedding[species][..., None]}
        total = 0.0
        for t, (ins, _, outs) in enumerate(self.layer_irreps):
            C = self.channels
            up = {k: jnp.einsum("ncm,cd->ndm", h[k], self.w_up[t][k]) for k in ins}
            paths = self.conv_paths[t]
            r = self.radial[t](radial).reshape(*radial.shape[:2], C, len(paths))
            r = r * mask[..., None, None]
            hj = {k: v[graph.neighbours] for k, v in up.items()}          # (n, K, C, 2l+1)
            a = {}
            for p, (k1, k2, k3) in enumerate(paths):
                if k1[0] == 0:  # scalar input: √(2l+1)·CG(0, l, l) is the identity
                    term = jnp.einsum("nkc,nkc,nko->nco", r[..., p], hj[k1][..., 0],
                                      ys[k2[0]])
                else:
                    cg = _cg(k1[0], k2[0], k3[0], vectors.dtype)
                    yc = jnp.einsum("nkj,ijo->nkio", ys[k2[0]], cg)          # channel-free
                    term = jnp.einsum("nkc,nkci,nkio->nco", r[..., p], hj[k1], yc)
                a[k3] = a[k3] + term if k3 in a else term
            a = {k: jnp.einsum("ncm,cd->ndm", v / self.avg_neighbours, self.w_a[t][k])
                 for k, v in a.items()}
            b = (self._gaunt_basis(t, a, species) if self.product == "gaunt"
                 else self._product_basis(t, a, species))
            new = {k: jnp.einsum("ncm,cd->ndm", b[k], self.w_out[t][k]) for k in outs}
            for k, w in self.w_skip[t].items():
                new[k] = new[k] + jnp.einsum("ncm,ncd->ndm", h[k], w[species])
            h = new
            total = total + self.readout[t](h[natural(0)][..., 0])[..., 0]
        return total

    def _product_basis(self, t: int, a: dict, species) -> dict:
        """B = Σ_ν (A^⊗ν)-paths with species-dependent weights per channel and path."""
        ins, a_keys, outs = self.layer_irreps[t]
        weights = [w[species] for w in self.w_prod[t]]                  # (n, C, n_paths)
        own = [k for k in a_keys if k in outs]
        b = {k: a[k] * weights[0][..., i, None] for i, k in enumerate(own)}
        prev = a
        for nu, paths in enumerate(self.prod_paths[t], start=2):
            terms = self._terms(prev, a, paths)
            nxt: dict = {}
            for p, ((_, _, k3), term) in enumerate(zip(paths, terms, strict=True)):
                if k3 in outs:
                    v = term * weights[nu - 1][..., p, None]
                    b[k3] = b[k3] + v if k3 in b else v
                nxt[k3] = nxt[k3] + term if k3 in nxt else term
            prev = nxt
        return b

    def _gaunt_basis(self, t: int, a: dict, species) -> dict:
        """B = Σ_ν Π_{k≤ν} f_k on the sphere, f_k = Σ_l w_k,l[Z, c] A_l: each factor a
        species- and channel-weighted mix of A's degrees, multiplied pointwise on a grid that
        integrates the products exactly (`sciml.equivariant.GauntProduct`), projected back
        onto the hidden irreps (parity (−1)^l only)."""
        from sciml.equivariant import GauntProduct

        _, a_keys, outs = self.layer_irreps[t]
        lmax, nu = self.max_ell, self.correlation
        lout = max(k[0] for k in outs)
        grid = GauntProduct(lmax * max(nu - 1, 1), lmax, lout)
        flat = jnp.concatenate([a[natural(l)] for l in range(lmax + 1)], axis=-1)
        w = self.w_prod[t][0][species]                                   # (n, C, ν, l)
        degree = np.repeat(np.arange(lmax + 1), 2 * np.arange(lmax + 1) + 1)
        irreps = e3nn.s2_irreps(lmax)
        term, total = None, 0.0
        for k in range(nu):
            f = grid.to_grid(e3nn.IrrepsArray(irreps, flat * w[..., k, degree]))
            term = f if term is None else term * f
            total = total + term
        b = grid.from_grid(total).array
        return {natural(l): b[..., l * l:(l + 1) ** 2] for l in range(lout + 1)
                if natural(l) in outs}

