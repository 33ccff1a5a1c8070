"""DeepXDE's own viscous Burgers example, run with its PyTorch backend, as a benchmark peer.

This reproduces ``examples/pinn_forward/Burgers.py`` of DeepXDE 1.15:

* x in [-1, 1], t in [0, 0.99] (``Interval(-1, 1)`` x ``TimeDomain(0, 0.99)``);
* u_t + u u_x - (0.01/pi) u_xx = 0, u(+-1, t) = 0, u(x, 0) = -sin(pi x);
* 2540 domain, 80 boundary and 160 initial training points (DeepXDE's default
  Hammersley sampling for ``TimePDE``), no resampling;
* ``FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")``, MSE loss, equal weights;
* Adam, lr 1e-3, 15000 iterations, then L-BFGS with DeepXDE's default options
  (``maxiter=15000``).

It needs the benchmark environment (``benchmarks/requirements-peers.txt``: DeepXDE and the
CPU build of PyTorch), never the project's own. DeepXDE is imported inside
``run_deepxde_burgers`` so that importing this module costs nothing and needs neither.
"""

from __future__ import annotations

import os
import time

import numpy as np

NU = 0.01 / np.pi


def _machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


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
    lbfgs_steps: int = 15000,
    seed: int = 0,
    eval_points: np.ndarray,
    eval_values: np.ndarray,
    float64: bool = False,
    display_every: int = 5000,
) -> dict:
    """Train DeepXDE's Burgers PINN and measure it against a reference.

    Args:
        width, depth: hidden layers of the FNN (``[2] + [width] * depth + [1]``).
        n_domain, n_boundary, n_initial: training points, as in ``dde.data.TimePDE``.
        adam_steps, adam_lr: the Adam phase.
        lbfgs_steps: L-BFGS ``maxiter`` (DeepXDE's default is 15000); 0 skips L-BFGS.
        seed: passed to ``dde.config.set_random_seed`` (Python, NumPy, torch).
        eval_points: (n, 2) array of (x, t).
        eval_values: (n,) reference u at ``eval_points``.
        float64: train in float64 (``dde.config.set_default_float``); DeepXDE's
            example uses float32.
        display_every: DeepXDE's progress print interval during Adam (it prints to
            stdout; L-BFGS prints every 1000 iterations whatever this is).

    Returns:
        dict with ``rel_l2`` (||u_pred - u_ref||_2 / ||u_ref||_2 on ``eval_points``),
        ``wall_time_s`` (compile + train of both phases, evaluation excluded),
        ``adam_steps``, ``lbfgs_steps_done`` (L-BFGS iterations as DeepXDE counts them in
        ``train_state.step``), the sizes, ``deepxde_version``, ``torch_version``,
        ``final_loss`` (sum of the training-loss terms at the last step; the terms are in
        ``final_loss_terms``, ordered PDE, boundary, initial), ``float64`` and
        ``torch_threads``.
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

    threads = _machine_cores()
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # only settable once, before any parallel work
        pass

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

    start = time.perf_counter()
    model.compile("adam", lr=adam_lr)
    if adam_steps > 0:
        model.train(iterations=adam_steps, display_every=display_every)
    adam_done = model.train_state.step
    if lbfgs_steps > 0:
        _set_lbfgs_budget(dde, lbfgs_steps)
        model.compile("L-BFGS")
        model.train(display_every=display_every)
    wall_time_s = time.perf_counter() - start
    lbfgs_done = model.train_state.step - adam_done

    dtype = np.float64 if float64 else np.float32
    u_pred = np.asarray(model.predict(eval_points.astype(dtype)), dtype=np.float64)
    u_pred = u_pred.reshape(-1)
    rel_l2 = float(np.linalg.norm(u_pred - eval_values) / np.linalg.norm(eval_values))

    loss_terms = np.asarray(model.train_state.loss_train, dtype=np.float64).reshape(-1)
    return {
        "rel_l2": rel_l2,
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
    }
