"""Where an MgNO training step's time goes, beside the FNO's: FLOPs, FLOP rates, and the
convolutions XLA:CPU runs them as.

For the `operator.darcy.mgno` model (width 32, depth 4, 5-level V-cycles) and the
`operator.darcy.fno` model (12 modes, width 32, depth 4) on 64 x 64 fields, batch 20,
float32, this measures

1. the FLOPs of one forward pass and of one gradient (forward + backward) per sample, from
   XLA's cost analysis of the compiled programs;
2. the time of one training step as the cases run it (`train_operator` on random data:
   the median epoch after the compiling one, evaluation-free) and of one jitted forward
   pass, hence the achieved GFLOP/s;
3. the machine's ceiling: a float32 matrix product (1024² and 2048²);
4. every convolution shape a V-cycle runs (3x3, 32 -> 32 channels, stride 1 on 64² ... 4²,
   stride 2 on 64², and the first layer's 1 -> 32), forward, input gradient and weight
   gradient separately.

Each thread setting runs in its own process: `1 core` (pinned with `taskset`, XLA's Eigen
pool off), `default`
(XLA's own threading over both cores) and, for the training step only, `2 devices`
(`--xla_force_host_platform_device_count=2`: `fit` shards each batch over them).

    python benchmarks/mgno_cost.py --size small   # batch 4, ~1 min
    python benchmarks/mgno_cost.py --size full    # batch 20, ~4 min

Writes `results/mgno_cost-<size>.{json,md}`. Time it on a quiet machine.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402

SIZES = {"small": dict(batch=4, reps=3), "full": dict(batch=20, reps=10)}
SETTINGS = {
    "1 core": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "default": "",
    "2 devices": "--xla_force_host_platform_device_count=2",
}
CONVS = [  # (grid, in channels, stride): the V-cycle's 3x3 convolutions, width 32
    (64, 32, 1), (64, 32, 2), (32, 32, 1), (16, 32, 1), (8, 32, 1), (4, 32, 1), (64, 1, 1),
]


def _time(f, *args, reps: int) -> float:
    import jax

    jax.block_until_ready(f(*args))
    t = time.perf_counter()
    for _ in range(reps):
        out = f(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - t) / reps


def _flops(fn, *args) -> float:
    cost = fn.lower(*args).compile().cost_analysis()
    return float((cost[0] if isinstance(cost, list) else cost)["flops"])


def model_worker(kind: str, batch: int, reps: int) -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    from sciml.neural_operators import FNO, MgNO, cast, field_map
    from sciml.solvers import OperatorConfig, train_operator

    key = jax.random.key(0)
    model = (MgNO(1, 1, 32, 4, 5, ndim=2, key=key) if kind == "mgno"
             else FNO(1, 1, (12, 12), 32, 4, key=key))
    model = cast(model, jnp.float32)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random((batch, 1, 64, 64)), jnp.float32)
    y = jnp.asarray(rng.random((batch, 1, 64, 64)), jnp.float32)
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def loss(p, x, y):
        return jnp.mean((jax.vmap(eqx.combine(p, static))(x) - y) ** 2)

    forward = jax.jit(lambda p, x: jax.vmap(eqx.combine(p, static))(x))
    grad = jax.jit(jax.grad(loss))
    # the step as the case runs it: `train_operator` (AdamW, MgNO in fit's Python loop, the
    # FNO in its scan; with several devices each batch sharded over them), on random data
    n = batch * reps
    xs, ys = (rng.random((n, 64, 64)).astype(np.float32) for _ in range(2))
    cfg = OperatorConfig(epochs=3, batch_size=batch, dtype="float32")
    res = train_operator(field_map(model, xs, ys), xs, ys, cfg, key=jax.random.key(1))
    step_s = batch / res.samples_per_s
    devices = jax.devices()
    out = dict(kind=kind, devices=len(devices), batch=batch, step_s=step_s,
               samples_per_s=batch / step_s)
    if len(devices) == 1:
        fwd_flops, grad_flops = _flops(forward, params, x), _flops(grad, params, x, y)
        fwd_s = _time(forward, params, x, reps=reps)
        out.update(forward_gflop_per_sample=fwd_flops / batch / 1e9,
                   grad_gflop_per_sample=grad_flops / batch / 1e9, forward_s=fwd_s,
                   step_gflop_s=grad_flops / step_s / 1e9,
                   forward_gflop_s=fwd_flops / fwd_s / 1e9,
                   backward_gflop_s=(grad_flops - fwd_flops) / (step_s - fwd_s) / 1e9)
    return out


def _conv(x, w, stride):
    import jax

    return jax.lax.conv_general_dilated(x, w, (stride, stride), [(1, 1)] * 2,
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _input_grad(conv, x, w, g):
    import jax

    return jax.vjp(lambda x: conv(x, w), x)[1](g)


def _weight_grad(conv, x, w, g):
    import jax

    return jax.vjp(lambda w: conv(x, w), w)[1](g)


def kernel_worker(batch: int, reps: int) -> dict:
    import jax
    import jax.numpy as jnp

    out = {"matmul": {}}
    for n in (1024, 2048):
        a = jnp.ones((n, n), jnp.float32)
        out["matmul"][n] = 2 * n**3 / _time(jax.jit(lambda a: a @ a), a, reps=reps) / 1e9
    rows = []
    for n, c, s in CONVS:
        x = jax.random.normal(jax.random.key(0), (batch, n, n, c))
        w = jax.random.normal(jax.random.key(1), (3, 3, c, 32))
        conv = functools.partial(_conv, stride=s)
        g = jnp.ones_like(conv(x, w))
        flops = 2 * g.size * 9 * c
        times = [
            _time(jax.jit(conv), x, w, reps=2 * reps),
            _time(jax.jit(functools.partial(_input_grad, conv)), x, w, g, reps=2 * reps),
            _time(jax.jit(functools.partial(_weight_grad, conv)), x, w, g, reps=2 * reps),
        ]
        rows.append(dict(grid=n, cin=c, stride=s, mflop=flops / 1e6,
                         gflop_s=[flops / t / 1e9 for t in times]))
    out["convs"] = rows
    return out


def run(task: str, setting: str, size: str) -> dict:
    env = {**os.environ, "XLA_FLAGS": SETTINGS[setting]}
    # XLA's flags alone do not keep its dot products to one thread: pin the process too
    pin = ["taskset", "-c", "0"] if setting == "1 core" else []
    out = subprocess.run(pin + [sys.executable, __file__, "--worker", task, "--size", size],
                         env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{task} ({setting}) failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{task} ({setting}) done", file=sys.stderr, flush=True)
    return result


def write_markdown(res: dict, path: Path) -> None:
    from sciml.io import atomic_write_text

    m = res["machine"]
    lines = [f"# MgNO and FNO training steps: FLOPs and FLOP rates ({res['size']})", "",
             f"`{res['command']}` on {m['platform']}, {m['cpu_count']} cores, {res['date']}; "
             f"load average at the start {res['loadavg_start']}.", "",
             f"Darcy 64 x 64 models of `operator.darcy.mgno` and `operator.darcy.fno`, batch "
             f"{res['batch']}, float32. FLOPs from XLA's cost analysis; a step is "
             "`train_operator`'s (gradient and AdamW update).", "",
             "| model | cores | GFLOP / sample (forward, gradient) | step (ms) | samples/s | "
             "GFLOP/s step (forward, backward) |", "|---|---|---|---|---|---|"]
    for r in res["models"]:
        flop = rate = "-"
        if "grad_gflop_per_sample" in r:
            flop = f"{r['forward_gflop_per_sample']:.3f}, {r['grad_gflop_per_sample']:.3f}"
            rate = (f"{r['step_gflop_s']:.0f} ({r['forward_gflop_s']:.0f}, "
                    f"{r['backward_gflop_s']:.0f})")
        lines.append(f"| {r['kind']} | {r['setting']} | {flop} | {r['step_s'] * 1e3:.0f} | "
                     f"{r['samples_per_s']:.1f} | {rate} |")
    k = res["kernels"]
    lines += ["", "Ceiling, one core: float32 matrix product "
              + ", ".join(f"{n}²: {g:.0f} GFLOP/s" for n, g in k["matmul"].items()) + ".", "",
              "The V-cycle's 3x3 convolutions (32 output channels, batch "
              f"{res['batch']}), one core, GFLOP/s:", "",
              "| grid | in channels | stride | MFLOP | forward | input gradient | "
              "weight gradient |", "|---|---|---|---|---|---|---|"]
    for r in k["convs"]:
        f, dx, dw = r["gflop_s"]
        lines.append(f"| {r['grid']}² | {r['cin']} | {r['stride']} | {r['mflop']:.0f} | "
                     f"{f:.0f} | {dx:.0f} | {dw:.0f} |")
    atomic_write_text(path, "\n".join(lines) + "\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--worker", choices=("mgno", "fno", "kernels"))
    args = ap.parse_args(argv)
    cfg = SIZES[args.size]
    if args.worker == "kernels":
        print(json.dumps(kernel_worker(cfg["batch"], cfg["reps"])))
        return
    if args.worker:
        print(json.dumps(model_worker(args.worker, cfg["batch"], cfg["reps"])))
        return
    load0 = os.getloadavg()
    models = []
    for kind in ("mgno", "fno"):
        for setting in SETTINGS:
            models.append({**run(kind, setting, args.size), "setting": setting})
    kernels = run("kernels", "1 core", args.size)
    res = meta(command=f"python benchmarks/mgno_cost.py --size {args.size}", size=args.size,
               batch=cfg["batch"], loadavg_start=[round(v, 2) for v in load0], models=models,
               kernels=kernels, loadavg_end=[round(v, 2) for v in os.getloadavg()])
    stem = RESULTS / f"mgno_cost-{args.size}"
    write_json(stem.with_suffix(".json"), res)
    write_markdown(res, stem.with_suffix(".md"))
    print(stem.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
