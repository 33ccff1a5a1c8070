"""Why the eigen-PINN defaults are what they are: configurations tried → per-state errors,
certificates and wall time (issue 12).

Each run is `solve_eigenstates(well, n, config=EigenPINNConfig(**overrides),
key=PRNGKey(seed))` in float64, in its own subprocess (so no run reuses another's compiled
code), on the wells with their default parameters (the finite well is the README example's:
L = 1, depth 100, width 0.5). Per state it records the errors against the exact eigenpair
(`compare_with_exact`: relative energy error, normalised sign-aligned ψ L2 error), the
certificate (`EigenSolution`: residual norm η, gap δ, energy and ψ bounds, certified), the
L-BFGS steps taken and the wall time (compilation included).

Rows:

- `HEAD defaults`: the defaults before issue 12 (width 24, depth 2, L-BFGS 4000 steps with
  memory 20, no early stop) *with the networks' input boxes trained*, as they were: in the
  finite well's state 2 the box of the last region collapses (lower ≈ upper), every tanh
  unit saturates, that network is a constant, and its region keeps a residual no step
  removes (4.6e-4 energy error, 9.3e-3 ψ error).
- `boxes fixed`: the same, the input boxes held fixed (the fix).
- `+ L-BFGS memory 100`: and a longer L-BFGS memory, which lowers the residual norm η that
  the certificate needs.
- `new defaults`: `EigenPINNConfig()` today: up to 8000 L-BFGS steps, stopping once the
  state's provisional certificate is within half its tolerances (issue 12), started from
  the last-layer Ritz minimiser with decaying pieces in forbidden regions instead of 500
  Adam Ritz steps (issue 16). Every other row keeps issue 12's start (`HEAD`).
- `capacity (32×3, boxes trained)`: the old validation case's remedy, more capacity.

`--size small` runs the README example (finite well, 3 states) for the first and last rows
(~1.5 min); `--size full` runs every row on the three wells (3 states each, seed 0), the new
defaults also for seeds 1 and 2, and the ground states alone (the quick validation suite's
cases) for the first and new defaults (~17 min on 2 cores). Writes
`results/eigen_defaults.md` (full) or `results/eigen_defaults-small.md`.

    python benchmarks/eigen_defaults.py --size small
    python benchmarks/eigen_defaults.py --size full
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, meta  # noqa: E402

WELLS = ("infinite_well", "finite_well", "finite_barrier")
# Issue 12's settings, including the start of its time (500 Adam Ritz steps, no last-layer
# Ritz start, no decaying pieces): issue 16's start alone certifies 9/9 states even with
# trained boxes, which would hide what each issue-12 row changed.
HEAD = dict(lbfgs_steps=4000, lbfgs_memory=20, stop_margin=0.0, ritz_steps=500,
            last_layer_ritz=False, envelopes=False)
ROWS = {
    "HEAD defaults": dict(config=HEAD, train_boxes=True),
    "boxes fixed": dict(config=HEAD, train_boxes=False),
    "+ L-BFGS memory 100": dict(config={**HEAD, "lbfgs_memory": 100}, train_boxes=False),
    "new defaults": dict(config={}, train_boxes=False),
    "capacity (32×3, boxes trained)": dict(config={**HEAD, "width": 32, "depth": 3},
                                          train_boxes=True),
}


def run_case(spec: dict) -> dict:
    """One solve (in this process): the per-state errors, certificate and times."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import equinox as eqx

    import sciml.solvers._eigen_pinn as eigen
    from sciml.problems import get_problem
    from sciml.solvers import EigenPINNConfig, compare_with_exact, solve_eigenstates

    if spec["train_boxes"]:  # the behaviour before issue 12: every inexact array trains
        def trainable(model, *, energy):
            s = jax.tree.map(eqx.is_inexact_array, model)
            return s if energy else eqx.tree_at(lambda m: m.e, s, False)

        eigen._trainable = trainable
    well = get_problem(spec["well"])
    t0 = time.perf_counter()
    states = solve_eigenstates(well, spec["n"], config=EigenPINNConfig(**spec["config"]),
                               key=jax.random.PRNGKey(spec["seed"]))
    wall = time.perf_counter() - t0
    rows = []
    for s in states:
        err = compare_with_exact(s, well)
        phase = s.history.phase.values
        rows.append({"state": s.index, "energy_rel_error": err["energy_rel_error"],
                     "psi_l2_error": err["psi_l2_error"], "residual_norm": s.residual_norm,
                     "gap": s.gap, "energy_rel_bound": s.energy_rel_bound,
                     "psi_bound": s.psi_bound, "certified": s.certified,
                     "lbfgs_steps": int(sum(p.endswith("L-BFGS") for p in phase))
                     * EigenPINNConfig(**spec["config"]).log_every,
                     "wall_time_s": s.wall_time_s})
    return {**spec, "states": rows, "wall_s": wall}


def _subprocess(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--case", json.dumps(spec)],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"case {spec} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _table(results: list[dict]) -> list[str]:
    lines = ["| configuration | well | seed | n | energy rel. error | ψ L2 error | η | gap δ | "
             "energy bound (rel.) | ψ bound | certified | L-BFGS steps | state time s | "
             "solve time s |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|"]
    for r in results:
        for i, s in enumerate(r["states"]):
            ok = (s["energy_rel_error"] <= 1e-5 and s["psi_l2_error"] <= 1e-4)
            mark = "" if ok else " ✗"
            lines.append(
                f"| {r['row']} | {r['well']} | {r['seed']} | {s['state']} | "
                f"{s['energy_rel_error']:.1e}{mark} | {s['psi_l2_error']:.1e}{mark} | "
                f"{s['residual_norm']:.1e} | {s['gap']:.3g} | {s['energy_rel_bound']:.1e} | "
                f"{s['psi_bound']:.1e} | {'yes' if s['certified'] else 'no'} | "
                f"{s['lbfgs_steps']} | {s['wall_time_s']:.1f} | "
                f"{r['wall_s']:.1f}{'' if i == 0 else ' ″'} |")
    return lines


def _summary(results: list[dict]) -> list[str]:
    lines = ["| configuration | runs | states meeting both targets | states certified | "
             "worst energy rel. error | worst ψ L2 error | total solve time s |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    for row in dict.fromkeys(r["row"] for r in results):
        rs = [r for r in results if r["row"] == row]
        states = [s for r in rs for s in r["states"]]
        good = sum(s["energy_rel_error"] <= 1e-5 and s["psi_l2_error"] <= 1e-4 for s in states)
        lines.append(f"| {row} | {len(rs)} | {good}/{len(states)} | "
                     f"{sum(s['certified'] for s in states)}/{len(states)} | "
                     f"{max(s['energy_rel_error'] for s in states):.1e} | "
                     f"{max(s['psi_l2_error'] for s in states):.1e} | "
                     f"{sum(r['wall_s'] for r in rs):.0f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("small", "full"), default="small")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: one run, JSON out
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return 0

    if args.size == "small":
        plan = [(row, "finite_well", 0, 3) for row in ("HEAD defaults", "new defaults")]
        plan_ground = []
    else:
        plan = [(row, well, 0, 3) for row in ROWS for well in WELLS]
        plan += [("new defaults", well, seed, 3) for seed in (1, 2) for well in WELLS]
        plan_ground = [(row, well, 0, 1) for row in ("HEAD defaults", "new defaults")
                       for well in WELLS]
    results = []
    for row, well, seed, n in plan + plan_ground:
        spec = {"row": row, "well": well, "seed": seed, "n": n, **ROWS[row]}
        print(f"{row}: {well}, seed {seed}, {n} state(s)", file=sys.stderr, flush=True)
        results.append(_subprocess(spec))
    three = [r for r in results if r["n"] == 3]
    ground = [r for r in results if r["n"] == 1]
    header = meta(size=args.size)
    m = header["machine"]
    lines = [
        "# Eigen-PINN defaults: configurations tried (issue 12)", "",
        f"`{header['command']}` on {m['platform']}, {m['cpu_count']} CPUs, "
        f"Python {m['python']}, {header['date']}; versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".", "",
        "Targets (README): relative energy error ≤ 1e-5 and normalised, sign-aligned ψ L2 "
        "error ≤ 1e-4 for every state (✗ marks a miss). η is the residual norm "
        "‖Hψ − ρψ‖/‖ψ‖ on the certificate's quadrature; the bounds hold when the gap "
        "estimate δ does not exceed the true gap (`EigenSolution`). Times are wall seconds "
        "with compilation, one subprocess per solve, on a machine shared with light work; "
        "the states of one solve share compiled code, so state 1 carries the compilation. "
        "Rows other than `new defaults` set `lbfgs_steps=4000, lbfgs_memory=20, "
        "stop_margin=0` (the HEAD values) and keep the start of that time (`ritz_steps=500, "
        "last_layer_ritz=False, envelopes=False`); `boxes trained` patches the solver back to "
        "training the networks' input boxes (the cause of the miss).", "",
        "All rows run today's solver, which compiles each phase once per solve (the states "
        "share losses, optimisers and shapes; L-BFGS starts from a strongly typed state so "
        "its second chunk does not compile again). HEAD itself (5024508) compiled per "
        "state and twice per L-BFGS phase: on this machine its README example took 118 s "
        "(states 39.7, 36.1, 37.9 s) and its three ground cases 93 s (15.9, 38.0, 38.7 s; "
        "`sciml validate --only quantum_wells.infinite_well.ground "
        "quantum_wells.finite_well.ground quantum_wells.finite_barrier.ground`).", "",
        "Configurations: " + "; ".join(f"`{row}`: {spec['config'] or 'EigenPINNConfig()'}"
                                       + (", input boxes trained" if spec["train_boxes"]
                                          else "")
                                       for row, spec in ROWS.items()
                                       if any(r["row"] == row for r in results)) + ".", "",
        "## Summary (3 states per well)", "", *_summary(three), "",
        "## Per state, 3 states per well", "", *_table(three), "",
    ]
    if ground:
        lines += ["## Ground states alone (the quick suite's `quantum_wells.*.ground` cases)", "",
                  *_table(ground), ""]
    from sciml.io import atomic_write_text

    name = "eigen_defaults.md" if args.size == "full" else "eigen_defaults-small.md"
    atomic_write_text(RESULTS / name, "\n".join(lines))
    print(f"wrote {RESULTS / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
