"""Inference cost of sciml's MACE-like potential beside mace-torch (energy + forces, CPU).

One run, each (configuration, model) in its own subprocess of this interpreter, so the XLA
and PyTorch thread pools never share a process. The system: fcc Cu, the conventional cell
(a = 3.61 Å) repeated 4 x 4 x 4 (256 atoms; `--size small`: 2 x 2 x 2, 32 atoms), rattled
by 0.05 Å (`ase.Atoms.rattle(stdev=0.05, seed=0)`) and wrapped into the cell; r_cut 5 Å.
Both models get the very same positions and neighbours (the edge counts are checked equal)
and `avg_num_neighbors` = edges / atoms of that structure.

The same hyperparameters on both sides: 2 interactions, spherical harmonics to l = 3,
correlation order 3, 8 Bessel functions with a p = 5 polynomial envelope, radial MLP
64-64-64 (SiLU), a SiLU MLP readout of 16 hidden scalars in the last layer, one species
(Cu, Z = 29), float32. Configurations (hidden irreps; mace-torch's `hidden_irreps`, sciml's
`channels`, `hidden_l`):

- `32ch-L0`: "32x0e"; channels=32, hidden_l=0
- `64ch-L1`: "64x0e+64x1o"; channels=64, hidden_l=1
- `128ch-L2`: "128x0e+128x1o+128x2e"; channels=128, hidden_l=2

Models (`--only` picks a subset):

1. `mace`: `mace.modules.ScaleShiftMACE` built in Python as `mace_run_train --model MACE`
   builds it (interaction RealAgnosticResidualInteractionBlock, first
   RealAgnosticInteractionBlock, `use_reduced_cg=False` as that CLI's default, True with
   `--mace-reduced-cg`; scale 1, shift 0), parameters frozen (`requires_grad_(False)`) as
   `MACECalculator` does, eager (e3nn's default TorchScript code generation for its tensor
   products), `torch.manual_seed(0)`, input from
   `mace.data.config_from_atoms` -> `AtomicData.from_config` -> mace's `DataLoader`
   (batch of one). Timed: `model(batch.to_dict(), compute_force=True, training=False)`
   with `torch.set_num_threads(2)`.
2. `sciml`: `sciml.potentials.MACE(..., dtype=jnp.float32)` and
   `graph_from_atoms(..., dtype=jnp.float32)`; timed:
   `jax.jit(lambda m, g: predict(m, g))(model, graph)` (energy and forces = −∂E/∂x), with
   `jax.block_until_ready`; XLA's CPU defaults (both cores). Compile = first call − median.
3. `mace-compile` (only with `--compile`): mace-torch's own `torch.compile` route, as
   `MACECalculator(compile_mode="default")` takes it (`mace.tools.compile.prepare(
   extract_model)`, then `torch.compile(mode="default", fullgraph=True)`, called with
   `training=True` on inputs that require grad); TorchInductor's C++ backend on CPU. With
   torch 2.13.0+cpu and mace-torch 0.3.16 it crashes on its second call (see NOTES).
4. `sciml-gaunt`: sciml's model with `product="gaunt"`, if the installed `MACE` accepts it
   (else recorded as skipped). Not like-for-like: it keeps only parity-(−1)^l irreps.

Every call of a model is one step on the same structure: the neighbour list (built once
outside the timing, on both sides) is not part of a step; edge vectors, the model and the
backward pass for the forces are. Each model: `--warmup` untimed calls (the first one
timed apart: compilation / TorchScript profiling), then `--repeats` timed calls, median.

    /work/venv_peers/bin/python benchmarks/potentials_vs_mace.py --size small   # ~1 min
    /work/venv_peers/bin/python benchmarks/potentials_vs_mace.py --size full    # est. 10-15 min

on a quiet machine (see NOTES on load). `--compile` adds `mace-compile` (minutes of
compilation per configuration). Writes `results/potentials_vs_mace-<size>[-<tag>].{json,md}`.
The environment: `requirements-peers.txt` (torch, mace-torch) beside `pip install -e .`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402

NAME = "potentials_vs_mace"
CONFIGS = {
    "32ch-L0": dict(channels=32, hidden_l=0, hidden_irreps="32x0e"),
    "64ch-L1": dict(channels=64, hidden_l=1, hidden_irreps="64x0e+64x1o"),
    "128ch-L2": dict(channels=128, hidden_l=2, hidden_irreps="128x0e+128x1o+128x2e"),
}
SIZES = {
    "small": dict(repeat=2, configs=["32ch-L0"], warmup=5, repeats=5),
    "full": dict(repeat=4, configs=list(CONFIGS), warmup=5, repeats=20),
}
KINDS = ("mace", "sciml", "sciml-gaunt", "mace-compile")
A_CU, RATTLE, SEED, R_CUT = 3.61, 0.05, 0, 5.0
MAX_ELL, CORRELATION, LAYERS, N_BASIS, P_CUTOFF, RADIAL = 3, 3, 2, 8, 5, [64, 64, 64]
MLP_IRREPS = "16x0e"
THREADS = 2
FD_STEP = 1e-3  # Å, central difference (float64) along one random unit direction


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def structure(repeat: int):
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=A_CU, cubic=True).repeat((repeat,) * 3)
    atoms.rattle(stdev=RATTLE, seed=SEED)
    atoms.wrap()
    return atoms


def time_calls(fn, warmup: int, repeats: int) -> dict:
    """The first call, `warmup - 1` more untimed calls, then `repeats` timed calls (s)."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    for _ in range(warmup - 1):
        fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    q = np.percentile(runs, [25, 75])
    return dict(first_call_s=first, runs_s=runs, median_s=statistics.median(runs),
                min_s=min(runs), q25_s=float(q[0]), q75_s=float(q[1]), out=out)


def forces_check(energy: float, forces: np.ndarray) -> dict:
    return dict(energy=float(energy), energy_finite=bool(np.isfinite(energy)),
                forces_finite=bool(np.all(np.isfinite(forces))),
                max_abs_force=float(np.abs(forces).max()),
                max_abs_net_force=float(np.abs(forces.sum(axis=0)).max()))


def fd_check(model, graph, energy32: float, forces32: np.ndarray) -> dict:
    """forces = −dE/dx, in float64 (after the timing: it turns on `jax_enable_x64`): the
    float32 model and graph cast to float64, a central difference of the energy along one
    random unit direction d against −F·d; and how far the float32 answers are from them."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from sciml.potentials import predict

    jax.config.update("jax_enable_x64", True)
    to64 = lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x  # noqa: E731
    model, graph = jax.tree.map(to64, model), jax.tree.map(to64, graph)
    out = jax.jit(lambda m, g: predict(m, g))(model, graph)
    energy, forces = float(out["energy"][0]), np.asarray(out["forces"])
    d = np.random.default_rng(1).normal(size=forces.shape)
    d /= np.linalg.norm(d)
    e_only = jax.jit(lambda m, g: predict(m, g, forces=False)["energy"][0])
    x0 = np.asarray(graph.positions)

    def energy_at(x):
        return float(e_only(model, eqx.tree_at(lambda g: g.positions, graph, jnp.asarray(x))))

    fd = (energy_at(x0 + FD_STEP * d) - energy_at(x0 - FD_STEP * d)) / (2 * FD_STEP)
    ad = float(-(forces * d).sum())
    return dict(fd_step=FD_STEP, fd_directional_derivative=fd, minus_forces_dot_d=ad,
                fd_rel_err=abs(fd - ad) / max(abs(fd), 1e-300),
                float32_energy_err=abs(energy32 - energy),
                float32_forces_max_err=float(np.abs(forces32 - forces).max()))


# =========================================================================================
# workers (`--worker KIND --config NAME`): print one JSON line
# =========================================================================================
def run_sciml(config: str, size: str, warmup: int, repeats: int, product: str) -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from sciml.potentials import MACE, graph_from_atoms, predict

    atoms = structure(SIZES[size]["repeat"])
    c = CONFIGS[config]
    graph = graph_from_atoms(atoms, [29], R_CUT, dtype=jnp.float32)
    n = len(atoms)
    edges = int(np.asarray(graph.neighbour_mask).sum())
    kw = dict(product=product) if product != "cg" else {}
    try:
        model = MACE([29], r_cut=R_CUT, channels=c["channels"], max_ell=MAX_ELL,
                     hidden_l=c["hidden_l"], correlation=CORRELATION, layers=LAYERS,
                     n_basis=N_BASIS, radial_width=RADIAL[0], avg_neighbours=edges / n,
                     key=jax.random.PRNGKey(0), dtype=jnp.float32, **kw)
    except (TypeError, ValueError) as e:
        return dict(skipped=f"MACE(product={product!r}) is not accepted: "
                    f"{type(e).__name__}: {e}")
    params = sum(x.size for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
    f = jax.jit(lambda m, g: predict(m, g))
    load0 = os.getloadavg()
    t = time_calls(lambda: jax.block_until_ready(f(model, graph)), warmup, repeats)
    load1 = os.getloadavg()
    out = t.pop("out")
    energy, forces = float(out["energy"][0]), np.asarray(out["forces"], np.float64)
    check = forces_check(energy, forces)
    check.update(fd_check(model, graph, energy, forces))
    return dict(n_atoms=n, edges=edges, neighbour_capacity=int(graph.neighbours.shape[1]),
                avg_neighbours=edges / n, params=int(params), product=product,
                compile_s=t["first_call_s"] - t["median_s"], loadavg_start=load0,
                loadavg_end=load1, check=check, jax_devices=[str(x) for x in jax.devices()],
                versions=_versions(("jax", "jaxlib", "equinox", "e3nn-jax", "sciml")), **t)


def run_mace(config: str, size: str, warmup: int, repeats: int, compiled: bool,
             threads: int, reduced_cg: bool = False) -> dict:
    import mace  # noqa: F401  (first: it sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD for e3nn)
    import torch
    from e3nn import o3
    from mace import data, modules, tools
    from mace.tools import torch_geometric

    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    atoms = structure(SIZES[size]["repeat"])
    c = CONFIGS[config]
    z_table = tools.AtomicNumberTable([29])
    ad = data.AtomicData.from_config(data.config_from_atoms(atoms), z_table=z_table,
                                     cutoff=R_CUT)
    loader = torch_geometric.dataloader.DataLoader([ad], batch_size=1, shuffle=False,
                                                   drop_last=False)
    batch = next(iter(loader))
    n, edges = len(atoms), int(batch["edge_index"].shape[1])
    model = modules.ScaleShiftMACE(
        r_max=R_CUT, num_bessel=N_BASIS, num_polynomial_cutoff=P_CUTOFF, max_ell=MAX_ELL,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticInteractionBlock"],
        num_interactions=LAYERS, num_elements=1, hidden_irreps=o3.Irreps(c["hidden_irreps"]),
        MLP_irreps=o3.Irreps(MLP_IRREPS), atomic_energies=np.zeros(1),
        avg_num_neighbors=edges / n, atomic_numbers=[29], correlation=CORRELATION,
        gate=modules.gate_dict["silu"], radial_MLP=list(RADIAL), use_reduced_cg=reduced_cg,
        atomic_inter_scale=1.0, atomic_inter_shift=0.0)
    params = sum(p.numel() for p in model.parameters())
    compile_setup_s = None
    if compiled:
        from mace.tools.compile import prepare
        from mace.tools.scripts_utils import extract_model

        t0 = time.perf_counter()
        model = torch.compile(prepare(extract_model)(model=model, map_location="cpu"),
                              mode="default", fullgraph=True)
        compile_setup_s = time.perf_counter() - t0
    for p in model.parameters():
        p.requires_grad_(False)
    base = batch.to_dict()

    def step():
        if compiled:  # as MACECalculator._clone_batch does under compile
            d = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in base.items()}
            d["node_attrs"].requires_grad_(True)
            d["positions"].requires_grad_(True)
            return model(d, compute_force=True, training=True)
        return model(base, compute_force=True, training=False)

    load0 = os.getloadavg()
    t = time_calls(step, warmup, repeats)
    load1 = os.getloadavg()
    out = t.pop("out")
    check = forces_check(float(out["energy"].detach()[0]),
                         out["forces"].detach().numpy().astype(np.float64))
    return dict(n_atoms=n, edges=edges, avg_neighbours=edges / n, params=int(params),
                compiled=compiled, use_reduced_cg=reduced_cg, compile_setup_s=compile_setup_s,
                compile_s=t["first_call_s"] - t["median_s"], torch_threads=threads,
                torch_interop_threads=torch.get_num_interop_threads(),
                dtype=str(next(model.parameters()).dtype), loadavg_start=load0,
                loadavg_end=load1, check=check,
                versions=_versions(("torch", "mace-torch", "e3nn")), **t)


def _versions(names) -> dict:
    import importlib.metadata

    out = {}
    for p in names:
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            out[p] = None
    return out


def worker(kind: str, config: str, size: str, warmup: int, repeats: int, threads: int,
           reduced_cg: bool = False) -> dict:
    if kind.startswith("sciml"):
        return run_sciml(config, size, warmup, repeats,
                         "gaunt" if kind == "sciml-gaunt" else "cg")
    return run_mace(config, size, warmup, repeats, kind == "mace-compile", threads,
                    reduced_cg)


def run_sub(kind: str, config: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--config", config, "--size", args.size,
           "--warmup", str(args.warmup), "--repeats", str(args.repeats),
           "--torch-threads", str(args.torch_threads)] \
        + (["--mace-reduced-cg"] if args.mace_reduced_cg else [])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        log(f"  {config} {kind} failed:\n{proc.stderr[-3000:]}")
        return dict(error=proc.stderr[-3000:], process_wall_s=wall)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    if "skipped" in result:
        log(f"  {config} {kind}: skipped ({result['skipped']})")
    else:
        log(f"  {config} {kind}: {1e3 * result['median_s']:.2f} ms/step "
            f"({1e3 * result['median_s'] / result['n_atoms']:.4f} ms/atom-step), "
            f"first call {result['first_call_s']:.1f} s, {result['params']:,} params, "
            f"{result['edges']} edges; process {wall:.0f} s")
    return result


# =========================================================================================
# report
# =========================================================================================
def _ok(r) -> bool:
    return bool(r) and "median_s" in r


def _ms(r) -> str:
    return f"{1e3 * r['median_s']:.2f} ({1e3 * r['min_s']:.2f})" if _ok(r) else "-"


def _ms_atom(r) -> str:
    return f"{1e3 * r['median_s'] / r['n_atoms']:.4f}" if _ok(r) else "-"


def _get(r, key: str, fmt: str) -> str:
    return fmt.format(r[key]) if _ok(r) else "-"


def _why(r) -> str:
    if not r:
        return "not run"
    return r.get("skipped") or ("failed: " + r["error"].strip().splitlines()[-1]
                                if "error" in r else "")


def headline(results: dict) -> dict:
    out = {}
    for cfg, rows in results.items():
        m, s = rows.get("mace"), rows.get("sciml")
        if _ok(m) and _ok(s):
            out[cfg] = dict(mace_ms_per_atom_step=1e3 * m["median_s"] / m["n_atoms"],
                            sciml_ms_per_atom_step=1e3 * s["median_s"] / s["n_atoms"],
                            ratio_mace_over_sciml=m["median_s"] / s["median_s"],
                            target_met=m["median_s"] / s["median_s"] >= 1.5)
    return out


def markdown(info: dict, results: dict) -> str:
    m = info["machine"]
    v = m["versions"]
    n_atoms = next((r["n_atoms"] for rows in results.values() for r in rows.values()
                    if _ok(r)), None)
    lines = [
        f"# sciml MACE vs mace-torch: inference, energy + forces ({info['size']})", "",
        f"`{info['command']}` on {m['platform']}, {m['cpu_count']} cores, {info['date']}.", "",
        f"Load average (1, 5, 15 min): before {_load(info['loadavg_start'])}, after "
        f"{_load(info['loadavg_end'])}.", "",
        f"Versions: torch {v.get('torch')}, mace-torch {v.get('mace-torch')}, e3nn "
        f"{v.get('e3nn')}; jax {v.get('jax')}, e3nn-jax {v.get('e3nn-jax')}, equinox "
        f"{v.get('equinox')}. PyTorch threads: {info['torch_threads']} "
        "(`torch.set_num_threads`); JAX: XLA's CPU defaults (both cores).", "",
        f"System: fcc Cu, {n_atoms} atoms ({info['repeat']}³ conventional cells, a = {A_CU} Å, "
        f"rattled {RATTLE} Å, seed {SEED}), r_cut {R_CUT} Å, float32. "
        f"{info['warmup']} warm-up calls, median of {info['repeats']} timed calls.", "",
        f"Like for like (mace-torch eager, `use_reduced_cg={info['mace_use_reduced_cg']}`; "
        "sciml `product=\"cg\"`):", "",
        "ms/step: median (min) of the timed calls; ms/atom-step and the ratio from the "
        "medians.", "",
        "| config | edges (mace / sciml) | mace ms/step | sciml ms/step | mace ms/atom-step "
        "| sciml ms/atom-step | mace / sciml | mace params | sciml params "
        "| sciml compile (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cfg, rows in results.items():
        a, b = rows.get("mace"), rows.get("sciml")
        ratio = f"{a['median_s'] / b['median_s']:.2f}" if _ok(a) and _ok(b) else "-"
        lines.append(
            f"| {cfg} | {_get(a, 'edges', '{}')} / {_get(b, 'edges', '{}')} | {_ms(a)} "
            f"| {_ms(b)} | {_ms_atom(a)} | {_ms_atom(b)} | {ratio} "
            f"| {_get(a, 'params', '{:,}') if _ok(a) else _why(a)} "
            f"| {_get(b, 'params', '{:,}') if _ok(b) else _why(b)} "
            f"| {_get(b, 'compile_s', '{:.1f}')} |")
    lines += ["", "mace / sciml above 1: sciml faster (the target is ≥ 1.5).", ""]
    lines += ["Sanity checks (energy eV, forces eV/Å; random weights, so the values mean "
              "nothing beyond being finite; `FD rel. err.`: a central difference of sciml's "
              f"energy in float64, step {FD_STEP} Å along one random unit direction, against −F·d; "
              "`f32 err`: max abs difference of the float32 forces from the float64 ones):",
              "",
              "| config | model | energy | finite E / F | max abs F | max abs net force "
              "| FD rel. err. | f32 err |", "|---|---|---|---|---|---|---|---|"]
    for cfg, rows in results.items():
        for kind, r in rows.items():
            if not _ok(r):
                continue
            c = r["check"]
            fd = f"{c['fd_rel_err']:.1e}" if "fd_rel_err" in c else "-"
            f32 = f"{c['float32_forces_max_err']:.1e}" if "fd_rel_err" in c else "-"
            lines.append(f"| {cfg} | {kind} | {c['energy']:.5g} | {c['energy_finite']} / "
                         f"{c['forces_finite']} | {c['max_abs_force']:.3g} | "
                         f"{c['max_abs_net_force']:.2g} | {fd} | {f32} |")
    extra = [(cfg, kind, r) for cfg, rows in results.items() for kind, r in rows.items()
             if kind in ("sciml-gaunt", "mace-compile")]
    if extra:
        lines += ["", "Not like for like (`sciml-gaunt` drops the odd-parity intermediate "
                  "paths; `mace-compile` is mace-torch under `torch.compile`):", "",
                  "| config | model | ms/step | ms/atom-step | mace (eager) / this "
                  "| this / sciml (cg) | params | first call (s) | note |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for cfg, kind, r in extra:
            a, b = results[cfg].get("mace"), results[cfg].get("sciml")
            ratio = f"{a['median_s'] / r['median_s']:.2f}" if _ok(a) and _ok(r) else "-"
            ratio_b = f"{r['median_s'] / b['median_s']:.2f}" if _ok(b) and _ok(r) else "-"
            lines.append(f"| {cfg} | {kind} | {_ms(r)} | {_ms_atom(r)} | {ratio} | {ratio_b} | "
                         f"{_get(r, 'params', '{:,}')} | {_get(r, 'first_call_s', '{:.1f}')} "
                         f"| {_why(r)} |")
    g = info.get("git") or {}
    if g.get("modified_potentials_files"):
        lines += ["", f"sciml ran from commit {g.get('head')} with uncommitted changes to "
                  + ", ".join(f"`{x}`" for x in g["modified_potentials_files"]) + "."]
    lines += ["", "Notes:", ""] + [f"- {n}" for n in info["notes"]]
    return "\n".join(lines) + "\n"


def git_state() -> dict:
    """HEAD, and the files of sciml.potentials with uncommitted changes."""
    def git(*a):
        r = subprocess.run(["git", "-C", str(HERE.parent), *a], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    status = git("status", "--porcelain", "--", "sciml/potentials") or ""
    return dict(head=git("rev-parse", "HEAD"),
                modified_potentials_files=[x[3:] for x in status.splitlines()])


def _load(x) -> str:
    return ", ".join(f"{v:.2f}" for v in x)


NOTES = [
    "Each (configuration, model) runs in its own subprocess, one after the other, so load "
    "from other jobs can differ between rows: see each row's `loadavg_start`/`loadavg_end` "
    "in the JSON. Compare runs made at low load only: on a busy 2-core machine PyTorch's "
    "OpenMP threads spin waiting for a descheduled partner and slow down far more than XLA.",
    "Same inputs: both models see the same positions and the same neighbours within r_cut "
    "(sciml: vesin, a dense (atoms x K) list padded to the largest count K; mace-torch: "
    "matscipy, an edge list). sciml's steps run over all atoms x K slots, padding included.",
    "Architecture differences a reader must know. (1) Product basis: mace-torch's "
    "symmetric contraction contracts A with generalised Clebsch–Gordan coefficients "
    "precomputed for each correlation order and output irrep, with per-element weights per "
    "coupling path and channel; sciml iterates two-factor CG products "
    "(((A ⊗ A) ⊗ A)…), keeping both parities up to max_ell in the intermediates, with "
    "per-species weights per path and channel. The two span comparable but not identical "
    "bases and have different parameter counts. (2) Interaction: mace-torch keeps every "
    "path of its `uvu` convolution tensor product as separate channels "
    "(C x n_paths per irrep) and mixes them with one linear map (C·n_paths -> C); sciml sums "
    "the paths, each weighted by its own radial function per channel, before a C -> C "
    "linear map. (3) sciml's first layer has a species-dependent self-connection too; "
    "mace-torch's first (non-residual) interaction has none. (4) sciml's radial MLP has "
    "biases; e3nn's FullyConnectedNet has none.",
    "mace-torch options on CPU: cuEquivariance and OpenEquivariance are CUDA-only (mace "
    "docs: 'The acceleration is only available for GPU devices with CUDA support'), so they "
    "do not apply here. `torch.compile` would run on CPU through TorchInductor's C++ "
    "backend; it is not the default a mace user gets, hence only with `--compile`. With "
    "torch 2.13.0+cpu and mace-torch 0.3.16 the compiled model (32ch-L0, 32 atoms) compiled "
    "in about a minute, ran its first call and then crashed the process on the second "
    "(glibc 'free(): invalid next size', or a segmentation fault; the same with "
    "fullgraph=False; with dynamic=False an autograd INTERNAL ASSERT on the first call; "
    "training=False, which MACECalculator does not use under compile, fails in autograd): "
    "the `mace-compile` row then records the failure.",
    "mace-torch's first calls are slow (TorchScript's profiling executor specialises e3nn's "
    "scripted tensor products over the first few calls), hence 5 warm-up calls on both "
    "sides. sciml's compile time is its first call minus the median call.",
    "Import `mace` before `e3nn` with torch 2.13: e3nn 0.4.4 loads its constants with "
    "`torch.load` and needs `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`, which `import mace` sets.",
]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--configs", nargs="+", choices=tuple(CONFIGS),
                    help="default: the size's (small: 32ch-L0; full: all three)")
    ap.add_argument("--only", nargs="+", choices=KINDS,
                    default=["mace", "sciml", "sciml-gaunt"])
    ap.add_argument("--compile", action="store_true",
                    help="also time mace-torch under torch.compile (mace-compile)")
    ap.add_argument("--warmup", type=int, help="untimed calls first (default: the size's)")
    ap.add_argument("--repeats", type=int, help="timed calls (default: the size's)")
    ap.add_argument("--torch-threads", type=int, default=THREADS)
    ap.add_argument("--mace-reduced-cg", action="store_true",
                    help="mace-torch with use_reduced_cg=True (the MACE class's default; "
                    "mace_run_train's is False); give it a --tag")
    ap.add_argument("--tag", help="suffix of the result files, for runs with other settings")
    ap.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    ap.add_argument("--config", choices=tuple(CONFIGS), help=argparse.SUPPRESS)
    ap.add_argument("--markdown-from", type=Path, metavar="JSON",
                    help="only rewrite the .md beside a results .json this script wrote")
    args = ap.parse_args(argv)
    cfg = SIZES[args.size]
    args.warmup = cfg["warmup"] if args.warmup is None else args.warmup
    args.repeats = cfg["repeats"] if args.repeats is None else args.repeats
    if args.worker:
        print(json.dumps(worker(args.worker, args.config, args.size, args.warmup,
                                args.repeats, args.torch_threads, args.mace_reduced_cg),
                         default=float))
        return
    if args.markdown_from:
        from sciml.io import atomic_write_text

        saved = json.loads(args.markdown_from.read_text())
        results = saved.pop("results")
        atomic_write_text(args.markdown_from.with_suffix(".md"), markdown(saved, results))
        return
    if os.environ.get("XLA_FLAGS"):
        raise SystemExit(f"{NAME}: unset XLA_FLAGS (it is {os.environ['XLA_FLAGS']!r}); this "
                         "benchmark runs XLA with no flags")
    kinds = [k for k in KINDS if k in args.only or (k == "mace-compile" and args.compile)]
    configs = args.configs or cfg["configs"]
    stem = f"{NAME}-{args.size}" + (f"-{args.tag}" if args.tag else "")
    load0 = os.getloadavg()
    log(f"{NAME} --size {args.size}: {configs} x {kinds}; load {_load(load0)}; torch threads "
        f"{args.torch_threads}")
    t0 = time.perf_counter()
    results = {}
    for c in configs:
        results[c] = {k: run_sub(k, c, args) for k in kinds}
        rows = results[c]
        if _ok(rows.get("mace")) and _ok(rows.get("sciml")) \
                and rows["mace"]["edges"] != rows["sciml"]["edges"]:
            log(f"  WARNING {c}: mace has {rows['mace']['edges']} edges, sciml "
                f"{rows['sciml']['edges']}")
    info = meta(size=args.size, repeat=cfg["repeat"], configs=configs, kinds=kinds,
                warmup=args.warmup, repeats=args.repeats, torch_threads=args.torch_threads,
                mace_use_reduced_cg=args.mace_reduced_cg,
                xla_flags=os.environ.get("XLA_FLAGS", ""), loadavg_start=load0,
                loadavg_end=os.getloadavg(), wall_s=time.perf_counter() - t0, notes=NOTES,
                hyperparameters=dict(r_cut=R_CUT, max_ell=MAX_ELL, correlation=CORRELATION,
                                     layers=LAYERS, n_basis=N_BASIS, p_cutoff=P_CUTOFF,
                                     radial_mlp=RADIAL, mlp_irreps=MLP_IRREPS,
                                     configs={c: CONFIGS[c] for c in configs}))
    for rows in results.values():
        for r in rows.values():
            info["machine"]["versions"].update({k: x for k, x in r.get("versions", {}).items()
                                                if x})
    info["git"] = git_state()
    info["headline"] = headline(results)
    write_json(RESULTS / f"{stem}.json", {**info, "results": results})
    from sciml.io import atomic_write_text

    atomic_write_text(RESULTS / f"{stem}.md", markdown(info, results))
    log(f"wrote {RESULTS / stem}.{{json,md}} in {info['wall_s']:.0f} s; load "
        f"{_load(info['loadavg_end'])}")


if __name__ == "__main__":
    main()
