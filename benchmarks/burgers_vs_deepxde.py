"""Burgers PINN, time to accuracy: sciml beside DeepXDE 1.15 (PyTorch), one run, one figure.

Every configuration runs in its own subprocess of this interpreter (DeepXDE keeps global
state), once per seed, and records the relative L2 error against the Cole–Hopf reference
(`sciml.problems.pde.Burgers`, 256 × 100 grid of (x, t) in [−1, 1] × [0, 0.99]) as a
function of wall time. Wall time starts before the model is built and compiled and
excludes the error evaluations (each is timed and subtracted).

1. `deepxde`: DeepXDE's own example (`benchmarks/_peers/deepxde_burgers.py`) as it is
   written: FNN 2-20×3-1 tanh (Glorot normal), 2540 domain + 80 boundary + 160 initial
   points, Adam 15000 at 1e-3, then `model.compile("L-BFGS")` with DeepXDE's default
   options; PyTorch backend, PyTorch's default threads, float32.
2. `sciml-same`: sciml with that network (size, tanh, Glorot-normal init), point
   counts (soft boundary and initial losses), Adam steps and rate, then L-BFGS for as
   many iterations as DeepXDE's median seed took; float32. Why it ends above DeepXDE:
   `burgers_lbfgs_swap.py` runs its Adam endpoint under both L-BFGS implementations.
3. `sciml-best`: what sciml users run for Burgers (the `pde.burgers.rad` validation
   case): hard constraints, RAD resampling of 4000 points in 10 rounds, an MLP 2-24×4-1,
   dense BFGS with a strong-Wolfe line search, float64.

Needs the benchmark environment (`benchmarks/requirements-peers.txt`; sciml installed in
it):

    python benchmarks/burgers_vs_deepxde.py --size small   # 1 seed, short budgets, ~1 min
    python benchmarks/burgers_vs_deepxde.py --size full    # 3 seeds each, ~20 min

Writes `results/burgers_vs_deepxde-<size>.{json,md,png}`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402

SIZES = {
    "small": dict(seeds=(0,), adam=1500, lbfgs=500, best=dict(rounds=4, adam_steps=1200)),
    "full": dict(seeds=(0, 1, 2), adam=15000, lbfgs=None, best={}),
}
T_END = 0.99
TARGET = 1e-3  # the accuracy target for sciml-best
BUDGET_S = 124.0  # DeepXDE's measured time for its example on this machine (the issue)


def eval_grid():
    from sciml.problems.pde import Burgers

    x = np.linspace(-1, 1, 256)
    t = np.linspace(0, T_END, 100)
    pts = np.stack(np.meshgrid(x, t, indexing="ij"), -1).reshape(-1, 2)
    return pts, Burgers(t_end=T_END).solution(pts)


class Clock:
    """Wall time since `start`, minus the time spent in `measure` (error evaluations)."""

    def __init__(self):
        self.start, self.excluded, self.trace = time.perf_counter(), 0.0, []

    def measure(self, step: int, error) -> None:
        t = time.perf_counter()
        stamp = t - self.start - self.excluded  # training time up to this evaluation
        err = float(error())
        self.excluded += time.perf_counter() - t
        self.trace.append((stamp, step, err))

    def now(self) -> float:
        return time.perf_counter() - self.start - self.excluded


def same_setup(problem, seed: int, adam_steps: int, lbfgs_steps: int):
    """`sciml-same`: DeepXDE's example in sciml terms, as (network, `PINNConfig`, soft
    constraint, sampler); the trainer's key is `jax.random.key(1000 + seed)`."""
    import jax

    from sciml.solvers import PINNConfig, Soft
    from sciml.validation.factories import build_network, make_sampler

    net = build_network("mlp", problem, key=jax.random.key(seed), width=20, depth=3,
                        init="glorot_normal")
    config = PINNConfig(adam_steps=adam_steps, learning_rate=1e-3, final_lr_ratio=1.0,
                        lbfgs_steps=lbfgs_steps, log_every=500)
    return (net, config, Soft(weight=1.0, n_boundary=80, n_initial=160),
            make_sampler("sobol", 2540))


def sciml_worker(kind: str, size: str, seed: int, lbfgs_steps: int | None) -> dict:
    import jax

    if kind == "sciml-best":
        jax.config.update("jax_enable_x64", True)
    from sciml.problems.pde import Burgers
    from sciml.solvers import PINNConfig, predict, train_pinn
    from sciml.validation.cases.pde import FULL
    from sciml.validation.factories import build_network, make_sampler

    cfg = SIZES[size]
    pts, ref = eval_grid()
    rel = lambda m: np.linalg.norm(predict(m, pts) - ref) / np.linalg.norm(ref)
    clock = Clock()
    problem = Burgers(t_end=T_END)
    if kind == "sciml-same":
        net, config, constraint, sampler = same_setup(problem, seed, cfg["adam"],
                                                      lbfgs_steps or cfg["lbfgs"])
        setup = ("MLP 2-20x3-1 tanh (Glorot normal), 2540 Sobol + 80 boundary + 160 initial "
                 "points (soft), "
                 f"Adam {config.adam_steps} at 1e-3 + L-BFGS {config.lbfgs_steps}, float32")
    else:
        spec = FULL["burgers.rad"][0]
        net = build_network(spec.network, problem, key=jax.random.key(seed), **spec.net)
        config = PINNConfig(**{**spec.config, **cfg["best"], "log_every": 200})
        constraint = None
        sampler = make_sampler(spec.sampler, spec.n_points, **spec.sampler_args)
        setup = (f"{spec.network} {spec.net}, {spec.sampler} {spec.n_points} points in "
                 f"{config.rounds} rounds, hard constraints, {config.optimiser} "
                 f"{config.adam_steps}" + (f" + L-BFGS {config.lbfgs_steps}"
                                           if config.lbfgs_steps else "") + ", float64")
    res = train_pinn(problem, net, sampler, config, constraint=constraint,
                     key=jax.random.key(1000 + seed),
                     callbacks=[lambda r: clock.measure(r.step, lambda: rel(r.model))])
    wall = clock.now()
    err = float(rel(res.model))
    return dict(rel_l2=err, wall_time_s=wall, setup=setup, seed=seed,
                trace=clock.trace + [(wall, -1, err)],
                final_loss=float(res.history.loss.values[-1]),
                dtype=str(jax.numpy.zeros(()).dtype), jax_version=jax.__version__)


def deepxde_worker(size: str, seed: int) -> dict:
    from _peers.deepxde_burgers import run_deepxde_burgers

    cfg = SIZES[size]
    pts, ref = eval_grid()
    out = run_deepxde_burgers(adam_steps=cfg["adam"], lbfgs_steps=cfg["lbfgs"], seed=seed,
                              eval_points=pts, eval_values=ref, trace_every=500)
    out["seed"] = seed
    return {k: v for k, v in out.items() if not isinstance(v, np.ndarray)}


def run_sub(kind: str, size: str, seed: int, lbfgs_steps: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--size", size, "--seed", str(seed)]
    if lbfgs_steps is not None:
        cmd += ["--lbfgs-steps", str(lbfgs_steps)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True,
                         env={**os.environ, "DDE_BACKEND": "pytorch"})
    if out.returncode:
        raise RuntimeError(f"{kind} seed {seed} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - t0
    print(f"{kind} seed {seed}: rel. L2 {result['rel_l2']:.3e} in {result['wall_time_s']:.1f} s",
          file=sys.stderr, flush=True)
    return result


def time_to(trace, level: float) -> float | None:
    """First wall time at which the recorded error is at or below `level` (None: never)."""
    return next((t for t, _, e in trace if e <= level), None)


def figure(rows: dict, path: Path, size: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sciml.io import atomic_path

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for i, (kind, runs) in enumerate(rows.items()):
        for j, r in enumerate(runs):
            t, _, e = np.asarray(r["trace"], dtype=float).T
            ax.loglog(np.maximum(t, 0.1), e, color=f"C{i}", alpha=0.85, lw=1.2,
                      label=kind if j == 0 else None)
    ax.axhline(TARGET, color="0.4", ls=":", lw=1)
    ax.axvline(BUDGET_S, color="0.4", ls="--", lw=1)
    ax.set_xlabel("wall time (s): compilation included, error evaluation excluded")
    ax.set_ylabel("relative L2 error vs Cole–Hopf")
    ax.set_title(f"Burgers ν = 0.01/π: error against time ({size}; one line per seed)")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--worker", choices=("deepxde", "sciml-same", "sciml-best"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lbfgs-steps", type=int)
    ap.add_argument("--only", nargs="+", choices=("deepxde", "sciml-same", "sciml-best"),
                    help="run these configurations (others are kept from the results file)")
    args = ap.parse_args(argv)
    if args.worker == "deepxde":
        print(json.dumps(deepxde_worker(args.size, args.seed), default=float))
        return
    if args.worker:
        print(json.dumps(sciml_worker(args.worker, args.size, args.seed, args.lbfgs_steps),
                         default=float))
        return
    stem = f"burgers_vs_deepxde-{args.size}"
    seeds = SIZES[args.size]["seeds"]
    old = RESULTS / f"{stem}.json"
    rows = json.loads(old.read_text())["rows"] if args.only and old.exists() else {}
    if not args.only or "deepxde" in args.only:
        rows["deepxde"] = [run_sub("deepxde", args.size, s) for s in seeds]
    done = int(np.median([r["lbfgs_steps_done"] for r in rows["deepxde"]])) or None
    for kind in ("sciml-same", "sciml-best"):
        if not args.only or kind in args.only:
            rows[kind] = [run_sub(kind, args.size, s, done if kind == "sciml-same" else None)
                          for s in seeds]
    info = meta(size=args.size, target=TARGET, budget_s=BUDGET_S)
    write_json(RESULTS / f"{stem}.json", {**info, "rows": rows})
    figure(rows, RESULTS / f"{stem}.png", args.size)
    write_markdown(rows, info, RESULTS / f"{stem}.md", args.size)


def write_markdown(rows: dict, info: dict, path: Path, size: str) -> None:
    from sciml.io import atomic_write_text

    d_final = [r["rel_l2"] for r in rows["deepxde"]]
    d_time = float(np.median([r["wall_time_s"] for r in rows["deepxde"]]))
    lines = [f"# Burgers PINN: time to accuracy, sciml vs DeepXDE ({size})", "",
             f"`{info['command']}` on {info['machine']['platform']}, "
             f"{info['machine']['cpu_count']} cores, {info['date']}. Wall time includes "
             "compilation and excludes error evaluation; errors on a 256 × 100 grid against "
             "the Cole–Hopf reference. Figure: "
             f"`{path.with_suffix('.png').name}`.", "",
             f"| run | seed | final rel. L2 | wall time (s) | time to {TARGET:.0e} (s) | time to "
             f"DeepXDE's median final error (s) | setup |", "|---|---|---|---|---|---|---|"]
    level = float(np.median(d_final))
    for kind, runs in rows.items():
        for r in runs:
            setup = r.get("setup") or (
                f"FNN 2-20x3-1 tanh, {r['n_domain']}+{r['n_boundary']}+{r['n_initial']} "
                f"points, Adam {r['adam_steps']} + L-BFGS {r['lbfgs_steps_done']} "
                f"({r['lbfgs_options']} options), torch {r['torch_version']} "
                f"({r['torch_threads']} threads),"
                f" {'float64' if r['float64'] else 'float32'}")
            t1, t2 = time_to(r["trace"], TARGET), time_to(r["trace"], level)
            fmt = lambda t: "never" if t is None else f"{t:.1f}"
            lines.append(f"| {kind} | {r['seed']} | {r['rel_l2']:.2e} | {r['wall_time_s']:.1f} "
                         f"| {fmt(t1)} | {fmt(t2)} | {setup} |")
    lines += ["", f"DeepXDE's median wall time {d_time:.1f} s, median final error "
              f"{level:.2e}."]
    atomic_write_text(path, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
