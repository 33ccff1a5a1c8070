"""Tensor products of spherical-harmonic features: our Gaunt grid product and CG wrapper
beside e3nn-jax's Clebsch–Gordan product and its s2grid route.

For each L, batch 256 × one channel, float32: inputs x, y with irreps 0e + 1o + … + L
(every l up to L once, natural parity), output 0e + 1o + … up to L (and up to 2L where
marked). Routes:

1. `gaunt`: `sciml.equivariant.GauntProduct(L, L, lout)`: to the exact Gauss–Legendre ×
   uniform grid and back with three dense matmuls (the kept formulation).
2. `gaunt-separable`: the same product with separable transforms (Legendre in θ per m, then
   a DFT in φ as a matmul), and `gaunt-halved`: the dense one with half the flops by the
   grid's θ ↔ π − θ symmetry; both written here only as the evidence for keeping the dense
   one.
3. `cg_product`: `sciml.equivariant.cg_product` (a wrapper over `e3nn.tensor_product`),
   filtered to the natural-parity outputs l ≤ lout: one output block per path.
4. `e3nn CG`: `e3nn.tensor_product(x, y, filter_ir_out=0e + 1o + … lout)`.
5. `e3nn s2grid`: `e3nn.to_s2grid` of x and y (Gauss–Legendre, the same exact grid as ours,
   n_φ rounded up to odd for its FFT), pointwise product, `e3nn.from_s2grid` (`fft=True`,
   e3nn's defaults), and `e3nn s2grid (matmul)`: the same with `fft=False`.

Each route is `jax.jit`ted on plain arrays; forward and forward + backward (the gradient
w.r.t. both inputs of ⟨out, c⟩ with a fixed random cotangent c passed as an argument: the
gradient of a plain sum lets XLA constant-fold the first backward matmul, which no training
step can) are timed separately, after two warm-up calls, `block_until_ready` on every call;
the figure is the median over `rounds × calls` calls, the routes interleaved round by round
so that a change of machine load hits all of them alike. Correctness: every route is
compared with `gaunt` in the same run (Gaunt routes: the same numbers; CG routes: the sum of
their paths with the Gaunt coefficients `gaunt_coefficient`).

    python benchmarks/tensor_products.py --size small   # L = 1..3, ~1 min
    python benchmarks/tensor_products.py --size full    # L = 1..6 and 2L outputs, ~6 min

Before timing it waits up to `--wait` seconds for the 1-minute load average to fall below
`--max-load`, then runs whatever the load, recording it at the start and end of every L.
Writes `results/tensor_products-<size>.{json,md}`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402

NAME = "tensor_products"
BATCH = 256
SIZES = {
    "small": dict(ls=(1, 2, 3), double_ls=(1, 2), big_ls=(), rounds=3, calls=20),
    "full": dict(ls=(1, 2, 3, 4, 5, 6), double_ls=(1, 2, 3, 4, 5, 6), big_ls=(2, 4, 6),
                 rounds=7, calls=40),
}
ROUTES = ("gaunt", "gaunt-separable", "gaunt-halved", "cg_product", "e3nn CG", "e3nn s2grid",
          "e3nn s2grid (matmul)")
DOUBLE_ROUTES = ("gaunt", "e3nn CG", "e3nn s2grid")  # output up to 2L
BIG_BATCH = 4096  # the three Gaunt formulations again, at a model's row count
BIG_ROUTES = ("gaunt", "gaunt-separable", "gaunt-halved")
NOTES = [
    "`gaunt` and both `e3nn s2grid` routes compute the same thing: the coefficients of the "
    "pointwise product of the two functions on the sphere, projected on l ≤ lout. Ours with "
    "normalization='component' (Y_00 = 1, c_00 = the mean over the sphere) is e3nn's s2grid "
    "with its default normalization='integral' (which samples Σ c Y^component): the same "
    "numbers, compared below. `gaunt-separable` and `gaunt-halved` are the same product too.",
    "`cg_product` and `e3nn CG` are the same function (ours calls e3nn's): one output block "
    "per path (l1, l2 → l3) with l1 + l2 + l3 even, unweighted, so more output "
    "numbers than the Gaunt product. Summed over paths with the weights "
    "`gaunt_coefficient(l1, l2, l3)` they give the Gaunt product: the check below. The odd "
    "paths (e.g. 1o ⊗ 1o → 1e) are filtered out, since the Gaunt product has none.",
    "Grid: Gauss–Legendre in cos θ × uniform φ, n_θ = ⌊d/2⌋ + 1, n_φ = d + 1, d = 2L + lout "
    "(the smallest exact one); e3nn's FFT needs an odd n_φ, so its routes use d + 2 points "
    "in φ when d + 1 is even.",
    "Why dense matmuls for `gaunt`: at these sizes (≤ 49 coefficients, ≤ 190 grid points at "
    "L = 6, lout = L) XLA:CPU runs the three GEMMs close to peak; the separable transform "
    "(≈ 3× fewer flops at L = 6) and the halved one (2× fewer) mostly pay more for their "
    "per-m batched matmuls, gathers, scatters and transposes than they save (compare the "
    "columns; the halved form can win at L = 6 with 256 rows, not with 4096 rows, and not "
    "in the backward pass there).",
]


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def wait_for_load(max_load: float, wait_s: float) -> float:
    """Seconds waited for the 1-minute load average to drop below `max_load`."""
    t0 = time.monotonic()
    while os.getloadavg()[0] >= max_load and time.monotonic() - t0 < wait_s:
        log(f"load {os.getloadavg()[0]:.2f} ≥ {max_load}: waiting "
            f"({time.monotonic() - t0:.0f} / {wait_s:.0f} s)")
        time.sleep(min(30.0, max(1.0, wait_s - (time.monotonic() - t0))))
    return time.monotonic() - t0


# =========================================================================================
# the routes: functions of plain (batch, (L + 1)²) float32 arrays
# =========================================================================================
def separable_gaunt(lmax1: int, lmax2: int, lmax_out: int):
    """The Gaunt product with separable transforms, on GauntProduct's grid (benchmark only).

    f(θ_j, φ_k) = Σ_m T_m(φ_k) Σ_l c_lm P_lm(θ_j): a batched matmul over m (coefficients
    gathered into a zero-padded (m, l) layout), then a DFT in φ as a matmul; the way back
    is the transpose with the quadrature weights.
    """
    import jax.numpy as jnp

    from sciml.equivariant import GauntProduct
    from sciml.equivariant._gaunt import _sh_on_grid

    product = GauntProduct(lmax1, lmax2, lmax_out)
    n_theta, n_phi = product.grid_shape
    lmax = max(lmax1, lmax2, lmax_out)
    sh = _sh_on_grid(product.degree, lmax).reshape(n_theta, n_phi, -1)
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    # e3nn's real basis about y: component l + m ∝ sin(|m| φ) for m < 0, cos(m φ) for m ≥ 0
    trig = np.stack([np.sin(-m * phi) if m < 0 else np.cos(m * phi)
                     for m in range(-lmax, lmax + 1)])  # (2 lmax + 1, n_phi)
    legendre = np.zeros((2 * lmax + 1, lmax + 1, n_theta))  # P[m, l](θ_j)
    for deg in range(lmax + 1):
        for m in range(-deg, deg + 1):
            t = trig[m + lmax]
            legendre[m + lmax, deg] = sh[:, :, deg * deg + deg + m] @ t / (t @ t)
    weights = np.polynomial.legendre.leggauss(n_theta)[1] * (2 * np.pi / n_phi) / (4 * np.pi)

    def layout(L):  # flat index of (m, l) in e3nn's layout; (L + 1)² (a zero) where l < |m|
        idx = np.full((2 * L + 1, L + 1), (L + 1) ** 2)
        for deg in range(L + 1):
            for m in range(-deg, deg + 1):
                idx[m + L, deg] = deg * deg + deg + m
        return idx

    def block(L):
        return slice(lmax - L, lmax + L + 1)

    p1, p2 = legendre[block(lmax1), : lmax1 + 1], legendre[block(lmax2), : lmax2 + 1]
    t1, t2, t_out = trig[block(lmax1)], trig[block(lmax2)], trig[block(lmax_out)]
    p_out = legendre[block(lmax_out), : lmax_out + 1] * weights
    i1, i2 = layout(lmax1), layout(lmax2)
    out_index = np.array([(m + lmax_out) * (lmax_out + 1) + deg
                          for deg in range(lmax_out + 1) for m in range(-deg, deg + 1)])

    def to_grid(c, idx, p, t):
        padded = jnp.concatenate([c, jnp.zeros((*c.shape[:-1], 1), c.dtype)], -1)[..., idx]
        a = jnp.einsum("...ml,mlb->...bm", padded, jnp.asarray(p, c.dtype))
        return a @ jnp.asarray(t, c.dtype)  # (..., n_theta, n_phi)

    def f(x, y):
        h = to_grid(x, i1, p1, t1) * to_grid(y, i2, p2, t2)
        a = jnp.einsum("...ba,ma->...mb", h, jnp.asarray(t_out, h.dtype))
        c = jnp.einsum("...mb,mlb->...ml", a, jnp.asarray(p_out, h.dtype))
        return c.reshape(*c.shape[:-2], -1)[..., out_index]

    return f


def halved_gaunt(lmax1: int, lmax2: int, lmax_out: int):
    """The Gaunt product with the dense transforms halved by the θ ↔ π − θ symmetry of the
    Gauss–Legendre nodes (benchmark only).

    Y_lm(π − θ, φ) = (−1)^(l + m) Y_lm(θ, φ) about e3nn's polar axis y, so on the upper half
    of the grid the even (l + m) and odd parts E, O of a function give f = E + O there and
    E − O on the mirrored points: half the flops of each matmul, paid for by gathering the
    coefficients into their even and odd parts and scattering the result back. The equator
    (odd n_θ) counts in the upper half with half its weight, so the mirror adds it back.
    """
    import jax.numpy as jnp

    from sciml.equivariant import GauntProduct
    from sciml.equivariant._gaunt import _sh_on_grid

    product = GauntProduct(lmax1, lmax2, lmax_out)
    n_theta, n_phi = product.grid_shape
    lmax = max(lmax1, lmax2, lmax_out)
    nodes, w_theta = np.polynomial.legendre.leggauss(n_theta)
    upper = nodes >= -1e-14  # the y ≥ 0 half, equator included
    w_upper = np.where(np.abs(nodes[upper]) < 1e-14, 0.5, 1.0) * w_theta[upper]
    sh = _sh_on_grid(product.degree, lmax).reshape(n_theta, n_phi, -1)[upper]
    sh = sh.reshape(-1, (lmax + 1) ** 2)  # (N / 2 (+ equator), (lmax + 1)²)
    weights = np.repeat(w_upper, n_phi) * (2 * np.pi / n_phi) / (4 * np.pi)
    odd = np.array([(deg + m) % 2 for deg in range(lmax + 1) for m in range(-deg, deg + 1)])

    def split(L):
        idx = np.arange((L + 1) ** 2)
        return idx[odd[idx] == 0], idx[odd[idx] == 1]

    (e1, o1), (e2, o2), (eo, oo) = split(lmax1), split(lmax2), split(lmax_out)
    inverse = np.argsort(np.concatenate([eo, oo]))
    mats = [sh[:, e1].T, sh[:, o1].T, sh[:, e2].T, sh[:, o2].T,
            weights[:, None] * sh[:, eo], weights[:, None] * sh[:, oo]]

    def f(x, y):
        a1, b1, a2, b2, c_even, c_odd = (jnp.asarray(m, x.dtype) for m in mats)
        ex, ox = x[..., e1] @ a1, x[..., o1] @ b1
        ey, oy = y[..., e2] @ a2, y[..., o2] @ b2
        top, bottom = (ex + ox) * (ey + oy), (ex - ox) * (ey - oy)
        out = jnp.concatenate([(top + bottom) @ c_even, (top - bottom) @ c_odd], -1)
        return out[..., inverse]

    return f


def make_routes(L: int, lout: int, names) -> dict:
    import e3nn_jax as e3nn

    from sciml.equivariant import GauntProduct, cg_product

    irreps_in, irreps_out = e3nn.s2_irreps(L), e3nn.s2_irreps(lout)
    product = GauntProduct(L, L, lout)
    n_theta, n_phi = product.grid_shape
    n_phi_odd = n_phi + 1 - n_phi % 2

    def wrap(f):
        return lambda x, y: f(e3nn.IrrepsArray(irreps_in, x), e3nn.IrrepsArray(irreps_in, y))

    def s2grid(fft):
        def f(x, y):
            sx = e3nn.to_s2grid(x, n_theta, n_phi_odd, quadrature="gausslegendre", fft=fft)
            sy = e3nn.to_s2grid(y, n_theta, n_phi_odd, quadrature="gausslegendre", fft=fft)
            return e3nn.from_s2grid(sx * sy, irreps_out, fft=fft).array
        return wrap(f)

    routes = {
        "gaunt": wrap(lambda x, y: product(x, y).array),
        "gaunt-separable": separable_gaunt(L, L, lout),
        "gaunt-halved": halved_gaunt(L, L, lout),
        "cg_product": wrap(lambda x, y: cg_product(x, y, irreps_out).array),
        "e3nn CG": wrap(lambda x, y: e3nn.tensor_product(x, y, filter_ir_out=irreps_out).array),
        "e3nn s2grid": s2grid(True),
        "e3nn s2grid (matmul)": s2grid(False),
    }
    return {k: routes[k] for k in names}


def weighted_cg_paths(L: int, lout: int, cg_out):
    """Σ over paths of κ · path, from the regrouped output of the CG product (numpy)."""
    import e3nn_jax as e3nn

    from sciml.equivariant import gaunt_coefficient

    irreps = e3nn.tensor_product(e3nn.s2_irreps(L), e3nn.s2_irreps(L),
                                 filter_ir_out=e3nn.s2_irreps(lout))
    out = np.zeros((cg_out.shape[0], (lout + 1) ** 2))
    # within each output irrep the paths are stacked in the loop order of tensor_product
    for (mul, ir), sl in zip(irreps, irreps.slices(), strict=True):
        paths = [(l1, l2) for l1 in range(L + 1) for l2 in range(L + 1)
                 if (l1 + l2 + ir.l) % 2 == 0 and abs(l1 - l2) <= ir.l <= l1 + l2]
        assert len(paths) == mul, (ir, mul, paths)
        block = np.asarray(cg_out[:, sl], np.float64).reshape(-1, mul, ir.dim)
        kappa = np.array([gaunt_coefficient(l1, l2, ir.l) for l1, l2 in paths])
        out[:, ir.l ** 2: (ir.l + 1) ** 2] = np.einsum("bpi,p->bi", block, kappa)
    return out


# =========================================================================================
# timing
# =========================================================================================
def bench_case(L: int, lout: int, names, rounds: int, calls: int, batch: int = BATCH) -> dict:
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(L)
    n = (L + 1) ** 2
    x = jnp.asarray(rng.standard_normal((batch, n)), jnp.float32)
    y = jnp.asarray(rng.standard_normal((batch, n)), jnp.float32)
    routes = make_routes(L, lout, names)
    fns, outs, compile_s = {}, {}, {}
    for name, f in routes.items():
        fwd = jax.jit(f)
        t0 = time.perf_counter()
        out = jax.block_until_ready(fwd(x, y))
        cot = jnp.asarray(rng.standard_normal(out.shape), jnp.float32)
        bwd = jax.jit(jax.grad(lambda a, b, c, f=f: jnp.vdot(f(a, b), c), argnums=(0, 1)))
        jax.block_until_ready(bwd(x, y, cot))
        compile_s[name] = time.perf_counter() - t0
        outs[name] = np.asarray(out)
        fns[name] = {"fwd": (fwd, (x, y)), "fwd+bwd": (bwd, (x, y, cot))}
        for fn, args in fns[name].values():  # warm-up
            for _ in range(2):
                jax.block_until_ready(fn(*args))

    samples = {name: {mode: [] for mode in ("fwd", "fwd+bwd")} for name in routes}
    load_start = os.getloadavg()
    for _ in range(rounds):
        for name in routes:
            for mode, (fn, args) in fns[name].items():
                for _ in range(calls):
                    t0 = time.perf_counter()
                    jax.block_until_ready(fn(*args))
                    samples[name][mode].append(time.perf_counter() - t0)
    load_end = os.getloadavg()

    # correctness, all against our Gaunt product (float32 numbers, relative to its scale)
    ref = outs["gaunt"].astype(np.float64)
    scale = float(np.abs(ref).max())
    errors = {}
    for name, out in outs.items():
        if name == "gaunt":
            continue
        other = out.astype(np.float64)
        if name in ("cg_product", "e3nn CG"):
            other = weighted_cg_paths(L, lout, out)
        errors[name] = float(np.abs(other - ref).max() / scale)
    if "cg_product" in outs and "e3nn CG" in outs:
        errors["cg_product vs e3nn CG (exact)"] = float(
            np.abs(outs["cg_product"] - outs["e3nn CG"]).max())

    from sciml.equivariant import GauntProduct

    n_theta, n_phi = GauntProduct(L, L, lout).grid_shape
    row = dict(L=L, lout=lout, batch=batch, grid=[n_theta, n_phi], n_grid=n_theta * n_phi,
               cg_out_dim=int(outs["e3nn CG"].shape[-1]) if "e3nn CG" in outs else None,
               loadavg_start=load_start, loadavg_end=load_end, compile_s=compile_s,
               rel_error_vs_gaunt=errors, us={}, us_iqr={})
    for name in routes:
        for mode, ts in samples[name].items():
            us = np.asarray(ts) * 1e6
            row["us"].setdefault(name, {})[mode] = float(np.median(us))
            q1, q3 = np.percentile(us, [25, 75])
            row["us_iqr"].setdefault(name, {})[mode] = [float(q1), float(q3)]
    log(f"L={L} lout={lout} batch={batch} load {load_start[0]:.2f}→{load_end[0]:.2f}: " + "; ".join(
        f"{k} {v['fwd']:.0f}/{v['fwd+bwd']:.0f}" for k, v in row["us"].items()))
    return row


# =========================================================================================
# report
# =========================================================================================
def table(rows, names) -> list[str]:
    head = "| L | lout | grid n_θ×n_φ | " + " | ".join(names) + " | load (1 min) |"
    lines = [head, "|" + "---|" * (len(names) + 4)]
    for r in rows:
        best_fwd = min(r["us"][k]["fwd"] for k in names)
        best_bwd = min(r["us"][k]["fwd+bwd"] for k in names)
        cells = []
        for k in names:
            f, b = r["us"][k]["fwd"], r["us"][k]["fwd+bwd"]
            fs = f"**{f:.0f}**" if f == best_fwd else f"{f:.0f}"
            bs = f"**{b:.0f}**" if b == best_bwd else f"{b:.0f}"
            cells.append(f"{fs} / {bs}")
        lines.append(f"| {r['L']} | {r['lout']} | {r['grid'][0]}×{r['grid'][1]} | "
                     + " | ".join(cells)
                     + f" | {r['loadavg_start'][0]:.2f}→{r['loadavg_end'][0]:.2f} |")
    return lines


def targets(rows) -> list[str]:
    out = []
    for r in rows:
        if r["lout"] != r["L"]:
            continue
        us = r["us"]
        for mode in ("fwd", "fwd+bwd"):
            g = us["gaunt"][mode]
            cg, s2 = us["e3nn CG"][mode], us["e3nn s2grid"][mode]
            s2m = us.get("e3nn s2grid (matmul)", {}).get(mode, float("inf"))
            ok_cg = g < cg if r["L"] >= 3 else True
            ok_s2 = g <= min(s2, s2m)
            out.append(f"| {r['L']} | {mode} | {g:.0f} | {cg / g:.1f}× | "
                       f"{min(s2, s2m) / g:.1f}× | "
                       f"{'met' if ok_cg and ok_s2 else '**not met**'} |")
    return ["| L | direction | gaunt µs | e3nn CG / gaunt | best e3nn s2grid / gaunt | "
            "target |", "|---|---|---|---|---|---|", *out]


def markdown(info: dict, rows: list, double_rows: list, big_rows: list = ()) -> str:
    m = info["machine"]
    v = m["versions"]
    lines = [
        f"# Tensor products: Gaunt grid and CG, ours beside e3nn-jax ({info['size']})", "",
        f"`{info['command']}` on {m['platform']}, {m['cpu_count']} cores, {info['date']}; "
        f"jax {v.get('jax')}, jaxlib {v.get('jaxlib')}, e3nn-jax {v.get('e3nn-jax')}, "
        f"equinox {v.get('equinox')}, numpy {v.get('numpy')}; sciml at commit "
        f"{info['git']}; XLA_FLAGS={info['xla_flags'] or 'none'}; devices "
        f"{', '.join(info['jax_devices'])}.", "",
        f"Load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in info['loadavg_start'])} "
        f"at the start (after waiting {info['waited_s']:.0f} s for it to fall below "
        f"{info['max_load']}), {', '.join(f'{x:.2f}' for x in info['loadavg_end'])} at the "
        f"end; per L in the tables. The machine has 2 cores shared with other jobs: a load "
        f"above ~1 means the timings are inflated and noisier. Wall time "
        f"{info['wall_s'] / 60:.1f} min.", "",
        f"Batch {BATCH}, one channel, float32, inputs 0e + 1o + … + L (each l once). Medians "
        f"of {info['rounds']} × {info['calls']} jitted calls in µs, **forward / forward + "
        "backward** (gradient w.r.t. both inputs of ⟨out, c⟩, c a random cotangent); the "
        "fastest route of each direction in bold.", "",
        "## Output up to L", "", *table(rows, info["routes"]), "",
    ]
    if double_rows:
        lines += ["## Output up to 2L (the whole product)", "",
                  *table(double_rows, info["double_routes"]), ""]
    if big_rows:
        lines += [f"## The Gaunt formulations at batch {info['big_batch']} (output up to L)", "",
                  f"Medians of {max(1, info['rounds'] // 2)} × {info['calls'] // 2} calls; "
                  "a model's row count (atoms × channels), where flops rather than "
                  "per-call overheads decide.", "",
                  *table(big_rows, info["big_routes"]), ""]
    lines += [
        "## Targets", "",
        "Gaunt faster than e3nn-jax's CG product from L = 3 up, and not slower than e3nn's "
        "s2grid route (the faster of its FFT and matmul forms), output up to L. Reference "
        "figures given for this machine: e3nn CG 246 / 1026 µs and s2grid 198 / 600 µs at "
        "L = 3 / 6 (direction not stated).", "", *targets(rows), "",
        "## Correctness in this run", "",
        "Max |route − gaunt| / max |gaunt| (float32): Gaunt routes directly, CG routes after "
        "summing their paths with the weights `gaunt_coefficient(l1, l2, l3)`; last column "
        "max |cg_product − e3nn CG| (the same function).", "",
    ]
    names = [k for k in info["routes"] if k != "gaunt"]
    lines += ["| L | lout | " + " | ".join(names) + " | cg_product = e3nn CG |",
              "|" + "---|" * (len(names) + 3)]
    for r in rows + double_rows:
        e = r["rel_error_vs_gaunt"]
        lines.append(f"| {r['L']} | {r['lout']} | "
                     + " | ".join(f"{e[k]:.1e}" if k in e else "" for k in names)
                     + " | " + (f"{e['cg_product vs e3nn CG (exact)']:.1e}"
                                if "cg_product vs e3nn CG (exact)" in e else "") + " |")
    lines += ["", "## Notes", "", *[f"- {n}" for n in NOTES], ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--max-load", type=float, default=1.0,
                    help="wait for the 1-minute load average to fall below this")
    ap.add_argument("--wait", type=float, default=None,
                    help="seconds to wait for it at most (default 0 small, 600 full)")
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if os.environ.get("XLA_FLAGS"):
        raise SystemExit(f"{NAME}: unset XLA_FLAGS (it is {os.environ['XLA_FLAGS']!r}); this "
                         "benchmark runs XLA with no flags")
    cfg = SIZES[args.size]
    wait = args.wait if args.wait is not None else (0.0 if args.size == "small" else 600.0)

    import jax

    t_start = time.perf_counter()
    waited = wait_for_load(args.max_load, wait)
    load0 = os.getloadavg()
    log(f"{NAME} --size {args.size}: load {load0[0]:.2f} after waiting {waited:.0f} s")
    rows = [bench_case(L, L, ROUTES, cfg["rounds"], cfg["calls"]) for L in cfg["ls"]]
    double_rows = [bench_case(L, 2 * L, DOUBLE_ROUTES, cfg["rounds"], cfg["calls"])
                   for L in cfg["double_ls"]]
    big_rows = [bench_case(L, L, BIG_ROUTES, max(1, cfg["rounds"] // 2), cfg["calls"] // 2,
                           batch=BIG_BATCH) for L in cfg["big_ls"]]
    info = meta(size=args.size, batch=BATCH, dtype="float32", rounds=cfg["rounds"],
                calls=cfg["calls"], routes=list(ROUTES), double_routes=list(DOUBLE_ROUTES),
                big_batch=BIG_BATCH, big_routes=list(BIG_ROUTES),
                max_load=args.max_load, waited_s=waited, loadavg_start=load0,
                loadavg_end=os.getloadavg(), xla_flags=os.environ.get("XLA_FLAGS", ""),
                jax_devices=[str(d) for d in jax.devices()], git=git_commit(), notes=NOTES,
                wall_s=time.perf_counter() - t_start)
    from _common import machine

    info["machine"] = machine(("sciml", "jax", "jaxlib", "equinox", "e3nn-jax", "numpy"))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"{NAME}-{args.size}"
    write_json(stem.with_suffix(".json"), {**info, "rows": rows, "double_rows": double_rows,
                                           "big_rows": big_rows})
    from sciml.io import atomic_write_text

    atomic_write_text(stem.with_suffix(".md"), markdown(info, rows, double_rows, big_rows))
    log(f"wrote {stem}.{{json,md}} in {info['wall_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
