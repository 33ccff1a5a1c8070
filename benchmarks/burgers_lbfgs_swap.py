"""Burgers `sciml-same`: the same start and loss under two L-BFGS implementations.

Why `sciml-same` in `burgers_vs_deepxde.py` ends above DeepXDE although both train the same
network with the same Adam schedule: this benchmark holds everything but the L-BFGS phase
fixed. Per seed it runs `sciml-same`'s Adam phase (float32, its network, points and soft
loss, exactly as that benchmark builds them) and then, from that one network and on that
one loss (the trainer's own, 2540 Sobol + 80 boundary + 160 initial points):

- `optax m20`: the L-BFGS phase `train_pinn` runs (`optax.lbfgs`, memory 20, zoom line
  search) for as many steps as the `sciml-same` rows (6617, DeepXDE's median L-BFGS count);
- `optax m100`: the same with memory 100, DeepXDE's history size;
- `torch`: `torch.optim.LBFGS` configured as DeepXDE configures it for `model.compile(
  "L-BFGS")` (lr 1, history 100, strong-Wolfe line search, tolerance_grad 1e-8,
  tolerance_change 0, at most 15000 iterations), on a port of the network and loss whose
  loss at the start matches the JAX one (the `start loss` columns);
- `optax m100, torch's count`: memory 100 for as many iterations as torch took, which
  separates the iteration count from the implementation.

Needs the benchmark environment (`benchmarks/requirements-peers.txt`, sciml installed):

    python benchmarks/burgers_lbfgs_swap.py --size small   # 1 seed, short phases, ~2 min
    python benchmarks/burgers_lbfgs_swap.py --size full    # 3 seeds, ~15 min

Writes `results/burgers_lbfgs_swap-<size>.{json,md}`. Errors are relative L2 on the
256 × 100 grid of `burgers_vs_deepxde.py` against the Cole–Hopf reference.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402
from burgers_vs_deepxde import T_END, eval_grid, same_setup  # noqa: E402

SIZES = {
    "small": dict(seeds=(0,), adam=300, lbfgs=100, torch_max=100),
    "full": dict(seeds=(0, 1, 2), adam=15000, lbfgs=6617, torch_max=15000),
}


def torch_lbfgs(model, problem, pts, bpts, gb, max_iter: int, threads: int):
    """DeepXDE's L-BFGS (PyTorch, float32) from `model`'s weights on the same soft loss;
    returns (start loss, final loss, iterations, wall s, predict function)."""
    import torch

    torch.set_num_threads(threads)
    W = [torch.tensor(np.asarray(layer.weight), requires_grad=True) for layer in model.mlp.layers]
    B = [torch.tensor(np.asarray(layer.bias), requires_grad=True) for layer in model.mlp.layers]
    lo, hi = torch.tensor(np.asarray(model.lower)), torch.tensor(np.asarray(model.upper))

    def u_of(x):  # sciml.nn.MLP: box to [-1, 1], tanh hidden layers, linear scalar output
        h = 2.0 * (x - lo) / (hi - lo) - 1.0
        for w, b in zip(W[:-1], B[:-1], strict=True):
            h = torch.tanh(h @ w.T + b)
        return (h @ W[-1].T + B[-1]).reshape(-1)

    X = torch.tensor(np.asarray(pts), requires_grad=True)
    XB, GB = torch.tensor(np.asarray(bpts)), torch.tensor(np.asarray(gb))

    def loss():
        u = u_of(X)
        g = torch.autograd.grad(u.sum(), X, create_graph=True)[0]
        uxx = torch.autograd.grad(g[:, 0].sum(), X, create_graph=True)[0][:, 0]
        r = g[:, 1] + u * g[:, 0] - problem.nu * uxx
        return (r ** 2).mean() + ((u_of(XB) - GB) ** 2).mean()

    start = float(loss().detach())
    opt = torch.optim.LBFGS(W + B, lr=1, max_iter=max_iter, tolerance_grad=1e-8,
                            tolerance_change=0, history_size=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        value = loss()
        value.backward()
        return value

    t = time.perf_counter()
    opt.step(closure)
    wall = time.perf_counter() - t
    n_iter = int(opt.state[opt._params[0]]["n_iter"])

    def predict(x):
        with torch.no_grad():
            return u_of(torch.tensor(np.asarray(x, np.float32))).numpy().astype(float)

    return start, float(loss().detach()), n_iter, wall, predict


def run_seed(size: str, seed: int, threads: int) -> dict:
    import jax
    import optax

    from sciml.problems.pde import Burgers
    from sciml.solvers import fit, predict, train_pinn
    from sciml.solvers._pinn import ResidualLoss, _make_loss

    cfg = SIZES[size]
    pts_e, ref = eval_grid()
    err = lambda u: float(np.linalg.norm(u - ref) / np.linalg.norm(ref))
    problem = Burgers(t_end=T_END)
    # sciml-same's network, constraint, sampler and Adam phase, without its L-BFGS phase
    net, config, constraint, sampler = same_setup(problem, seed, cfg["adam"], 0)
    key = jax.random.key(1000 + seed)
    res = train_pinn(problem, net, sampler, config, constraint=constraint, key=key)
    model = res.model
    _, _, kb = jax.random.split(key, 3)  # the boundary points as train_pinn draws them
    bpts = constraint.points(problem, kb)
    loss_fn = _make_loss(problem, ResidualLoss(), constraint)
    data = (jax.numpy.asarray(res.points), None, bpts)
    jloss = lambda m: float(loss_fn(m, data)[0])
    row = dict(seed=seed, adam_steps=cfg["adam"], dtype=str(res.points.dtype),
               after_adam=dict(rel_l2=err(predict(model, pts_e)), loss=jloss(model)))

    def optax_arm(memory: int, steps: int) -> dict:
        t = time.perf_counter()
        r = fit(model, loss_fn, optax.lbfgs(memory_size=memory), steps=steps, data=data,
                has_aux=True, log_every=steps)
        return dict(rel_l2=err(predict(r.model, pts_e)), loss=jloss(r.model), steps=steps,
                    wall_s=time.perf_counter() - t)

    row["optax m20"] = optax_arm(20, cfg["lbfgs"])
    row["optax m100"] = optax_arm(100, cfg["lbfgs"])
    gb = jax.vmap(problem.boundary_value)(bpts)
    start, final, n_iter, wall, tpredict = torch_lbfgs(model, problem, res.points, bpts, gb,
                                                       cfg["torch_max"], threads)
    if abs(start - row["after_adam"]["loss"]) > 1e-4 * row["after_adam"]["loss"]:
        raise RuntimeError(f"the PyTorch port's loss {start:.6e} is not the JAX loss "
                           f"{row['after_adam']['loss']:.6e}: the arms would not share a loss")
    row["torch start loss"] = start
    row["torch"] = dict(rel_l2=err(tpredict(pts_e)), loss=final, steps=n_iter, wall_s=wall)
    row["optax m100, torch's count"] = optax_arm(100, n_iter)
    return row


ARMS = ("optax m20", "optax m100", "torch", "optax m100, torch's count")


def write_markdown(rows: list, info: dict, path: Path) -> None:
    from sciml.io import atomic_write_text

    lines = [f"# Burgers sciml-same: one start, two L-BFGS implementations ({info['size']})", "",
             f"`{info['command']}` on {info['machine']['platform']}, "
             f"{info['machine']['cpu_count']} cores, {info['date']}; torch "
             f"{info['torch']} ({info['threads']} threads), float32 throughout. Each arm "
             "starts from the same network after sciml-same's Adam phase and minimises the "
             "same loss; the start losses of the JAX and PyTorch ports are both listed. "
             "Errors: relative L2 against Cole–Hopf; an optax arm's wall time includes "
             "its compilation.", "",
             "| seed | after Adam: rel. L2 (loss) | start loss JAX / torch | "
             + " | ".join(f"{a}: rel. L2 (loss, steps, s)" for a in ARMS) + " |",
             "|---|---|---|" + "---|" * len(ARMS)]
    for r in rows:
        cells = [f"{r[a]['rel_l2']:.2e} ({r[a]['loss']:.1e}, {r[a]['steps']}, "
                 f"{r[a]['wall_s']:.0f})" for a in ARMS]
        lines.append(f"| {r['seed']} | {r['after_adam']['rel_l2']:.2e} "
                     f"({r['after_adam']['loss']:.2e}) | {r['after_adam']['loss']:.6e} / "
                     f"{r['torch start loss']:.6e} | " + " | ".join(cells) + " |")
    atomic_write_text(path, "\n".join(lines) + "\n")


def main(argv=None) -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--threads", type=int, default=2, help="PyTorch threads (DeepXDE's "
                    "default on this machine is the core count)")
    args = ap.parse_args(argv)
    rows = []
    for seed in SIZES[args.size]["seeds"]:
        rows.append(run_seed(args.size, seed, args.threads))
        r = rows[-1]
        print(f"seed {seed}: " + ", ".join(f"{a} {r[a]['rel_l2']:.2e}" for a in ARMS),
              file=sys.stderr, flush=True)
    info = meta(size=args.size, torch=torch.__version__, threads=args.threads)
    stem = f"burgers_lbfgs_swap-{args.size}"
    write_json(RESULTS / f"{stem}.json", {**info, "rows": rows})
    write_markdown(rows, info, RESULTS / f"{stem}.md")


if __name__ == "__main__":
    main()
