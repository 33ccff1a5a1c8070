"""2-D FNO throughput: sciml beside neuraloperator 2.0 (PyTorch), same data, batch and loss.

One run, each model in its own subprocess of this interpreter (so the XLA and PyTorch
thread pools never share the process). The configuration is the Darcy one of the issue:
a 64 x 64 grid, 1 input and 1 output channel, 12 x 12 modes, width 32, 4 Fourier layers,
batch 20, float32, Adam at lr 1e-3, the mean per-sample relative L2 loss. Inputs and
targets are random normal fields of that shape (throughput does not depend on the values);
every model sees the same arrays, in the same order of batches per epoch seed. Test error
against wall time on the real Darcy data is `darcy_time_to_accuracy.py`.

Models (`--only` picks a subset):

1. `neuralop-default`: `neuralop.models.FNO(n_modes=(12, 12), hidden_channels=32,
   n_layers=4)` with the library's defaults (channel MLPs with soft-gating skips,
   lifting/projection ratio 2). neuralop's `n_modes` counts the kept frequencies per axis
   with the last halved, so this keeps 12 x 7 frequencies.
2. `neuralop-classic`: neuralop set up as Li et al.'s FNO, which is sciml's: no channel
   MLP, linear skip, grid embedding, one-map lifting, projection 32 -> 128 -> 1, and
   `n_modes=(24, 23)`: the same 24 x 12 kept frequencies and the same parameter count as
   sciml's `modes=(12, 12)` (see `_peers/neuralop_fno.py`).
3. `sciml`: `sciml.neural_operators.FNO(1, 1, (12, 12), 32, 4)` cast to float32. Training is
   timed twice: through `train_operator` (the user-facing loop: one jitted `lax.scan` per
   epoch; its `samples_per_s`, the median epoch after the compiling one), configured as
   plain Adam (no weight decay, constant rate), and through a bare loop of one jitted
   `value_and_grad` + `optax.adam` step per batch. Inference with
   `jax.jit(jax.vmap(model))`.
4. `sciml-6x7`: the same with `modes=(6, 7)`, the frequency set of `neuralop-default`.

PyTorch runs with `torch.set_num_threads(2)`; the training loop is
`zero_grad(); loss.backward(); step()` with `neuralop.losses.LpLoss(d=2, p=2,
reduction="mean")`; inference is under `torch.inference_mode()`.

    /tmp/bench-venv/bin/python benchmarks/fno_vs_neuraloperator.py --size small  # ~2 min
    /tmp/bench-venv/bin/python benchmarks/fno_vs_neuraloperator.py --size full   # ~6 min

(times on a quiet machine; under load the PyTorch rows take many times longer).

`--before PYTHON` first times the training driver alone (`train_operator`, the `sciml` row's
setup) `--repeats` times each in this tree and in an interpreter with sciml from before the
solver redesign (commit 648631c) installed, alternately, and reports the ratio:

    git worktree add /tmp/old 648631c && python3 -m venv /tmp/old-venv
    /tmp/old-venv/bin/pip install /tmp/old
    /tmp/bench-venv/bin/python benchmarks/fno_vs_neuraloperator.py --size full \
        --before /tmp/old-venv/bin/python

`--size small`: 200 training samples, 1 warm-up + 2 timed epochs; `--size full`: 1000
samples, 1 warm-up + 3 timed epochs. Inference at batch 20 and 100: one untimed call,
then at least 3 calls and at least `n` samples per batch size, median call.
`--profile` adds a breakdown of one sciml training step at batch 20 by component.

Writes `results/fno_vs_neuraloperator-<size>[-<tag>].{json,md}`. `--torch-threads` and
`--glibc-tunables` (e.g. `keep-heap`, short for `KEEP_HEAP` below, which stops glibc from
handing large buffers back to the kernel after every call) are for diagnosis; give them a
`--tag`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402

SIZES = {"small": dict(n=200, warmup=1, timed=2), "full": dict(n=1000, warmup=1, timed=3)}
GRID, WIDTH, DEPTH, BATCH, LR = 64, 32, 4, 20, 1e-3
INFER_BATCHES = (20, 100)
THREADS = 2
SCIML_MODES = {"sciml": (12, 12), "sciml-6x7": (6, 7), "sciml-driver": (12, 12)}
KINDS = ("neuralop-default", "neuralop-classic", "sciml", "sciml-6x7")
# glibc serves blocks of 32 MiB and more (e.g. 20 x 64 x 64 x 128 float32 = 40 MiB) with a
# fresh mmap each time, and XLA's worker threads get their own arenas, whose heaps are
# unmapped when empty: every call then page-faults its large buffers in again. This keeps
# them: no mmap, one arena, no trimming.
KEEP_HEAP = ("glibc.malloc.mmap_max=0:glibc.malloc.arena_max=1:"
             "glibc.malloc.trim_threshold=4294967295")


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, GRID, GRID), dtype=np.float32)
    y = rng.standard_normal((n, GRID, GRID), dtype=np.float32)
    return x, y


def _median_call(fn, arg, calls: int) -> tuple[float, int, float]:
    """Median seconds per call after one untimed call, and the minor page faults and
    system CPU seconds per call (fresh large buffers cost a fault per 4 KiB page)."""
    fn(arg)  # warm-up (compiles under jit)
    times = []
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(calls):
        t0 = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t0)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return (statistics.median(times), (r1.ru_minflt - r0.ru_minflt) // calls,
            (r1.ru_stime - r0.ru_stime) / calls)


def run_sciml(kind: str, x: np.ndarray, y: np.ndarray, warmup: int, timed: int) -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    try:
        from sciml.neural_operators import FNO, cast, count_params, field_map
        from sciml.solvers import OperatorConfig, train_operator
    except ImportError:  # sciml before the solver redesign (commit 648631c), for --before
        from sciml.operators import FNO, cast, count_params
        from sciml.solvers.operator import OperatorConfig, field_map, train_operator

    load0 = os.getloadavg()
    modes = SCIML_MODES[kind]
    model = cast(FNO(1, 1, modes, WIDTH, DEPTH, key=jax.random.key(0)), jnp.float32)
    n = len(x)
    n_batches = n // BATCH
    samples = n_batches * BATCH

    # 1. the user-facing loop: AdamW with weight decay 0 and a constant rate is Adam
    config = OperatorConfig(epochs=warmup + timed, batch_size=BATCH, learning_rate=LR,
                            final_lr_ratio=1.0, weight_decay=0.0, dtype="float32")
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    res = train_operator(field_map(model, x, y), x, y, config, key=jax.random.key(1))
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = np.asarray(res.history["elapsed_s"].values, float)
    to_epochs = np.diff(np.r_[0.0, elapsed]).tolist()
    if kind == "sciml-driver":  # the training driver alone, for the before/after pairs
        return dict(train_samples_per_s=res.samples_per_s, epoch_s=to_epochs,
                    loadavg_start=load0, loadavg_end=os.getloadavg())

    # 2. a bare loop: one jitted value_and_grad + optax.adam step per batch
    opt = optax.adam(LR)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = opt.init(params)
    xd, yd = jnp.asarray(x), jnp.asarray(y)

    def loss_fn(p, xb, yb):
        pred = jax.vmap(eqx.combine(p, static))(xb[:, None])[:, 0]
        num = jnp.sum((pred - yb) ** 2, axis=(1, 2))
        return jnp.mean(jnp.sqrt(num / jnp.sum(yb**2, axis=(1, 2))))

    @jax.jit
    def step(p, s, xall, yall, idx):
        loss, g = jax.value_and_grad(loss_fn)(p, xall[idx], yall[idx])
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, loss

    rng = np.random.default_rng(1)
    bare, compile_s = [], None
    for _ in range(warmup + timed):
        perm = jnp.asarray(rng.permutation(n)[:samples].reshape(n_batches, BATCH))
        t0 = time.perf_counter()
        for b in range(n_batches):
            params, opt_state, loss = step(params, opt_state, xd, yd, perm[b])
            if compile_s is None:
                loss.block_until_ready()
                compile_s = time.perf_counter() - t0
        loss.block_until_ready()
        bare.append(time.perf_counter() - t0)
    bare_final = float(loss)
    r2 = resource.getrusage(resource.RUSAGE_SELF)
    steps = (warmup + timed) * n_batches

    # 3. inference
    trained = eqx.combine(params, static)
    apply = jax.jit(jax.vmap(trained))
    infer = {}
    for bs in INFER_BATCHES:
        xb = jnp.asarray(np.resize(x, (bs, 1, GRID, GRID)))
        calls = max(3, -(-n // bs))
        t, faults, sys_s = _median_call(lambda a: apply(a).block_until_ready(), xb, calls)
        infer[str(bs)] = dict(samples_per_s=bs / t, calls=calls, median_call_s=t,
                              minor_faults_per_call=faults, sys_s_per_call=sys_s)
    return dict(
        library="sciml", config=f"FNO(1, 1, modes={modes}, width={WIDTH}, depth={DEPTH})",
        params=count_params(model), dtype=str(jax.tree.leaves(params)[0].dtype),
        jax_version=jax.__version__,
        train_samples_per_s=res.samples_per_s,
        train_operator=dict(samples_per_s=res.samples_per_s, epoch_s=to_epochs,
                            minor_faults_per_step=(r1.ru_minflt - r0.ru_minflt) // steps,
                            final_loss=float(res.history["loss"].values[-1])),
        bare_loop=dict(samples_per_s=samples / statistics.median(bare[warmup:]),
                       epoch_s=bare, first_step_s=compile_s, final_loss=bare_final,
                       minor_faults_per_step=(r2.ru_minflt - r1.ru_minflt) // steps),
        infer=infer, loadavg_start=load0, loadavg_end=os.getloadavg(),
    )


def profile_sciml(reps: int = 20) -> dict:
    """Forward + backward time of each piece of one sciml FNO at batch 20, 64 x 64 x 32,
    in isolation (each jitted on its own), and of an `jnp.fft` spectral convolution for
    comparison with the truncated-DFT matmuls sciml uses."""
    import jax
    import jax.numpy as jnp

    from sciml.neural_operators import FNO, cast

    model = cast(FNO(1, 1, (12, 12), WIDTH, DEPTH, key=jax.random.key(0)), jnp.float32)
    conv, skip = model.spectral[0], model.skips[0]
    v = jax.random.normal(jax.random.key(2), (BATCH, GRID, GRID, WIDTH), jnp.float32)
    a = jax.random.normal(jax.random.key(3), (BATCH, 1, GRID, GRID), jnp.float32)

    def fft_conv(v, wr, wi):  # rfft2 -> corners -> irfft2, as in the reference code
        m1, m2 = conv.modes
        X = jnp.fft.rfft2(v, axes=(0, 1))
        w = (wr + 1j * wi).astype(jnp.complex64)
        lo = jnp.einsum("xyi,xyio->xyo", X[:m1, :m2], w[:m1])
        hi = jnp.einsum("xyi,xyio->xyo", X[-m1:, :m2], w[m1:])
        out = jnp.zeros((v.shape[0], v.shape[1] // 2 + 1, w.shape[-1]), X.dtype)
        out = out.at[:m1, :m2].set(lo).at[-m1:, :m2].set(hi)
        return jnp.fft.irfft2(out, s=v.shape[:2], axes=(0, 1))

    pieces = {
        "spectral conv (truncated DFT matmuls), x1": lambda v: jax.vmap(conv.last)(v),
        "spectral conv (jnp.fft rfft2/irfft2), x1": lambda v: jax.vmap(
            lambda u: fft_conv(u, conv.weight_real, conv.weight_imag))(v),
        "pointwise skip 32->32, x1": lambda v: skip.last(v),
        "gelu on 64x64x32, x1": lambda v: model.activation(v),
        "projection 32->128->1 (gelu)": lambda v: model.projection.last(v),
        "projection, 4 chunks of 5 (lax.map)": lambda v: jax.lax.map(
            model.projection.last, v.reshape(4, -1, *v.shape[1:])).reshape(*v.shape[:-1], 1),
        "whole model": None,
    }
    out = {}
    for name, f in pieces.items():
        if f is None:
            g = jax.jit(jax.value_and_grad(
                lambda m, a: jnp.sum(jax.vmap(m)(a) ** 2)))
            fn, arg = (lambda a, g=g: jax.block_until_ready(g(model, a))), a
        else:
            g = jax.jit(jax.value_and_grad(lambda v, f=f: jnp.sum(f(v) ** 2)))
            fn, arg = (lambda v, g=g: jax.block_until_ready(g(v))), v
        fwd = jax.jit(f) if f is not None else jax.jit(jax.vmap(model))
        tf, ff, _ = _median_call(lambda u, fwd=fwd: fwd(u).block_until_ready(), arg, reps)
        tb, fb, _ = _median_call(fn, arg, reps)
        out[name] = dict(fwd_ms=1e3 * tf, fwd_bwd_ms=1e3 * tb, fwd_faults=ff, fwd_bwd_faults=fb)
    err = float(jnp.max(jnp.abs(jax.jit(pieces["spectral conv (truncated DFT matmuls), x1"])(v)
                                - jax.jit(pieces["spectral conv (jnp.fft rfft2/irfft2), x1"])(v))))
    return dict(batch=BATCH, reps=reps, pieces=out, fft_vs_dft_max_abs_diff=err,
                glibc_tunables=os.environ.get("GLIBC_TUNABLES"), loadavg=os.getloadavg())


def worker(kind: str, size: str, torch_threads: int = THREADS) -> dict:
    cfg = SIZES[size]
    x, y = data(cfg["n"])
    if kind == "profile":
        return profile_sciml()
    if kind.startswith("neuralop"):
        from _peers.neuralop_fno import run_neuralop_fno

        return run_neuralop_fno(kind.split("-", 1)[1], x, y, batch_size=BATCH,
                                warmup_epochs=cfg["warmup"], timed_epochs=cfg["timed"],
                                lr=LR, infer_batches=INFER_BATCHES, threads=torch_threads)
    return run_sciml(kind, x, y, cfg["warmup"], cfg["timed"])


def run_sub(kind: str, size: str, torch_threads: int = THREADS,
            glibc_tunables: str | None = None, python: str = sys.executable) -> dict:
    cmd = [python, __file__, "--worker", kind, "--size", size,
           "--torch-threads", str(torch_threads)]
    env = dict(os.environ)
    if glibc_tunables:
        env["GLIBC_TUNABLES"] = glibc_tunables
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"{kind} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - t0
    result["glibc_tunables"] = glibc_tunables
    print(f"{kind}: {result['process_wall_s']:.0f} s", file=sys.stderr)
    return result


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def markdown(info: dict, rows: dict, profile: dict | None, driver_pairs: list | None = None
             ) -> str:
    m, size = info["machine"], info["size"]
    cfg = SIZES[size]
    lines = [
        f"# 2-D FNO throughput: sciml vs neuraloperator ({size})", "",
        f"`{info['command']}` on {m['platform']}, {m['cpu_count']} cores, {info['date']}.",
        "", f"Load: before `{info['uptime_before']}`; after `{info['uptime_after']}`.", "",
        f"torch threads: {info['torch_threads']}; GLIBC_TUNABLES of the timed runs: "
        f"{info['glibc_tunables'] or 'none (glibc defaults)'}.", "",
        f"Darcy-like 2-D operator, {GRID}x{GRID}, 1 -> 1 channel, width {WIDTH}, {DEPTH} "
        f"Fourier layers, batch {BATCH}, float32, Adam lr {LR:g}, relative L2 loss; "
        f"{cfg['n']} random normal training samples, {cfg['warmup']} warm-up + "
        f"{cfg['timed']} timed epochs, median timed epoch.", "",
        "| model | kept frequencies | params | train samples/s | bare-loop train samples/s "
        "| infer samples/s @20 | infer samples/s @100 |",
        "|---|---|---|---|---|---|---|",
    ]
    freqs = {"neuralop-default": "12x7", "neuralop-classic": "24x12", "sciml": "24x12",
             "sciml-6x7": "12x7"}
    for k, r in rows.items():
        bare = r.get("bare_loop", {}).get("samples_per_s")
        lines.append(
            f"| {k} | {freqs[k]} | {r['params']:,} | {r['train_samples_per_s']:.1f} | "
            f"{'-' if bare is None else f'{bare:.1f}'} | "
            f"{r['infer']['20']['samples_per_s']:.1f} | {r['infer']['100']['samples_per_s']:.1f} |")
    pairs = [("sciml", "neuralop-default"), ("sciml", "neuralop-classic"),
             ("sciml-6x7", "neuralop-default")]
    pairs = [(a, b) for a, b in pairs if a in rows and b in rows]
    if pairs:
        lines += ["", "Ratios sciml / peer (above 1: sciml faster):", "",
                  "| sciml | peer | train | bare-loop train | infer @20 | infer @100 |",
                  "|---|---|---|---|---|---|"]
        for a, b in pairs:
            ra, rb = rows[a], rows[b]
            lines.append(
                f"| {a} | {b} | {_ratio(ra['train_samples_per_s'], rb['train_samples_per_s'])}"
                f" | {_ratio(ra['bare_loop']['samples_per_s'], rb['train_samples_per_s'])} | "
                + " | ".join(_ratio(ra["infer"][s]["samples_per_s"],
                                    rb["infer"][s]["samples_per_s"]) for s in ("20", "100"))
                + " |")
    if profile:
        d, k = profile["default"], profile.get("keep-heap")
        lines += ["", f"sciml pieces at batch {d['batch']}, 64x64, width 32 (each jitted alone, "
                  f"median of {d['reps']} calls; minor page faults per call; load "
                  f"{d['loadavg'][0]:.2f}). `keep-heap`: the same with "
                  f"`GLIBC_TUNABLES={KEEP_HEAP}`:", "",
                  "| piece | fwd (ms) | fwd+bwd (ms) | faults fwd / fwd+bwd "
                  "| keep-heap fwd (ms) | keep-heap fwd+bwd (ms) |", "|---|---|---|---|---|---|"]
        for name, p in d["pieces"].items():
            q = k["pieces"][name] if k else None
            lines.append(f"| {name} | {p['fwd_ms']:.1f} | {p['fwd_bwd_ms']:.1f} | "
                         f"{p['fwd_faults']} / {p['fwd_bwd_faults']} | "
                         + (f"{q['fwd_ms']:.1f} | {q['fwd_bwd_ms']:.1f} |" if q else "- | - |"))
    if driver_pairs:
        after = [p["after"]["train_samples_per_s"] for p in driver_pairs]
        before = [p["before"]["train_samples_per_s"] for p in driver_pairs]
        ratios = [a / b for a, b in zip(after, before, strict=True)]
        lines += ["", "The training driver before and after the solver redesign: "
                  "`train_operator` (the `sciml` row's setup) run by this tree and by sciml "
                  "at commit 648631c, alternately, each in a fresh process "
                  "(train samples/s, median epoch after the compiling one):", "",
                  "| pair | after (fit) | before (own loop) | after / before |",
                  "|---|---|---|---|"]
        lines += [f"| {i + 1} | {a:.1f} | {b:.1f} | {r:.3f} |"
                  for i, (a, b, r) in enumerate(zip(after, before, ratios, strict=True))]
        lines += [f"| median | {statistics.median(after):.1f} | {statistics.median(before):.1f}"
                  f" | {statistics.median(ratios):.3f} |"]
    lines += ["", "Notes:", ""] + [f"- {n}" for n in info["notes"]]
    return "\n".join(lines) + "\n"


NOTES = [
    "Inputs and targets are random normal fields: throughput does not depend on the values, "
    "and the losses are not a measure of accuracy.",
    f"PyTorch with `torch.set_num_threads({THREADS})`; JAX with XLA's CPU defaults (all "
    "cores). Each model runs in its own subprocess, one after the other, so load from "
    "other jobs differs between rows: see `loadavg_start`/`loadavg_end` in the JSON.",
    "`train samples/s`: for neuralop, its `zero_grad(); backward(); step()` loop; for sciml, "
    "`train_operator`'s `samples_per_s` (median epoch after the compiling one; AdamW with "
    "weight decay 0 and a constant rate, i.e. Adam). `bare-loop`: one jitted "
    "value_and_grad + optax.adam step per batch from Python.",
    "Mode conventions differ: sciml's `modes=(12, 12)` (Li et al.'s modes1=modes2=12) keeps "
    "24x12 frequencies (both signs on the first axis); neuralop's `n_modes=(12, 12)` keeps "
    "12x7 (the count per axis, the last halved), about 3.4x fewer spectral weights. "
    "`neuralop-classic` uses `n_modes=(24, 23)` to keep sciml's set (same parameter count); "
    "`sciml-6x7` keeps neuralop-default's set.",
    "neuralop-classic still differs from sciml in small ways: bias in the spectral "
    "convolution instead of the skip, exact (erf) GELU instead of JAX's tanh "
    "approximation, and without channel MLPs neuralop applies the activation twice between "
    "Fourier layers.",
    "Compare runs made at low load only. On a busy machine (load 5-8 on these 2 cores) "
    "PyTorch with 2 threads ran 10-30x slower than at rest, its OpenMP threads spinning while "
    "waiting for a descheduled partner (1 thread was 4-8x faster then); XLA slowed about 2x.",
    "Large buffers cost page faults in both libraries: glibc serves blocks of 32 MiB or more "
    "(here the 128-channel projection activations at batch 20, every activation at batch "
    "100) with a fresh mmap on every call, one minor fault per 4 KiB page "
    "(`minor_faults_*` in the JSON). `--glibc-tunables keep-heap --tag keep-heap` measures "
    "the same runs with the heap kept.",
]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--worker", choices=(*KINDS, "profile", "sciml-driver"))
    ap.add_argument("--before", metavar="PYTHON",
                    help="an interpreter with sciml from before the solver redesign "
                    "installed: time train_operator there and here, interleaved")
    ap.add_argument("--repeats", type=int, default=5, help="pairs of --before runs")
    ap.add_argument("--only", nargs="+", choices=KINDS, default=list(KINDS))
    ap.add_argument("--profile", action="store_true",
                    help="also time the pieces of one sciml training step, with glibc's "
                    "default allocator settings and with KEEP_HEAP")
    ap.add_argument("--torch-threads", type=int, default=THREADS)
    ap.add_argument("--glibc-tunables", metavar="TUNABLES",
                    help="GLIBC_TUNABLES for the timed workers; 'keep-heap' stands for "
                    f"{KEEP_HEAP!r} (default: the environment's)")
    ap.add_argument("--tag", help="suffix of the result files, for runs with other settings")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.size, args.torch_threads), default=float))
        return
    if args.glibc_tunables == "keep-heap":
        args.glibc_tunables = KEEP_HEAP
    before = _uptime()
    pairs = []
    if args.before:  # interleaved before/after pairs of the training driver, first
        for _ in range(args.repeats):
            pairs.append({"after": run_sub("sciml-driver", args.size),
                          "before": run_sub("sciml-driver", args.size, python=args.before)})
    rows = {k: run_sub(k, args.size, args.torch_threads, args.glibc_tunables)
            for k in KINDS if k in args.only}
    profile = None
    if args.profile:
        profile = {"default": run_sub("profile", args.size),
                   "keep-heap": run_sub("profile", args.size, glibc_tunables=KEEP_HEAP)}
    info = meta(size=args.size, uptime_before=before, uptime_after=_uptime(), notes=NOTES,
                torch_threads=args.torch_threads,
                glibc_tunables=args.glibc_tunables or os.environ.get("GLIBC_TUNABLES"))
    info["machine"]["versions"].update(
        {k: v for r in rows.values() for k, v in (("torch", r.get("torch_version")),
                                                   ("neuraloperator", r.get("neuralop_version")))
         if v})
    stem = f"fno_vs_neuraloperator-{args.size}" + (f"-{args.tag}" if args.tag else "")
    write_json(RESULTS / f"{stem}.json", {**info, "rows": rows, "profile": profile,
                                          "driver_pairs": pairs})
    from sciml.io import atomic_write_text

    atomic_write_text(RESULTS / f"{stem}.md", markdown(info, rows, profile, pairs))


if __name__ == "__main__":
    main()
