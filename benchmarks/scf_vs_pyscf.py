"""sciml's differentiable Kohn–Sham SCF (JAX) beside PySCF, and beside pyscfad.

One run, one process (pyscfad in a subprocess of its own). For each molecule × functional
in 6-31G*, PySCF grid level 3 (RKS for the closed shells H2O, CH4, N2, HF; UKS for triplet
O2 and the quartet N atom; LDA = PySCF "LDA,VWN", PBE, B3LYP):

1. `sciml`: `build_system(molecule(name), grid_level=3)` (PySCF integrals, grid and
   initial guess as a PyTree; timed apart, not part of the solve), then
   `solve_scf(functional(xc), system)` under `equinox.filter_jit` with the functional and
   the system as arguments: the first call (trace + compile + one solve) and the median of
   `--repeats` calls after it (`block_until_ready`); compile = first call − that median.
   Cycles, energy, dipole.
2. PySCF: `dft.RKS/UKS` on the same molecule with `mf.grids = info.pyscf_grids` (the very
   grid points and weights of the system) and the same "minao" initial guess, twice: with
   PySCF's default tolerances (`conv_tol = 1e-9`, `conv_tol_grad = sqrt(conv_tol)`) and
   with ours (`conv_tol = 1e-10`, `conv_tol_grad = 1e-7`; see NOTES). The median of
   `--repeats` `mf.kernel()` calls, each on a new `mf` (so each computes its integrals and
   initial guess again, as a user's call would), with `lib.num_threads()` recorded.
3. Gradients w.r.t. a functional's parameters: `NeuralFunctional(base,
   key=jax.random.PRNGKey(0))` (Grad-DFT form, starts exactly at `base`), the gradient of the
   SCF energy and of the dipole moment's norm w.r.t. its network by `eqx.filter_grad`, with
   implicit differentiation and with unrolling (`optx.RecursiveCheckpointAdjoint()`), each
   its own `filter_jit`ted function: compile time and time after compilation, and both in
   units of one SCF solve of the same neural functional (also compiled and timed).
   Implicit = `solve_scf`'s default adjoint (`sciml.solvers._scf.implicit_adjoint()`:
   matrix-free GMRES). `--dense-adjoint` also compiles optimistix's own `ImplicitAdjoint()`,
   which materialises the Jacobian of the SCF map (a vmapped JVP over all 2n² Fock-matrix
   directions, each through the whole grid), reads its memory from XLA's
   `memory_analysis()` and runs it only where that fits `--max-gb`. Checked: implicit vs
   unrolled gradients, and a central finite difference of the SCF along one random unit
   direction of the network. PySCF gives no such gradient.
4. pyscfad (PySCF with JAX autodiff; `requirements-peers.txt`), in a subprocess: its SCF
   energy on H2O (LDA; PBE too in the full size) and the gradient of that energy w.r.t. the
   nuclear coordinates (what its API differentiates: `jax.grad` of a function of its
   `Mole`; not the XC parameters, which it takes from libxc), implicit
   (`pyscfad_scf_implicit_diff`) and unrolled (its default; full size only), checked against
   PySCF's analytic nuclear gradient.

    python benchmarks/scf_vs_pyscf.py --size small   # ~5 min on a busy 2-core machine
    python benchmarks/scf_vs_pyscf.py --size full    # ~45 min on a busy 2-core machine

`--size small`: H2O and N with LDA and B3LYP; gradients for H2O/B3LYP; pyscfad H2O/LDA,
implicit. `--size full`: all 6 molecules × 3 functionals; gradients for B3LYP on H2O
(RKS), O2 and N (UKS); pyscfad H2O with LDA (implicit and unrolled) and PBE (implicit).
Gradients are timed once after their ahead-of-time compile (`--grad-repeats`; each takes
seconds to a minute on this machine), pyscfad's once after its first call.

Run it from the benchmark environment (`requirements-peers.txt` for pyscfad; PySCF is a
project dependency) with `OMP_NUM_THREADS=2` (the default this script sets) and no
`XLA_FLAGS`. `--molecules`/`--functionals` restrict a run for quick checks (the file names
then say so); `--no-pyscfad`, `--no-gradients`; `--out-dir` (default `benchmarks/results`).
Writes `<out-dir>/scf_vs_pyscf-<size>[-...].{json,md}`.
"""

from __future__ import annotations

import os

# PySCF's OpenMP threads and OpenBLAS (which follows OMP_NUM_THREADS when its own variable
# is unset): both cores of the reference machine, unless the caller chose otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # the SCF in float64, as PySCF

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optimistix as optx  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402

NAME = "scf_vs_pyscf"
MOLECULES = ("H2O", "CH4", "N2", "HF", "O2", "N")
FUNCTIONALS = ("lda", "pbe", "b3lyp")
SIZES = {
    "small": dict(cases=[("H2O", "lda"), ("H2O", "b3lyp"), ("N", "lda"), ("N", "b3lyp")],
                  gradients=[("H2O", "b3lyp")], default_adjoint=[],
                  pyscfad=dict(xcs=["lda"], modes={"lda": ["implicit"]})),
    "full": dict(cases=[(m, f) for m in MOLECULES for f in FUNCTIONALS],
                 gradients=[(m, "b3lyp") for m in ("H2O", "O2", "N")],
                 default_adjoint=[("H2O", "b3lyp"), ("N", "b3lyp")],  # --dense-adjoint
                 pyscfad=dict(xcs=["lda", "pbe"],
                              modes={"lda": ["implicit", "unrolled"], "pbe": ["implicit"]})),
}
BASIS, GRID_LEVEL = "6-31g*", 3
REPEATS = 3  # timed calls after the first (medians)
GRAD_REPEATS = 1  # after an ahead-of-time compile: every call is a warm one
PYSCF_DEFAULT = dict(conv_tol=1e-9, conv_tol_grad=None)  # None: PySCF's sqrt(conv_tol)
FD_STEP = 1e-3  # central finite difference along a unit direction of the network
COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
                  "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration")


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def mem_available_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


# =========================================================================================
# pyscfad, in a subprocess (`--pyscfad-worker JSON`): prints one JSON line
# =========================================================================================
def pyscfad_worker(spec: dict) -> dict:
    import importlib.metadata

    out = dict(spec=spec, cases=[])
    try:
        from pyscf import dft as pdft
        from pyscf import lib
        from pyscfad import config_update
        from pyscfad import dft as ad_dft
        from pyscfad import gto as ad_gto

        from sciml.problems.molecules import PYSCF_XC, molecule
    except Exception as e:  # noqa: BLE001  (the outcome is the result)
        out["error"] = f"import failed: {type(e).__name__}: {e}"
        return out
    out["versions"] = {p: importlib.metadata.version(p)
                       for p in ("pyscfad", "pyscfadlib", "pyscf", "jax")}
    out["num_threads"] = lib.num_threads()
    repeats, grad_repeats = spec["repeats"], spec["grad_repeats"]
    for name in spec["molecules"]:
        m = molecule(name, BASIS)
        mol = ad_gto.Mole()
        mol.atom = [(s, tuple(x)) for s, x in zip(m.symbols, m.coordinates, strict=True)]
        mol.unit, mol.basis, mol.charge, mol.spin, mol.verbose = "Bohr", BASIS, m.charge, \
            m.spin, 0
        mol.build()
        for xc in spec["xcs"]:
            case = dict(molecule=name, xc=xc, pyscf_xc=PYSCF_XC[xc])
            out["cases"].append(case)
            holder = {}

            def energy(mol, xc=xc, holder=holder, spin=m.spin):
                mf = (ad_dft.RKS if spin == 0 else ad_dft.UKS)(mol)
                mf.xc = PYSCF_XC[xc]
                mf.grids.level = GRID_LEVEL
                mf.conv_tol = PYSCF_DEFAULT["conv_tol"]
                count = [0]  # pyscfad's kernel leaves mf.cycles at 0: count its callbacks
                mf.callback = lambda env: count.__setitem__(0, count[0] + 1)
                e = mf.kernel()
                holder.update(cycles=count[0], converged=bool(mf.converged),
                              n_grid=int(mf.grids.weights.size))
                return e

            try:
                t0 = time.perf_counter()
                e = float(energy(mol))
                first = time.perf_counter() - t0
                runs = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    e = float(energy(mol))
                    runs.append(time.perf_counter() - t0)
                case.update(energy=e, energy_first_call_s=first, energy_runs_s=runs,
                            energy_s=statistics.median(runs), **holder)
                log(f"  pyscfad {name}/{xc}: E = {e:.10f}, {holder['cycles']} cycles, "
                    f"{case['energy_s']:.2f} s (first call {first:.2f} s)")
            except Exception as e:  # noqa: BLE001
                case["error"] = f"energy: {type(e).__name__}: {e}"
                log(f"  pyscfad {name}/{xc} energy failed: {case['error']}")
                continue
            # PySCF called the same way (a new mf and a new level-3 grid every call), and its
            # analytic nuclear gradient
            pmol = m.to_pyscf()

            def pyscf_energy_call(pmol=pmol, xc=xc, conv_tol=PYSCF_DEFAULT["conv_tol"],
                                  spin=m.spin):
                mf = (pdft.RKS if spin == 0 else pdft.UKS)(pmol)
                mf.xc, mf.grids.level, mf.conv_tol = PYSCF_XC[xc], GRID_LEVEL, conv_tol
                mf.kernel()
                return mf

            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                mf = pyscf_energy_call()
                runs.append(time.perf_counter() - t0)
            case.update(pyscf_same_call_energy=float(mf.e_tot), pyscf_same_call_runs_s=runs,
                        pyscf_same_call_s=statistics.median(runs),
                        pyscf_same_call_cycles=int(mf.cycles),
                        pyscf_same_call_n_grid=int(mf.grids.weights.size),
                        ratio_pyscfad_over_pyscf=case["energy_s"] / statistics.median(runs),
                        energy_diff_pyscfad_minus_pyscf=case["energy"] - float(mf.e_tot))
            ref = np.asarray(mf.nuc_grad_method().kernel())
            case["pyscf_analytic_gradient"] = ref.tolist()
            case["gradients"] = {}
            for mode in spec["modes"][xc]:
                g = case["gradients"][mode] = {}
                try:
                    with config_update("pyscfad_scf_implicit_diff", mode == "implicit"):
                        t0 = time.perf_counter()
                        grad = jax.grad(energy)(mol)
                        coords = jax.block_until_ready(grad.coords)
                        first = time.perf_counter() - t0
                        runs = []
                        for _ in range(grad_repeats):
                            t0 = time.perf_counter()
                            grad = jax.grad(energy)(mol)
                            coords = jax.block_until_ready(grad.coords)
                            runs.append(time.perf_counter() - t0)
                    coords = np.asarray(coords)
                    g.update(first_call_s=first, runs_s=runs, s=statistics.median(runs),
                             cost_in_energy_solves=statistics.median(runs) / case["energy_s"],
                             gradient=coords.tolist(),
                             max_abs_diff_vs_pyscf_analytic=float(np.abs(coords - ref).max()))
                    log(f"  pyscfad {name}/{xc} nuclear gradient, {mode}: {g['s']:.2f} s "
                        f"(first call {first:.2f} s) = {g['cost_in_energy_solves']:.1f} energy "
                        f"solves; max |Δ| vs PySCF analytic "
                        f"{g['max_abs_diff_vs_pyscf_analytic']:.1e}")
                except Exception as e:  # noqa: BLE001
                    g["error"] = f"{type(e).__name__}: {e}"
                    log(f"  pyscfad {name}/{xc} gradient ({mode}) failed: {g['error']}")
    return out


def pyscf_worker(spec: dict) -> dict:
    """PySCF's timings of one molecule (`--pyscf-worker JSON`), on `build_system`'s grid."""
    from pyscf import lib

    from sciml.problems.molecules import build_system, molecule

    _, info = build_system(molecule(spec["molecule"], basis=BASIS), grid_level=GRID_LEVEL)
    if info.n_grid != spec["n_grid"]:
        raise RuntimeError(f"the child's grid has {info.n_grid} points, the parent's "
                           f"{spec['n_grid']}")
    out = {}
    for xc in spec["xcs"]:
        out[xc] = dict(
            pyscf_default=pyscf_run(info, xc, PYSCF_DEFAULT["conv_tol"],
                                    PYSCF_DEFAULT["conv_tol_grad"], spec["repeats"]),
            pyscf_matched=pyscf_run(info, xc, **spec["matched"], repeats=spec["repeats"]),
            pyscf_matched_1thread=pyscf_run(info, xc, **spec["matched"],
                                            repeats=spec["repeats"], threads=1),
            pyscf_num_threads=lib.num_threads(), pyscf_pid=os.getpid())
    return out


def run_pyscf_child(spec: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--pyscf-worker", json.dumps(spec)],
                          capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError(f"the PySCF child exited {proc.returncode}: "
                           + "\n".join(proc.stderr.strip().splitlines()[-15:])) from None


def run_pyscfad(spec: dict) -> dict:
    """pyscfad in a child interpreter (this one): its JSON, or what went wrong."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--pyscfad-worker", json.dumps(spec)],
                          capture_output=True, text=True)
    for line in proc.stderr.splitlines():
        if line.startswith("  pyscfad"):
            log(line)
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        out = dict(spec=spec, cases=[],
                   error=f"the pyscfad subprocess exited {proc.returncode} with no result; "
                         f"its stderr ends:\n{tail}")
    out["wall_s"] = time.perf_counter() - t0
    return out


# =========================================================================================
# sciml and PySCF, in this process
# =========================================================================================
_compile_seconds = [0.0]


def _on_event(event: str, duration: float, **_) -> None:
    if event in COMPILE_EVENTS:
        _compile_seconds[0] += duration


jax.monitoring.register_event_duration_secs_listener(_on_event)


def timed_first(fn, repeats: int):
    """`fn()` (blocked on) called once, then `repeats` times: (timings, last output).
    compile_s = first call − median of the later calls."""
    c0 = _compile_seconds[0]
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    events = _compile_seconds[0] - c0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn())
        runs.append(time.perf_counter() - t0)
    med = statistics.median(runs)
    return dict(first_call_s=first, compile_s=max(first - med, 0.0), compile_events_s=events,
                runs_s=runs, s=med), out


@eqx.filter_jit
def solve(func, system, restricted):
    """The benchmarked call: one SCF, functional and system as arguments."""
    from sciml.solvers._scf import solve_scf

    sol = solve_scf(func, system, restricted=restricted, throw=False)
    return dict(energy=sol.energy, cycles=sol.stats["cycles"], dipole=sol.dipole(system),
                converged=sol.converged, commutator=sol.stats["commutator"],
                energy_change=sol.stats["energy_change"])


def _loss(func, system, restricted, adjoint, which):
    from sciml.solvers._scf import solve_scf

    sol = solve_scf(func, system, restricted=restricted, adjoint=adjoint, throw=False)
    return sol.energy if which == "energy" else jnp.linalg.norm(sol.dipole(system))


@eqx.filter_jit
def grad_fn(func, system, restricted, adjoint, which):
    """d(energy or |dipole|)/d(the functional's arrays): the network of a NeuralFunctional."""
    return eqx.filter_grad(_loss)(func, system, restricted, adjoint, which)


def aot(fn, *args):
    """Lower and compile `fn(*args)` ahead of time: (Compiled, seconds, XLA memory in GB)."""
    t0 = time.perf_counter()
    compiled = fn.lower(*args).compile()
    seconds = time.perf_counter() - t0
    try:
        ma = compiled.compiled.memory_analysis()
        mem = dict(temp_gb=ma.temp_size_in_bytes / 1e9,
                   argument_gb=ma.argument_size_in_bytes / 1e9,
                   output_gb=ma.output_size_in_bytes / 1e9)
    except Exception as e:  # noqa: BLE001  (a backend without it)
        mem = dict(error=f"{type(e).__name__}: {e}")
    return compiled, seconds, mem


def timed_runs(fn, repeats: int):
    runs, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn())
        runs.append(time.perf_counter() - t0)
    return runs, out


def tree_dot(a, b) -> float:
    la = jax.tree.leaves(eqx.filter(a, eqx.is_array))
    lb = jax.tree.leaves(eqx.filter(b, eqx.is_array))
    return float(sum(jnp.vdot(x, y) for x, y in zip(la, lb, strict=True)))


def tree_norm(a) -> float:
    return math.sqrt(tree_dot(a, a))


def tree_sub(a, b):
    return jax.tree.map(lambda x, y: x - y, eqx.filter(a, eqx.is_array),
                        eqx.filter(b, eqx.is_array))


def gradients(name, xc, system, restricted, plain: dict, args, with_default: bool) -> dict:
    """Gradients of E and |dipole| w.r.t. NeuralFunctional(xc)'s network: cost, checks."""
    from sciml.dft._neural import NeuralFunctional

    nf = NeuralFunctional(xc, key=jax.random.PRNGKey(0))
    out = dict(functional=f"NeuralFunctional({xc!r}, key=jax.random.PRNGKey(0))",
               n_parameters=int(sum(x.size for x in jax.tree.leaves(eqx.filter(nf, eqx.is_array)))))
    t, scf = timed_first(lambda: solve(nf, system, restricted), args.repeats)
    out["neural_scf"] = dict(**t, energy=float(scf["energy"]), cycles=int(scf["cycles"]),
                             converged=bool(scf["converged"]),
                             energy_minus_plain=float(scf["energy"]) - plain["energy"],
                             s_over_plain=t["s"] / plain["s"])
    unit = t["s"]
    log(f"    NeuralFunctional({xc}) SCF: {t['s']:.3f} s (compile {t['compile_s']:.1f} s), "
        f"{int(scf['cycles'])} cycles, E − E({xc}) = {out['neural_scf']['energy_minus_plain']:.1e}")
    # a random unit direction of the network, and central differences of the SCF along it
    params, static = eqx.partition(nf, eqx.is_array)
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(1), len(leaves))
    v = jax.tree.unflatten(treedef, [jax.random.normal(k, x.shape, x.dtype)
                                     for k, x in zip(keys, leaves, strict=True)])
    vn = tree_norm(v)
    v = jax.tree.map(lambda x: x / vn, v)

    def shifted(sign):
        p = jax.tree.map(lambda x, d: x + sign * FD_STEP * d, params, v)
        r = solve(eqx.combine(p, static), system, restricted)
        return float(r["energy"]), float(jnp.linalg.norm(r["dipole"]))

    (ep, dp), (em, dm) = shifted(+1), shifted(-1)
    fd = {"energy": (ep - em) / (2 * FD_STEP), "dipole_norm": (dp - dm) / (2 * FD_STEP)}
    out["fd_step"] = FD_STEP
    out["dipole_norm"] = float(np.linalg.norm(scf["dipole"]))
    adjoints = {"implicit": None,  # solve_scf's default adjoint
                "unrolled": optx.RecursiveCheckpointAdjoint()}
    out["quantities"] = {}
    for which in ("energy", "dipole_norm"):
        q = out["quantities"][which] = dict(fd_directional=fd[which], adjoints={})
        grads = {}
        for label, adj in adjoints.items():
            compiled, comp_s, mem = aot(grad_fn, nf, system, restricted, adj, which)
            runs, g = timed_runs(lambda c=compiled, a=adj, w=which: c(nf, system, restricted,
                                                                      a, w),
                                 args.grad_repeats)
            grads[label] = g
            med = statistics.median(runs)
            d = q["adjoints"][label] = dict(
                compile_s=comp_s, memory=mem, runs_s=runs, s=med,
                cost_in_scf_solves=med / unit, cost_in_plain_scf_solves=med / plain["s"],
                compile_in_scf_compiles=comp_s / max(t["compile_s"], 1e-9),
                gradient_norm=tree_norm(g), directional=tree_dot(g, v),
                finite=bool(np.all([np.all(np.isfinite(np.asarray(x)))
                                    for x in jax.tree.leaves(eqx.filter(g, eqx.is_array))])))
            d["fd_rel_error"] = (abs(d["directional"] - fd[which])
                                 / max(abs(fd[which]), 1e-300))
            log(f"    d{which}/dθ {label}: {med:.2f} s = {d['cost_in_scf_solves']:.1f} SCF "
                f"solves (compile {comp_s:.1f} s, XLA temp {mem.get('temp_gb', float('nan')):.2f}"
                f" GB), |g| {d['gradient_norm']:.3e}, g·v {d['directional']:+.6e} vs FD "
                f"{fd[which]:+.6e}")
        a, b = grads["implicit"], grads["unrolled"]
        q["rel_diff_implicit_vs_unrolled"] = tree_norm(tree_sub(a, b)) / max(tree_norm(b),
                                                                             1e-300)
    if with_default:
        out["default_adjoint"] = default_adjoint(nf, system, restricted, args, unit,
                                                 out["quantities"]["energy"])
    return out


def default_adjoint(nf, system, restricted, args, unit, energy_q) -> dict:
    """`optx.ImplicitAdjoint()` (dense LU of the materialised Jacobian): compiled, its XLA
    memory read, run only where it fits."""
    adj = optx.ImplicitAdjoint()
    n, g = system.n_ao, system.n_grid
    out = dict(linear_solver="lx.AutoLinearSolver(well_posed=None) (LU, materialised)",
               jacobian_directions=2 * n * n,
               one_batched_ao_intermediate_gb=2 * n * n * g * n * 8 / 1e9)
    try:
        compiled, comp_s, mem = aot(grad_fn, nf, system, restricted, adj, "energy")
    except Exception as e:  # noqa: BLE001  (e.g. XLA refusing the allocation plan)
        out["error"] = f"compile failed: {type(e).__name__}: {e}"
        log(f"    default ImplicitAdjoint: {out['error']}")
        return out
    out.update(compile_s=comp_s, memory=mem)
    temp = mem.get("temp_gb", float("inf"))
    avail = mem_available_gb()
    out["mem_available_gb"] = avail
    if temp > args.max_gb or temp > 0.5 * avail:
        out["ran"] = False
        out["why_not_run"] = (f"needs {temp:.1f} GB of XLA temporaries; the limit is "
                              f"--max-gb {args.max_gb:g} and half of the {avail:.1f} GB "
                              "available")
        log(f"    default ImplicitAdjoint (energy): compile {comp_s:.1f} s, XLA temp "
            f"{temp:.1f} GB: not run ({out['why_not_run']})")
        return out
    runs, gd = timed_runs(lambda: compiled(nf, system, restricted, adj, "energy"),
                          args.grad_repeats)
    med = statistics.median(runs)
    out.update(ran=True, runs_s=runs, s=med, cost_in_scf_solves=med / unit,
               gradient_norm=tree_norm(gd))
    log(f"    default ImplicitAdjoint (energy): compile {comp_s:.1f} s, XLA temp {temp:.2f} GB, "
        f"{med:.2f} s = {med / unit:.1f} SCF solves")
    return out


def pyscf_run(info, xc: str, conv_tol: float, conv_tol_grad, repeats: int,
              threads: int | None = None) -> dict:
    """PySCF `mf.kernel()` on the system's own grid, a new `mf` per call: median time.
    `threads`: PySCF's OpenMP threads for these calls (`lib.num_threads`), then restored."""
    from pyscf import dft as pdft
    from pyscf import lib

    from sciml.problems.molecules import PYSCF_XC

    mol = info.molecule.to_pyscf()
    runs, mf = [], None
    before = lib.num_threads()
    if threads is not None:
        lib.num_threads(threads)
    for _ in range(repeats):
        t0 = time.perf_counter()
        mf = (pdft.RKS if info.molecule.spin == 0 else pdft.UKS)(mol)
        mf.xc = PYSCF_XC[xc]
        mf.grids = info.pyscf_grids
        mf.conv_tol = conv_tol
        if conv_tol_grad is not None:
            mf.conv_tol_grad = conv_tol_grad
        mf.kernel()
        runs.append(time.perf_counter() - t0)
    used = lib.num_threads()
    lib.num_threads(before)
    return dict(energy=float(mf.e_tot), cycles=int(mf.cycles), converged=bool(mf.converged),
                num_threads=used,
                conv_tol=conv_tol,
                conv_tol_grad=conv_tol_grad if conv_tol_grad is not None else math.sqrt(conv_tol),
                runs_s=runs, s=statistics.median(runs))


def run(cases, size_cfg, args) -> tuple[list, dict]:
    from sciml.dft import functional
    from sciml.problems.molecules import PYSCF_XC, build_system, molecule
    from sciml.solvers._scf import DIIS

    diis = DIIS()
    tolerances = dict(
        ours=dict(tol_energy=diis.tol_energy, tol_commutator=diis.tol_commutator,
                  memory=diis.memory, max_steps=100),
        pyscf_default=dict(conv_tol=PYSCF_DEFAULT["conv_tol"],
                           conv_tol_grad=math.sqrt(PYSCF_DEFAULT["conv_tol"])),
        pyscf_matched=dict(conv_tol=diis.tol_energy, conv_tol_grad=diis.tol_commutator))
    results = []
    by_molecule: dict[str, list[str]] = {}
    for name, xc in cases:
        by_molecule.setdefault(name, []).append(xc)
    for name, xcs in by_molecule.items():
        t0 = time.perf_counter()
        system, info = build_system(molecule(name, basis=BASIS), grid_level=GRID_LEVEL)
        build_s = time.perf_counter() - t0
        restricted = info.molecule.spin == 0
        # PySCF in a child process with no JAX work in it (its OpenMP threads must not
        # compete with XLA's pool; see NOTES on threads)
        pyscf_rows = run_pyscf_child(dict(molecule=name, xcs=xcs, repeats=args.repeats,
                                          matched=tolerances["pyscf_matched"],
                                          n_grid=info.n_grid))
        log(f"{name}: {info.n_ao} basis functions, {info.n_grid} grid points, "
            f"{'RKS' if restricted else 'UKS'}; build_system {build_s:.2f} s; load "
            f"{os.getloadavg()[0]:.2f}, {mem_available_gb():.1f} GB available")
        for xc in xcs:
            row = dict(molecule=name, xc=xc, pyscf_xc=PYSCF_XC[xc],
                       kind="RKS" if restricted else "UKS", n_ao=info.n_ao,
                       n_grid=info.n_grid, build_system_s=build_s,
                       loadavg_start=os.getloadavg())
            f = functional(xc)
            t, out = timed_first(lambda f=f, s=system, r=restricted: solve(f, s, r),
                                 args.repeats)
            ours = row["ours"] = dict(
                **t, energy=float(out["energy"]), cycles=int(out["cycles"]),
                converged=bool(out["converged"]), commutator=float(out["commutator"]),
                energy_change=float(out["energy_change"]),
                dipole=np.asarray(out["dipole"]).tolist(),
                dipole_norm=float(np.linalg.norm(out["dipole"])))
            row.update(pyscf_rows[xc])
            for k in ("pyscf_default", "pyscf_matched", "pyscf_matched_1thread"):
                p = row[k]
                p["energy_diff_ours_minus_pyscf"] = ours["energy"] - p["energy"]
                p["ratio_ours_over_pyscf"] = ours["s"] / p["s"]
                p["ratio_ours_with_build_over_pyscf"] = (ours["s"] + build_s) / p["s"]
            pm, pd = row["pyscf_matched"], row["pyscf_default"]
            log(f"  {name}/{xc}: ours {ours['cycles']} cycles {ours['s']:.3f} s (compile "
                f"{ours['compile_s']:.1f} s); PySCF {pm['cycles']} cycles {pm['s']:.3f} s "
                f"(default tol: {pd['cycles']} cycles {pd['s']:.3f} s); ours/PySCF "
                f"{pm['ratio_ours_over_pyscf']:.2f} ({pd['ratio_ours_over_pyscf']:.2f}); "
                f"ΔE {pm['energy_diff_ours_minus_pyscf']:+.1e} "
                f"({pd['energy_diff_ours_minus_pyscf']:+.1e}) Ha; PySCF on 1 thread "
                f"{row['pyscf_matched_1thread']['s']:.3f} s")
            if (name, xc) in size_cfg["gradients"] and not args.no_gradients:
                row["gradients"] = gradients(
                    name, xc, system, restricted, ours, args,
                    args.dense_adjoint and (name, xc) in size_cfg["default_adjoint"])
            row["loadavg_end"] = os.getloadavg()
            results.append(row)
        jax.clear_caches()
    return results, tolerances


# =========================================================================================
# outputs
# =========================================================================================
NOTES = [
    "What 'ours' times: one call of `eqx.filter_jit`-ed `solve_scf(functional, system, "
    "restricted=..., throw=False)` (energy, cycle count and dipole returned, blocked on): "
    "F0 = F[dm0], the DIIS fixed-point loop (`optx.fixed_point`) and the final Fock build. "
    "Not in it: `build_system` (PySCF's integrals including the (ij|kl) tensor, the grid "
    "with its Becke partition, the AO values and gradients on the grid, the minao guess), "
    "timed once per molecule and shown apart ('build s'), nor the compilation, shown apart "
    "(first call − median of the later calls; trace + lowering + XLA).",
    "What PySCF times, in a child process of its own per molecule (which calls "
    "`build_system` itself and checks it has the same grid): a new `dft.RKS/UKS(mol)` "
    "with `mf.grids = info.pyscf_grids` (the "
    "grid already built: the same points and weights as the system's), then `mf.kernel()`: "
    "its one- and two-electron integrals, the minao guess, the SCF cycles (AO values on the "
    "grid re-evaluated every cycle, libxc, J/K from the in-core (ij|kl)) and its extra "
    "convergence-check cycle. So it does per call what `build_system` does for us once "
    "(except the grid): the 'ours + build / PySCF' column counts our build too.",
    "Tolerances. Ours (`DIIS()` defaults): |ΔE| < 1e-10 Ha and max |Xᵀ(FPS − SPF)X| < 1e-7 "
    "(per spin, orthonormal basis), 8 Fock matrices, ≤ 100 cycles. PySCF default: "
    "conv_tol = 1e-9 Ha and conv_tol_grad = sqrt(1e-9) = 3.2e-5 on |g| = ‖2 F_vo‖_F (RKS; "
    "both spins' blocks for UKS), i.e. √2 × the Frobenius norm of the orthonormal-basis "
    "commutator, which bounds our max-norm from above. 'Matched' PySCF uses conv_tol = 1e-10 "
    "and conv_tol_grad = 1e-7: ours' numbers, on a norm at least as strict. Ratios and ΔE "
    "are given against both; the headline ratio is against the matched run.",
    "Cycles: ours is `stats['cycles']`, the number of SCF-map applications (each one "
    "density and one Fock build) after F0 = F[dm0]; PySCF's is `mf.cycles`, the loop's "
    "iterations after the initial Fock build from dm0, not counting its extra "
    "convergence-check cycle. Both codes build F[dm0] first and one Fock matrix after the "
    "last cycle, so Fock builds = cycles + 2 in each.",
    "Gradients: θ = the network of `NeuralFunctional(base, key=PRNGKey(0))`, whose last layer "
    "starts at zero, so its SCF is exactly the base functional's (the 'E − E(base)' column) "
    "and, at this θ, only the last layer's gradient is non-zero (the other layers' are "
    "multiplied by its zero weights). Each gradient is `eqx.filter_grad` of one scalar "
    "(the SCF energy, or ‖dipole‖ about the centre of nuclear charge) in its own "
    "`eqx.filter_jit` function, compiled ahead of time (`.lower(...).compile()`: 'compile "
    "s' is trace + lowering + XLA, and XLA's `memory_analysis()` gives the temporaries), then "
    "run `--grad-repeats` times (median). 'SCF units' divides "
    "by the warm time of one SCF solve of the same NeuralFunctional (which costs more than "
    "the plain functional: a small MLP at every grid point, inside the Fock build's "
    "autodiff). 'Implicit' is `solve_scf`'s default adjoint, `implicit_adjoint()` = "
    "`optx.ImplicitAdjoint(linear_solver=lx.GMRES(rtol=1e-12, atol=1e-12, max_steps=200, "
    "restart=40))`: the forward SCF, then one matrix-free GMRES solve with the transposed "
    "Jacobian of the SCF map (each iteration one VJP of the Fock map, XC second "
    "derivatives through the grid), then one VJP w.r.t. θ. 'Unrolled' is "
    "`optx.RecursiveCheckpointAdjoint()`: "
    "backpropagation through every DIIS step (the DIIS coefficients included), with "
    "recomputation from log(max_steps) checkpoints.",
    "optimistix's own `optx.ImplicitAdjoint()` (solve_scf's default until commit 2f4e851) "
    "solves the implicit-function-theorem system with `lx.AutoLinearSolver(well_posed=None)`, "
    "i.e. an LU factorisation of the Jacobian of the SCF map, which lineax materialises "
    "with a JVP vmapped over all 2n² Fock-matrix directions; each of those JVPs runs the "
    "XC potential through the whole grid, so XLA holds several (2n², grid, n) arrays at "
    "once. Measured with XLA's `memory_analysis()` while writing this script: 20.8 GB of "
    "temporaries for H2O/B3LYP (2n² = 648 directions, 33,704 points; the first attempt "
    "was killed by the kernel's OOM killer), 5.1 GB for the N atom/B3LYP, 3.8 GB for N/LDA. "
    "`--dense-adjoint` repeats that measurement (H2O and N, B3LYP) and runs it where it "
    "fits `--max-gb` (default 4) and half the available memory.",
    "Checks of the gradients: the relative difference between implicit and unrolled, and a "
    "central finite difference of the (jitted, warm) SCF with θ ± 1e-3 v along one random "
    "unit direction v of the network, against g·v. For molecules whose dipole vanishes by "
    "symmetry (CH4, N2, O2, the N atom) ‖dipole‖ is round-off (≈ 1e-15) and its gradient "
    "is not meaningful (‖·‖ is not differentiable at 0): only its cost is.",
    "pyscfad runs in a subprocess (its own JAX). Its energy: a new `pyscfad.dft.RKS(mol)` "
    "with `grids.level = 3` (its grid built in the call, its own pruning: the point "
    "counts are in the JSON) and conv_tol 1e-9, `mf.kernel()`, cycles counted by "
    "`mf.callback` (pyscfad leaves `mf.cycles` at 0); beside it plain PySCF called the "
    "same way (grid built in the call), for the pyscfad/PySCF ratio. Its gradient is "
    "w.r.t. the nuclear coordinates (`jax.grad` of that energy function w.r.t. the pyscfad "
    "`Mole`, reading `.coords`), the quantity its API differentiates; it does not "
    "differentiate w.r.t. the XC functional's parameters (libxc evaluates the XC). So "
    "pyscfad's and ours are gradients of different things; what compares is the cost in "
    "units of the same code's energy solve. 'Implicit' sets `pyscfad_scf_implicit_diff` "
    "(GMRES on the SCF fixed point); 'unrolled' is its default (backpropagation through "
    "the Python SCF loop). The first call includes pyscfad's JIT compilation of its "
    "kernels; the timed calls follow it. Checked against PySCF's analytic nuclear gradient "
    "(no grid response in either).",
    "Threads: PySCF's OpenMP and OpenBLAS use OMP_NUM_THREADS (2, `lib.num_threads()` is "
    "recorded); XLA:CPU uses its own pool over both cores; no XLA_FLAGS. Other jobs were "
    "running on this 2-core machine (the load average at the start and end of each row is "
    "in the JSON, of the run in the header). PySCF's two OpenMP threads suffer most from "
    "that: an OpenMP parallel region waits for its slowest thread, and with both cores "
    "busy one of them is often descheduled (N atom, PBE, load ≈ 5: 0.40 s on one thread, "
    "3–5.6 s on two; N atom, LDA, one other process using ~1.1 cores: 0.053 s on one "
    "thread, 1.9–2.1 s on two, while H2O/LDA was 0.17 s and 0.28–0.33 s; measured in fresh "
    "processes while writing this script). PySCF runs in a child process so that XLA's "
    "thread pool in this one cannot add to that. So every row also times PySCF "
    "with `lib.num_threads(1)` (OpenMP only; OpenBLAS keeps its threads), matched "
    "tolerances: on a loaded machine that column is the fairer baseline, on a quiet one "
    "the 2-thread one.",
]


def _f(x, fmt="{:.3f}") -> str:
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "-"
    return fmt.format(x)


def headline(results: list) -> dict:
    """Geometric means and ranges of the ratios, for the summary."""
    def gm(xs):
        xs = [x for x in xs if x and x > 0]
        return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")

    r = [row["pyscf_matched"]["ratio_ours_over_pyscf"] for row in results]
    rd = [row["pyscf_default"]["ratio_ours_over_pyscf"] for row in results]
    rb = [row["pyscf_matched"]["ratio_ours_with_build_over_pyscf"] for row in results]
    r1 = [row["pyscf_matched_1thread"]["ratio_ours_over_pyscf"] for row in results]
    comp = [row["ours"]["compile_s"] for row in results]
    de = [abs(row["pyscf_matched"]["energy_diff_ours_minus_pyscf"]) for row in results]
    out = dict(ratio_matched_geomean=gm(r), ratio_matched_min=min(r), ratio_matched_max=max(r),
               ratio_default_geomean=gm(rd), ratio_with_build_geomean=gm(rb),
               ratio_1thread_geomean=gm(r1), ratio_1thread_min=min(r1),
               ratio_1thread_max=max(r1),
               compile_s_min=min(comp), compile_s_max=max(comp),
               compile_s_median=statistics.median(comp), max_abs_energy_diff_matched=max(de))
    g = [(row["molecule"], row["xc"], row["gradients"]) for row in results
         if "gradients" in row]
    if g:
        for which in ("energy", "dipole_norm"):
            for label in ("implicit", "unrolled"):
                cost = [gr["quantities"][which]["adjoints"][label]["cost_in_scf_solves"]
                        for _, _, gr in g]
                cs = [gr["quantities"][which]["adjoints"][label]["compile_s"] for _, _, gr in g]
                out[f"grad_{which}_{label}_cost_min"] = min(cost)
                out[f"grad_{which}_{label}_cost_max"] = max(cost)
                out[f"grad_{which}_{label}_cost_geomean"] = gm(cost)
                out[f"grad_{which}_{label}_compile_s_median"] = statistics.median(cs)
    return out


def markdown(info: dict, results: list, pad: dict | None) -> str:
    m = info["machine"]
    tol = info["tolerances"]
    h = info["headline"]
    lines = [
        f"# Kohn–Sham SCF: sciml (JAX) beside PySCF and pyscfad ({info['size_label']})", "",
        f"`{info['command']}` on {m['platform']}, {m['cpu_count']} cores, {info['date']}; "
        f"OMP_NUM_THREADS={info['omp_num_threads']}, PySCF `lib.num_threads()` = "
        f"{info['pyscf_num_threads']}, XLA_FLAGS={info['xla_flags'] or 'none'}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + f". sciml at commit "
        f"{(info['git']['head'] or '?')[:7]}"
        + (f" with uncommitted changes to {', '.join(info['git']['modified_scf_files'])}"
           if info["git"]["modified_scf_files"] else "") + ".", "",
        f"Load: `{info['uptime_start']}` at the start, `{info['uptime_end']}` at the end "
        f"(2 cores; other jobs were running). Wall time of the run {info['wall_s'] / 60:.1f} min.",
        "",
        f"Basis {BASIS}, PySCF grid level {GRID_LEVEL} (the same pruned points and weights for "
        "both codes), the minao initial guess for both. Ours: `DIIS()` defaults, |ΔE| < "
        f"{tol['ours']['tol_energy']:g} Ha and max|commutator| < "
        f"{tol['ours']['tol_commutator']:g}. "
        f"PySCF default: conv_tol {tol['pyscf_default']['conv_tol']:g}, conv_tol_grad "
        f"{tol['pyscf_default']['conv_tol_grad']:.2g}; PySCF matched (ours): conv_tol "
        f"{tol['pyscf_matched']['conv_tol']:g}, conv_tol_grad "
        f"{tol['pyscf_matched']['conv_tol_grad']:g}. Times are medians of "
        f"{info['repeats']} calls after the first, in seconds.", "",
        "## Summary", "",
        f"- Ours / PySCF (matched tolerances), SCF after compilation: geometric mean "
        f"{h['ratio_matched_geomean']:.2f}× (range {h['ratio_matched_min']:.2f}–"
        f"{h['ratio_matched_max']:.2f}); against PySCF's default tolerances "
        f"{h['ratio_default_geomean']:.2f}×; counting our `build_system` in "
        f"{h['ratio_with_build_geomean']:.2f}×; against PySCF on one OpenMP thread "
        f"{h['ratio_1thread_geomean']:.2f}× (range {h['ratio_1thread_min']:.2f}–"
        f"{h['ratio_1thread_max']:.2f}; see the note on threads).",
        f"- PySCF on two OpenMP threads was more than twice as slow as on one in "
        f"{sum(r['pyscf_matched']['s'] > 2 * r['pyscf_matched_1thread']['s'] for r in results)}"
        f" of {len(results)} rows (oversubscribed cores, see the note on threads): read "
        "'ours / PySCF' with the 1-thread column beside it; on this busy machine the "
        "1-thread ratio is the robust one.",
        f"- Our compile time (first call − warm call): median {h['compile_s_median']:.1f} s "
        f"(range {h['compile_s_min']:.1f}–{h['compile_s_max']:.1f} s), once per molecule "
        "shape and functional.",
        f"- Largest |E(ours) − E(PySCF, matched)|: {h['max_abs_energy_diff_matched']:.1e} Ha.",
    ]
    if "grad_energy_unrolled_cost_geomean" in h:
        for which, label in (("energy", "E"), ("dipole_norm", "‖μ‖")):
            lines.append(
                f"- d{label}/dθ in SCF solves of the same NeuralFunctional: implicit "
                f"{h[f'grad_{which}_implicit_cost_min']:.1f}–"
                f"{h[f'grad_{which}_implicit_cost_max']:.1f} (geomean "
                f"{h[f'grad_{which}_implicit_cost_geomean']:.1f}), unrolled "
                f"{h[f'grad_{which}_unrolled_cost_min']:.1f}–"
                f"{h[f'grad_{which}_unrolled_cost_max']:.1f} (geomean "
                f"{h[f'grad_{which}_unrolled_cost_geomean']:.1f}); compile medians "
                f"{h[f'grad_{which}_implicit_compile_s_median']:.0f} s and "
                f"{h[f'grad_{which}_unrolled_compile_s_median']:.0f} s.")
    dflt = [(r["molecule"], r["gradients"]["default_adjoint"]) for r in results
            if "default_adjoint" in r.get("gradients", {})]
    if dflt:
        parts = []
        for mol, d in dflt:
            if "memory" in d:
                parts.append(f"{mol} {d['memory'].get('temp_gb', float('nan')):.1f} GB"
                             + (f" (ran: {d['cost_in_scf_solves']:.1f} SCF solves)"
                                if d.get("ran") else ""))
            else:
                parts.append(f"{mol}: {d.get('error', '?')}")
        lines.append("- The default adjoint `optx.ImplicitAdjoint()` (dense LU of a "
                     "materialised Jacobian) needs XLA temporaries of " + ", ".join(parts)
                     + " (24 GB machine).")
    if pad is not None:
        lines.append("- pyscfad: " + pyscfad_summary(pad))
    lines += [
        "", "## SCF: ours beside PySCF", "",
        "| molecule | xc | n AO | grid | ours cycles | ours compile s | ours s | build s "
        "| PySCF cycles | PySCF s | ours / PySCF | ours+build / PySCF | PySCF default: "
        "cycles, s, ours / it | PySCF 1 thread s, ours / it | E ours (Ha) "
        "| E ours − PySCF (matched / default) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        o, pm, pd = r["ours"], r["pyscf_matched"], r["pyscf_default"]
        p1 = r["pyscf_matched_1thread"]
        conv = "" if o["converged"] else " **not converged**"
        lines.append(
            f"| {r['molecule']} ({r['kind']}) | {r['xc']} | {r['n_ao']} | {r['n_grid']:,} | "
            f"{o['cycles']}{conv} | {o['compile_s']:.1f} | {o['s']:.3f} | "
            f"{r['build_system_s']:.2f} | {pm['cycles']} | {pm['s']:.3f} | "
            f"**{pm['ratio_ours_over_pyscf']:.2f}** | {pm['ratio_ours_with_build_over_pyscf']:.2f}"
            f" | {pd['cycles']}, {pd['s']:.3f}, {pd['ratio_ours_over_pyscf']:.2f} | "
            f"{p1['s']:.3f}, {p1['ratio_ours_over_pyscf']:.2f} | {o['energy']:.8f} | "
            f"{pm['energy_diff_ours_minus_pyscf']:+.1e} / "
            f"{pd['energy_diff_ours_minus_pyscf']:+.1e} |")
    grads = [r for r in results if "gradients" in r]
    if grads:
        lines += [
            "", "## Gradients w.r.t. the functional's parameters (ours; PySCF has none)", "",
            "θ: the network of `NeuralFunctional(base, key=jax.random.PRNGKey(0))`. SCF units "
            "= the warm time of one SCF solve with that NeuralFunctional (its time, and its "
            "ratio to the plain functional's, in the first columns).", "",
            "| molecule | base | neural SCF s (× plain) | quantity | adjoint | compile s "
            "| XLA temp GB | s | SCF units | ‖g‖ | g·v / FD − 1 | implicit vs unrolled |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in grads:
            gr = r["gradients"]
            ns = gr["neural_scf"]
            for which, q in gr["quantities"].items():
                for label, d in q["adjoints"].items():
                    sym = (which == "dipole_norm" and gr["dipole_norm"] < 1e-6)
                    fdcol = "n/a (‖μ‖ = 0)" if sym else _f(d["fd_rel_error"], "{:.1e}")
                    lines.append(
                        f"| {r['molecule']} | {r['xc']} | {ns['s']:.3f} ({ns['s_over_plain']:.2f})"
                        f" | {'E' if which == 'energy' else '‖μ‖'} | {label} | "
                        f"{d['compile_s']:.1f} | {_f(d['memory'].get('temp_gb'), '{:.2f}')} | "
                        f"{d['s']:.2f} | **{d['cost_in_scf_solves']:.1f}** | "
                        f"{d['gradient_norm']:.3e} | {fdcol} | "
                        f"{q['rel_diff_implicit_vs_unrolled']:.1e} |")
        if dflt:
            lines += ["", "Default adjoint `optx.ImplicitAdjoint()` (energy gradient), "
                      "compiled; run only where it fits:", "",
                      "| molecule | base | 2n² directions | compile s | XLA temp GB | ran | s "
                      "| SCF units |", "|---|---|---|---|---|---|---|---|"]
            for r in results:
                d = r.get("gradients", {}).get("default_adjoint")
                if d is None:
                    continue
                if "memory" not in d:
                    lines.append(f"| {r['molecule']} | {r['xc']} | {d['jacobian_directions']} | "
                                 f"- | - | {d.get('error', '?')} | - | - |")
                    continue
                ran = "yes" if d.get("ran") else f"no: {d.get('why_not_run', '')}"
                lines.append(
                    f"| {r['molecule']} | {r['xc']} | {d['jacobian_directions']} | "
                    f"{d['compile_s']:.1f} | {_f(d['memory'].get('temp_gb'), '{:.2f}')} | {ran} "
                    f"| {_f(d.get('s'), '{:.2f}')} | {_f(d.get('cost_in_scf_solves'), '{:.1f}')} |")
    if pad is not None:
        lines += ["", "## pyscfad (PySCF with JAX autodiff)", ""]
        if pad.get("error"):
            lines += ["**Did not run:**", "", "```", pad["error"], "```"]
        else:
            v = pad.get("versions", {})
            lines += [
                f"pyscfad {v.get('pyscfad')} (pyscfadlib {v.get('pyscfadlib')}), its JAX "
                f"{v.get('jax')}, `lib.num_threads()` = {pad.get('num_threads')}. Energy: "
                "median of the calls after the first; gradient w.r.t. nuclear coordinates "
                f"(median of {pad['spec']['grad_repeats']} after the first call).", "",
                "| molecule | xc | cycles | pyscfad s (first call) | PySCF same call s | "
                "pyscfad / PySCF | E pyscfad − PySCF | E pyscfad − ours | gradient | s (first "
                "call) | energy-solve units | max abs. diff. vs PySCF analytic |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
            ours_e = {(r["molecule"], r["xc"]): r["ours"]["energy"] for r in results}
            for c in pad["cases"]:
                if "error" in c and "energy" not in c:
                    lines.append(f"| {c['molecule']} | {c['xc']} | {c['error']} |||||||||")
                    continue
                oe = ours_e.get((c["molecule"], c["xc"]))
                base = (f"| {c['molecule']} | {c['xc']} | {c['cycles']} | {c['energy_s']:.2f} "
                        f"({c['energy_first_call_s']:.1f}) | {c['pyscf_same_call_s']:.2f} | "
                        f"{c['ratio_pyscfad_over_pyscf']:.2f} | "
                        f"{c['energy_diff_pyscfad_minus_pyscf']:+.1e} | "
                        + (f"{c['energy'] - oe:+.1e}" if oe is not None else "-") + " | ")
                for mode, g in c.get("gradients", {}).items():
                    if "error" in g:
                        lines.append(base + f"{mode}: **failed** {g['error'][:200]} | - | - | - |")
                    else:
                        lines.append(base + f"{mode} | {g['s']:.2f} ({g['first_call_s']:.1f}) | "
                                     f"**{g['cost_in_energy_solves']:.1f}** | "
                                     f"{g['max_abs_diff_vs_pyscf_analytic']:.1e} |")
    lines += ["", "## What each time includes, and notes", ""]
    lines += [f"- {n}" for n in info["notes"]]
    return "\n".join(lines) + "\n"


def pyscfad_summary(pad: dict) -> str:
    if pad.get("error"):
        return "did not run: " + pad["error"].splitlines()[0]
    parts = []
    for c in pad["cases"]:
        if "energy" not in c:
            parts.append(f"{c['molecule']}/{c['xc']} failed ({c.get('error', '?')})")
            continue
        s = (f"{c['molecule']}/{c['xc']} energy {c['energy_s']:.2f} s = "
             f"{c['ratio_pyscfad_over_pyscf']:.1f}× PySCF's same call")
        for mode, g in c.get("gradients", {}).items():
            s += (f"; nuclear gradient {mode} {g['s']:.1f} s = "
                  f"{g['cost_in_energy_solves']:.1f} energy solves" if "error" not in g
                  else f"; {mode} gradient failed")
        parts.append(s)
    return "; ".join(parts) + "."


def git_state() -> dict:
    """HEAD of the tree this sciml was imported from, and whether the SCF's files differ."""
    root = HERE.parent

    def git(*a):
        r = subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    files = ["solvers/_scf.py", "sciml/dft", "problems/molecules"]
    return dict(head=git("rev-parse", "HEAD"),
                modified_scf_files=(git("status", "--porcelain", "--", *files) or "").splitlines())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--molecules", nargs="+", choices=MOLECULES)
    ap.add_argument("--functionals", nargs="+", choices=FUNCTIONALS)
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--grad-repeats", type=int, default=GRAD_REPEATS)
    ap.add_argument("--dense-adjoint", action="store_true",
                    help="also compile optimistix's own ImplicitAdjoint() (a materialised "
                    "Jacobian) for H2O and N (B3LYP) and read its memory; run it only below "
                    "--max-gb")
    ap.add_argument("--max-gb", type=float, default=4.0,
                    help="run the dense-adjoint gradient only below this many GB of XLA "
                    "temporaries (default 4)")
    ap.add_argument("--no-gradients", action="store_true")
    ap.add_argument("--no-pyscfad", action="store_true")
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    ap.add_argument("--tag", help="suffix of the result files")
    ap.add_argument("--pyscfad-worker", help=argparse.SUPPRESS)
    ap.add_argument("--pyscf-worker", help=argparse.SUPPRESS)
    ap.add_argument("--markdown-from", type=Path, metavar="JSON",
                    help="only rewrite the .md beside a results .json this script wrote")
    args = ap.parse_args(argv)
    if args.markdown_from:
        from sciml.io import atomic_write_text

        saved = json.loads(args.markdown_from.read_text())
        results, pad = saved.pop("results"), saved.pop("pyscfad")
        atomic_write_text(args.markdown_from.with_suffix(".md"),
                          markdown(saved, results, pad))
        return
    if args.pyscf_worker:
        print(json.dumps(pyscf_worker(json.loads(args.pyscf_worker)), default=float))
        return
    if args.pyscfad_worker:
        print(json.dumps(pyscfad_worker(json.loads(args.pyscfad_worker)), default=float))
        return
    if os.environ.get("XLA_FLAGS"):
        raise SystemExit(f"{NAME}: unset XLA_FLAGS (it is {os.environ['XLA_FLAGS']!r}); this "
                         "benchmark runs XLA with no flags")

    cfg = SIZES[args.size]
    cases = [(m, f) for m, f in cfg["cases"]
             if (not args.molecules or m in args.molecules)
             and (not args.functionals or f in args.functionals)]
    if not cases:
        raise SystemExit(f"{NAME}: no case of --size {args.size} left after the filters")
    stem = f"{NAME}-{args.size}"
    if args.molecules:
        stem += "-" + "-".join(args.molecules)
    if args.functionals:
        stem += "-" + "-".join(args.functionals)
    if args.tag:
        stem += f"-{args.tag}"
    uptime0, load0 = uptime(), os.getloadavg()
    log(f"{NAME} --size {args.size}: {len(cases)} cases; {uptime0}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    t0 = time.perf_counter()
    results, tolerances = run(cases, cfg, args)
    pad = None
    if not args.no_pyscfad:
        molecules = sorted({m for m, _ in cases} & {"H2O"}) or [cases[0][0]]
        spec = dict(molecules=molecules, xcs=cfg["pyscfad"]["xcs"],
                    modes=cfg["pyscfad"]["modes"], repeats=args.repeats,
                    grad_repeats=1)
        log(f"pyscfad: {spec}")
        pad = run_pyscfad(spec)
        if pad.get("error"):
            log(f"pyscfad: {pad['error']}")
    from pyscf import lib

    from sciml.provenance import versions

    info = meta(size=args.size, size_label=stem.removeprefix(f"{NAME}-"), cases=cases,
                basis=BASIS, grid_level=GRID_LEVEL, repeats=args.repeats,
                grad_repeats=args.grad_repeats, max_gb=args.max_gb,
                omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
                openblas_num_threads=os.environ.get("OPENBLAS_NUM_THREADS"),
                xla_flags=os.environ.get("XLA_FLAGS", ""), pyscf_num_threads=lib.num_threads(),
                jax_devices=[str(d) for d in jax.devices()], tolerances=tolerances,
                uptime_start=uptime0, loadavg_start=load0, uptime_end=uptime(),
                loadavg_end=os.getloadavg(), wall_s=time.perf_counter() - t0, notes=NOTES)
    info["git"] = git_state()
    info["machine"]["versions"].update(versions(("optimistix", "lineax", "pyscf", "pyscfad",
                                                 "pyscfadlib")))
    info["headline"] = headline(results)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(args.out_dir / f"{stem}.json", {**info, "results": results, "pyscfad": pad})
    from sciml.io import atomic_write_text

    atomic_write_text(args.out_dir / f"{stem}.md", markdown(info, results, pad))
    log(f"wrote {args.out_dir / stem}.{{json,md}} in {info['wall_s'] / 60:.1f} min; "
        f"{info['uptime_end']}")


if __name__ == "__main__":
    main()
