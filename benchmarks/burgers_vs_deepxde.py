"""Burgers PINN: sciml beside DeepXDE 1.15 (PyTorch), same network, points and steps.

One run, each configuration in its own subprocess of this interpreter (DeepXDE keeps
global state), all evaluated on the same 256 × 100 grid of (x, t) in [−1, 1] × [0, 0.99]
against the Cole–Hopf reference (`sciml.problems.pde.Burgers`), relative L2 over the grid:

1. `deepxde`: DeepXDE's own example (`benchmarks/_peers/deepxde_burgers.py`): FNN 2-20×3-1
   tanh, 2540 domain + 80 boundary + 160 initial points, Adam 15000 at 1e-3, L-BFGS.
2. `sciml-same`: sciml with the same network, points (soft boundary/initial losses with
   the same counts, fixed set), optimiser and steps; L-BFGS gets as many steps as DeepXDE
   took. float32, like DeepXDE.
3. `sciml-best` (with `--with-best`): the validation configuration (`pde.burgers.rad`):
   hard constraints and RAD resampling, float64.

Needs the benchmark environment (README: `/tmp/bench-venv`):

    /tmp/bench-venv/bin/python benchmarks/burgers_vs_deepxde.py --size small  # ~2 min
    /tmp/bench-venv/bin/python benchmarks/burgers_vs_deepxde.py --size full   # ~15 min

Writes `results/burgers_vs_deepxde-<size>.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402

SIZES = {
    "small": dict(adam=1500, lbfgs=500, best=dict(adam_steps=2000, lbfgs_steps=500)),
    "full": dict(adam=15000, lbfgs=15000, best={}),
}
T_END = 0.99


def eval_grid():
    from sciml.problems.pde import Burgers

    x = np.linspace(-1, 1, 256)
    t = np.linspace(0, T_END, 100)
    pts = np.stack(np.meshgrid(x, t, indexing="ij"), -1).reshape(-1, 2)
    return pts, Burgers(t_end=T_END).solution(pts)


def worker(kind: str, size: str, lbfgs_steps: int | None) -> dict:
    cfg = SIZES[size]
    pts, ref = eval_grid()
    if kind == "deepxde":
        from _peers.deepxde_burgers import run_deepxde_burgers

        out = run_deepxde_burgers(adam_steps=cfg["adam"], lbfgs_steps=cfg["lbfgs"],
                                  eval_points=pts, eval_values=ref)
        return {k: v for k, v in out.items() if not isinstance(v, np.ndarray)}
    import jax

    if kind == "sciml-best":
        jax.config.update("jax_enable_x64", True)
    from sciml.problems.pde import Burgers
    from sciml.solvers import PINNConfig, Soft, predict, train_pinn
    from sciml.validation.cases.pde import STUDY
    from sciml.validation.factories import build_network, make_sampler

    if kind == "sciml-same":
        problem = Burgers(t_end=T_END)
        net = build_network("mlp", problem, key=jax.random.key(0), width=20, depth=3)
        config = PINNConfig(adam_steps=cfg["adam"], learning_rate=1e-3, final_lr_ratio=1.0,
                            lbfgs_steps=lbfgs_steps or cfg["lbfgs"])
        constraint = Soft(weight=1.0, n_boundary=80, n_initial=160)
        sampler = make_sampler("sobol", 2540)
        desc = "MLP 2-20x3-1 tanh, 2540 Sobol + 80 boundary + 160 initial points (soft), float32"
    else:
        spec = STUDY["burgers"]
        problem = Burgers(t_end=T_END)
        net = build_network(spec.network, problem, key=jax.random.key(spec.seed), **spec.net)
        config = PINNConfig(**{**spec.config, **cfg["best"]})
        constraint = None
        sampler = make_sampler(spec.sampler, spec.n_points, **spec.sampler_args)
        desc = f"{spec.network} {spec.net}, {spec.sampler} {spec.n_points} points, hard " \
               "constraints, float64"
    res = train_pinn(problem, net, sampler, config, constraint=constraint, key=jax.random.key(1))
    u = predict(res.model, pts)
    err = float(np.linalg.norm(u - ref) / np.linalg.norm(ref))
    return dict(rel_l2=err, wall_time_s=res.wall_time_s, adam_steps=config.adam_steps,
                lbfgs_steps=config.lbfgs_steps, setup=desc,
                final_loss=float(res.history.loss.values[-1]),
                dtype=str(jax.numpy.zeros(()).dtype))


def run_sub(kind: str, size: str, lbfgs_steps: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--size", size]
    if lbfgs_steps is not None:
        cmd += ["--lbfgs-steps", str(lbfgs_steps)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env={
        **__import__("os").environ, "DDE_BACKEND": "pytorch"})
    if out.returncode:
        raise RuntimeError(f"{kind} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - t0
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--worker", choices=("deepxde", "sciml-same", "sciml-best"))
    ap.add_argument("--lbfgs-steps", type=int)
    ap.add_argument("--with-best", action="store_true",
                    help="also run the validation configuration (pde.burgers.rad)")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.size, args.lbfgs_steps), default=float))
        return
    rows = {"deepxde": run_sub("deepxde", args.size)}
    done = rows["deepxde"].get("lbfgs_steps_done") or SIZES[args.size]["lbfgs"]
    rows["sciml-same"] = run_sub("sciml-same", args.size, int(done))
    if args.with_best:
        rows["sciml-best"] = run_sub("sciml-best", args.size)
    info = meta(size=args.size)
    stem = f"burgers_vs_deepxde-{args.size}"
    write_json(RESULTS / f"{stem}.json", {**info, "rows": rows})
    d = rows["deepxde"]
    lines = [f"# Burgers PINN: sciml vs DeepXDE ({args.size})", "",
             f"`{info['command']}` on {info['machine']['platform']}, "
             f"{info['machine']['cpu_count']} cores, {info['date']}.", "",
             "| run | rel. L2 | training wall time (s) | time ratio vs DeepXDE | setup |",
             "|---|---|---|---|---|"]
    for k, r in rows.items():
        setup = r.get("setup") or (f"FNN 2-20x3-1 tanh, {r['n_domain']}+{r['n_boundary']}+"
                                   f"{r['n_initial']} points, Adam {r['adam_steps']} + "
                                   f"L-BFGS {r['lbfgs_steps_done']}, torch {r['torch_version']}")
        lines.append(f"| {k} | {r['rel_l2']:.2e} | {r['wall_time_s']:.1f} | "
                     f"{r['wall_time_s'] / d['wall_time_s']:.2f} | {setup} |")
    from sciml.io import atomic_write_text

    atomic_write_text(RESULTS / f"{stem}.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
