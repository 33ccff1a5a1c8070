"""DCDM beside scipy CG, IC(0)-preconditioned CG and AMG-preconditioned CG on Poisson
pressure-projection systems.

One run, one process. Each system `A x = b` is `sciml.problems.linear_systems.layout(kind,
n, seed)` with the smoke right-hand side `smoke_rhs(system, seed)` of the same seed: the
empty box (all Dirichlet) and four obstacle layouts ("spheres", "boxes", "walls", "mixed";
open top, closed sides) of the held-out seeds 1000 + i, never seen in training. Sizes:
`--size small` 32³ and 64³, `--size full` 64³ and 128³ (2.1 M unknowns). Every solver
stops on the same rule, ‖b − A x‖₂ ≤ 1e-6·‖b‖₂ (each checked in its source, see NOTES), and
afterwards the TRUE relative residual of its answer is computed by one numpy function
(float64, the reduced matrix on the fluid unknowns); a solver that did not reach 1e-6 is
marked failed in the tables.

1. `scipy-cg`: `scipy.sparse.linalg.cg(A, b, rtol=1e-6, atol=0)`, iterations counted by
   its callback. Setup: none.
2. `ic0-pcg`: the same with `M = ilupp.IChol0Preconditioner(A)`. Setup: the IC(0)
   factorisation.
3. `amg-pcg`: `ml = pyamg.smoothed_aggregation_solver(A)` (setup, redone for every layout:
   a new domain is a new hierarchy), then `ml.solve(b, tol=1e-6, accel="cg")`.
4. `dcdm`: `lineax.linear_solve(system.operator(), b, sciml.solvers.DCDM(network,
   rtol=1e-6, max_steps=100))` under `equinox.filter_jit`; Krylov vectors in float64, the
   network in float32. The solve is compiled once per grid size (the layouts of one size
   share it; the compile time is reported apart), then timed warm. Its setup (the network's
   hierarchy: coarsened stencils, coarsest pseudo-inverse, gates) runs inside every solve;
   it is also timed alone and reported as the setup, the rest of the call as the solve.

Also: the network application alone and the operator's product alone (jitted, warm, median
of 5) beside the per-iteration time inside the solve, and sciml's own `CG` on one case per
size as a cross-check of scipy CG's iteration count.

Timing: `time.perf_counter`, JAX outputs blocked on; a timing of at most 2 s is repeated
three times and the median kept, a longer one is taken once. Building the systems, the
matrices, the stencils and the right-hand sides is not timed for any solver.

    python benchmarks/dcdm_vs_baselines.py --size small --network untrained  # ~2 min
    python benchmarks/dcdm_vs_baselines.py --size small   # the shipped network
    python benchmarks/dcdm_vs_baselines.py --size full    # on a quiet machine

`--network PATH` loads a saved network (`sciml.precond.load_network`); the default is the
shipped `pretrained()` file; `--network untrained` uses `MultigridNetwork(key=key(0))`
(the classical-cycle initialisation), labelled so in every output file and in their names.
`--layouts` and `--sizes` restrict a run for quick checks (the file names then say so);
`--out-dir` (default `benchmarks/results`). Run it from an environment with pyamg and
ilupp (`requirements-peers.txt`).

Writes `<out-dir>/dcdm_vs_baselines-<size>[-...].{json,md}`, `...-residuals.png` (residual
against iteration, all four solvers, largest size, one obstacle layout) and
`...-layouts.png` (mid-slices of each obstacle layout's fluid mask and solution).
"""

from __future__ import annotations

import os

# OpenBLAS only serves numpy's vector dot products here (scipy's sparse products, ilupp's
# triangular solves and pyamg's kernels are single-threaded). With 2 threads on 2 busy cores
# one np.dot of 31k entries measured 8 ms instead of 4 µs (a thread waiting for a
# descheduled partner): one thread, unless the caller chose otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # Krylov vectors in float64

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import lineax as lx  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse.linalg as sla  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402

NAME = "dcdm_vs_baselines"
LAYOUTS = ("empty", "spheres", "boxes", "walls", "mixed")
SIZES = {"small": (32, 64), "full": (64, 128)}
RTOL = 1e-6
SEED0 = 1000  # held-out seeds: layout i of LAYOUTS uses seed 1000 + i, its rhs too
FAST_S = 2.0  # timings at most this long are repeated 3 times (median)
REPEATS = 3
MICRO_REPEATS = 5  # network application and matvec alone
SOLVERS = ("scipy-cg", "ic0-pcg", "amg-pcg", "dcdm")
LABELS = {"scipy-cg": "scipy CG", "ic0-pcg": "IC(0)-PCG (ilupp)",
          "amg-pcg": "AMG-PCG (pyamg SA)", "dcdm": "DCDM (sciml)"}
BASELINE_MAXITER = 20_000
CG_CROSS_MAX_STEPS = 5000
COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
                  "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration")


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# --- timing ---------------------------------------------------------------------------------
_compile_seconds = [0.0]


def _on_event(event: str, duration: float, **_) -> None:
    if event in COMPILE_EVENTS:
        _compile_seconds[0] += duration


jax.monitoring.register_event_duration_secs_listener(_on_event)


def timed(fn, *, fast: float = FAST_S, repeats: int = REPEATS):
    """`fn()` timed once, and `repeats` times in all if that took at most `fast` seconds:
    (median seconds, every timing, the last output)."""
    t0 = time.perf_counter()
    out = fn()
    times = [time.perf_counter() - t0]
    if times[0] <= fast:
        for _ in range(repeats - 1):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def micro(fn, repeats: int = MICRO_REPEATS) -> tuple[float, list[float]]:
    """Median seconds of `fn()` (blocked on) after one untimed call."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def true_residual(A, b, x) -> float:
    """‖b − A x‖₂ / ‖b‖₂ in float64 on the reduced system: the one check of every solver."""
    b = np.asarray(b, np.float64)
    x = np.asarray(x, np.float64)
    return float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))


# --- the baselines ----------------------------------------------------------------------------
def scipy_cg(A, b, M=None, history: list | None = None):
    """scipy CG to rtol 1e-6 (atol 0); iterations = callback calls. With `history`, the
    callback also appends ‖b − A x_k‖/‖b‖ (one extra product: untimed passes only)."""
    count = [0]
    norm_b = np.linalg.norm(b)

    def callback(xk):
        count[0] += 1
        if history is not None:
            history.append(float(np.linalg.norm(b - A @ xk) / norm_b))

    x, info = sla.cg(A, b, rtol=RTOL, atol=0.0, maxiter=BASELINE_MAXITER, M=M,
                     callback=callback)
    return x, int(info), count[0]


def amg_solve(ml, b, history: list | None = None):
    """pyamg's CG (criteria 'rr': ‖r‖₂ < tol·‖b‖₂) preconditioned by one V-cycle of `ml`;
    iterations = len(residuals) − 1 (the list starts with the initial residual)."""
    residuals: list = []
    callback = None
    if history is not None:
        A, norm_b = ml.levels[0].A, np.linalg.norm(b)
        callback = lambda xk: history.append(float(np.linalg.norm(b - A @ xk) / norm_b))
    x, info = ml.solve(b, tol=RTOL, accel="cg", maxiter=BASELINE_MAXITER,
                       residuals=residuals, callback=callback, return_info=True)
    return x, int(info), len(residuals) - 1


def run_baselines(A, b, histories: dict | None = None) -> dict:
    import ilupp
    import pyamg

    out = {}
    # 1. scipy CG
    t, ts, (x, info, its) = timed(lambda: scipy_cg(A, b))
    out["scipy-cg"] = dict(iterations=its, info=info, setup_s=0.0, setup_runs_s=[],
                           solve_s=t, solve_runs_s=ts, total_s=t,
                           true_residual=true_residual(A, b, x))
    log(f"    scipy-cg: {its} it, {t:.3f} s, residual {out['scipy-cg']['true_residual']:.2e}")
    # 2. IC(0)-PCG
    t_setup, ts_setup, M = timed(lambda: ilupp.IChol0Preconditioner(A))
    t, ts, (x, info, its) = timed(lambda: scipy_cg(A, b, M))
    out["ic0-pcg"] = dict(iterations=its, info=info, setup_s=t_setup, setup_runs_s=ts_setup,
                          solve_s=t, solve_runs_s=ts, total_s=t_setup + t,
                          true_residual=true_residual(A, b, x))
    log(f"    ic0-pcg: {its} it, setup {t_setup:.3f} s, solve {t:.3f} s, "
        f"residual {out['ic0-pcg']['true_residual']:.2e}")
    # 3. AMG-PCG: a new hierarchy for every layout
    t_setup, ts_setup, ml = timed(lambda: pyamg.smoothed_aggregation_solver(A))
    t, ts, (x, info, its) = timed(lambda: amg_solve(ml, b))
    out["amg-pcg"] = dict(iterations=its, info=info, setup_s=t_setup, setup_runs_s=ts_setup,
                          solve_s=t, solve_runs_s=ts, total_s=t_setup + t,
                          true_residual=true_residual(A, b, x),
                          levels=len(ml.levels),
                          operator_complexity=float(ml.operator_complexity()),
                          symmetric_smoothing=bool(getattr(ml, "symmetric_smoothing", True)))
    log(f"    amg-pcg: {its} it, setup {t_setup:.3f} s, solve {t:.3f} s, "
        f"residual {out['amg-pcg']['true_residual']:.2e}")
    if histories is not None:  # untimed passes: the true residual after every iteration
        for name, run in (("scipy-cg", lambda h: scipy_cg(A, b, history=h)),
                          ("ic0-pcg", lambda h: scipy_cg(A, b, M, history=h)),
                          ("amg-pcg", lambda h: amg_solve(ml, b, history=h))):
            h = [1.0]  # x0 = 0: r0 = b
            run(h)
            histories[name] = h
    for name in ("scipy-cg", "ic0-pcg", "amg-pcg"):
        r = out[name]
        r["converged"] = r["info"] == 0 and r["true_residual"] <= RTOL
    return out


# --- DCDM -----------------------------------------------------------------------------------
# one jitted function each, shared by every layout: compiled once per grid shape
_solve = eqx.filter_jit(lambda op, b, solver: lx.linear_solve(op, b, solver, throw=False))
_setup = eqx.filter_jit(lambda net, st: net.setup(st.weights, st.dirichlet, st.fluid))
_apply = eqx.filter_jit(lambda net, h, r: net(h, r))
_mv = eqx.filter_jit(lambda op, x: op.mv(x))


def _status(result) -> tuple[bool, str]:
    ok = bool(result == lx.RESULTS.successful)
    return ok, "successful" if ok else lx.RESULTS[result]


def run_dcdm(system, b, network, A, b_red, max_steps: int) -> dict:
    from sciml.solvers import DCDM

    op, bj = system.operator(), jnp.asarray(b)
    solver = DCDM(network, rtol=RTOL, max_steps=max_steps)
    c0 = _compile_seconds[0]
    t0 = time.perf_counter()
    sol = _solve(op, bj, solver)
    jax.block_until_ready(sol.value)
    first = time.perf_counter() - t0
    traced_s = _compile_seconds[0] - c0  # > 0 only if this call traced or compiled

    def call():
        s = _solve(op, bj, solver)
        jax.block_until_ready(s.value)
        return s

    t_call, ts_call, sol = timed(call)
    its = int(sol.stats["num_steps"])
    ok, status = _status(sol.result)
    x_full = np.asarray(sol.value)
    sol_slice = x_full[system.n // 2].copy()
    res = true_residual(A, b_red, system.restrict(x_full))

    stencil32 = system.stencil(jnp.float32)
    t_setup, ts_setup = micro(lambda: _setup(network, stencil32), REPEATS)
    hierarchy = _setup(network, stencil32)
    t_apply, ts_apply = micro(lambda: _apply(network, hierarchy, bj))
    t_mv, _ = micro(lambda: _mv(op, bj))
    history = np.asarray(sol.stats["residuals"])[:its + 1]
    per_it = (t_call - t_setup) / its if its else float("nan")
    return dict(
        iterations=its, status=status, first_call_s=first,
        compile_s=max(first - t_call, 0.0), compile_events_s=traced_s,
        setup_s=t_setup, setup_runs_s=ts_setup, call_s=t_call, call_runs_s=ts_call,
        solve_s=t_call - t_setup, total_s=t_call, true_residual=res,
        converged=ok and res <= RTOL, network_apply_s=t_apply, network_apply_runs_s=ts_apply,
        matvec_s=t_mv, per_iteration_s=per_it,
        in_loop_over_alone=per_it / (t_apply + t_mv) if its else float("nan"),
        history=history.tolist(), solution_slice=sol_slice,
    )


def run_cg_cross(system, b, A, b_red) -> dict:
    """sciml's CG on one case: its iteration count beside scipy CG's."""
    from sciml.solvers import CG

    op, bj = system.operator(), jnp.asarray(b)
    solver = CG(rtol=RTOL, max_steps=CG_CROSS_MAX_STEPS)
    t0 = time.perf_counter()
    sol = _solve(op, bj, solver)
    jax.block_until_ready(sol.value)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = _solve(op, bj, solver)
    jax.block_until_ready(sol.value)
    run = time.perf_counter() - t0
    ok, status = _status(sol.result)
    res = true_residual(A, b_red, system.restrict(np.asarray(sol.value)))
    return dict(iterations=int(sol.stats["num_steps"]), status=status, first_call_s=first,
                compile_s=max(first - run, 0.0), solve_s=run, true_residual=res,
                converged=ok and res <= RTOL)


# --- the network --------------------------------------------------------------------------
def load(spec: str):
    """(network, description dict) for `--network`: 'pretrained', 'untrained' or a path."""
    from sciml.precond import MultigridNetwork, load_network

    if spec == "untrained":
        net = MultigridNetwork(key=jax.random.key(0))
        return net, dict(label="untrained", source="MultigridNetwork(key=jax.random.key(0)): "
                         "the classical-cycle initialisation, no training",
                         config=net.describe())
    if spec == "pretrained":
        from importlib import resources

        from sciml.precond._io import PRETRAINED

        path = Path(str(resources.files("sciml.precond") / "weights" / PRETRAINED))
        if not path.is_file():
            raise SystemExit(f"{NAME}: the pretrained network {path} does not exist (yet): "
                             "pass --network PATH, or --network untrained for development")
        label = "pretrained"
    else:
        path = Path(spec)
        label = f"file {path.name}"
    net, provenance = load_network(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return net, dict(label=label, source=str(path.resolve()), sha256=digest,
                     provenance=provenance, config=net.describe())


# --- one run --------------------------------------------------------------------------------
def run(sizes, layouts, network, max_steps: int, figure_layout: str | None) -> dict:
    from sciml.problems import linear_systems as ls

    out = {}
    largest = sizes[-1]
    for n in sizes:
        log(f"n = {n}: {n**3:,} cells")
        cases, histories, slices = [], {}, {}
        for kind in layouts:
            seed = SEED0 + LAYOUTS.index(kind)
            system = ls.layout(kind, n, seed=seed)
            b = system.check_rhs(ls.smoke_rhs(system, seed=seed))
            A = system.matrix(reduced=True)
            b_red = system.restrict(b)
            log(f"  {kind} (seed {seed}): {system.num_fluid:,} unknowns, "
                f"load {os.getloadavg()[0]:.2f}")
            load0 = os.getloadavg()
            want_history = n == largest and kind == figure_layout
            hist = {} if want_history else None
            solvers = run_baselines(A, b_red, hist)
            d = run_dcdm(system, b, network, A, b_red, max_steps)
            log(f"    dcdm: {d['iterations']} it, first call {d['first_call_s']:.2f} s "
                f"(compile {d['compile_s']:.2f} s), setup {d['setup_s']:.4f} s, call "
                f"{d['call_s']:.3f} s, per iteration {d['per_iteration_s'] * 1e3:.1f} ms "
                f"(network alone {d['network_apply_s'] * 1e3:.1f} ms, matvec "
                f"{d['matvec_s'] * 1e3:.2f} ms), residual {d['true_residual']:.2e}, "
                f"{d['status']}")
            sol_slice = d.pop("solution_slice")
            solvers["dcdm"] = d
            if want_history:
                hist["dcdm"] = d["history"]
                histories = {"layout": kind, "n": n, **hist}
            if n == largest and kind != "empty":
                src = "dcdm" if d["converged"] else None
                if src is None:  # DCDM missed: show scipy CG's answer instead
                    x, _, _ = scipy_cg(A, b_red)
                    sol_slice, src = system.extend(x)[n // 2], "scipy-cg"
                slices[kind] = dict(fluid=np.asarray(system.fluid[n // 2]),
                                    solution=np.where(system.fluid[n // 2], sol_slice, np.nan),
                                    source=src)
            cases.append(dict(layout=kind, seed=seed, n=n, unknowns=system.num_fluid,
                              removed_cells=system.removed_cells, boundary=system.boundary,
                              rhs_norm=float(np.linalg.norm(b_red)), solvers=solvers,
                              loadavg_start=load0, loadavg_end=os.getloadavg()))
        cross_kind = "empty" if "empty" in layouts else layouts[0]
        seed = SEED0 + LAYOUTS.index(cross_kind)
        system = ls.layout(cross_kind, n, seed=seed)
        b = ls.smoke_rhs(system, seed=seed)
        cross = run_cg_cross(system, b, system.matrix(reduced=True), system.restrict(b))
        scipy_its = next(c for c in cases if c["layout"] == cross_kind)["solvers"]["scipy-cg"][
            "iterations"]
        cross.update(layout=cross_kind, scipy_iterations=scipy_its)
        log(f"  sciml CG cross-check ({cross_kind}): {cross['iterations']} it vs scipy "
            f"{scipy_its}; run {cross['solve_s']:.2f} s (compile {cross['compile_s']:.2f} s)")
        first = cases[0]["solvers"]["dcdm"]
        out[str(n)] = dict(n=n, cases=cases, cg_cross_check=cross,
                           dcdm_compile_s=first["compile_s"],
                           dcdm_first_call_s=first["first_call_s"],
                           dcdm_recompiled=[c["layout"] for c in cases[1:]
                                            if c["solvers"]["dcdm"]["compile_events_s"] > 0.05],
                           histories=histories, _slices=slices)
    return out


# --- the checks -----------------------------------------------------------------------------
def _case(results, n, kind):
    block = results.get(str(n))
    if block is None:
        return None
    return next((c for c in block["cases"] if c["layout"] == kind), None)


def checks(results: dict, sizes, layouts) -> list[dict]:
    """The issue's must-show comparisons, computed from the numbers (pass, fail, or not
    run). A solver that missed 1e-6 fails every check it takes part in."""
    largest, out = sizes[-1], []

    def item(name, detail, passed):
        out.append(dict(check=name, detail=detail, passed=passed))

    c = _case(results, largest, "empty")
    if c is None:
        item(f"DCDM iterations ≤ 1/10 of scipy CG's, empty box, {largest}³", "not run", None)
    else:
        d, s = c["solvers"]["dcdm"], c["solvers"]["scipy-cg"]
        ok = d["converged"] and s["converged"] and d["iterations"] * 10 <= s["iterations"]
        item(f"DCDM iterations ≤ 1/10 of scipy CG's, empty box, {largest}³",
             f"{d['iterations']} vs {s['iterations']} (limit {s['iterations'] / 10:.1f})", ok)
    if len(sizes) < 2:
        item("DCDM iterations at the largest size ≤ 1.5× at the smaller", "one size only", None)
    else:
        small = sizes[-2]
        for kind in layouts:
            a, b = _case(results, largest, kind), _case(results, small, kind)
            da, db = a["solvers"]["dcdm"], b["solvers"]["dcdm"]
            ok = da["converged"] and db["converged"] and da["iterations"] <= 1.5 * db["iterations"]
            item(f"DCDM iterations {largest}³ ≤ 1.5× {small}³, {kind}",
                 f"{da['iterations']} vs {db['iterations']} (limit {1.5 * db['iterations']:g})",
                 ok)
    for kind in layouts:
        c = _case(results, largest, kind)
        d, s = c["solvers"]["dcdm"], c["solvers"]["scipy-cg"]
        ok = d["converged"] and s["converged"] and d["total_s"] < s["total_s"]
        item(f"DCDM total time < scipy CG's, {kind}, {largest}³",
             f"{d['total_s']:.3f} s vs {s['total_s']:.3f} s", ok)
    obstacles = [k for k in layouts if k != "empty"]
    if not obstacles:
        item(f"DCDM total < AMG setup + solve, obstacle layouts, {largest}³", "not run", None)
    for kind in obstacles:
        c = _case(results, largest, kind)
        d, m = c["solvers"]["dcdm"], c["solvers"]["amg-pcg"]
        ok = d["converged"] and m["converged"] and d["total_s"] < m["total_s"]
        item(f"DCDM total < AMG setup + solve, {kind}, {largest}³",
             f"{d['total_s']:.3f} s vs {m['setup_s']:.3f} + {m['solve_s']:.3f} = "
             f"{m['total_s']:.3f} s", ok)
    return out


# --- outputs --------------------------------------------------------------------------------
NOTES = [
    "Stopping rules, read in the installed sources: scipy 1.17 `cg` returns when the "
    "recursive residual has ‖r‖₂ < max(rtol·‖b‖₂, atol) (here atol = 0) and calls the "
    "callback once per iteration; pyamg 5.4 `ml.solve(accel='cg')` calls "
    "`pyamg.krylov.cg` with its default criteria 'rr', ‖r‖₂ < tol·‖b‖₂ (2-norm, "
    "`pyamg.util.linalg.norm`; b − A x recomputed every 8 iterations) and appends one "
    "residual per iteration; sciml's DCDM and CG stop on ‖b − A y‖₂ ≤ rtol·‖b‖₂ with the "
    "recursive residual refreshed every 50 steps and the final one recomputed. Whatever "
    "the rule, every answer is checked afterwards by the same numpy code: the 'true rel. "
    "residual' column.",
    "Setup per solver: scipy CG none; IC(0)-PCG the incomplete Cholesky factorisation "
    "`ilupp.IChol0Preconditioner(A)`; AMG-PCG `pyamg.smoothed_aggregation_solver(A)` (the "
    "whole hierarchy: aggregation, smoothed prolongators, Galerkin products, coarse "
    "solver), redone for every layout; DCDM the network's hierarchy for the system "
    "(`net.setup`: coarsened stencils, the coarsest grid's pseudo-inverse, the convolution "
    "gates), which runs inside every DCDM solve: it is timed alone (jitted, warm) and "
    "shown as the setup, and the 'solve' column is the rest of the solve call. DCDM's JIT "
    "compilation is not in any column: it is reported per size (once for every layout of "
    "that size). Not timed for any solver: building the layout, matrix, stencil and "
    "right-hand side.",
    "Precision: the baselines in float64 throughout; DCDM's Krylov vectors (iterate, "
    "residual, directions) in float64, its network in float32 (the residual is cast down, "
    "the direction back up).",
    "Threads: XLA (DCDM, sciml CG) uses both cores; scipy's sparse products, ilupp's "
    "triangular solves and pyamg's kernels run on one. OpenBLAS, which only serves the "
    "dot products, is held to OPENBLAS_NUM_THREADS (default 1 in this script: with 2 "
    "OpenBLAS threads, while another process kept both cores busy, one dot product of 31k "
    "entries took 8 ms instead of 4 µs, and scipy CG at 32³ 5.7 s instead of 0.04 s).",
    "'per iteration in solve' is (solve call − setup) / iterations, beside the network "
    "application and the operator's product timed alone (jitted, warm, median of 5): their "
    "ratio shows what XLA:CPU's while loop costs on top of its body (jax issue #12868).",
    "Residual histories (figure): the baselines' from a separate untimed pass whose "
    "callback computes ‖b − A x_k‖₂/‖b‖₂ (one extra product per iteration); DCDM's from "
    "its own `stats['residuals']` (the recursive residual, refreshed every 50 steps, the "
    "last one recomputed).",
]


def _f(x, fmt="{:.3f}") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


def markdown(info: dict, results: dict, check_list: list[dict]) -> str:
    m, net = info["machine"], info["network"]
    lines = [
        f"# DCDM beside scipy CG, IC(0)-PCG and AMG-PCG ({info['size_label']})", "",
        f"`{info['command']}` on {m['platform']}, {m['cpu_count']} cores, {info['date']}.", "",
        f"Load average (1 min): {info['loadavg_start'][0]:.2f} at the start, "
        f"{info['loadavg_end'][0]:.2f} at the end.", "",
        f"Network: **{net['label']}** ({net['source']}"
        + (f", sha256 {net['sha256'][:16]}…" if "sha256" in net else "") + ").",
    ]
    if net.get("provenance", {}).get("command"):
        lines[-1] += f" Made by `{net['provenance']['command']}`."
    if net["label"] == "untrained":
        lines += ["", "**These DCDM numbers are for the untrained network (the classical "
                  "V-cycle it starts from), not a trained one.**"]
    lines += [
        "",
        f"Each system: `layout(kind, n, seed)` with `smoke_rhs(system, seed)`, seeds "
        f"{SEED0}+ (held out of training); stop at ‖b − A x‖₂/‖b‖₂ ≤ {RTOL:g}; DCDM with "
        f"`max_steps={info['dcdm_max_steps']}`, memory 2. Krylov vectors float64, DCDM's "
        "network float32. Times in seconds; ratios are baseline / DCDM (above 1: DCDM "
        "fewer iterations or faster). Total = setup + solve (see 'What setup includes').",
    ]
    for block in results.values():
        n = block["n"]
        lines += ["", f"## {n}³", "",
                  f"DCDM compile: {block['dcdm_compile_s']:.2f} s (the first call "
                  f"{block['dcdm_first_call_s']:.2f} s, compile + run), once for every layout "
                  "of this size"
                  + (f"; recompiled for {', '.join(block['dcdm_recompiled'])}!"
                     if block["dcdm_recompiled"] else "") + ".", "",
                  "| layout | unknowns | solver | iterations | setup s | solve s | total s "
                  "| true rel. residual | reached 1e-6 | iterations / DCDM | total / DCDM |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in block["cases"]:
            d = c["solvers"]["dcdm"]
            for s in SOLVERS:
                r = c["solvers"][s]
                conv = "yes" if r["converged"] else "**FAILED**"
                if s == "dcdm":
                    ratio_it = ratio_t = "1"
                    if not r["converged"]:
                        conv += f" ({r['status']})"
                else:
                    ratio_it = _f(r["iterations"] / d["iterations"] if d["iterations"] else None,
                                  "{:.1f}")
                    ratio_t = _f(r["total_s"] / d["total_s"], "{:.2f}")
                lines.append(
                    f"| {c['layout']} | {c['unknowns']:,} | {LABELS[s]} | {r['iterations']} | "
                    f"{_f(r['setup_s'], '{:.4f}')} | {_f(r['solve_s'])} | {_f(r['total_s'])} | "
                    f"{r['true_residual']:.2e} | {conv} | {ratio_it} | {ratio_t} |")
        lines += ["", "DCDM inside the solve and its pieces alone (ms):", "",
                  "| layout | iterations | per iteration in solve | network alone "
                  "| matvec alone | in-loop / (network + matvec) | setup |",
                  "|---|---|---|---|---|---|---|"]
        for c in block["cases"]:
            d = c["solvers"]["dcdm"]
            lines.append(
                f"| {c['layout']} | {d['iterations']} | {_f(d['per_iteration_s'] * 1e3, '{:.1f}')}"
                f" | {d['network_apply_s'] * 1e3:.1f} | {d['matvec_s'] * 1e3:.2f} | "
                f"{_f(d['in_loop_over_alone'], '{:.1f}')} | {d['setup_s'] * 1e3:.1f} |")
        x = block["cg_cross_check"]
        lines += ["", f"Cross-check, {x['layout']}: sciml `CG(rtol={RTOL:g})` "
                  f"{x['iterations']} iterations ({x['status']}, true residual "
                  f"{x['true_residual']:.2e}, {x['solve_s']:.2f} s after a "
                  f"{x['compile_s']:.2f} s compile) vs scipy CG {x['scipy_iterations']}."]
    lines += ["", "## Checks", ""]
    mark = {True: "PASS", False: "**FAIL**", None: "not run"}
    lines += [f"- {mark[c['passed']]}: {c['check']}: {c['detail']}" for c in check_list]
    last = list(results.values())[-1]
    lines += ["", f"DCDM totals exclude its compile time ({last['dcdm_compile_s']:.2f} s at "
              f"{last['n']}³), paid once per process and grid size.",
              "", "## What setup includes, and notes", ""] + [f"- {n}" for n in info["notes"]]
    if info.get("figures"):
        lines += ["", "Figures: " + ", ".join(f"`{f}`" for f in info["figures"]) + "."]
    return "\n".join(lines) + "\n"


def figures(results: dict, stem: str, out_dir: Path, label: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sciml.io import atomic_write_bytes

    def save(fig, name):
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        atomic_write_bytes(out_dir / name, buf.getvalue())
        return name

    written = []
    largest = list(results.values())[-1]
    h = largest["histories"]
    if h:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for s in SOLVERS:
            y = np.asarray(h[s], float)
            ax.semilogy(np.arange(len(y)), y, label=f"{LABELS[s]} ({len(y) - 1})")
        ax.axhline(RTOL, color="k", lw=0.8, ls=":")
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlim(0, None)
        ax.set_xlabel("iteration")
        ax.set_ylabel("‖b − A x_k‖₂ / ‖b‖₂")
        ax.set_title(f"{h['layout']}, {h['n']}³, network: {label}")
        ax.legend(fontsize=8)
        written.append(save(fig, f"{stem}-residuals.png"))
    slices = largest["_slices"]
    if slices:
        fig, axes = plt.subplots(len(slices), 2, figsize=(6.5, 3.0 * len(slices)),
                                 squeeze=False, layout="constrained")
        for row, (kind, s) in zip(axes, slices.items(), strict=True):
            row[0].imshow(s["fluid"].T, origin="lower", cmap="gray", vmin=0, vmax=1)
            row[0].set_title(f"{kind}: fluid (white), x = 1/2", fontsize=9)
            im = row[1].imshow(s["solution"].T, origin="lower", cmap="viridis")
            row[1].set_title(f"{kind}: pressure, from {LABELS[s['source']]}", fontsize=9)
            fig.colorbar(im, ax=row[1], fraction=0.046)
            row[0].set_ylabel("z (open top)")
        for a in axes[-1]:
            a.set_xlabel("y")
        written.append(save(fig, f"{stem}-layouts.png"))
    return written


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--sizes", type=int, nargs="+", metavar="N",
                    help="grid sizes instead of --size's (quick checks; e.g. 16 32)")
    ap.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS),
                    help="a subset of the layouts (quick checks)")
    ap.add_argument("--network", default="pretrained",
                    help="'pretrained' (default: sciml.precond.pretrained()'s file), "
                    "'untrained', or the path of a saved network")
    ap.add_argument("--dcdm-max-steps", type=int, default=100)
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    ap.add_argument("--tag", help="suffix of the result files")
    args = ap.parse_args(argv)

    sizes = tuple(sorted(args.sizes)) if args.sizes else SIZES[args.size]
    layouts = [k for k in LAYOUTS if k in args.layouts]
    size_label = args.size if not args.sizes else "n" + "-".join(map(str, sizes))
    stem = f"{NAME}-{size_label}"
    if layouts != list(LAYOUTS):
        stem += "-" + "-".join(layouts)
    if args.network == "untrained":
        stem += "-untrained"
    if args.tag:
        stem += f"-{args.tag}"
    obstacles = [k for k in layouts if k != "empty"]
    figure_layout = "mixed" if "mixed" in obstacles else (obstacles or [None])[0]

    network, net_info = load(args.network)
    log(f"network: {net_info['label']} ({net_info['source']}); sizes {sizes}; "
        f"layouts {layouts}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    results = run(sizes, layouts, network, args.dcdm_max_steps, figure_layout)
    check_list = checks(results, sizes, layouts)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    figs = figures(results, stem, args.out_dir, net_info["label"])
    info = meta(size=args.size, size_label=size_label, sizes=list(sizes), layouts=layouts,
                seeds={k: SEED0 + LAYOUTS.index(k) for k in layouts}, rtol=RTOL,
                dcdm_max_steps=args.dcdm_max_steps, network=net_info,
                openblas_num_threads=os.environ.get("OPENBLAS_NUM_THREADS"),
                loadavg_start=load0, loadavg_end=os.getloadavg(),
                wall_s=time.perf_counter() - t0, notes=NOTES, figures=figs)
    from sciml.provenance import versions

    info["machine"]["versions"].update(versions(("lineax", "pyamg", "ilupp")))
    for block in results.values():
        block.pop("_slices")
    write_json(args.out_dir / f"{stem}.json", {**info, "results": results,
                                               "checks": check_list})
    from sciml.io import atomic_write_text

    atomic_write_text(args.out_dir / f"{stem}.md", markdown(info, results, check_list))
    log(f"wrote {args.out_dir / stem}.{{json,md}} and {', '.join(figs)} "
        f"in {info['wall_s']:.0f} s")
    for c in check_list:
        log(f"  {({True: 'PASS', False: 'FAIL', None: 'not run'})[c['passed']]}: "
            f"{c['check']}: {c['detail']}")


if __name__ == "__main__":
    main()
