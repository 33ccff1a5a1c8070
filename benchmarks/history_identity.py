"""Behaviour kept through the solver redesign: the same seeds give the same training
histories before (commit 648631c) and after.

Trains, with fixed seeds, in float64 unless noted: a linear least-squares model (`fit`,
Adam then L-BFGS), an FNO (scan loop) and an MgNO (Python step loop) on random 16 x 16
fields in float64 and float32 (`train_operator`), PINNs on Poisson 1-D (RAD resampling,
hard constraint) and 2-D (uniform points, soft constraint), and the first two eigen-PINN
states of the finite well, each in a fresh process of this tree and of an interpreter with
the earlier sciml installed, and compares every history value.

    git worktree add /tmp/old 648631c && python3 -m venv /tmp/old-venv
    /tmp/old-venv/bin/pip install /tmp/old
    python benchmarks/history_identity.py --before /tmp/old-venv/bin/python   # ~3 min

Writes `results/history_identity.{json,md}`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, meta, write_json  # noqa: E402


def histories() -> dict[str, np.ndarray]:
    import equinox as eqx
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    from sciml.problems import get_problem

    try:  # after the redesign
        from sciml.neural_operators import FNO, MgNO, field_map
        from sciml.solvers import (
            RAD,
            EigenPINNConfig,
            OperatorConfig,
            PINNConfig,
            Soft,
            Uniform,
            fit,
            lbfgs,
            solve_eigenstates,
            train_operator,
            train_pinn,
        )
        from sciml.validation.factories import build_network
        soft = dict(constraint=Soft())
    except ImportError:  # before
        from sciml.operators import FNO, MgNO
        from sciml.solvers.eigen_pinn import EigenPINNConfig, solve_eigenstates
        from sciml.solvers.operator import OperatorConfig, field_map, train_operator
        from sciml.solvers.pinn import PINNConfig, build_network, train_pinn
        from sciml.solvers.sampling import RAD, Uniform
        from sciml.solvers.train import fit, lbfgs
        soft = {}

    out = {}

    class Linear(eqx.Module):
        w: jax.Array
        b: jax.Array

    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    X = jax.random.normal(k1, (64, 3))
    y = X @ jnp.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * jax.random.normal(k2, (64,))
    mse = lambda m, d: jnp.mean((d[0] @ m.w + m.b - d[1]) ** 2)
    r1 = fit(Linear(jnp.zeros(3), jnp.zeros(())), mse, optax.adam(1e-2), steps=500,
             data=(X, y), log_every=50)
    r2 = fit(r1.model, mse, lbfgs(), steps=50, data=(X, y), log_every=10)
    out["fit: Adam then L-BFGS, loss"] = np.r_[r1.history.loss.values, r2.history.loss.values]

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 16, 16))
    yy = np.roll(x, 1, axis=1) ** 2 + 0.5
    for name, model in (("FNO (scan)", FNO(1, 1, (4, 4), 8, 2, key=jax.random.key(0))),
                        ("MgNO (Python steps)", MgNO(1, 1, 4, 1, 3, key=jax.random.key(0)))):
        for dt in ("float64", "float32"):
            res = train_operator(field_map(model, x, yy), x, yy,
                                 OperatorConfig(epochs=4, batch_size=10, dtype=dt),
                                 key=jax.random.key(1), x_test=x[:20], y_test=yy[:20])
            out[f"{name}, {dt}: loss"] = res.history.loss.values
            out[f"{name}, {dt}: test rel. L2"] = res.history.test_rel_l2.values

    p = get_problem("poisson_1d")
    res = train_pinn(p, build_network("mlp", p, key=jax.random.key(2), width=16, depth=2),
                     RAD(64), PINNConfig(rounds=3, adam_steps=600, lbfgs_steps=200),
                     key=jax.random.key(3))
    out["PINN Poisson 1-D, RAD: loss"] = res.history.loss.values
    out["PINN Poisson 1-D, RAD: points used"] = np.array([res.n_points_used])
    p = get_problem("poisson_2d")
    net = build_network("mlp", p, key=jax.random.key(2), width=16, depth=2)
    config = PINNConfig(adam_steps=300, lbfgs_steps=100, **({} if soft else
                                                             {"constraint": "soft"}))
    res = train_pinn(p, net, Uniform(128), config, key=jax.random.key(3), **soft)
    out["PINN Poisson 2-D, soft: loss"] = res.history.loss.values

    cfg = EigenPINNConfig(width=16, depth=2, n_colloc=32, ritz_steps=200, adam_steps=400,
                          lbfgs_steps=300)
    for s in solve_eigenstates(get_problem("finite_well"), 2, config=cfg,
                               key=jax.random.PRNGKey(0)):
        out[f"eigen-PINN finite well state {s.index}: loss"] = s.history.loss.values
        out[f"eigen-PINN finite well state {s.index}: energy"] = s.history.energy.values
    return out


def run(python: str, path: Path) -> dict[str, np.ndarray]:
    out = subprocess.run([python, __file__, "--worker", str(path)], capture_output=True,
                         text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", metavar="PYTHON", help="interpreter with the earlier sciml")
    ap.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        np.savez(args.worker, **histories())
        return
    with tempfile.TemporaryDirectory() as tmp:
        after = run(sys.executable, Path(tmp) / "after.npz")
        before = run(args.before, Path(tmp) / "before.npz")
    rows = []
    for k, a in after.items():
        b = before[k]
        same = a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        rel = float(np.nanmax(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) \
            if a.shape == b.shape else float("nan")
        rows.append(dict(history=k, values=int(a.size), identical=bool(same), max_rel_diff=rel))
    info = meta()
    write_json(RESULTS / "history_identity.json", {**info, "rows": rows})
    lines = ["# Training histories before and after the solver redesign", "",
             f"`{info['command']}` on {info['machine']['platform']}, {info['date']}.", "",
             "| history | values | bit-identical | max. relative difference |",
             "|---|---|---|---|"]
    lines += [f"| {r['history']} | {r['values']} | {'yes' if r['identical'] else 'no'} | "
              f"{r['max_rel_diff']:.1e} |" for r in rows]
    train = [r for r in rows if "test" not in r["history"]]
    lines += ["", f"{sum(r['identical'] for r in train)} of {len(train)} training histories "
              "are bit-identical. Test errors are now computed in float64 from the model's "
              "predictions (before: in the model's dtype), so the float32 test rel. L2 may "
              "differ at rounding level."]
    from sciml.io import atomic_write_text

    atomic_write_text(RESULTS / "history_identity.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
