"""neuraloperator 2.0's FNO (PyTorch, CPU) timed like sciml's, as a benchmark peer.

Two configurations of ``neuralop.models.FNO`` for a 2-D, 1-in/1-out channel operator:

* ``default``: the library's defaults for ``n_modes=(12, 12), hidden_channels=32,
  n_layers=4``: a channel MLP (expansion 0.5) with a soft-gating skip in every Fourier
  layer, a linear Fourier skip, bias in the spectral convolution, a grid positional
  embedding, and lifting/projection MLPs with ``2 * hidden`` = 64 hidden channels.
  In neuralop >= 0.3 ``n_modes`` counts the kept frequencies per axis, the last one halved:
  ``(12, 12)`` keeps 12 x 7 frequencies (−6..5 by 0..6), i.e. sciml's ``modes=(6, 7)``.
* ``classic``: as close as the options allow to Li et al.'s FNO, which is sciml's:
  ``use_channel_mlp=False``, ``fno_skip="linear"``, grid embedding, lifting by one 1x1 map
  (``lifting_channel_ratio=0``), projection through 128 hidden channels
  (``projection_channel_ratio=4``), and ``n_modes=(24, 23)``, which keeps the same
  24 x 12 frequencies (−12..11 by 0..11) as sciml's ``modes=12``. Differences that remain:
  the spectral convolution has a bias and the linear skip has none (sciml: the reverse),
  and without a channel MLP neuralop applies the activation twice between layers
  (``FNOBlocks.forward_with_postactivation``).

``run_neuralop_fno`` times training and inference (``fno_vs_neuraloperator.py``);
``train_to_accuracy`` trains on given data and records the test error after every epoch
against wall time (``darcy_time_to_accuracy.py``), under one of two ``RECIPES``:

* ``case``: the training of sciml's ``operator.darcy.fno`` case with only the model
  swapped: neuralop's ``AdamW`` at 1e-3 with weight decay 1e-4 and optax's ``eps=1e-8``
  (neuralop adds it to the uncorrected sqrt(v), optax to the corrected), the rate
  cosine-decayed per step to 1e-2 of its peak over the run (optax's
  ``cosine_decay_schedule`` with ``alpha=1e-2``), inputs and outputs scaled by scalar
  mean/std of the training set as sciml's ``FieldMap`` does (output de-scaled inside the
  model), ``LpLoss`` on the physical outputs.
* ``example``: neuralop 2.0.0's own Darcy example as written
  (``examples/models/plot_FNO_darcy.py``): ``AdamW(lr=8e-3, weight_decay=1e-4)``,
  ``CosineAnnealingLR(T_max=30)`` stepped once per epoch (as its ``Trainer`` does; past
  30 epochs the rate rises again), raw inputs, outputs encoded by a channel-wise
  ``UnitGaussianNormalizer`` fitted on the training outputs, the loss on encoded outputs
  and the test error on decoded ones; its H1 training loss is replaced by ``LpLoss``.

Needs the benchmark environment (``requirements-peers.txt``); torch and neuralop are
imported inside the functions.
"""

from __future__ import annotations

import math
import os
import resource
import statistics
import time

import numpy as np

CONFIGS = {
    "default": dict(n_modes=(12, 12)),
    "classic": dict(n_modes=(24, 23), use_channel_mlp=False, fno_skip="linear",
                    lifting_channel_ratio=0, projection_channel_ratio=4,
                    positional_embedding="grid"),
}


def build(config: str, width: int = 32, depth: int = 4, seed: int = 0):
    import torch
    from neuralop.models import FNO

    torch.manual_seed(seed)
    return FNO(in_channels=1, out_channels=1, hidden_channels=width, n_layers=depth,
               **CONFIGS[config])


def count_params(model) -> int:
    """Real trainable scalars; complex parameters count twice (``count_model_params``)."""
    return int(sum(p.numel() * (2 if p.is_complex() else 1)
                   for p in model.parameters() if p.requires_grad))


def run_neuralop_fno(config: str, x: np.ndarray, y: np.ndarray, *, batch_size: int = 20,
                     warmup_epochs: int = 1, timed_epochs: int = 2, lr: float = 1e-3,
                     infer_batches=(20, 100), threads: int = 2, seed: int = 0) -> dict:
    """Train ``config`` on ``x, y`` (shape ``(n, 64, 64)``) with Adam and neuralop's
    relative L2 loss (``LpLoss(d=2, p=2, reduction="mean")``), then time inference.

    Training: ``warmup_epochs`` untimed, then ``timed_epochs`` timed epochs of
    ``n // batch_size`` steps, each ``zero_grad(); loss.backward(); step()`` on a fresh
    permutation. Training samples/s is from the median timed epoch. Inference under
    ``torch.inference_mode()``: one untimed call, then at least 3 calls (and at least ``n``
    samples) per batch size, samples/s from the median call.
    """
    import torch
    from neuralop.losses import LpLoss

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = build(config, seed=seed)
    xt = torch.as_tensor(np.asarray(x, np.float32))[:, None]
    yt = torch.as_tensor(np.asarray(y, np.float32))[:, None]
    n = len(xt)
    n_batches = n // batch_size
    loss_fn = LpLoss(d=2, p=2, reduction="mean")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)

    def epoch() -> tuple[float, float]:
        model.train()
        perm = torch.randperm(n, generator=gen)
        t0, total = time.perf_counter(), 0.0
        for b in range(n_batches):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach())
        return time.perf_counter() - t0, total / n_batches

    load0 = os.getloadavg()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    warm = [epoch() for _ in range(warmup_epochs)]
    timed = [epoch() for _ in range(timed_epochs)]
    durations = [d for d, _ in timed]
    samples = n_batches * batch_size
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    steps = (warmup_epochs + timed_epochs) * n_batches

    model.eval()
    infer = {}
    with torch.inference_mode():
        for bs in infer_batches:
            xb = xt[:bs] if bs <= n else xt.repeat((bs + n - 1) // n, 1, 1, 1)[:bs]
            model(xb)
            calls = max(3, -(-n // bs))
            times = []
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            for _ in range(calls):
                t0 = time.perf_counter()
                model(xb)
                times.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            infer[str(bs)] = dict(samples_per_s=bs / statistics.median(times), calls=calls,
                                  median_call_s=statistics.median(times),
                                  minor_faults_per_call=(r1.ru_minflt - r0.ru_minflt) // calls,
                                  sys_s_per_call=(r1.ru_stime - r0.ru_stime) / calls)
    return dict(
        library="neuraloperator", config=config, options=dict(CONFIGS[config]),
        params=count_params(model), torch_version=torch.__version__,
        neuralop_version=__import__("neuralop").__version__,
        torch_threads=torch.get_num_threads(),
        train_samples_per_s=samples / statistics.median(durations),
        train_epoch_s=durations, warmup_epoch_s=[d for d, _ in warm],
        final_loss=timed[-1][1], infer=infer,
        train_minor_faults_per_step=(r1.ru_minflt - r0.ru_minflt) // steps,
        loadavg_start=load0, loadavg_end=os.getloadavg(),
    )


RECIPES = {
    "case": dict(lr=1e-3, weight_decay=1e-4, eps=1e-8,
                 schedule="cosine per step to 1e-2 x peak", final_lr_ratio=1e-2,
                 scaling="fieldmap"),
    "example": dict(lr=8e-3, weight_decay=1e-4, eps=1e-6,
                    schedule="CosineAnnealingLR(T_max=30) per epoch", t_max=30,
                    scaling="unit-gaussian-output"),
}


def _square_symmetries(gen, x, y):
    """The same random element of D4 applied to each pair of ``(b, 1, n, n)`` tensors."""
    import torch

    pick = torch.rand((3, x.shape[0], 1, 1, 1), generator=gen) < 0.5

    def apply(f):
        f = torch.where(pick[0], f.transpose(-1, -2), f)
        f = torch.where(pick[1], f.flip(-2), f)
        return torch.where(pick[2], f.flip(-1), f)

    return apply(x), apply(y)


def train_to_accuracy(config: str, x: np.ndarray, y: np.ndarray, x_test: np.ndarray,
                      y_test: np.ndarray, *, epochs: int, recipe: str = "case",
                      batch_size: int = 20, threads: int | None = None, seed: int = 0,
                      eval_batch: int = 50, square_symmetries: bool = False) -> dict:
    """Train ``config`` on ``x, y`` (``(n, H, W)``) for ``epochs`` under ``RECIPES[recipe]``
    and evaluate the mean per-sample relative L2 error on ``x_test, y_test`` after every
    epoch.

    Each epoch takes ``n // batch_size`` steps (the last partial batch dropped, as sciml's
    ``Minibatches``) over a fresh permutation, ``zero_grad(); loss.backward(); step()``
    with ``LpLoss(d=2, p=2, reduction="mean")``. Wall time starts before the model is built
    (normalisation statistics, tensors and the optimiser included; imports not) and excludes the
    evaluations, which run under ``torch.inference_mode()`` in batches of ``eval_batch``,
    are compared with ``y_test`` in float64, and are timed separately. ``threads=None``
    keeps PyTorch's default thread count (recorded). ``square_symmetries`` sends every
    training batch through a random element of the square's symmetry group per sample (a
    transpose, then each axis reversed, each with probability 1/2), as sciml's
    ``square_symmetries`` augmentation does when the case uses it.

    Returns a dict with ``trace`` ``[(wall_s, epoch, test_rel_l2), ...]``, per-epoch
    ``train_loss`` (mean over the epoch's batches), ``epoch_s`` and ``eval_s``, and the
    setup.
    """
    import torch
    import torch._dynamo  # noqa: F401 - the first optimiser imports it (~2 s): before the clock
    from neuralop.data.transforms.normalizers import UnitGaussianNormalizer
    from neuralop.losses import LpLoss
    from neuralop.models import FNO  # noqa: F401 - imported before the clock starts
    from neuralop.training import AdamW

    if threads is not None:
        torch.set_num_threads(threads)
    r = RECIPES[recipe]
    load0 = os.getloadavg()
    start = time.perf_counter()
    model = build(config, seed=seed)
    xt = torch.as_tensor(np.asarray(x, np.float32))[:, None]
    yt = torch.as_tensor(np.asarray(y, np.float32))[:, None]
    xv = torch.as_tensor(np.asarray(x_test, np.float32))[:, None]
    y_ref = np.asarray(y_test, np.float64)
    if r["scaling"] == "fieldmap":  # sciml's FieldMap: scalar float64 mean/std, ddof 0
        (mx, sx), (my, sy) = ((float(a.mean()), float(a.std()) or 1.0)
                              for a in (np.asarray(x, np.float64), np.asarray(y, np.float64)))

        def forward(xb):  # physical output
            return model((xb - mx) / sx) * sy + my

        target = decode = lambda t: t
    else:  # the example's DefaultDataProcessor: outputs encoded, inputs raw
        norm = UnitGaussianNormalizer(dim=[0, 2, 3])  # channel-wise, as PTDataset fits it
        norm.fit(yt)
        forward, target, decode = model, norm.transform, norm.inverse_transform
    n = len(xt)
    n_batches = n // batch_size
    loss_fn = LpLoss(d=2, p=2, reduction="mean")
    opt = AdamW(model.parameters(), lr=r["lr"], weight_decay=r["weight_decay"], eps=r["eps"])
    if recipe == "case":
        total, alpha = epochs * n_batches, r["final_lr_ratio"]
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda k: alpha + (1 - alpha) * 0.5 * (1 + math.cos(math.pi * min(k, total)
                                                                    / total)))
        per_step = True
    else:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=r["t_max"])
        per_step = False
    gen = torch.Generator().manual_seed(seed)
    setup_s = time.perf_counter() - start

    def evaluate() -> float:
        model.eval()
        with torch.inference_mode():
            pred = torch.cat([decode(forward(xv[i:i + eval_batch]))
                              for i in range(0, len(xv), eval_batch)])
        p = pred[:, 0].numpy().astype(np.float64)
        err = np.sqrt(np.sum((p - y_ref) ** 2, axis=(1, 2)) / np.sum(y_ref**2, axis=(1, 2)))
        return float(err.mean())

    trace, train_loss, epoch_s, eval_s, excluded = [], [], [], [], 0.0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=gen)
        total_loss = 0.0
        for b in range(n_batches):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            xb, yb = xt[idx], yt[idx]
            if square_symmetries:
                xb, yb = _square_symmetries(gen, xb, yb)
            opt.zero_grad()
            loss = loss_fn(forward(xb), target(yb))
            loss.backward()
            opt.step()
            if per_step:
                sched.step()
            total_loss += float(loss.detach())
        if not per_step:
            sched.step()
        t1 = time.perf_counter()
        epoch_s.append(t1 - t0)
        train_loss.append(total_loss / n_batches)
        err = evaluate()
        t2 = time.perf_counter()
        eval_s.append(t2 - t1)
        trace.append((t1 - start - excluded, epoch, err))
        excluded += t2 - t1
        if not math.isfinite(total_loss):
            break
    return dict(
        library="neuraloperator", config=config, options=dict(CONFIGS[config]),
        recipe=recipe, recipe_options=dict(r),
        square_symmetries=square_symmetries, params=count_params(model),
        torch_version=torch.__version__, neuralop_version=__import__("neuralop").__version__,
        torch_threads=torch.get_num_threads(), epochs=len(trace), batch_size=batch_size,
        steps_per_epoch=n_batches, rel_l2=trace[-1][2], wall_time_s=trace[-1][0],
        setup_s=setup_s, trace=trace, train_loss=train_loss, epoch_s=epoch_s, eval_s=eval_s,
        final_lr=opt.param_groups[0]["lr"], loadavg_start=load0, loadavg_end=os.getloadavg(),
    )
