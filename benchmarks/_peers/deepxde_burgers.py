"""DeepXDE's own viscous Burgers example, run with its PyTorch backend, as a benchmark peer.

This reproduces ``examples/pinn_forward/Burgers.py`` of DeepXDE 1.15:

* x in [-1, 1], t in [0, 0.99] (``Interval(-1, 1)`` x ``TimeDomain(0, 0.99)``);
* u_t + u u_x - (0.01/pi) u_xx = 0, u(+-1, t) = 0, u(x, 0) = -sin(pi x);
* 2540 domain, 80 boundary and 160 initial training points (DeepXDE's default
  Hammersley sampling for ``TimePDE``), no resampling;
* ``FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")``, MSE loss, equal weights;
* Adam, lr 1e-3, 15000 iterations, then ``model.compile("L-BFGS")`` with DeepXDE's
  default options (``maxiter=15000``), PyTorch's default thread count.

It needs the benchmark environment (``benchmarks/requirements-peers.txt``: DeepXDE and the
CPU build of PyTorch), never the project's own. DeepXDE is imported inside
``run_deepxde_burgers`` so that importing this module costs nothing and needs neither.
"""

from __future__ import annotations

import os
import time

import numpy as np

NU = 0.01 / np.pi


def _set_lbfgs_budget(dde, lbfgs_steps: int) -> None:
    """Set DeepXDE's L-BFGS iteration budget to ``lbfgs_steps``.

    In DeepXDE 1.15, ``set_LBFGS_options`` does not update the PyTorch backend's
    per-call limits ``iter_per_step``/``fun_per_step``: they are computed once, at import,
    from the default ``maxiter=15000`` (1000 iterations and 1250 evaluations per call).
    Any ``maxiter`` below 1000 would therefore still run up to 1000 iterations. We redo
    the module's own computation (upstream issue #1691, fix proposed in PR #2080); for the
    default budget of 15000 this changes nothing.
    """
    dde.optimizers.config.set_LBFGS_options(maxiter=lbfgs_steps)
    opts = dde.optimizers.config.LBFGS_options
    opts["iter_per_step"] = min(1000, opts["maxiter"])
    opts["fun_per_step"] = opts["maxfun"] * opts["iter_per_step"] // opts["maxiter"]


def run_deepxde_burgers(
    *,
    width: int = 20,
    depth: int = 3,
    n_domain: int = 2540,
    n_boundary: int = 80,
    n_initial: int = 160,
    adam_steps: int = 15000,
    adam_lr: float = 1e-3,
    lbfgs_steps: int | None = None,
    seed: int = 0,
    eval_points: np.ndarray,
    eval_values: np.ndarray,
    float64: bool = False,
    display_every: int = 5000,
    trace_every: int = 0,
) -> dict:
    """Train DeepXDE's Burgers PINN and measure it against a reference.

    Args:
        width, depth: hidden layers of the FNN (``[2] + [width] * depth + [1]``).
        n_domain, n_boundary, n_initial: training points, as in ``dde.data.TimePDE``.
        adam_steps, adam_lr: the Adam phase.
        lbfgs_steps: None: L-BFGS with DeepXDE's default options, as the example runs it;
            a number: that ``maxiter``; 0 skips L-BFGS.
        seed: passed to ``dde.config.set_random_seed`` (Python, NumPy, torch).
        eval_points: (n, 2) array of (x, t).
        eval_values: (n,) reference u at ``eval_points``.
        float64: train in float64 (``dde.config.set_default_float``); DeepXDE's
            example uses float32.
        display_every: DeepXDE's progress print interval during Adam (it prints to
            stdout; L-BFGS prints every 1000 iterations whatever this is).
        trace_every: if > 0, the error on ``eval_points`` is recorded every this many Adam
            iterations and after every L-BFGS call (1000 iterations in DeepXDE's PyTorch
            backend), as ``trace``: (wall time, step, rel_l2) with the evaluation time
            excluded from the wall time.

    Returns:
        dict with ``rel_l2`` (||u_pred - u_ref||_2 / ||u_ref||_2 on ``eval_points``),
        ``wall_time_s`` (compile + train of both phases, evaluation excluded),
        ``adam_steps``, ``lbfgs_steps_done`` (L-BFGS iterations as DeepXDE counts them in
        ``train_state.step``), the sizes, ``deepxde_version``, ``torch_version``,
        ``final_loss`` (sum of the training-loss terms at the last step; the terms are in
        ``final_loss_terms``, ordered PDE, boundary, initial), ``float64``,
        ``torch_threads`` (PyTorch's default, not set here) and ``trace``.
    """
    eval_points = np.asarray(eval_points, dtype=np.float64)
    eval_values = np.asarray(eval_values, dtype=np.float64).reshape(-1)
    if eval_points.ndim != 2 or eval_points.shape[1] != 2:
        raise ValueError(f"eval_points must be (n, 2), got {eval_points.shape}")
    if eval_values.shape[0] != eval_points.shape[0]:
        raise ValueError(
            f"eval_values has {eval_values.shape[0]} values for {eval_points.shape[0]} points"
        )

    # The backend is chosen once, when deepxde is first imported.
    os.environ["DDE_BACKEND"] = "pytorch"
    import deepxde as dde
    import torch

    if dde.backend.backend_name != "pytorch":
        raise RuntimeError(
            "deepxde was already imported with the backend "
            f"{dde.backend.backend_name!r}; run this in a fresh process"
        )

    threads = torch.get_num_threads()  # PyTorch's default: the example does not set it

    # Set every time: DeepXDE keeps the float type in a module-level global.
    dde.config.set_default_float("float64" if float64 else "float32")
    dde.config.set_random_seed(seed)

    def pde(x, y):
        dy_x = dde.grad.jacobian(y, x, i=0, j=0)
        dy_t = dde.grad.jacobian(y, x, i=0, j=1)
        dy_xx = dde.grad.hessian(y, x, i=0, j=0)
        return dy_t + y * dy_x - NU * dy_xx

    geom = dde.geometry.Interval(-1, 1)
    timedomain = dde.geometry.TimeDomain(0, 0.99)
    geomtime = dde.geometry.GeometryXTime(geom, timedomain)
    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(
        geomtime,
        lambda x: -np.sin(np.pi * x[:, 0:1]),
        lambda _, on_initial: on_initial,
    )
    data = dde.data.TimePDE(
        geomtime,
        pde,
        [bc, ic],
        num_domain=n_domain,
        num_boundary=n_boundary,
        num_initial=n_initial,
    )
    net = dde.nn.FNN([2] + [width] * depth + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)

    dtype = np.float64 if float64 else np.float32
    clock = {"start": time.perf_counter(), "excluded": 0.0, "last": -1}
    trace = []

    def rel_l2() -> float:
        u = np.asarray(model.predict(eval_points.astype(dtype)), dtype=np.float64).reshape(-1)
        return float(np.linalg.norm(u - eval_values) / np.linalg.norm(eval_values))

    class Trace(dde.callbacks.Callback):
        def on_epoch_end(self):
            step = model.train_state.step
            lbfgs = model.opt_name == "L-BFGS"
            if not trace_every or (not lbfgs and step - clock["last"] < trace_every):
                return
            t = time.perf_counter()
            stamp = t - clock["start"] - clock["excluded"]
            trace.append((stamp, int(step), rel_l2()))
            clock["excluded"] += time.perf_counter() - t
            clock["last"] = step

    callbacks = [Trace()]
    model.compile("adam", lr=adam_lr)
    if adam_steps > 0:
        model.train(iterations=adam_steps, display_every=display_every, callbacks=callbacks)
    adam_done = model.train_state.step
    if lbfgs_steps != 0:
        if lbfgs_steps is not None:
            _set_lbfgs_budget(dde, lbfgs_steps)
        model.compile("L-BFGS")
        model.train(display_every=display_every, callbacks=callbacks)
    wall_time_s = time.perf_counter() - clock["start"] - clock["excluded"]
    lbfgs_done = model.train_state.step - adam_done

    final = rel_l2()
    trace.append((wall_time_s, int(model.train_state.step), final))

    loss_terms = np.asarray(model.train_state.loss_train, dtype=np.float64).reshape(-1)
    return {
        "rel_l2": final,
        "wall_time_s": wall_time_s,
        "adam_steps": int(adam_done),
        "lbfgs_steps_done": int(lbfgs_done),
        "n_domain": n_domain,
        "n_boundary": n_boundary,
        "n_initial": n_initial,
        "width": width,
        "depth": depth,
        "deepxde_version": dde.__version__,
        "torch_version": torch.__version__,
        "final_loss": float(loss_terms.sum()),
        "final_loss_terms": [float(v) for v in loss_terms],
        "float64": float64,
        "torch_threads": threads,
        "lbfgs_options": "default" if lbfgs_steps is None else f"maxiter {lbfgs_steps}",
        "trace": trace,
    }
