"""What sharding costs: FNO Darcy training throughput with one and with two forced CPU
devices on the same two cores.

`fit` shards each batch over every device it sees. `XLA_FLAGS=
--xla_force_host_platform_device_count=2` splits this machine's CPU into two devices, which
cannot be faster than XLA already using both cores in one device, so this measures the
overhead of the sharded step (the all-reduce of gradients, the gathers on a split batch),
not a speed-up. Each run is a fresh process training `train_operator` with the
`operator.darcy.fno` model (12 modes, width 32, 4 layers, batch 20, float32) on random
64 x 64 fields; the two settings alternate, `--repeats` times each.

    python benchmarks/sharding_overhead.py --size small   # 200 samples, ~2 min
    python benchmarks/sharding_overhead.py --size full    # 1000 samples, ~4 min

Writes `results/sharding_overhead-<size>.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402

SIZES = {"small": dict(n=200, epochs=3), "full": dict(n=1000, epochs=4)}


def worker(size: str) -> dict:
    import jax
    import jax.numpy as jnp

    from sciml.neural_operators import FNO, cast, field_map
    from sciml.solvers import OperatorConfig, train_operator

    n = SIZES[size]["n"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 64, 64), dtype=np.float32)
    y = rng.standard_normal((n, 64, 64), dtype=np.float32)
    model = cast(FNO(1, 1, (12, 12), 32, 4, key=jax.random.key(0)), jnp.float32)
    cfg = OperatorConfig(epochs=SIZES[size]["epochs"], batch_size=20, dtype="float32")
    res = train_operator(field_map(model, x, y), x, y, cfg, key=jax.random.key(1))
    return dict(devices=res.stats["devices"], samples_per_s=res.samples_per_s,
                epoch_s=res.stats["chunk_seconds"], loss=float(res.history.loss[-1]),
                loadavg=os.getloadavg())


def run(size: str, devices: int) -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    out = subprocess.run([sys.executable, __file__, "--worker", "--size", size], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["devices"] == devices, r
    print(f"{devices} device(s): {r['samples_per_s']:.1f} samples/s", file=sys.stderr)
    return r


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--worker", action="store_true")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.size), default=float))
        return
    pairs = [{"one": run(args.size, 1), "two": run(args.size, 2)} for _ in range(args.repeats)]
    one = [p["one"]["samples_per_s"] for p in pairs]
    two = [p["two"]["samples_per_s"] for p in pairs]
    ratios = [b / a for a, b in zip(one, two, strict=True)]
    info = meta(size=args.size, **SIZES[args.size])
    write_json(RESULTS / f"sharding_overhead-{args.size}.json", {**info, "pairs": pairs})
    m = info["machine"]
    lines = [f"# Sharding overhead: FNO Darcy training on 1 vs 2 forced CPU devices "
             f"({args.size})", "", f"`{info['command']}` on {m['platform']}, "
             f"{m['cpu_count']} cores, {info['date']}.", "",
             f"{SIZES[args.size]['n']} random 64x64 samples, FNO 12 modes / width 32 / 4 "
             f"layers, batch 20, float32, {SIZES[args.size]['epochs']} epochs; train "
             "samples/s of the median epoch after the compiling one.", "",
             "| pair | 1 device | 2 devices | 2 / 1 |", "|---|---|---|---|"]
    lines += [f"| {i + 1} | {a:.1f} | {b:.1f} | {r:.3f} |"
              for i, (a, b, r) in enumerate(zip(one, two, ratios, strict=True))]
    lines += [f"| median | {statistics.median(one):.1f} | {statistics.median(two):.1f} | "
              f"{statistics.median(ratios):.3f} |", "",
              "Both cores serve either setting: two devices split them, so a ratio below 1 "
              "is the cost of sharding (gradient all-reduce, split batches), not lost "
              "parallelism."]
    from sciml.io import atomic_write_text

    atomic_write_text(RESULTS / f"sharding_overhead-{args.size}.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
