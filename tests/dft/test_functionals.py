"""`sciml.dft` functionals against libxc (through PySCF) on molecular grids and corner points.

Reference: `pyscf.dft.libxc.eval_xc` (libxc 7) on the same points. libxc returns exc per
particle, vrho = ∂e/∂ρσ and vsigma = ∂e/∂σ; we compare e = exc·n and `jax` derivatives of
our e. Points: H2O (RHF, closed shell split ρ/2, ρ/2), O2 triplet (UHF), the H atom (UHF:
ρβ = 0 everywhere), and synthetic points (zero and near-threshold densities, huge reduced
gradients, fully and nearly polarised, anti-parallel spin gradients).

Compared: e and its derivatives at every point, spin-polarised (libxc spin=1); closed shell
(libxc spin=0 on ρ = 2ρσ, our derivatives by the chain rule ρσ = ρ/2, σσσ' = σ/4); E_xc
on each molecule's grid to 1e-9 Ha, also against PySCF's own `nr_rks`/`nr_uks`.

Tolerance, per point and quantity: |ours - libxc| <= rtol (|libxc| + scale), where scale is
the natural size of the quantity at that total density n (n^(4/3) for e, n^(1/3) for vrho,
n^(-4/3) for vsigma), so that values that cancel to ~0 (LYP at full polarisation, PBE
correlation at huge gradients) are judged against the size of their parts. rtol is
- 1e-10 where n >= 1e-10 bohr^-3;
- 1e-6 below: at r_s > 1e3, libxc's log(1 + x) in PW92/VWN loses digits (we use log1p);
- plus 10 eps n/ρσ for the potentials of spin channel σ: libxc forms 1 ± ζ as
  1 ± (ρa - ρb)/n, which loses log10(n/ρσ) digits in the minority channel (we use 2ρσ/n).

Where libxc floors a spin density (ρσ < threshold), its vrho is the derivative of
n_floored·exc, while e here is n·exc (the contract: PySCF's exc times the density given);
the reference potential is therefore libxc's exc + (n/n_floored)(vrho - exc), which is the
derivative of PySCF's energy density built from libxc's own numbers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciml.dft as xc

pytest.importorskip("pyscf")
from pyscf import dft, gto, scf  # noqa: E402
from pyscf.dft import libxc  # noqa: E402

#: PySCF's names of the composites.
PYSCF_NAME = {
    "lda": "LDA,VWN",
    "svwn": "SVWN",
    "svwn_rpa": "LDA,VWN_RPA",
    "lda_pw92": "LDA,PW",
    "pbe": "PBE",
    "blyp": "BLYP",
    "b3lyp": "B3LYP",
}
NAMES = xc.available_functionals()
EPS = float(np.finfo(np.float64).eps)
RTOL, RTOL_TINY, TINY = 1e-10, 1e-6, 1e-10
ZETA_CANCELLATION = 10 * EPS


def _libxc_code(name: str) -> str:
    return PYSCF_NAME.get(name) or str(xc.COMPONENTS[name].libxc_id)


def _components(name: str) -> list[tuple[str, float]]:
    return list(xc.COMPOSITES[name][0]) if name in xc.COMPOSITES else [(name, 1.0)]


def _compiled(fn, *args):
    """Run `fn` jitted with XLA's backend optimisation off: each graph here runs once, and
    compiling it dominates this file's time (results differ at rounding level only)."""
    options = {"xla_backend_optimization_level": 0}
    return jax.jit(fn).lower(*args).compile(compiler_options=options)(*args)


# --- points ---------------------------------------------------------------------------------
def _grid_densities(mol, dms):
    grids = dft.gen_grid.Grids(mol)
    grids.level = 2
    grids.build()
    ao = dft.numint.eval_ao(mol, grids.coords, deriv=1)
    return grids, [dft.numint.eval_rho(mol, ao, dm, xctype="GGA") for dm in dms]


def _with_gradients(rho_a, rho_b, grad_a, grad_b, cos, seed):
    """PySCF-layout (4, g) spin densities with |∇ρa| = grad_a, |∇ρb| = grad_b, cos(angle)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(len(rho_a), 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    w = rng.normal(size=u.shape)
    w -= (w * u).sum(1, keepdims=True) * u
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    ub = cos[:, None] * u + np.sqrt(1.0 - cos[:, None] ** 2) * w
    return (np.vstack([rho_a, (grad_a[:, None] * u).T]),
            np.vstack([rho_b, (grad_b[:, None] * ub).T]))


def _corner_points():
    """Spin-polarised corners: (rho_a, rho_b, x_a, x_b, cos) with x = |∇ρσ|/ρσ^(4/3)."""
    pts = []
    for total in [0, 3e-16, 9e-16, 1e-15, 1.5e-15, 2e-15, 5e-15, 1e-14, 2e-14, 5e-14, 1e-13,
                  1e-12, 1.5e-12, 2e-12, 1e-11, 1e-10, 1e-9]:  # around every libxc threshold
        for frac in [0.5, 0.3, 0.9, 1.0]:
            for x in [0.0, 1.0, 30.0]:
                pts.append((total * frac, total * (1 - frac), x, x, 0.7))
    for r in [1e-6, 1e-3, 0.1, 1.0, 10.0, 1e3]:  # fully and nearly polarised
        for x in [0.0, 0.5, 5.0]:
            pts += [(r, 0.0, x, 0.0, 0.0), (0.0, r, 0.0, x, 0.0)]
        pts += [(r, 1e-14, 0.3, 1e-20 / 1e-14 ** (4 / 3), 1.0), (r, 1e-17 * r, 0.3, 0.0, 1.0),
                (r, 1e-6 * r, 0.3, 2.0, -1.0)]
    for r in [1e-8, 1e-5, 1e-3, 0.05]:  # huge reduced gradients
        for x in [10.0, 1e2, 1e3, 1e4]:
            pts += [(r, 0.7 * r, x, 0.5 * x * 0.7 ** (-4 / 3), -1.0), (r, 0.2 * r, x, 0.1 * x, 0.3)]
    pts += [(0.3, 0.2, 0.0, 0.0, 0.0), (1e4, 1e4, 0.05, 0.05, 1.0), (2.0, 1.0, 1.2, 2.0, -1.0)]
    a, b, xa, xb, cos = np.array(pts).T
    return _with_gradients(a, b, xa * a ** (4 / 3), xb * b ** (4 / 3), cos, seed=1)


def _closed_shell_points():
    """Closed-shell synthetic points, as halves: rho_a = rho_b = rho/2, ∇ρa = ∇ρb = ∇ρ/2.

    No sigma = 0 below 1e-3 bohr^-3: there libxc's unpolarised path floors |∇ρ|^2 where
    the spin-resolved one floors each sigma (PBE correlation then differs by ~1e-32/n^(7/3)
    relative); sigma = 0 at low density is in the spin-polarised comparison instead."""
    rho, x = np.meshgrid([1e-10, 1e-8, 1e-5, 1e-3, 0.1, 1.0, 10.0, 1e3], [0.0, 0.3, 3.0, 30.0, 1e3])
    keep = (x > 0) | (rho >= 1e-3)
    rho, x = rho[keep], x[keep]
    half = _with_gradients(rho / 2, rho / 2, x * rho ** (4 / 3) / 2, x * rho ** (4 / 3) / 2,
                           np.ones_like(rho), seed=2)[0]
    return half, half


@pytest.fixture(scope="module")
def data():
    """Every point, libxc's reference for every functional, and our values and derivatives."""
    h2o = gto.M(atom="O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692", basis="6-31g*",
                verbose=0)
    dm_h2o = scf.RHF(h2o).run(conv_tol=1e-6).make_rdm1()
    o2 = gto.M(atom="O 0 0 0; O 0 0 1.208", basis="6-31g*", spin=2, verbose=0)
    uhf = scf.UHF(o2)
    uhf.conv_tol = 1e-4  # any physical density will do; converging further costs time
    dm_o2 = uhf.run().make_rdm1()
    hatom = gto.M(atom="H 0 0 0", basis="6-31g*", spin=1, verbose=0)
    dm_h = scf.UHF(hatom).run().make_rdm1()

    grids_h2o, (half,) = _grid_densities(h2o, [dm_h2o / 2])
    grids_o2, (ra_o2, rb_o2) = _grid_densities(o2, dm_o2)
    grids_h, (ra_h, rb_h) = _grid_densities(hatom, dm_h)
    sets = {"h2o": (half, half), "o2": (ra_o2, rb_o2), "h": (ra_h, rb_h),
            "corners": _corner_points(), "closed": _closed_shell_points()}
    offsets = np.cumsum([0] + [v[0].shape[1] for v in sets.values()])
    where = {k: np.arange(offsets[i], offsets[i + 1]) for i, k in enumerate(sets)}
    # closed shell: libxc unpolarised on every 4th H2O point (all are in the spin-polarised
    # comparison too) and the closed synthetic points
    where["closed shell"] = np.r_[where["h2o"][::4], where["closed"]]
    ra = np.concatenate([v[0] for v in sets.values()], axis=1)
    rb = np.concatenate([v[1] for v in sets.values()], axis=1)
    rho = np.stack([ra[0], rb[0]])
    sigma = np.stack([np.sum(ra[1:] * ra[1:], 0), np.sum(ra[1:] * rb[1:], 0),
                      np.sum(rb[1:] * rb[1:], 0)])

    def evaluate(rho, sigma):
        out = {}
        for name, spec in xc.COMPONENTS.items():
            e, pullback = jax.vjp(spec.density, rho, sigma)
            out[name] = (e, *pullback(jnp.ones_like(e)))  # e_g depends on point g alone
        out["lda_x without sigma"] = (xc.lda_x(rho, None),)
        for name in xc.COMPOSITES:
            out[f"{name} module"] = (xc.functional(name).energy_density(rho, sigma),)
        return out

    ours = jax.tree.map(np.asarray, _compiled(evaluate, jnp.asarray(rho), jnp.asarray(sigma)))
    # A composite's derivatives are its terms' weighted sum (jax.grad is linear), built here
    # from the components' so that each is compiled once; its value is the module's own
    # (`test_composite_is_the_weighted_sum_of_its_terms`).
    for name in xc.COMPOSITES:
        f = xc.functional(name)
        terms = list(zip(f.weights, f.terms, strict=True))
        ours[name] = (ours[f"{name} module"][0],
                      *(sum(w * ours[t.name][i] for w, t in terms) for i in (1, 2)))

    def libxc_polarised(name):
        gga = xc.functional(name).is_gga
        exc, vxc = libxc.eval_xc(
            _libxc_code(name), (ra, rb) if gga else (ra[:1], rb[:1]), spin=1, deriv=1)[:2]
        return exc, vxc[0].T, (vxc[1].T if gga else np.zeros_like(sigma))

    n = rho.sum(0)
    raw = {name: libxc_polarised(name) for name in NAMES}
    reference, closed = {}, {}
    for name in NAMES:
        exc, vrho, vsigma = raw[name]
        for c, w in _components(name):  # libxc's vrho is at the floored density: see docstring
            exc_c, vrho_c, vsigma_c = raw[c]
            ratio = n / np.maximum(rho, xc.COMPONENTS[c].dens_threshold).sum(0) - 1.0
            vrho = vrho + w * ratio * (vrho_c - exc_c)
            vsigma = vsigma + w * ratio * vsigma_c
        reference[name] = (exc * n, vrho, vsigma)
        gga = xc.functional(name).is_gga
        tot = 2 * ra[:, where["closed shell"]]
        exc, vxc = libxc.eval_xc(_libxc_code(name), tot if gga else tot[0], spin=0, deriv=1)[:2]
        closed[name] = (exc * tot[0], vxc[0], vxc[1] if gga else np.zeros_like(vxc[0]))
    grids = {"h2o": (h2o, grids_h2o, dm_h2o), "o2": (o2, grids_o2, dm_o2),
             "h": (hatom, grids_h, dm_h)}
    return dict(rho=rho, sigma=sigma, where=where, ours=ours, reference=reference,
                closed=closed, grids=grids)


# --- helpers --------------------------------------------------------------------------------
def _worst(ours, ref, scale, rtol) -> tuple[float, int]:
    """max over points of |ours - ref| / (rtol (|ref| + scale)) (<= 1 passes) and where."""
    ratio = np.abs(ours - ref) / (rtol * (np.abs(ref) + scale))
    i = int(np.argmax(ratio))
    return float(ratio[i]), i


def spin_polarised_errors(d, name):
    """{quantity: (worst ratio, point)} against libxc spin=1 over every point."""
    rho, n = d["rho"], d["rho"].sum(0)
    nf = np.maximum(n, 1e-15)
    rho_f = np.maximum(rho, 1e-15)
    base = np.where(n >= TINY, RTOL, RTOL_TINY)
    e, vrho, vsigma = d["ours"][name]
    e_ref, vrho_ref, vsigma_ref = d["reference"][name]
    out = {"e": _worst(e, e_ref, nf ** (4 / 3), base)}
    for s in range(2):
        rtol = base + ZETA_CANCELLATION * nf / rho_f[s]
        out[f"vrho_{'ab'[s]}"] = _worst(vrho[s], vrho_ref[s], nf ** (1 / 3), rtol)
    if xc.functional(name).is_gga:
        for k, label in enumerate(["aa", "ab", "bb"]):
            rtol = base if k == 1 else base + ZETA_CANCELLATION * nf / rho_f[k // 2]
            out[f"vsigma_{label}"] = _worst(vsigma[k], vsigma_ref[k], nf ** (-4 / 3), rtol)
    return out


def closed_shell_errors(d, name):
    """{quantity: (worst ratio, point)} against libxc spin=0 for the closed-shell points.

    Points below 2e-12 bohr^-3 are left out: there libxc's unpolarised path floors the total
    density at its threshold, the spin-resolved one each half."""
    idx = d["where"]["closed shell"]
    e, vrho, vsigma = (q[..., idx] for q in d["ours"][name])
    e_ref, vrho_ref, vsigma_ref = d["closed"][name]
    n = d["rho"][:, idx].sum(0)
    keep = n >= 2e-12
    rtol = np.where(n >= TINY, RTOL, RTOL_TINY)[keep]
    out = {"e": _worst(e[keep], e_ref[keep], n[keep] ** (4 / 3), rtol),
           # chain rule from the spin-resolved derivatives: ρσ = ρ/2, σσσ' = σ/4
           "vrho": _worst((vrho[0] + vrho[1])[keep] / 2, vrho_ref[keep], n[keep] ** (1 / 3), rtol)}
    if xc.functional(name).is_gga:
        out["vsigma"] = _worst(vsigma.sum(0)[keep] / 4, vsigma_ref[keep], n[keep] ** (-4 / 3), rtol)
    return out


def integrated_errors(d, name):
    """{molecule: |E_xc(ours) - E_xc(libxc)|} in Ha on the molecule's grid."""
    out = {}
    for mol in d["grids"]:
        w = d["grids"][mol][1].weights
        sl = d["where"][mol]
        out[mol] = abs(np.dot(w, d["ours"][name][0][sl]) - np.dot(w, d["reference"][name][0][sl]))
    return out


# --- tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_spin_polarised_matches_libxc(data, name):
    for quantity, (ratio, i) in spin_polarised_errors(data, name).items():
        assert ratio <= 1.0, (
            f"{name} {quantity}: {ratio:.2g} x tolerance at rho={data['rho'][:, i]}, "
            f"sigma={data['sigma'][:, i]}")


@pytest.mark.parametrize("name", NAMES)
def test_closed_shell_matches_libxc_unpolarised(data, name):
    for quantity, (ratio, i) in closed_shell_errors(data, name).items():
        assert ratio <= 1.0, f"{name} {quantity}: {ratio:.2g} x tolerance at closed point {i}"


@pytest.mark.parametrize("name", NAMES)
def test_integrated_exc_matches_libxc(data, name):
    for mol, error in integrated_errors(data, name).items():
        assert error <= 1e-9, f"{name} on {mol}: |ΔE_xc| = {error:.2g} Ha"


@pytest.mark.parametrize(("name", "mol"), [("b3lyp", "o2"), ("pbe", "h2o"), ("blyp", "h")])
def test_exc_matches_pyscf_numint(data, name, mol):
    """End to end: PySCF's own E_xc from the density matrices (its rho, sigma and libxc)."""
    molecule, grids, dm = data["grids"][mol]
    ni = dft.numint.NumInt()
    if mol == "h2o":
        exc_pyscf = ni.nr_rks(molecule, grids, PYSCF_NAME[name], dm)[1]
    else:
        exc_pyscf = ni.nr_uks(molecule, grids, PYSCF_NAME[name], dm)[1]
    ours = np.dot(grids.weights, data["ours"][name][0][data["where"][mol]])
    assert abs(ours - exc_pyscf) <= 1e-9


def test_lda_ignores_sigma(data):
    np.testing.assert_array_equal(data["ours"]["lda_x without sigma"][0], data["ours"]["lda_x"][0])


def test_zero_density_gives_zero_and_no_nan(data):
    zero = data["rho"].sum(0) == 0.0
    assert zero.any()
    for name, values in data["ours"].items():
        for q in values:
            assert np.all(np.isfinite(q)), name
            assert np.all(q[..., zero] == 0.0), name


def test_second_derivatives_finite_at_corners():
    """Gradients and Hessian-vector products of E = Σ e are finite (no NaN, no inf)
    at zero density, zero sigma, below and at the thresholds, and at fully polarised points."""
    rho = jnp.array([[0.0, 0.0, 1e-16, 1e-15, 1e-14, 1e-12, 0.3, 0.3, 0.0, 1e3, 1.0, 0.2],
                     [0.0, 1e-20, 1e-16, 0.0, 1e-14, 1e-12, 0.0, 0.0, 0.4, 0.0, 1e-13, 0.1]])
    sigma = jnp.array([[0.0, 0.0, 0.0, 1e-30, 0.0, 1e-20, 0.0, 0.2, 0.0, 1e6, 0.1, 0.0],
                       [0.0, 0.0, 0.0, 0.0, 0.0, 1e-20, 0.0, 0.0, 0.0, 0.0, 1e-10, 0.0],
                       [0.0, 0.0, 0.0, 0.0, 0.0, 1e-20, 0.0, 0.0, 0.3, 0.0, 1e-19, 0.0]])
    key_r, key_s = jax.random.split(jax.random.PRNGKey(0))
    t_rho = jax.random.normal(key_r, rho.shape)
    t_sigma = jax.random.normal(key_s, sigma.shape)

    # eager, not jitted: on a dozen points compiling the second-order graphs would dominate
    for name, spec in xc.COMPONENTS.items():
        grad = jax.grad(lambda r, s, f=spec.density: jnp.sum(f(r, s)), argnums=(0, 1))
        g, hvp = jax.jvp(grad, (rho, sigma), (t_rho, t_sigma))
        for q in (*g, *hvp):
            assert bool(jnp.all(jnp.isfinite(q))), f"{name}: {q}"


@pytest.mark.parametrize("name", list(xc.COMPOSITES))
def test_composite_is_the_weighted_sum_of_its_terms(data, name):
    f = xc.functional(name)
    expected = sum(w * data["ours"][t.name][0] for w, t in zip(f.weights, f.terms, strict=True))
    np.testing.assert_allclose(data["ours"][name][0], expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", list(PYSCF_NAME))
def test_composites_are_pyscf_functionals(name):
    f = xc.functional(name)
    assert isinstance(f, xc.AbstractFunctional)
    assert f.exact_exchange == pytest.approx(libxc.hybrid_coeff(PYSCF_NAME[name]), abs=1e-15)
    assert f.is_gga == (libxc.xc_type(PYSCF_NAME[name]) != "LDA")
    assert f == xc.functional(name.upper())  # names are case-insensitive


def test_b3lyp_is_libxc_402():
    """0.08 Slater + 0.72 B88 + 0.19 VWN-RPA + 0.81 LYP, 20% exact exchange (libxc's mix)."""
    assert libxc.parse_xc("B3LYP")[1] == ((402, 1),)
    f = xc.functional("b3lyp")
    terms = {t.name: w for t, w in zip(f.terms, f.weights, strict=True)}
    assert terms == pytest.approx(
        {"lda_x": 0.08, "gga_x_b88": 0.72, "lda_c_vwn_rpa": 0.19, "gga_c_lyp": 0.81}, abs=1e-15)
    assert f.exact_exchange == 0.2


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="b3lyp") as err:
        xc.functional("b3pw91")
    assert "gga_c_lyp" in str(err.value)
    with pytest.raises(ValueError, match="unknown XC component"):
        xc.XCComponent("gga_x_pw91")
