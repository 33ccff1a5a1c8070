"""Darcy 64 x 64, time to accuracy: sciml's FNO beside neuraloperator 2.0's, the same data.

The data are the `operator.darcy.fno` validation case's: `sciml.datasets.load("darcy",
resolution=64)`, the first 1000 training and 200 test samples (`--size full`), split by
the case's `_split`, float32 for training in both frameworks, errors against the float64
test outputs. Every model runs in its own subprocess of this interpreter, one after the
other, and records the mean per-sample relative L2 test error after every epoch against
wall time:

1. `sciml`: the case itself (`FULL["darcy.fno"]`): `build_operator` as the case builds it
   (FNO modes (12, 12), width 32, depth 4, scalar FieldMap scaling) and `train_operator`
   with the case's `OperatorConfig` (80 epochs of batch 20, AdamW at 1e-3 with weight
   decay 1e-4, cosine decay per step to 1e-5, float32) and `x_test/y_test`, so its
   history holds `test_rel_l2` per epoch.
2. `neuralop-default`: `neuralop.models.FNO(n_modes=(12, 12), hidden_channels=32,
   n_layers=4)` with the library's defaults (12 x 7 kept frequencies, channel MLPs).
3. `neuralop-classic`: neuralop set up as Li et al.'s FNO, sciml's architecture: the same
   24 x 12 kept frequencies and parameter count (`_peers/neuralop_fno.py`).

Both neuralop runs train on the same arrays with batch 20, neuralop's `AdamW` and its
`LpLoss(d=2, p=2)` (mean over the batch), under `--peer-recipe` (`RECIPES` in
`_peers/neuralop_fno.py`): `case` (default) swaps only the model into the case's
training: rate 1e-3, weight decay 1e-4, cosine per step to 1e-5, and sciml's scalar
mean/std scaling of inputs and outputs, and the case's augmentation of every batch by the
square's symmetries (`square_symmetries()`: a random rotation or reflection per sample);
`example` is neuralop's own Darcy example as
written (AdamW at 8e-3, `CosineAnnealingLR(T_max=30)` per epoch, outputs encoded by
`UnitGaussianNormalizer`, inputs raw; its H1 loss replaced by LpLoss). The default gives
the peer the recipe that is tuned for these data (the example's rate is tuned for its
16 x 16 toy set and 20 epochs), so the curves differ by model and framework only.
PyTorch keeps its default thread count (`--torch-threads` overrides it; recorded).

Wall time (what the figure and tables use) excludes every test evaluation, each timed and
subtracted, and starts before the model is built:

* sciml: model initialisation and FieldMap statistics (`build_operator`; in a fresh
  process JAX compiles each initialiser on first use, ~2-4 s on one core), then everything
  in `train_operator`: the data checks and casts, the optimiser's state, each epoch's
  jitted `lax.scan` including the first epoch's compilation. Per epoch `fit` stamps the
  history's `elapsed_s` after the epoch's steps and before its test metric; a callback
  stamps the end of that metric; `fit`'s start is the last callback stamp minus its
  `wall_time_s` (microseconds apart). The evaluation of epoch k is its callback stamp
  minus its `elapsed_s` stamp (the first includes compiling the prediction); training
  time at epoch k is `elapsed_s[k]` + the build time - the evaluations before epoch k.
* neuralop: model construction, normalisation statistics, tensors, optimiser and
  scheduler, then the epochs (eager PyTorch: nothing compiles).
* neither: imports (torch's optimiser imports `torch._dynamo`, ~2 s, on first use:
  imported before the clock), loading the cached data, process start-up.

Epochs: sciml runs the case's 80; the peers `--epochs` (default: the same 80), with their
schedule planned over that many epochs. Equal epochs give both the same passes over the
data and a finished schedule, so each curve ends at its recipe's accuracy and "time to
reach X" reads straight off the traces; an equal wall-time budget would cut the peers'
schedule short at high rates (for that comparison pass `--epochs` near sciml's wall time
divided by the peer's epoch time: the cosine is then planned over those epochs).

Needs the benchmark environment (`requirements-peers.txt`; sciml installed in it). The
first run of a size generates the Darcy samples not yet cached (~0.2 s per solve, on a
process pool) before anything is timed:

    /work/venv_peers/bin/python benchmarks/darcy_time_to_accuracy.py --size small  # ~2 min
    /work/venv_peers/bin/python benchmarks/darcy_time_to_accuracy.py --size full   # ~1 h

`--size small`: 100 training / 20 test samples, 3 epochs each. `--only KIND ...` reruns
some models and keeps the others from the results file. Writes
`results/darcy_time_to_accuracy-<size>[-example].{json,md,png}`.
"""

from __future__ import annotations

import argparse
import hashlib
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

CASE = "darcy.fno"
SIZES = {"small": dict(n_train=100, n_test=20, epochs=3), "full": {}}
KINDS = ("sciml", "neuralop-default", "neuralop-classic")
RECIPES = ("case", "example")


def case_spec(size: str):
    """The validation case's `OperatorSpec` (`full`), or the same with fewer samples and
    epochs (`small`)."""
    from sciml.validation.cases.operators import FULL

    spec, cfg = FULL[CASE][0], SIZES[size]
    if not cfg:
        return spec
    return spec.replace(n_train=cfg["n_train"], n_test=cfg["n_test"],
                        config={**spec.config, "epochs": cfg["epochs"]})


def target() -> float:
    """The case's tolerance on the test relative L2 error."""
    from sciml.validation.cases.operators import FULL

    return float(FULL[CASE][1])


def load_data(spec):
    """The dataset and its `(x_train, y_train, x_test, y_test)` as the case splits them."""
    from sciml.datasets import load
    from sciml.validation.cases.operators import _split

    ds = load(spec.dataset, n_train=spec.n_train, n_test=spec.n_test,
              resolution=spec.resolution)
    return ds, _split(ds)


def fingerprint(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, np.float64).tobytes())
    return h.hexdigest()[:16]


def sciml_worker(size: str) -> dict:
    import jax

    from sciml.neural_operators import count_params
    from sciml.solvers import OperatorConfig, field_errors, train_operator
    from sciml.validation import factories  # noqa: F401 - imported before the clock starts
    from sciml.validation.cases.operators import build_operator

    spec = case_spec(size)
    ds, (x, y, xt, yt) = load_data(spec)
    x32, y32 = np.asarray(x, np.float32), np.asarray(y, np.float32)
    stamps: list[float] = []
    load0 = os.getloadavg()
    start = time.perf_counter()
    km, kt = jax.random.split(jax.random.key(spec.seed))  # as solve_operator
    fmap = build_operator(spec.model, ds, key=km, **spec.model_args)
    config = OperatorConfig(**spec.config)
    called = time.perf_counter()
    res = train_operator(fmap, x32, y32, config, key=kt, x_test=xt, y_test=yt,
                         callbacks=[lambda r: stamps.append(time.perf_counter())])
    hist = res.history
    elapsed = np.asarray(hist["elapsed_s"].values, float)
    errors = np.asarray(hist["test_rel_l2"].values, float)
    c = np.asarray(stamps)
    fit_start = c[-1] - res.wall_time_s
    eval_s = c - (fit_start + elapsed)
    before = np.r_[0.0, np.cumsum(eval_s)[:-1]]
    wall = (fit_start - start) + elapsed - before
    if not (len(c) == len(elapsed) and fit_start >= called - 1e-3 and np.all(eval_s > 0)):
        raise RuntimeError(f"inconsistent stamps: {len(c)} callbacks for {len(elapsed)} "
                           f"epochs, fit start {fit_start - called:+.4f} s after the call, "
                           f"evaluations {eval_s.tolist()}")
    final = float(np.mean(field_errors(res.model, xt, yt)))
    epochs = np.asarray(hist["epoch"].values, int)
    return dict(
        library="sciml", model=f"{spec.model} {spec.model_args}",
        config={k: v if isinstance(v, int | float | str) else repr(v)
                for k, v in spec.config.items()},
        optimiser=(f"AdamW lr {config.learning_rate:g}, weight decay {config.weight_decay:g}, "
                   f"cosine per step to {config.learning_rate * config.final_lr_ratio:g}"),
        params=count_params(res.model.model), dtype=config.dtype,
        jax_version=jax.__version__, xla_flags=os.environ.get("XLA_FLAGS"),
        epochs=int(epochs[-1]), batch_size=config.batch_size,
        steps_per_epoch=res.stats["steps_per_epoch"], rel_l2=float(errors[-1]),
        rel_l2_recomputed=final, wall_time_s=float(wall[-1]),
        setup_s=called - start, fit_start_s=fit_start - start,
        trace=[(float(t), int(e), float(r)) for t, e, r in zip(wall, epochs, errors,
                                                                strict=True)],
        train_loss=np.asarray(hist["loss"].values, float).tolist(),
        epoch_s=list(res.stats["chunk_seconds"]), eval_s=eval_s.tolist(),
        samples_per_s=res.samples_per_s, data=fingerprint((x, y, xt, yt)),
        loadavg_start=load0, loadavg_end=os.getloadavg(),
    )


def neuralop_worker(kind: str, size: str, epochs: int, recipe: str,
                    threads: int | None) -> dict:
    from _peers.neuralop_fno import train_to_accuracy

    spec = case_spec(size)
    _, (x, y, xt, yt) = load_data(spec)
    # the case recipe is the case's training: its symmetry augmentation too, if it has one
    square = recipe == "case" and spec.config.get("augment") is not None
    if square and type(spec.config["augment"]).__name__ != "square_symmetries":
        raise ValueError(f"the peers reproduce only square_symmetries(), not "
                         f"{spec.config['augment']!r}")
    out = train_to_accuracy(kind.split("-", 1)[1], x, y, xt, yt, epochs=epochs,
                            recipe=recipe, batch_size=spec.config["batch_size"],
                            threads=threads, seed=spec.seed, square_symmetries=square)
    samples = out["steps_per_epoch"] * out["batch_size"]
    out.update(samples_per_s=samples / float(np.median(out["epoch_s"])),
               data=fingerprint((x, y, xt, yt)))
    return out


def run_sub(kind: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--size", args.size,
           "--peer-recipe", args.peer_recipe]
    if args.epochs is not None:
        cmd += ["--epochs", str(args.epochs)]
    if args.torch_threads is not None:
        cmd += ["--torch-threads", str(args.torch_threads)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{kind} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - t0
    print(f"{kind}: test rel. L2 {result['rel_l2']:.3e} after {result['epochs']} epochs, "
          f"{result['wall_time_s']:.1f} s training ({result['process_wall_s']:.0f} s process)",
          file=sys.stderr, flush=True)
    return result


def time_to(trace, level: float) -> float | None:
    """First wall time (epoch ends) at which the test error is at or below `level`."""
    return next((t for t, _, e in trace if e <= level), None)


def levels(rows: dict) -> dict[str, float]:
    out = {}
    if "neuralop-default" in rows:
        out["neuralop-default's final error"] = rows["neuralop-default"]["rel_l2"]
    out["the case's target"] = target()
    return out


def figure(rows: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sciml.io import atomic_path

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for i, (kind, r) in enumerate(rows.items()):
        t, _, e = np.asarray(r["trace"], dtype=float).T
        ax.semilogy(t, e, "-o", ms=2.5, lw=1.3, color=f"C{i}",
                    label=f"{kind} ({r['epochs']} epochs, final {r['rel_l2']:.2e})")
    for (name, level), ls in zip(levels(rows).items(), ("--", ":"), strict=False):
        ax.axhline(level, color="0.4", ls=ls, lw=1, label=f"{name} {level:.2e}")
    ax.set_xlabel("wall time (s): build and compilation included, test evaluation excluded")
    ax.set_xlim(left=0)
    ax.set_ylabel("mean test relative L2 error")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def _fmt(t: float | None) -> str:
    return "not reached" if t is None else f"{t:.1f}"


def write_markdown(rows: dict, info: dict, path: Path, title: str) -> None:
    from sciml.io import atomic_write_text

    m = info["machine"]
    lv = levels(rows)
    sciml = rows.get("sciml")
    head = ("| model | params | epochs | final test rel. L2 | wall time (s) | first epoch (s) | "
            "train samples/s |")
    rule = "|---|---|---|---|---|---|---|"
    for name, level in lv.items():
        head += f" time to {level:.2e} ({name}) (s) | / sciml's |"
        rule += "---|---|"
    lines = [f"# {title}", "",
             f"`{info['command']}` on {m['platform']}, {m['cpu_count']} cores, "
             f"{info['date']}. Figure: `{path.with_suffix('.png').name}`.", "",
             f"Data: `{CASE}`'s Darcy 64 x 64, {info['n_train']} training / {info['n_test']} "
             f"test samples (fingerprint {info['data']}). Peer recipe `{info['peer_recipe']}`; "
             f"XLA_FLAGS `{info['xla_flags']}`; OMP_NUM_THREADS `{info['omp_num_threads']}`.",
             "", head, rule]
    for kind, r in rows.items():
        first = r["trace"][0][0]
        cells = [kind, f"{r['params']:,}", str(r["epochs"]), f"{r['rel_l2']:.3e}",
                 f"{r['wall_time_s']:.1f}", f"{first:.1f}", f"{r['samples_per_s']:.1f}"]
        for level in lv.values():
            t = time_to(r["trace"], level)
            ref = time_to(sciml["trace"], level) if sciml else None
            cells += [_fmt(t), "-" if ref is None or t is None else f"{t / ref:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Setups:", ""]
    for kind, r in rows.items():
        if r["library"] == "sciml":
            aug = r["config"].get("augment")
            lines.append(f"- `{kind}`: {r['model']}, {r['optimiser']}, batch "
                         f"{r['batch_size']}" + (f", batches augmented by `{aug}`" if aug else "")
                         + f", {r['dtype']}, JAX {r['jax_version']}; "
                         f"build {r['setup_s']:.2f} s; test evaluations "
                         f"{sum(r['eval_s']):.1f} s in all (excluded).")
        else:
            o = r["recipe_options"]
            lines.append(
                f"- `{kind}`: neuralop {r['neuralop_version']} FNO `{r['options']}`, recipe "
                f"`{r['recipe']}` (AdamW lr {o['lr']:g}, weight decay {o['weight_decay']:g}, "
                f"{o['schedule']}, scaling {o['scaling']}), batch {r['batch_size']}"
                + (", batches augmented by the square's symmetries (as the case)"
                   if r.get("square_symmetries") else "") + ", torch "
                f"{r['torch_version']} with {r['torch_threads']} threads; setup "
                f"{r['setup_s']:.2f} s; test evaluations {sum(r['eval_s']):.1f} s in all "
                "(excluded).")
    lines += [
        "", "Notes:", "",
        "- Wall time starts before the model is built and excludes every per-epoch test "
        "evaluation (timed and subtracted); sciml's includes the first epoch's compilation "
        "and JAX's first-use compilation of the model's initialisers (in `first epoch`). "
        "Times to a level are the first epoch end at or below it (epoch resolution); "
        "`/ sciml's` is the model's time over sciml's (above 1: sciml sooner).",
        "- `train samples/s`: the median epoch (sciml: after the compiling one), "
        "evaluation excluded.",
        "- Kept frequencies: sciml's modes=(12, 12) and neuralop-classic's n_modes=(24, 23) "
        "keep 24 x 12; neuralop-default's n_modes=(12, 12) keeps 12 x 7.",
        "- The models run one after the other: compare runs made on a quiet machine "
        "(`loadavg_start`/`loadavg_end` in the JSON).",
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--epochs", type=int,
                    help="neuralop epochs (default: the sciml case's, 80 full / 3 small)")
    ap.add_argument("--peer-recipe", choices=RECIPES, default="case")
    ap.add_argument("--torch-threads", type=int,
                    help="torch.set_num_threads (default: PyTorch's own default)")
    ap.add_argument("--only", nargs="+", choices=KINDS,
                    help="run these models (others are kept from the results file)")
    ap.add_argument("--worker", choices=KINDS)
    args = ap.parse_args(argv)
    spec = case_spec(args.size)
    epochs = args.epochs or spec.config["epochs"]
    if args.worker == "sciml":
        print(json.dumps(sciml_worker(args.size), default=float))
        return
    if args.worker:
        print(json.dumps(neuralop_worker(args.worker, args.size, epochs, args.peer_recipe,
                                         args.torch_threads), default=float))
        return

    _, arrays = load_data(spec)  # generates and caches the data before anything is timed
    data = fingerprint(arrays)
    stem = f"darcy_time_to_accuracy-{args.size}" + (
        "" if args.peer_recipe == "case" else f"-{args.peer_recipe}")
    old = RESULTS / f"{stem}.json"
    kept = json.loads(old.read_text())["rows"] if args.only and old.exists() else {}
    rows = {}
    for kind in KINDS:
        if not args.only or kind in args.only:
            rows[kind] = run_sub(kind, args)
        elif kind in kept:
            rows[kind] = kept[kind]
    bad = {k: r["data"] for k, r in rows.items() if r["data"] != data}
    if bad:
        raise RuntimeError(f"runs saw other data than {data}: {bad}")
    info = meta(size=args.size, case=CASE, n_train=spec.n_train, n_test=spec.n_test,
                sciml_epochs=spec.config["epochs"], peer_epochs=epochs,
                peer_recipe=args.peer_recipe, target=target(), data=data,
                xla_flags=os.environ.get("XLA_FLAGS"),
                omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
                affinity=sorted(os.sched_getaffinity(0)))
    title = f"Darcy 64 x 64 FNO: test error against wall time ({args.size})"
    write_json(RESULTS / f"{stem}.json", {**info, "rows": rows})
    figure(rows, RESULTS / f"{stem}.png", title)
    write_markdown(rows, info, RESULTS / f"{stem}.md", title)


if __name__ == "__main__":
    main()
